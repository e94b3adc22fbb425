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
    for (const message of messages) expect(parseMessage(message)).toBe(message);
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
});
