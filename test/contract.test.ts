import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineContract } from '../src/index.js';
import { formatPath, validate } from '../src/validate.js';

describe('defineContract', () => {
  it('returns a frozen contract', () => {
    const contract = defineContract({ worker: { a: { output: z.number() } } });
    expect(Object.isFrozen(contract)).toBe(true);
    expect(contract.worker.a.output).toBeDefined();
  });

  it('throws a TypeError naming the bad schema', () => {
    expect(() => defineContract({ worker: { a: { output: 'number' as never } } })).toThrow(
      'defineContract: worker.a.output is not a Standard Schema (a zod 4 schema, for example)',
    );
    expect(() => defineContract({ primary: { b: { input: {} as never, output: z.string() } } })).toThrow(
      /primary\.b\.input is not a Standard Schema/,
    );
  });

  it('refuses event names the bus reserves', () => {
    expect(() => defineContract({ events: { error: z.object({}) } })).toThrow(
      /event name "error" is reserved/,
    );
  });
});

describe('validate', () => {
  const site = { what: 'input' as const, subject: 'call "x"', side: 'on the primary before sending' };

  it('names the path of the first bad field and counts the others', () => {
    const schema = z.object({ items: z.array(z.object({ name: z.string() })), n: z.number() });
    expect(() => validate(schema, { items: [{ name: 'a' }, { name: 1 }], n: 'x' }, site)).toThrow(
      /^input of call "x" failed validation on the primary before sending at "items\[1\]\.name": .* \(and 1 more issue\)$/,
    );
  });

  it('supports async schemas', async () => {
    const schema = z.string().refine(async (value) => value === 'ok');
    await expect(validate(schema, 'ok', site)).resolves.toBe('ok');
    await expect(validate(schema, 'no', site)).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('refuses a value for a procedure without input', () => {
    expect(validate(undefined, undefined, site)).toBeUndefined();
    expect(() => validate(undefined, 5, site)).toThrow(/expected no value/);
  });

  it('formats paths', () => {
    expect(formatPath(['a', 0, { key: 'b' }])).toBe('a[0].b');
    expect(formatPath(undefined)).toBe('');
  });
});
