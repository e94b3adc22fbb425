import { describe, expect, it } from 'vitest';
import {
  BusError,
  createBusError,
  ErrorCode,
  errorFromWire,
  errorToWire,
  isBusError,
  NotReadyError,
  PeerGoneError,
  RemoteError,
  TimeoutError,
} from '../src/index.js';

describe('BusError', () => {
  it('has a subclass with name and stable code for every code', () => {
    for (const code of Object.values(ErrorCode)) {
      const error = createBusError(code, `failed with ${code}`);
      expect(error).toBeInstanceOf(BusError);
      expect(error.code).toBe(code);
      expect(error.name).toMatch(/Error$/);
      expect(isBusError(error)).toBe(true);
    }
    expect(new NotReadyError('x').name).toBe('NotReadyError');
  });

  it('is recognised without instanceof (another copy of the library) and rejects look-alikes', () => {
    expect(isBusError({ name: 'TimeoutError', code: 'TIMEOUT', message: 'm' })).toBe(true);
    expect(isBusError({ name: 'Error', code: 'ENOENT', message: 'm' })).toBe(false);
    expect(isBusError(new Error('plain'))).toBe(false);
    expect(isBusError(null)).toBe(false);
  });

  it('round-trips through the wire with its code and cause chain', () => {
    const original = new PeerGoneError('worker 3 is gone', { cause: new TimeoutError('inner') });
    const wire = JSON.parse(JSON.stringify(errorToWire(original)));
    const rebuilt = errorFromWire(wire);
    expect(rebuilt).toBeInstanceOf(PeerGoneError);
    expect(rebuilt).toMatchObject({ name: 'PeerGoneError', code: 'PEER_GONE', message: 'worker 3 is gone' });
    expect(rebuilt.cause).toBeInstanceOf(TimeoutError);
    expect(rebuilt.stack).toBe(original.stack);
  });

  it('keeps a foreign error name and code on a plain Error', () => {
    const rebuilt = errorFromWire({ name: 'SyntaxError', message: 'bad json', code: 'E_PARSE' }) as Error & {
      code: string;
    };
    expect(rebuilt.name).toBe('SyntaxError');
    expect(rebuilt.code).toBe('E_PARSE');
  });

  it('RemoteError exposes the remote error and rebuilds it as the cause', () => {
    const error = new RemoteError('call "x" failed', {
      name: 'TypeError',
      message: 'nope',
      code: 42,
      data: { a: 1 },
    });
    expect(error.code).toBe('REMOTE');
    expect(error.remote).toEqual({
      name: 'TypeError',
      message: 'nope',
      code: 42,
      stack: undefined,
      data: { a: 1 },
    });
    expect((error.cause as Error).name).toBe('TypeError');
    expect(error.data).toEqual({ a: 1 });
  });

  it('survives non-Error throws and cyclic causes', () => {
    expect(errorToWire(42)).toEqual({ name: 'Error', message: '42' });
    const cyclic = new Error('loop') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    let depth = 0;
    for (let wire = errorToWire(cyclic); wire.cause; wire = wire.cause) depth++;
    expect(depth).toBeLessThanOrEqual(8);
  });
});
