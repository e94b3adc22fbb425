/** Two createWorkerBus on one process's IPC channel: the second is refused, not silently unreachable. */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { forkFixture, nextMessage, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';

useWorkerCleanup();
let bus: PrimaryBus<typeof contract> | undefined;
afterEach(() => bus?.close());

describe('one worker bus per process', () => {
  it('refuses a second createWorkerBus on the same IPC channel; the first keeps serving', async () => {
    bus = createPrimaryBus(contract);
    const worker = forkFixture('two-buses-worker.ts');
    const report = await nextMessage(worker, (m) => m.twoBuses && 'second' in m);
    expect(report).toMatchObject({ second: 'refused', name: 'TypeError' });
    expect(report.message).toMatch(/this process already has a worker bus on its IPC channel/);
    expect(report.message).toMatch(/Create the bus once/);
    await waitForReady(bus, worker);
    expect(await bus.call(worker, 'stats')).toMatchObject({ pid: worker.process.pid });
  });

  it('allows a new bus once the first one is closed', async () => {
    bus = createPrimaryBus(contract);
    const worker = forkFixture('two-buses-worker.ts', { env: { CLOSE_FIRST: '1' } });
    const third = nextMessage(worker, (m) => m.twoBuses && 'third' in m);
    await third;
    await waitForReady(bus, worker);
    expect(await bus.call(worker, 'stats')).toMatchObject({ pid: worker.process.pid });
  });
});
