/**
 * The receive path never throws: hostile replies, events and controls arriving on a link are
 * decoded by type, reported on 'error', and the call they belong to settles with a BusError.
 * Values are injected as-is (no serialization), so they can be as hostile as a transport allows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type BusError, defineContract, isBusError, type Transport } from '../src/index.js';
import { memoryCluster, until } from './helpers/memory.js';

const contract = defineContract({
  worker: { hold: { output: z.string() } },
  primary: { holdPrimary: { output: z.string() } },
  events: { note: z.object({ text: z.string() }) },
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

/**
 * Wire ids of the requests for `method` arriving on `transport` (batches looked into). The wire id
 * is what a forged reply must carry; a handler's `ctx.callId` may be longer (prefixed).
 */
function requestIds(transport: Transport, method: string): Array<string | number> {
  const ids: Array<string | number> = [];
  transport.onMessage((value) => {
    const message = value as { k?: unknown; b?: unknown; m?: unknown; id?: unknown };
    const all = message.k === 'batch' && Array.isArray(message.b) ? message.b : [message];
    for (const item of all as Array<typeof message>) {
      if (
        item.k === 'req' &&
        item.m === method &&
        (typeof item.id === 'string' || typeof item.id === 'number')
      )
        ids.push(item.id);
    }
  });
  return ids;
}

/** Never answers (until aborted). */
const never = (_input: undefined, ctx: { signal: AbortSignal }) =>
  new Promise<string>((_resolve, reject) =>
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
  );

/** A cluster whose `hold` handlers never answer; `workerIds`/`primaryIds` are their wire ids. */
async function setup(serialization: 'json' | 'advanced') {
  const env = await memoryCluster(contract, {
    serialization,
    primary: { handlers: { holdPrimary: never } },
    worker: () => ({ handlers: { hold: never } }),
  });
  cleanups.push(env.close);
  const workerIds = requestIds(env.pairs[0]!.b, 'hold');
  const primaryIds = requestIds(env.pairs[0]!.a, 'holdPrimary');
  const primaryErrors: BusError[] = [];
  const workerErrors: BusError[] = [];
  env.primary.on('error', (error) => primaryErrors.push(error));
  env.workers[0]!.on('error', (error) => workerErrors.push(error));
  return { ...env, workerIds, primaryIds, primaryErrors, workerErrors };
}

const hostileString = { toString: 1 };
const throwingGetter = Object.defineProperty({}, 'message', {
  enumerable: true,
  get() {
    throw new Error('getter says no');
  },
});

const hostileErrors: Array<[string, unknown]> = [
  ['a non-string name', { name: hostileString, message: 'm' }],
  ['a non-string code', { name: 'Error', code: hostileString, message: 'm' }],
  ['a non-string stack', { name: 'Error', message: 'm', stack: hostileString }],
  ['a non-string message', { name: 'Error', message: hostileString }],
  ['a non-string cause message', { name: 'Error', message: 'm', cause: { message: hostileString } }],
  ['a cause that is a number', { name: 'Error', message: 'm', cause: 42 }],
  ['a throwing getter', throwingGetter],
  ['huge strings', { name: 'N'.repeat(1e6), message: 'M'.repeat(1e6), stack: 'S'.repeat(1e6) }],
];

