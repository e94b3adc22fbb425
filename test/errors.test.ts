import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BusError,
  createBusError,
  defineContract,
  ErrorCode,
  errorFromWire,
  errorToWire,
  isBusError,
  NotReadyError,
  PeerGoneError,
  RemoteError,
  TimeoutError,
  type WireError,
} from '../src/index.js';
import { memoryCluster } from './helpers/memory.js';

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

describe('a thrown plain object', () => {
  it('keeps its plain fields as data, and its message if it has one', () => {
    const wire = errorToWire({ status: 503, reason: 'db down' });
    expect(wire.data).toEqual({ status: 503, reason: 'db down' });
    expect(wire.message).toContain('"status":503');
    expect(wire.message).not.toContain('[object Object]');
    const withMessage = errorToWire({ message: 'db down', status: 503, retry: () => {} });
    expect(withMessage).toMatchObject({ name: 'Error', message: 'db down', data: { status: 503 } });
    expect(withMessage.data).toEqual({ status: 503 });
  });

  it('arrives at the caller as a REMOTE error carrying those fields', async () => {
    const contract = defineContract({ worker: { down: { output: z.void() } } });
    const env = await memoryCluster(contract, {
      worker: () => ({
        handlers: {
          down: () => {
            throw { status: 503, reason: 'db down' };
          },
        },
      }),
    });
    try {
      const error = (await env.primary.call(1, 'down').catch((reason: unknown) => reason)) as RemoteError;
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.data).toEqual({ status: 503, reason: 'db down' });
      expect(error.remote.data).toEqual({ status: 503, reason: 'db down' });
      expect(error.message).not.toContain('[object Object]');
    } finally {
      await env.close();
    }
  });

  it('never throws on an error whose fields throw when read', () => {
    const hostile = Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(errorToWire(hostile)).toMatchObject({ name: 'Error' });
  });
});

describe('errorToWire on what this end sends', () => {
  it('cuts the strings where the receiving end would, so a huge message cannot make a reply unsendable', () => {
    const thrown = Object.assign(new Error('M'.repeat(1e6)), {
      name: 'N'.repeat(1e6),
      code: 'C'.repeat(1e6),
    });
    const wire = errorToWire(thrown);
    expect(wire.message.length).toBe(10_000);
    expect(wire.message).toMatch(/… \(cut from 1000000 characters\)$/);
    expect(wire.name.length).toBe(200);
    expect(String(wire.code).length).toBe(200);
    expect(wire.stack!.length).toBeLessThanOrEqual(50_000);
    // What arrives is read back unchanged: the receiver's caps are the same.
    const rebuilt = errorFromWire(wire) as Error & { code: string };
    expect(rebuilt.message).toBe(wire.message);
    expect(rebuilt.name).toBe(wire.name);
  });
});

describe('errorFromWire on what a peer sent', () => {
  it('bounds every string and the cause depth, and never throws on bad field types', () => {
    const wire = {
      name: 'N'.repeat(1e6),
      message: 'M'.repeat(1e6),
      stack: 'S'.repeat(1e6),
      code: 'C'.repeat(1e6),
    } as WireError;
    const rebuilt = errorFromWire(wire) as Error & { code: string };
    expect(rebuilt.name.length).toBeLessThan(300);
    expect(rebuilt.message.length).toBeLessThan(10_100);
    expect(rebuilt.stack!.length).toBeLessThan(50_100);
    expect(rebuilt.code.length).toBeLessThan(300);
    const junk = { name: { toString: 1 }, message: 7, cause: 'no' } as unknown as WireError;
    expect(errorFromWire(junk)).toBeInstanceOf(Error);
  });

  it('keeps a bus code recognisable by isBusError whatever name came with it', () => {
    const rebuilt = errorFromWire({ name: 'weird', message: 'm', code: 'TIMEOUT' });
    expect(isBusError(rebuilt)).toBe(true);
    expect(rebuilt).toBeInstanceOf(TimeoutError);
  });
});
