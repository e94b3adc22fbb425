/**
 * The send bound refuses only new work, counts only what really waits for the channel, and a
 * call that settles while held before the other end's hello is never sent (issue 8 §3). Over
 * real cluster IPC, with real slow receivers; plus the bound's arithmetic over a channel whose
 * writes complete when the test says so.
 */
import type { Worker } from 'node:cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import type { Message, WireMessage } from '../../src/protocol.js';
import { createTransport, type RawChannel } from '../../src/transports/channel.js';
import { busyWait, type OutboundContract, outboundContract } from '../fixtures/outbound-contract.js';
import { forkFixture, nextMessage, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';

useWorkerCleanup();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

function primary(options: { maxPendingSends?: number } = {}): PrimaryBus<OutboundContract> {
  const bus = createPrimaryBus(outboundContract, {
    ...options,
    handlers: { twice: (n) => n * 2 },
  });
  cleanups.push(() => bus.close());
  return bus;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A channel whose writes complete only when the test calls `complete()`. */
function stalledChannel() {
  const written: WireMessage[] = [];
  const callbacks: Array<(error?: Error | null) => void> = [];
  const channel: RawChannel = {
    name: 'the stalled channel',
    isOpen: () => true,
    write(message, done) {
      written.push(message);
      callbacks.push(done);
    },
    listen: () => () => {},
  };
  return {
    channel,
    written,
    complete() {
      for (const done of callbacks.splice(0)) done(null);
    },
  };
}

describe('the send bound, over a channel that holds its writes', () => {
  it('refuses new requests and events once writes really wait, never replies, cancels or control', async () => {
    const stalled = stalledChannel();
    const transport = createTransport(stalled.channel, { maxPendingSends: 3 });
    const outcomes: Array<string> = [];
    const post = (message: Message) =>
      transport.post(message, (error) =>
        outcomes.push(`${message.k}:${error ? (error as { code?: string }).code : 'ok'}`),
      );
    const request = (id: string): Message => ({ $cb: 1, k: 'req', id, m: 'x' });
    // A burst in one turn to a channel with nothing waiting: all accepted.
    for (let i = 0; i < 5; i++) post(request(String(i)));
    await nextTurn();
    expect(stalled.written).toHaveLength(5);
    expect(outcomes).toEqual([]);
    expect(transport.pendingSends).toBe(5);
    // Now five writes really wait: new work is refused, what is owed is not.
    post(request('late'));
    post({ $cb: 1, k: 'evt', n: 'e' });
    post({ $cb: 1, k: 'res', id: '9', o: 1 });
    post({ $cb: 1, k: 'err', id: '8', e: { name: 'Error', message: 'no' } });
    post({ $cb: 1, k: 'cancel', id: '7', r: 'timeout' });
    post({ $cb: 1, k: 'ctl', c: 'ready' });
    expect(outcomes).toEqual(['req:OVERLOADED', 'evt:OVERLOADED']);
    await nextTurn();
    expect(stalled.written.map((m) => m.k).slice(5)).toEqual(['res', 'err', 'cancel', 'ctl']);
    stalled.complete();
    await transport.flush();
    expect(transport.pendingSends).toBe(0);
    // Drained: new work goes again.
    post(request('again'));
    await nextTurn();
    stalled.complete();
    expect(outcomes.at(-1)).toBe('req:ok');
    transport.dispose();
  });
});

describe('the send bound, over real cluster IPC', () => {
  it('takes a burst of 12 000 calls in one turn to an idle worker', async () => {
    const bus = primary();
    const worker = forkFixture('outbound-worker.ts');
    await waitForReady(bus, worker);
    const calls = Array.from({ length: 12_000 }, (_, i) => bus.call(worker, 'echo', i));
    const settled = await Promise.allSettled(calls);
    const refused = settled.filter((result) => result.status === 'rejected');
    expect(refused.map((result) => (result as PromiseRejectedResult).reason?.code).slice(0, 3)).toEqual([]);
    expect(settled.every((result, i) => result.status === 'fulfilled' && result.value === i)).toBe(true);
  });

  it('sends the reply of a handler whose events filled the bound', async () => {
    const bus = primary();
    // The primary reads slowly: every blob blocks it for 20 ms, so the worker's writes back up.
    bus.on('blob', () => busyWait(20));
    const worker = forkFixture('outbound-worker.ts', { env: { MAX_PENDING: '4' } });
    await waitForReady(bus, worker);
    const result = await bus.call(
      worker,
      'flood',
      { bytes: 256 * 1024, perTurn: 8, maxTurns: 2_000 },
      { timeout: 60_000 },
    );
    // The bound was really full when the handler returned: its last event was refused, its reply was not.
    expect(result.refused).toBe('OVERLOADED');
    // And the link still works.
    await expect(bus.call(worker, 'echo', 5, { timeout: 60_000 })).resolves.toBe(5);
  }, 90_000);

  it('sends the cancels of aborted calls while the bound is full', async () => {
    const bus = primary({ maxPendingSends: 4 });
    const worker = forkFixture('outbound-worker.ts', { env: { SLOW_BLOB_MS: '20' } });
    await waitForReady(bus, worker);
    const aborted = collect(worker, 'aborted');
    const started = collect(worker, 'started');
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    const calls = controllers.map((controller, i) =>
      bus.call(worker, 'hang', i, { signal: controller.signal, timeout: 0 }).catch((error) => error),
    );
    await until(() => started.size === 20, 20_000);
    // Fill the primary's bound toward the slow worker until an event is refused.
    const blob = { s: 'x'.repeat(256 * 1024) };
    let refused: string | undefined;
    for (let turn = 0; turn < 2_000 && refused === undefined; turn++) {
      for (let i = 0; i < 8; i++) {
        bus.emitTo(worker, 'blob', blob).catch((error: { code?: string }) => {
          refused ??= error.code;
        });
      }
      await nextTurn();
    }
    expect(refused).toBe('OVERLOADED');
    for (const controller of controllers) controller.abort();
    expect((await Promise.all(calls)).map((error) => error.code)).toEqual(Array(20).fill('ABORTED'));
    // Every handler saw its cancel once the worker caught up.
    await until(() => aborted.size === 20, 60_000);
    // And their error replies came back: nothing is counted as abandoned any more.
    await until(() => bus.worker(worker.id)?.abandoned === 0, 60_000);
  }, 90_000);
});

describe('the held queue before the other end said hello', () => {
  it('drops calls that time out or are aborted while held: never sent, never OVERLOADED', async () => {
    const bus = primary();
    const worker = forkFixture('outbound-worker.ts', { env: { LATE_BUS: '1' } });
    await nextMessage(worker, (message) => message?.waitingForGo === true);
    const timedOut = await Promise.allSettled(
      Array.from({ length: 3 }, () => bus.call(worker, 'count', undefined, { timeout: 20 })),
    );
    expect(timedOut.map((result) => (result as PromiseRejectedResult).reason?.code)).toEqual([
      'TIMEOUT',
      'TIMEOUT',
      'TIMEOUT',
    ]);
    // More aborted calls than the held bound (10 000): each leaves the queue at once.
    const codes = new Set<string>();
    for (let i = 0; i < 10_500; i++) {
      const controller = new AbortController();
      const call = bus.call(worker, 'count', undefined, { signal: controller.signal });
      controller.abort();
      codes.add(
        await call.then(
          () => 'resolved',
          (error: { code: string }) => error.code,
        ),
      );
    }
    expect([...codes]).toEqual(['ABORTED']);
    worker.send({ go: true });
    await waitForReady(bus, worker);
    // Only this call ever reached the handler.
    await expect(bus.call(worker, 'count')).resolves.toBe(1);
    expect(bus.worker(worker.id)?.abandoned).toBe(0);
  }, 60_000);
});

/** The values of `{ [key]: n }` messages a worker sends, as they arrive. */
function collect(worker: Worker, key: string): Set<number> {
  const seen = new Set<number>();
  worker.on('message', (message) => {
    const value = (message as Record<string, unknown> | null)?.[key];
    if (typeof value === 'number') seen.add(value);
  });
  return seen;
}