describe.each(['json', 'advanced'] as const)('the receive path (%s)', (serialization) => {
  it.each(hostileErrors)('an error reply with %s rejects the call with a bounded BusError', async (_, e) => {
    const env = await setup(serialization);
    const call = env.primary.call(1, 'hold', undefined, { timeout: 0 });
    await until(() => env.workerIds.length === 1);
    env.pairs[0]!.inject('a', { $cb: 1, k: 'err', id: env.workerIds[0], e });
    const error = (await call.then(
      () => undefined,
      (reason: unknown) => reason,
    )) as BusError & { remote?: { name: string; message: string; stack?: string } };
    expect(isBusError(error)).toBe(true);
    expect(error.message.length).toBeLessThan(20_000);
    expect(typeof error.remote?.name).toBe('string');
    expect(error.remote!.name.length).toBeLessThanOrEqual(1_000);
    expect(error.remote!.message.length).toBeLessThanOrEqual(20_000);
    expect((error.remote!.stack ?? '').length).toBeLessThanOrEqual(70_000);
  });

  it('a bus-level error reply with a missing or unknown code is still a BusError', async () => {
    const env = await setup(serialization);
    const cases = [
      { name: 'Error', message: 'no code' },
      { name: 'Error', message: 'made-up code', code: 'MADE_UP' },
      { name: hostileString, message: 'bad name', code: 'TIMEOUT' },
      { name: 'weird', message: 'name without Error', code: 'PEER_GONE' },
    ];
    for (const e of cases) {
      const call = env.primary.call(1, 'hold', undefined, { timeout: 0 });
      await until(() => env.workerIds.length === 1);
      env.pairs[0]!.inject('a', { $cb: 1, k: 'err', id: env.workerIds.pop(), e, b: true });
      const error = await call.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isBusError(error), JSON.stringify(e)).toBe(true);
    }
  });

  it('a malformed reply for a known id settles that call and is reported on error', async () => {
    const env = await setup(serialization);
    const call = env.primary.call(1, 'hold', undefined, { timeout: 0 });
    await until(() => env.workerIds.length === 1);
    env.pairs[0]!.inject('a', { $cb: 1, k: 'err', id: env.workerIds[0], e: 'not an object' });
    await expect(call).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('call "hold" to worker 1'),
    });
    await until(() => env.primaryErrors.length === 1);
    expect(env.primaryErrors[0]!.message).toContain('malformed');
  });

  it('the same holds on the worker side, for its calls to the primary', async () => {
    const env = await setup(serialization);
    const call = env.workers[0]!.call('holdPrimary', undefined, { timeout: 0 });
    await until(() => env.primaryIds.length === 1);
    env.pairs[0]!.inject('b', { $cb: 1, k: 'err', id: env.primaryIds[0], e: { name: hostileString } });
    const error = await call.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isBusError(error)).toBe(true);
  });

  it('an event whose "f" is not a worker id is dropped and reported, not thrown', async () => {
    const env = await setup(serialization);
    env.pairs[0]!.inject('b', { $cb: 1, k: 'evt', n: 'note', p: { text: 'x' }, f: hostileString });
    env.pairs[0]!.inject('b', { $cb: 1, k: 'evt', n: 'note', p: { text: 'x' }, to: { evil: true } });
    await until(() => env.workerErrors.length === 2);
    expect(env.workerErrors.every(isBusError)).toBe(true);
  });

  it('a malformed request with an id gets an error reply, so its caller does not wait', async () => {
    const env = await setup(serialization);
    const replies: Array<Record<string, unknown>> = [];
    // Replies posted in one turn travel as one batch envelope: look inside.
    env.pairs[0]!.b.onMessage((value) => {
      const message = value as Record<string, unknown>;
      replies.push(...(message.k === 'batch' ? (message.b as Array<Record<string, unknown>>) : [message]));
    });
    env.pairs[0]!.inject('a', { $cb: 1, k: 'req', id: 'x:1', m: hostileString });
    await until(() => replies.some((reply) => reply.id === 'x:1'));
    expect(replies.find((reply) => reply.id === 'x:1')).toMatchObject({
      k: 'err',
      b: true,
      e: { code: 'VALIDATION' },
    });
    await until(() => env.primaryErrors.length === 1);
  });

  it('unreadable tags, versions and kinds are reported, never thrown', async () => {
    const env = await setup(serialization);
    const junk: unknown[] = [
      { $cb: hostileString },
      { $cb: 1, k: hostileString },
      { $cb: 1, k: 10n },
      { $cb: 2n, k: 'req' },
      { $cb: 1, k: 'ctl', c: 'hello', d: 'not an object' },
      { $cb: 1, k: 'ctl', c: 'hello', d: { pid: hostileString, workerId: 'one' } },
      { $cb: 1, k: 'cancel', id: 'x', r: hostileString },
      { $cb: 1, k: 'req', id: 'y', m: 'hold', t: Number.NaN },
      { $cb: 1, k: 'req', id: 'z', m: 'hold', self: hostileString },
    ];
    for (const value of junk) env.pairs[0]!.inject('a', value);
    await until(() => env.primaryErrors.length === junk.length);
    expect(env.primaryErrors.every(isBusError)).toBe(true);
    // The worker was not renamed or re-identified by the junk hello.
    expect(env.primary.worker(1)).toMatchObject({ id: 1, pid: 10_001, state: 'ready' });
  });

  it('a listener that throws does not escape the message listener', async () => {
    const env = await setup(serialization);
    env.workers[0]!.on('note', () => {
      throw new Error('listener bug');
    });
    env.pairs[0]!.inject('b', { $cb: 1, k: 'evt', n: 'note', p: { text: 'x' } });
    await until(() => env.workerErrors.length === 1);
    expect(env.workerErrors[0]!.message).toContain('listener bug');
  });
});

describe('gather rows', () => {
  it('a bus-level error with an unknown code in a relayed gather row is still a BusError', async () => {
    const env = await memoryCluster(contract, {
      workers: 2,
      primary: { handlers: { holdPrimary: () => 'x' } },
      worker: () => ({ handlers: { hold: never } }),
    });
    cleanups.push(env.close);
    const held = requestIds(env.pairs[1]!.b, 'hold');
    const rows = env.workers[0]!.callPeers('hold', undefined, { timeout: 0 });
    await until(() => held.length === 1);
    // Worker 2 answers the primary's relayed call with a bus-level error of a code nobody knows.
    env.pairs[1]!.inject('a', {
      $cb: 1,
      k: 'err',
      id: held[0],
      e: { name: 'Error', message: 'made up', code: 'MADE_UP' },
      b: true,
    });
    const [row] = await rows;
    expect(row).toMatchObject({ id: 2, ok: false });
    expect(isBusError((row as { error: unknown }).error)).toBe(true);
  });
});
