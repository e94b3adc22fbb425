/**
 * Bad input and bad timing must never crash a process or leave a call hanging: async schemas
 * where sync ones are needed, a link closing mid-validation, forged relay fields, a dead channel
 * attached late, cyclic error causes, malformed control data, an un-awaited ready().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createMemoryTransportPair,
  createPrimaryBus,
  createWorkerBus,
  defineContract,
  errorFromWire,
  type WireError,
} from '../../src/index.js';
import { memoryCluster, until } from '../helpers/memory.js';

const contract = defineContract({
  worker: {
    slowCheck: {
      input: z.string().refine(async (value) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return value.length > 0;
      }),
      output: z.string(),
    },
  },
  primary: { who: { output: z.string() } },
  events: {
    checked: z.object({ text: z.string() }).refine(async (value) => value.text.length > 0),
    plain: z.object({ text: z.string() }),
  },
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function cluster() {
  const env = await memoryCluster(contract, {
    primary: { handlers: { who: (_input, ctx) => JSON.stringify(ctx.caller) } },
    worker: () => ({ handlers: { slowCheck: (text) => text.toUpperCase() } }),
  });
  cleanups.push(env.close);
  return env;
}

describe('async event schemas', () => {
  it('are refused with VALIDATION on the sender, and no rejection goes unhandled', async () => {
    const { primary } = await cluster();
    await expect(primary.broadcast('checked', { text: '' })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('event schemas must be synchronous'),
    });
    // Give the pending async refinement time to settle: it must not surface as an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 30));
  });

  it('are dropped and reported on the receiver when such an event arrives anyway', async () => {
    const { workers, pairs } = await cluster();
    const errors: Error[] = [];
    workers[0]!.on('error', (error) => errors.push(error));
    pairs[0]!.inject('b', { $cb: 1, k: 'evt', n: 'checked', p: { text: '' } });
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'VALIDATION' });
    await new Promise((resolve) => setTimeout(resolve, 30));
  });
});

describe('timing', () => {
  it('a call still validating its input when the bus closes rejects instead of hanging', async () => {
    const { primary } = await cluster();
    const call = primary.call(1, 'slowCheck', 'x', { timeout: 0 });
    primary.close();
    await expect(call).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a signal that fires during async input validation aborts the call before it is sent', async () => {
    const { primary, workers } = await cluster();
    const controller = new AbortController();
    const call = primary.call(1, 'slowCheck', 'x', { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'ABORTED' });
    expect(workers[0]!.handling).toBe(0);
  });

  it('an un-awaited ready() on a dead link reports on error instead of crashing', async () => {
    const pair = createMemoryTransportPair();
    const bus = createWorkerBus(contract, { transport: pair.b });
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    pair.close();
    void bus.ready();
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'PEER_GONE' });
    expect(bus.isReady).toBe(false);
    await bus.close();
  });

  it('a channel that died before it was attached fails calls with PEER_GONE at once', async () => {
    const primary = createPrimaryBus(contract, { autoAttach: false });
    cleanups.push(() => primary.close());
    const pair = createMemoryTransportPair();
    pair.close();
    primary.attachTransport(5, pair.a);
    await until(() => primary.worker(5) === undefined);
    await expect(primary.call(5, 'slowCheck', 'x')).rejects.toMatchObject({ code: 'PEER_GONE' });
  });
});

describe('forged or malformed wire data', () => {
  it('the primary ignores a relayed-from id a worker makes up, and refuses a non-integer one', async () => {
    const { primary, pairs } = await cluster();
    const replies: unknown[] = [];
    // Replies posted in one turn travel as one batch envelope: look inside.
    pairs[0]!.b.onMessage((value) => {
      const batch = value as { k?: string; b?: unknown[] };
      replies.push(...(batch.k === 'batch' && Array.isArray(batch.b) ? batch.b : [value]));
    });
    const errors: Error[] = [];
    primary.on('error', (error) => errors.push(error));
    pairs[0]!.inject('a', { $cb: 1, k: 'req', id: 'forged:1', m: 'who', f: 99 });
    pairs[0]!.inject('a', { $cb: 1, k: 'req', id: 'forged:2', m: 'who', f: 'admin' });
    await until(
      () => replies.some((reply) => (reply as { id?: string }).id === 'forged:1') && errors.length === 1,
    );
    const reply = replies.find((value) => (value as { id?: string }).id === 'forged:1') as { o: string };
    expect(JSON.parse(reply.o)).toEqual({ kind: 'worker', id: 1, pid: 10_001 });
    expect(errors[0]!.message).toContain('request with bad "f"');
  });

  it('a worker survives a peers list with junk in it', async () => {
    const { workers, pairs } = await cluster();
    pairs[0]!.inject('b', { $cb: 1, k: 'ctl', c: 'peers', d: [null, 7, { id: 2, pid: 3, state: 'ready' }] });
    await until(() => workers[0]!.peers().length === 1);
    expect(workers[0]!.peers()).toEqual([{ id: 2, pid: 3, state: 'ready' }]);
  });

  it('rebuilding a cyclic error cause stops at a fixed depth', () => {
    const wire: WireError = { name: 'Error', message: 'loop' };
    wire.cause = wire;
    let depth = 0;
    for (let error: unknown = errorFromWire(wire); error instanceof Error; error = error.cause) depth++;
    expect(depth).toBeGreaterThan(1);
    expect(depth).toBeLessThanOrEqual(9);
  });
});
