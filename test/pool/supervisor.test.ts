/**
 * `cluster.run()` over a real supervised cluster: `cluster.reload()` replaces every worker while a
 * producer keeps submitting. Replacements take tasks once ready, old workers drain (finishing
 * their task) and exit; no task is lost, none runs twice, none fails.
 */
import cluster, { type Worker } from 'node:cluster';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { startCluster } from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { poolContract, type TaskResult } from '../fixtures/pool-contract.js';
import { fixturePath, useWorkerCleanup } from '../helpers/cluster.js';
import { Notes } from './notes.js';

useWorkerCleanup();

describe('cluster.run() with the supervisor', () => {
  it('loses no task and runs none twice across cluster.reload()', async () => {
    const notes = new Notes();
    const onFork = (worker: Worker) => notes.watch(worker);
    cluster.on('fork', onFork);
    const supervisor = await startCluster({
      contract: poolContract,
      exec: fixturePath('pool-worker.ts'),
      execArgv: ['--import', 'tsx'],
      size: 2,
      probation: 100,
      signals: false,
      pool: { highWaterMark: 4 },
    });
    const pool = supervisor.pool;
    try {
      const before = supervisor.status().map((row) => row.id);
      const results: Array<Promise<z.infer<typeof TaskResult>>> = [];
      let reloading = true;
      const producer = (async () => {
        for (let i = 0; reloading || i < 20; i++) {
          if (pool.needsDrain) await pool.onDrain();
          results.push(supervisor.run('work', { id: `s${i}`, ms: 10 }));
          if (i % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const reload = await supervisor.reload();
      reloading = false;
      await producer;
      const done = await Promise.all(results);

      expect(reload.replaced).toHaveLength(2);
      const after = supervisor.status().map((row) => row.id);
      expect(after.some((id) => before.includes(id))).toBe(false);
      expect(done.some((r) => after.includes(r.worker))).toBe(true);
      const starts = notes.started();
      expect(starts.length).toBe(results.length);
      expect(new Set(starts).size).toBe(results.length);
      expect(supervisor.stats()).toMatchObject({
        completed: results.length,
        failed: 0,
        queued: 0,
        readyWorkers: 2,
      });
    } finally {
      cluster.off('fork', onFork);
      await supervisor.shutdown({ timeout: 3_000 });
    }
    // Shutdown closed the pool: new work is refused at once.
    await expect(supervisor.run('work', { id: 'late', ms: 1 })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('gives no task to a replacement in probation, so tasks survive one that dies there', async () => {
    const supervisor = await startCluster({
      contract,
      exec: fixturePath('supervisor-worker.ts'),
      execArgv: ['--import', 'tsx'],
      size: 1,
      probation: 1_500,
      signals: false,
    });
    try {
      const [old] = supervisor.status();
      const replacementReady = new Promise<void>((resolve) =>
        supervisor.once('workerReady', () => resolve()),
      );
      const reload = supervisor.reload({ env: { DIE_AFTER_READY_MS: '400' } }).catch((error) => error);
      await replacementReady;
      // During the replacement's probation, a steady stream of tasks.
      const tasks: Array<Promise<{ pid: number }>> = [];
      for (let i = 0; i < 20; i++) {
        tasks.push(supervisor.run('stats'));
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const results = await Promise.all(tasks);
      expect(results.every((result) => result.pid === old!.pid)).toBe(true);
      expect(await reload).toMatchObject({ code: 'RELOAD_FAILED' });
      expect(supervisor.stats()).toMatchObject({ failed: 0, completed: 20 });
    } finally {
      await supervisor.shutdown({ timeout: 3_000 });
    }
  });
});
