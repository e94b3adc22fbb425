/**
 * The peer's call logic over in-memory channels (both serialization modes): correlation, timeouts,
 * abort, remote errors, validation at both ends, NO_HANDLER, PEER_GONE, foreign and malformed traffic.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ServedProcedure } from '../src/call.js';
import {
  createMemoryTransportPair,
  createPeer,
  defineContract,
  errorToWire,
  isBusError,
  NoPrimaryError,
  type Peer,
  PROTOCOL_VERSION,
  RemoteError,
  type Transport,
} from '../src/index.js';
import { memoryCluster, until } from './helpers/memory.js';

const contract = defineContract({
  worker: {
    add: { input: z.object({ a: z.number(), b: z.number() }), output: z.number() },
    wait: { input: z.object({ ms: z.number() }), output: z.string() },
    fail: { output: z.void() },
    lie: { output: z.object({ n: z.number() }) },
    nothing: { output: z.void() },
    big: { output: z.unknown() },
  },
  primary: { whoami: { output: z.string() } },
});

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup) await step();
  cleanup = [];
});

const aborts: unknown[] = [];
async function setup(serialization: 'json' | 'advanced' = 'json', timeout?: number) {
  const env = await memoryCluster(contract, {
    serialization,
    primary: { timeout, handlers: { whoami: (_input, ctx) => JSON.stringify(ctx.caller) } },
    worker: () => ({
      handlers: {
        add: ({ a, b }) => a + b,
        wait: ({ ms }, ctx) =>
          new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => resolve('done'), ms);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              aborts.push(ctx.signal.reason);
              reject(ctx.signal.reason);
            });
          }),
        fail: () => {
          const error = new TypeError('bad thing', { cause: new Error('deeper') }) as TypeError & {
            code: string;
            data: unknown;
          };
          error.code = 'E_BAD';
          error.data = { attempt: 2, tags: ['x'] };
          throw error;
        },
        lie: () => ({ n: 'nope' }) as unknown as { n: number },
        big: () => 10n as unknown,
      },
    }),
  });
  cleanup.push(env.close);
  return { ...env, worker: env.workers[0]! };
}

describe.each(['json', 'advanced'] as const)('calls over a %s channel', (serialization) => {
  it('returns typed results both ways, with the caller identity in ctx', async () => {
    const { primary, worker } = await setup(serialization);
    await expect(primary.call(1, 'add', { a: 2, b: 3 })).resolves.toBe(5);
    await expect(worker.call('whoami')).resolves.toBe(JSON.stringify({ kind: 'worker', id: 1, pid: 10_001 }));
  });

  it('rebuilds a handler error as REMOTE with name, message, code, stack, cause and data', async () => {
    const { primary } = await setup(serialization);
    const error = await primary.call(1, 'fail').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    const remote = error as RemoteError;
    expect(remote.code).toBe('REMOTE');
    expect(remote.message).toBe('call "fail" to worker 1 failed: TypeError: bad thing');
    expect(remote.remote).toMatchObject({ name: 'TypeError', message: 'bad thing', code: 'E_BAD' });
    expect(remote.remote.stack).toContain('TypeError: bad thing');
    expect(remote.data).toEqual({ attempt: 2, tags: ['x'] });
    const cause = remote.cause as Error & { code?: string };
    expect(cause.name).toBe('TypeError');
    expect(cause.code).toBe('E_BAD');
    expect((cause.cause as Error).message).toBe('deeper');
  });
});

describe('timeouts', () => {
  it('rejects with TIMEOUT, tells the handler through ctx.signal, and drops the late reply', async () => {
    aborts.length = 0;
    const { primary } = await setup();
    const error = await primary.call(1, 'wait', { ms: 1_000 }, { timeout: 30 }).catch((e: unknown) => e);
    expect(isBusError(error) && error.code).toBe('TIMEOUT');
    expect((error as Error).message).toBe('call "wait" to worker 1 timed out after 30 ms');
    await until(() => aborts.length === 1);
    expect((aborts[0] as Error).name).toBe('TimeoutError');
    expect((aborts[0] as Error).message).toBe(
      `call "wait" from the primary timed out on the caller's side; stop the work`,
    );
    expect(primary.worker(1)?.inFlight).toBe(0);
  });

  it('uses the bus default, and 0 or Infinity disables the timer', async () => {
    const { primary } = await setup('json', 20);
    await expect(primary.call(1, 'wait', { ms: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(primary.call(1, 'wait', { ms: 60 }, { timeout: 0 })).resolves.toBe('done');
    await expect(primary.call(1, 'wait', { ms: 60 }, { timeout: Number.POSITIVE_INFINITY })).resolves.toBe(
      'done',
    );
  });

  it('never keeps the process alive: the timer is unref()ed', async () => {
    const { primary } = await setup();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const call = primary.call(1, 'add', { a: 1, b: 1 }, { timeout: 5_000 });
    const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    await call;
  });

  it('rejects a bad timeout option eagerly', async () => {
    const { primary } = await setup();
    expect(() => primary.call(1, 'add', { a: 1, b: 1 }, { timeout: -1 })).toThrow(RangeError);
    // Past what a Node timer can wait: it would fire after 1 ms.
    expect(() => primary.call(1, 'add', { a: 1, b: 1 }, { timeout: 2 ** 31 })).toThrow(
      /timeout must be a number of milliseconds from 0 to 2147483647 \(about 24\.8 days\), or 0 or Infinity for none, got 2147483648/,
    );
    await expect(primary.call(1, 'add', { a: 1, b: 1 }, { timeout: 2 ** 31 - 1 })).resolves.toBe(2);
  });
});

describe('abort', () => {
  it('rejects at once with ABORTED and aborts the handler signal', async () => {
    aborts.length = 0;
    const { primary } = await setup();
    const controller = new AbortController();
    const call = primary.call(1, 'wait', { ms: 5_000 }, { signal: controller.signal });
    await until(() => primary.worker(1)?.inFlight === 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expect(call).rejects.toMatchObject({
      code: 'ABORTED',
      message: 'call "wait" to worker 1 was aborted',
    });
    await until(() => aborts.length === 1);
    expect((aborts[0] as Error).name).toBe('AbortedError');
  });

  it('does not send at all when the signal is already aborted', async () => {
    const { primary } = await setup();
    await expect(
      primary.call(1, 'add', { a: 1, b: 2 }, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(primary.worker(1)?.inFlight).toBe(0);
  });
});

describe('validation', () => {
  it('rejects bad input before sending, naming method, side and path', async () => {
    const { primary } = await setup();
    const error = await primary
      .call(1, 'add', { a: 1, b: 'x' as unknown as number })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION', name: 'ValidationError' });
    expect((error as Error).message).toMatch(
      /^input of call "add" failed validation on the primary before sending at "b": /,
    );
  });

  it('rejects bad output on the replying side', async () => {
    const { primary } = await setup();
    const error = await primary.call(1, 'lie').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION' });
    expect((error as Error).message).toMatch(
      /^output of call "lie" failed validation on worker 1 before replying at "n"/,
    );
  });

  it('revalidates input on receipt: the receiver never trusts the wire', async () => {
    const served = vi.fn();
    const { caller, close } = rawPeers({ def: contract.worker.add, handler: served });
    // No definition on the caller side: the bad input goes out unchecked, as a buggy or hostile sender would.
    const error = await caller.call('add', { a: 'one' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION' });
    expect((error as Error).message).toMatch(
      /^input of call "add" failed validation on worker 9 on receipt at "a"/,
    );
    expect(served).not.toHaveBeenCalled();
    close();
  });

  it('revalidates output on receipt', async () => {
    const { caller, close } = rawPeers({
      def: { input: z.unknown(), output: z.unknown() },
      handler: () => 'not a number',
    });
    const error = await caller
      .call('add', { a: 1, b: 2 }, {}, { def: contract.worker.add })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^output of call "add" failed validation on the primary on receipt from worker 9/,
    );
    close();
  });

  it('turns a value the channel cannot serialize into a VALIDATION error for the caller', async () => {
    const { primary } = await setup('json');
    const error = await primary.call(1, 'big').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION' });
    expect((error as Error).message).toMatch(/could not be serialized/);
  });
});

describe('routing failures', () => {
  it('answers a contract method the worker serves no handler for with NO_HANDLER', async () => {
    const { primary } = await setup();
    const error = await primary.call(1, 'nothing').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'NO_HANDLER',
      message: 'call "nothing": worker 1 has no handler for "nothing"',
    });
  });

  it('rejects every pending call with PEER_GONE when the channel dies', async () => {
    const { primary, pairs } = await setup();
    const calls = [primary.call(1, 'wait', { ms: 5_000 }), primary.call(1, 'wait', { ms: 5_000 })];
    await until(() => primary.worker(1)?.inFlight === 2);
    pairs[0]!.close();
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'PEER_GONE' });
    expect(primary.worker(1)).toBeUndefined();
    await expect(primary.call(1, 'add', { a: 1, b: 1 })).rejects.toMatchObject({
      code: 'PEER_GONE',
      message: 'call "add" to worker 1 failed: worker 1 is not attached (it exited, or was never forked)',
    });
  });

  it('rejects pending calls with CLOSED when the bus closes', async () => {
    const { primary } = await setup();
    const call = primary.call(1, 'wait', { ms: 5_000 });
    await until(() => primary.worker(1)?.inFlight === 1);
    primary.close();
    await expect(call).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('wire hygiene', () => {
  it('leaves foreign messages alone and drops replies to unknown ids quietly', async () => {
    const { primary, pairs } = await setup();
    const errors: unknown[] = [];
    primary.on('error', (error) => errors.push(error));
    pairs[0]!.inject('a', { type: 'process:msg', data: 'pm2' });
    pairs[0]!.inject('a', 'a bare string');
    pairs[0]!.inject('a', null);
    pairs[0]!.inject('a', { $cb: PROTOCOL_VERSION, k: 'res', id: 'nobody:1', o: 1 });
    await expect(primary.call(1, 'add', { a: 1, b: 1 })).resolves.toBe(2);
    expect(errors).toEqual([]);
  });

  it('reports malformed or foreign-version messages on the error event and keeps working', async () => {
    const { primary, pairs } = await setup();
    const errors: Error[] = [];
    primary.on('error', (error) => errors.push(error));
    pairs[0]!.inject('a', { $cb: 99, k: 'req' });
    pairs[0]!.inject('a', { $cb: PROTOCOL_VERSION, k: 'what' });
    pairs[0]!.inject('a', { $cb: PROTOCOL_VERSION, k: 'req', id: 5 });
    await until(() => errors.length === 3);
    expect(errors.map((error) => error.message)).toEqual([
      'dropped a malformed message from worker 1: protocol version 99 is not supported (this end speaks 1)',
      'dropped a malformed message from worker 1: unknown kind "what"',
      'dropped a malformed message from worker 1: request without id or method',
    ]);
    await expect(primary.call(1, 'add', { a: 1, b: 1 })).resolves.toBe(2);
  });

  it('gives every call a unique correlation id: its instance (announced in the hello) and a counter', async () => {
    const ids = new Set<string>();
    const instances = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const pair = createMemoryTransportPair();
      let instance = '';
      pair.b.onMessage((value) => {
        const message = value as { k: string; id?: string; d?: { instance?: string } };
        if (message.k === 'ctl') instance = message.d?.instance ?? '';
        else if (message.id !== undefined) ids.add(`${instance}/${message.id}`);
      });
      const peer = barePeer(pair.a, 0);
      pair.inject('a', { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'b', ack: true } });
      await until(() => peer.connected);
      for (let i = 0; i < 50; i++) void peer.call('x', undefined).catch(() => {});
      await until(() => ids.size >= (round + 1) * 50);
      instances.add(instance);
      peer.close();
      pair.close();
    }
    expect(ids.size).toBe(150);
    expect(instances.size).toBe(3);
    // Each id carries its sender's instance, the one its hello announced.
    for (const entry of ids) {
      const [instance, id] = entry.split('/') as [string, string];
      expect(id.startsWith(`${instance}:`)).toBe(true);
    }
  });
});

describe('an end replaced behind the same channel', () => {
  it('fails the calls sent to the old instance with PEER_GONE, and the link keeps working', async () => {
    const pair = createMemoryTransportPair();
    cleanup.push(async () => pair.close());
    const requests: Array<{ id: string | number; m: string }> = [];
    pair.b.onMessage((value) => {
      const message = value as { k: string; id: string | number; m: string };
      if (message.k === 'req') requests.push(message);
    });
    // No timeout: without the new hello these calls would wait for ever.
    const peer = barePeer(pair.a, 0);
    cleanup.push(async () => peer.close());
    pair.inject('a', { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'old', ack: true } });
    await until(() => peer.connected);
    const lost = [peer.call('slow', undefined), peer.call('slow', undefined)];
    await until(() => requests.length === 2);
    pair.inject('a', { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'new', ack: true } });
    for (const call of lost) {
      await expect(call).rejects.toMatchObject({
        code: 'PEER_GONE',
        message: /call "slow" to b failed: b replaced its bus \(a new instance said hello\)/,
      });
    }
    expect(peer.inFlight).toBe(0);
    // A call to the new instance is answered as usual.
    const answered = peer.call('fast', undefined);
    await until(() => requests.length === 3);
    const request = requests[2]!;
    pair.inject('a', { $cb: 1, k: 'res', id: request.id, o: 'ok' });
    await expect(answered).resolves.toBe('ok');
  });
});

describe('an end that never says hello', () => {
  it('refuseUntilHello fails held calls and events at once, keeps what is owed, and a late hello lifts it', async () => {
    const pair = createMemoryTransportPair();
    cleanup.push(async () => pair.close());
    const seen: Array<{ k: string; c?: string; id?: string }> = [];
    pair.b.onMessage((value) => seen.push(value as { k: string; c?: string; id?: string }));
    const peer = barePeer(pair.a, 60_000);
    cleanup.push(async () => peer.close());
    const held = peer.call('x', undefined);
    const heldEvent = peer.sendEvent({ $cb: 1, k: 'evt', n: 'tick' });
    const ready = peer.sendControl('ready');
    peer.refuseUntilHello(new NoPrimaryError('nobody said hello'));
    await expect(held).rejects.toMatchObject({ code: 'NO_PRIMARY', message: /call "x" to b failed: nobody/ });
    await expect(heldEvent).rejects.toMatchObject({ code: 'NO_PRIMARY' });
    await expect(peer.call('y', undefined)).rejects.toMatchObject({ code: 'NO_PRIMARY' });
    // Nothing went out yet but the hello: the owed 'ready' is still held.
    expect(seen.map((m) => m.c ?? m.k)).toEqual(['hello']);
    pair.inject('a', { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'late', ack: true } });
    await until(() => peer.connected);
    await ready;
    const later = peer.call('z', undefined);
    await until(() => seen.some((m) => m.k === 'req'));
    expect(seen.filter((m) => m.k === 'req' || m.c === 'ready').map((m) => m.c ?? m.k)).toEqual([
      'ready',
      'req',
    ]);
    peer.close();
    await expect(later).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('errors on the wire', () => {
  it('keeps plain data and drops what would not survive json', () => {
    const error = Object.assign(new Error('x'), { data: { when: new Date(0) } });
    expect(errorToWire(error).data).toBeUndefined();
    expect(errorToWire(Object.assign(new Error('x'), { data: { a: [1, 'b', null] } })).data).toEqual({
      a: [1, 'b', null],
    });
    expect(errorToWire('just a string')).toEqual({ name: 'Error', message: 'just a string' });
  });
});

/** A peer named `a` that calls `b`, with no handlers of its own. */
function barePeer(transport: Transport, timeout: number): Peer {
  return createPeer({
    transport,
    localName: 'a',
    remoteName: 'b',
    remoteCaller: { kind: 'primary' },
    timeout,
    hooks: hooks(),
  });
}

function hooks(overrides: Partial<Parameters<typeof createPeer>[0]['hooks']> = {}) {
  return {
    resolve: () => undefined,
    event: () => {},
    control: () => {},
    error: () => {},
    closed: () => {},
    ...overrides,
  };
}

/** Two bare peers over memory: "the primary" calling "worker 9", which serves every method with `served`. */
function rawPeers(served: ServedProcedure) {
  const pair = createMemoryTransportPair();
  const server = createPeer({
    transport: pair.b,
    localName: 'worker 9',
    remoteName: 'the primary',
    remoteCaller: { kind: 'primary' },
    timeout: 1_000,
    hooks: hooks({ resolve: () => served }),
  });
  const caller = createPeer({
    transport: pair.a,
    localName: 'the primary',
    remoteName: 'worker 9',
    remoteCaller: { kind: 'worker', id: 9 },
    timeout: 1_000,
    hooks: hooks(),
  });
  return { caller, close: () => closePeers(pair, caller, server) };
}

function closePeers(pair: ReturnType<typeof createMemoryTransportPair>, ...peers: Peer[]) {
  for (const peer of peers) peer.close();
  pair.close();
}
