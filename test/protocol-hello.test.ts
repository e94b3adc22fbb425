/**
 * A hello is not an identity: the pid of a cluster worker comes from `worker.process.pid`, never
 * from what the worker (or anything writing to its channel) claims on the wire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../src/index.js';
import { type WireContract, wireContract } from './fixtures/wire-contract.js';
import { forkFixture, useWorkerCleanup, waitForReady } from './helpers/cluster.js';

useWorkerCleanup();
let bus: PrimaryBus<WireContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

describe('a forged hello', () => {
  it('does not change the pid the primary knows for a cluster worker', async () => {
    bus = createPrimaryBus(wireContract, {
      handlers: { pong: ({ n }) => ({ n }), hold: () => 'held' },
    });
    const worker = forkFixture('wire-worker.ts');
    await waitForReady(bus, worker, 20_000);
    const pid = worker.process.pid;
    // The hello travels before the reply on the same channel, and its new instance id reads as a
    // restarted bus: the call pending at that moment fails PEER_GONE (it cannot be answered by
    // the "new" bus). Either way the hello has been handled once the call settles.
    const forged = await bus.call(worker, 'forgeHello', { pid: 1, workerId: 77 }).then(
      () => 'answered',
      (error: { code?: string }) => error.code,
    );
    expect(['answered', 'PEER_GONE']).toContain(forged);
    expect(bus.worker(worker.id)).toMatchObject({ id: worker.id, pid });
    const rows = await bus.callAll('ping', { n: 1 });
    expect(rows).toEqual([{ id: worker.id, pid, ok: true, value: { n: 1, pid } }]);
  });
});
