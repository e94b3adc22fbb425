/** waitForReady(n) rejects as soon as n workers can no longer be ready, naming how each one ended. */
import cluster, { type Worker } from 'node:cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { forkFixture, useWorkerCleanup } from '../helpers/cluster.js';

useWorkerCleanup();
let bus: PrimaryBus<typeof contract> | undefined;
afterEach(() => bus?.close());

describe('waitForReady when workers die while booting', () => {
  it('rejects with NOT_READY, not at its timeout, with each exit code or signal', async () => {
    bus = createPrimaryBus(contract);
    const coded = forkFixture('boot-crash-worker.ts', { env: { EXIT_CODE: '7' } });
    const killed = forkFixture('boot-crash-worker.ts', { env: { EXIT_SIGNAL: 'SIGKILL' } });
    // A timeout far beyond the test's own: only an early rejection passes. One worker would do,
    // so it rejects only once both have died, and names both.
    const error = await bus.waitForReady(1, { timeout: 600_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_READY', name: 'NotReadyError' });
    const message = (error as Error).message;
    expect(message).toMatch(
      /^waitForReady\(1\): too few workers are left to reach 1 ready \(0 ready, 0 starting\): /,
    );
    expect(message).toContain(`worker ${coded.id} exited with code 7`);
    expect(message).toContain(`worker ${killed.id} was killed by SIGKILL`);
  });

  it('keeps waiting while enough workers are left, and counts a respawn forked on exit', async () => {
    bus = createPrimaryBus(contract);
    const respawned: Worker[] = [];
    const respawn = (worker: Worker) => {
      if (respawned.length < 1 && worker.process.spawnargs.some((arg) => arg.includes('boot-crash'))) {
        respawned.push(forkFixture('echo-worker.ts'));
      }
    };
    cluster.on('exit', respawn);
    try {
      forkFixture('echo-worker.ts');
      forkFixture('boot-crash-worker.ts');
      const ids = await bus.waitForReady(2, { timeout: 600_000 });
      expect(ids).toHaveLength(2);
      expect(ids).toContain(respawned[0]!.id);
    } finally {
      cluster.off('exit', respawn);
    }
  });
});
