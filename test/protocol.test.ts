import { describe, expect, it } from 'vitest';
import { isViolation, parseMessage } from '../src/protocol.js';

describe('parseMessage', () => {
  it('ignores anything without our tag, whatever its shape', () => {
    for (const foreign of [
      undefined,
      null,
      0,
      'text',
      [],
      { type: 'process:msg', data: {} },
      { cmd: 'NODE_CLUSTER' },
    ]) {
      expect(parseMessage(foreign)).toBeUndefined();
    }
  });

  it('accepts each well-formed kind', () => {
    const messages = [
      { $cb: 1, k: 'req', id: 'a:1', m: 'stats' },
      { $cb: 1, k: 'req', id: 'a:1', m: 'stats', to: 3 },
      { $cb: 1, k: 'req', id: 'a:1', m: 'stats', to: 'all' },
      { $cb: 1, k: 'res', id: 'a:1', o: 1 },
      { $cb: 1, k: 'err', id: 'a:1', e: { name: 'Error', message: 'x' } },
      { $cb: 1, k: 'cancel', id: 'a:1', r: 'aborted' },
      { $cb: 1, k: 'evt', n: 'drain', p: {} },
      { $cb: 1, k: 'ctl', c: 'ready' },
    ];
    // Error replies and peer lists come back as fresh, cleaned copies; everything else as is.
    for (const message of messages) expect(parseMessage(message)).toEqual(message);
    expect(parseMessage(messages[0])).toBe(messages[0]);
  });

  it('reports tagged messages it cannot use, with the reason', () => {
    const cases: Array<[unknown, string]> = [
      [{ $cb: 2, k: 'req' }, 'protocol version 2 is not supported (this end speaks 1)'],
      [{ $cb: 1, k: 'req', id: 'x' }, 'request without id or method'],
      [{ $cb: 1, k: 'req', id: 'x', m: 'y', to: 'some' }, 'request with bad "to"'],
      [{ $cb: 1, k: 'err', id: 'x', e: 'boom' }, 'error reply without id or error'],
      [{ $cb: 1, k: 'ctl', c: 'reboot' }, 'unknown control'],
      [{ $cb: 1 }, 'unknown kind undefined'],
    ];
    for (const [value, violation] of cases) {
      const parsed = parseMessage(value);
      expect(parsed && isViolation(parsed) && parsed.violation).toBe(violation);
    }
  });

  it('checks by type every field the bus reads, for every kind', () => {
    const hostile = { toString: 1 };
    const cases: Array<[unknown, string]> = [
      [{ $cb: hostile }, 'protocol version an object is not supported (this end speaks 1)'],
      [{ $cb: 1, k: hostile }, 'unknown kind an object'],
      [{ $cb: 1, k: 7n }, 'unknown kind 7n'],
      [{ $cb: 1, k: 'req', id: 'x', m: 'y', self: 'yes' }, 'request with bad "self"'],
      [{ $cb: 1, k: 'req', id: 'x', m: 'y', t: Number.NaN }, 'request with bad "t"'],
      [{ $cb: 1, k: 'req', id: 'x', m: 'y', t: -1 }, 'request with bad "t"'],
      [{ $cb: 1, k: 'req', id: 'x', m: 'y', f: 1.5 }, 'request with bad "f"'],
      [{ $cb: 1, k: 'req', id: 'x'.repeat(1000), m: 'y' }, 'request without id or method'],
      [{ $cb: 1, k: 'req', id: 'x', m: 'y'.repeat(100_000) }, 'request without id or method'],
      [{ $cb: 1, k: 'evt', n: 'y'.repeat(100_000) }, 'event without name'],
      [{ $cb: 1, k: 'cancel', id: 'x', r: hostile }, 'cancel with bad "r"'],
      [{ $cb: 1, k: 'res', id: -5 }, 'result without id'],
      [{ $cb: 1, k: 'res', id: 1.5 }, 'result without id'],
      [{ $cb: 1, k: 'res', id: 2 ** 60 }, 'result without id'],
      [{ $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'i', to: 7 } }, 'hello with bad "to"'],
      [{ $cb: 1, k: 'err', id: 'x', e: {}, b: 'yes' }, 'error reply with bad "b"'],
      [{ $cb: 1, k: 'evt', n: 'x', f: hostile }, 'event with bad "f"'],
      [{ $cb: 1, k: 'evt', n: 'x', to: 3 }, 'event with bad "to"'],
      [{ $cb: 1, k: 'evt', n: 'x', self: 1 }, 'event with bad "self"'],
      [{ $cb: 1, k: 'ctl', c: 'hello', d: [] }, 'hello with bad data'],
      [{ $cb: 1, k: 'ctl', c: 'hello', d: { instance: 3 } }, 'hello with bad "instance"'],
      [{ $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'i', ack: 'yes' } }, 'hello with bad "ack"'],
      [
        { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'i', workerId: hostile } },
        'hello with bad "workerId"',
      ],
      [{ $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'i', pid: -4 } }, 'hello with bad "pid"'],
      [{ $cb: 1, k: 'ctl', c: 'peers', d: 'all of them' }, 'peers without a list'],
      [{ $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'i', metrics: 'yes' } }, 'hello with bad "metrics"'],
      [{ $cb: 1, k: 'ctl', c: 'metrics', d: 5 }, 'metrics with bad data'],
      [{ $cb: 1, k: 'ctl', c: 'fatal', d: 'boom' }, 'fatal without data'],
    ];
    for (const [value, violation] of cases) {
      const parsed = parseMessage(value);
      expect(parsed && isViolation(parsed) && parsed.violation, JSON.stringify(violation)).toBe(violation);
    }
  });

  it('keeps the id of a malformed request or reply, so what is owed still happens', () => {
    expect(parseMessage({ $cb: 1, k: 'req', id: 'a:1', m: 3 })).toMatchObject({ id: 'a:1', kind: 'req' });
    expect(parseMessage({ $cb: 1, k: 'err', id: 'a:2', e: null })).toMatchObject({ id: 'a:2', kind: 'err' });
    expect(parseMessage({ $cb: 1, k: 'cancel', id: 'a:3', r: 1 })).toMatchObject({
      id: 'a:3',
      kind: 'cancel',
    });
  });

  it('cleans an error reply: bounded strings, placeholders for bad fields, capped cause depth', () => {
    const cyclic: Record<string, unknown> = { name: 'Error', message: 'loop' };
    cyclic.cause = cyclic;
    const parsed = parseMessage({
      $cb: 1,
      k: 'err',
      id: 'a:1',
      e: { name: { toString: 1 }, message: 'm'.repeat(100_000), code: Number.NaN, stack: 5, cause: cyclic },
    }) as unknown as { e: Record<string, unknown> };
    expect(parsed.e.name).toBe('Error');
    expect((parsed.e.message as string).length).toBeLessThan(10_100);
    expect(parsed.e.code).toBeUndefined();
    expect(parsed.e.stack).toBeUndefined();
    let depth = 0;
    for (let cause = parsed.e.cause as { cause?: unknown } | undefined; cause; cause = cause.cause as never)
      depth++;
    expect(depth).toBeLessThanOrEqual(8);
  });

  it('keeps only well-typed rows of a peers list', () => {
    const parsed = parseMessage({
      $cb: 1,
      k: 'ctl',
      c: 'peers',
      d: [
        null,
        { id: 'one', state: 'ready' },
        { id: 2, pid: { toString: 1 }, state: 'ready' },
        { id: 3, state: 'ready' },
      ],
    });
    expect(parsed).toEqual({ $cb: 1, k: 'ctl', c: 'peers', d: [{ id: 3, state: 'ready' }] });
  });

  it('never throws, even on a value whose reads throw', () => {
    const trap = new Proxy(
      { $cb: 1 },
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    const parsed = parseMessage(trap);
    expect(parsed && isViolation(parsed) && parsed.violation).toBe('unreadable message (Error: trap)');
  });
});
