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
    // A hello with a new instance reads as a restart of the worker's bus: the primary fails the
    // calls pending on it (this one included), which shows the hello was handled.
    await expect(bus.call(worker, 'forgeHello', { pid: 1, workerId: 77 })).rejects.toMatchObject({
      code: 'PEER_GONE',
    });
    expect(bus.worker(worker.id)).toMatchObject({ id: worker.id, pid });
    const rows = await bus.callAll('ping', { n: 1 });
    expect(rows).toEqual([{ id: worker.id, pid, ok: true, value: { n: 1, pid } }]);
  });
});
