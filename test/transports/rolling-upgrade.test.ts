/**
 * Rolling upgrades: an end that speaks protocol v1 without batches (the package as built before
 * batching, in test/fixtures/v1) and the current code, over real cluster IPC, in both directions.
 * The new end sees no `batch` feature in the old end's hello and sends it single messages; the
 * old end never meets an envelope it cannot read. Between two new ends, batches are used.
 */
import type { Worker } from 'node:cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus } from '../../src/index.js';
import { type OutboundContract, outboundContract } from '../fixtures/outbound-contract.js';
import { createPrimaryBus as createV1PrimaryBus } from '../fixtures/v1/clusterbus-v1.mjs';
import { forkFixture, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';

useWorkerCleanup();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

/** Every tagged value a worker sends, raw, as it arrives. */
function tagged(worker: Worker): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  worker.on('message', (message) => {
    if (typeof message === 'object' && message !== null && '$cb' in message) seen.push(message);
  });
  return seen;
}

/** What a worker reports with plain `process.send({ busError })`. */
function busErrors(worker: Worker): string[] {
  const seen: string[] = [];
  worker.on('message', (message) => {
    if (typeof message?.busError === 'string') seen.push(`${message.busError}: ${message.message}`);
  });
  return seen;
}

type AnyBus = {
  call(worker: Worker, method: string, input?: unknown, options?: unknown): Promise<any>;
  on(event: string, listener: (...args: any[]) => void): unknown;
};

/** The same conversation, whichever end is old: a burst of calls, events then a reply, a call back. */
async function converse(bus: AnyBus, worker: Worker) {
  const echoes = await Promise.all(Array.from({ length: 300 }, (_, i) => bus.call(worker, 'echo', i)));
  expect(echoes).toEqual(Array.from({ length: 300 }, (_, i) => i));
  const notes: number[] = [];
  bus.on('note', ({ n }: { n: number }) => notes.push(n));
  await expect(bus.call(worker, 'notes', 40)).resolves.toBe(40);
  // The events were posted before the reply: they arrived before it, in order.
  expect(notes).toEqual(Array.from({ length: 40 }, (_, i) => i));
  await expect(bus.call(worker, 'viaPrimary', 21)).resolves.toBe(42);
}

describe('rolling upgrade', () => {
  it('a new primary talks to an old (v1) worker with single messages', async () => {
    const bus = createPrimaryBus(outboundContract, { handlers: { twice: (n) => n * 2 } });
    cleanups.push(() => bus.close());
    const worker = forkFixture('v1-worker.ts');
    const wire = tagged(worker);
    const errors = busErrors(worker);
    await waitForReady(bus, worker);
    await converse(bus as unknown as AnyBus, worker);
    // The old worker read everything the new primary sent (a batch would be a dropped message).
    expect(errors).toEqual([]);
    expect(wire.some((message) => message.k === 'batch')).toBe(false);
  });

  it('an old (v1) primary talks to a new worker, which sends it single messages', async () => {
    const bus = createV1PrimaryBus(outboundContract, { handlers: { twice: (n: number) => n * 2 } });
    cleanups.push(() => bus.close());
    const primaryErrors: string[] = [];
    bus.on('error', (error: Error) => primaryErrors.push(error.message));
    const worker = forkFixture('outbound-worker.ts');
    const wire = tagged(worker);
    await waitForReady(bus, worker);
    await converse(bus as AnyBus, worker);
    expect(primaryErrors).toEqual([]);
    expect(wire.some((message) => message.k === 'batch')).toBe(false);
    // The new worker announced what it speaks; the old primary ignored it.
    const hello = wire.find((message) => message.k === 'ctl' && message.c === 'hello');
    expect((hello?.d as { features?: string[] } | undefined)?.features).toContain('batch');
  });

  it('two new ends batch what they post in one turn, in order', async () => {
    const bus = createPrimaryBus<OutboundContract>(outboundContract, { handlers: { twice: (n) => n * 2 } });
    cleanups.push(() => bus.close());
    const worker = forkFixture('outbound-worker.ts');
    const wire = tagged(worker);
    await waitForReady(bus, worker);
    await converse(bus as unknown as AnyBus, worker);
    const batches = wire.filter((message) => message.k === 'batch') as Array<{
      b: Array<Record<string, unknown>>;
    }>;
    expect(batches.length).toBeGreaterThan(0);
    // The 40 notes and the reply of `notes` were posted in one turn: batches of EAGER_WRITE_AT
    // (written as the turn goes) and the rest at its end, events first, in order.
    const notesBatches = batches.filter((batch) => batch.b.some((message) => message.k === 'evt'));
    expect(notesBatches.map((batch) => batch.b.length)).toEqual([32, 9]);
    expect(
      notesBatches
        .flatMap((batch) => batch.b)
        .map((message) => (message.k === 'evt' ? (message.p as { n: number }).n : message.k)),
    ).toEqual([...Array.from({ length: 40 }, (_, i) => i), 'res']);
  });
});
