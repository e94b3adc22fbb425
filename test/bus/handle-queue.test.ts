/**
 * A worker that dies while a handle sent to it is still unacknowledged: Node keeps every later
 * send to it in a queue of its own and never calls them back. What the bus wrote meanwhile must
 * still settle (PEER_GONE for what was owed an answer), or a broadcast would hang for ever.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { forkFixture, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';

useWorkerCleanup();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const step of cleanups.splice(0)) step();
});

/** `promise`'s outcome, or 'pending' if it has none after `ms`. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  return Promise.race([promise, pending]).finally(() => clearTimeout(timer));
}

describe('a worker that dies with a handle in flight', () => {
  it('settles the broadcast, the event and the flush written behind the handle', async () => {
    const bus: PrimaryBus<TestContract> = createPrimaryBus(contract);
    cleanups.push(() => bus.close());
    const worker = forkFixture('busy-worker.ts');
    await waitForReady(bus, worker, 20_000);
    const server = createServer().listen(0, '127.0.0.1');
    cleanups.push(() => server.close());
    await once(server, 'listening');
    // The worker spins, so it never acknowledges the handle: what follows waits in Node's queue.
    worker.send({ block: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // What cluster's round-robin scheduling does with every new connection.
    worker.send('handle', server);
    const broadcast = bus.broadcast('invalidate', { key: 'k' });
    const event = bus.emitTo(worker, 'note', { text: 'n' }).then(
      () => 'written',
      (error: { code?: string }) => error.code,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    worker.process.kill('SIGKILL');
    await once(worker, 'exit');
    // A broadcast skips a worker it could not write to; the event to that worker fails.
    expect(await settledWithin(broadcast, 5_000)).toEqual([]);
    expect(await settledWithin(event, 5_000)).toBe('PEER_GONE');
    expect(await settledWithin(bus.flush(), 5_000)).toBeUndefined();
  });
});
