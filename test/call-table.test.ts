/** The pending-call table: a ring for numeric ids that grows when a call outlives it, a map for the rest. */
import { describe, expect, it } from 'vitest';
import { CallTable } from '../src/call-table.js';

const entry = <I extends string | number>(id: I) => ({ id });

describe('CallTable', () => {
  it('finds, counts and deletes numeric and string ids alike', () => {
    const table = new CallTable<{ id: string | number }>();
    const a = entry(0);
    const b = entry('abc:1');
    table.add(a);
    table.add(b);
    expect(table.size).toBe(2);
    expect(table.get(0)).toBe(a);
    expect(table.get('abc:1')).toBe(b);
    // A string that reads as the same number is another id.
    expect(table.get('0')).toBeUndefined();
    expect(table.get(256)).toBeUndefined();
    table.delete(0);
    table.delete('abc:1');
    table.delete(12345); // not held: nothing happens
    expect(table.size).toBe(0);
    expect(table.get(0)).toBeUndefined();
  });

  it('keeps a call that outlives a whole ring of newer ones, growing the ring', () => {
    const table = new CallTable<{ id: number }>();
    const straggler = entry(0);
    table.add(straggler);
    // 10 000 calls come and go while call 0 stays pending: they wrap the first ring many times.
    for (let id = 1; id <= 10_000; id++) {
      table.add(entry(id));
      expect(table.get(id)?.id).toBe(id);
      table.delete(id);
    }
    expect(table.size).toBe(1);
    expect(table.get(0)).toBe(straggler);
    // With many in flight at once, every one stays findable.
    const held = Array.from({ length: 5_000 }, (_, i) => entry(20_000 + i));
    for (const e of held) table.add(e);
    expect(table.size).toBe(5_001);
    for (const e of held) expect(table.get(e.id)).toBe(e);
    expect(new Set(table.values())).toEqual(new Set([straggler, ...held]));
    for (const e of held) table.delete(e.id);
    table.delete(0);
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });

  it('past its largest ring, holds the extra calls in the map', () => {
    const table = new CallTable<{ id: number }>();
    // 70 000 pending at once: more than the largest ring (65 536).
    const held = Array.from({ length: 70_000 }, (_, id) => entry(id));
    for (const e of held) table.add(e);
    expect(table.size).toBe(70_000);
    for (const e of held) expect(table.get(e.id)).toBe(e);
    for (const e of held) table.delete(e.id);
    expect(table.size).toBe(0);
  });

  it('takes ids beyond 32 bits and odd numbers without confusing them', () => {
    const table = new CallTable<{ id: number }>();
    const big = entry(2 ** 40 + 7);
    const clash = entry(7); // the same low 32 bits
    const fraction = entry(1.5);
    table.add(big);
    table.add(clash);
    table.add(fraction);
    expect(table.get(2 ** 40 + 7)).toBe(big);
    expect(table.get(7)).toBe(clash);
    expect(table.get(1.5)).toBe(fraction);
    expect(table.size).toBe(3);
  });
});
