/**
 * A reload simulated with the bus alone: while a producer keeps submitting (respecting
 * `needsDrain`), every worker is replaced — fork the replacement, wait until it is ready, drain the
 * old one, let its running task finish, kill it. No task may be lost or run twice.
 */
import type { Worker } from 'node:cluster';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { TaskResult } from '../fixtures/pool-contract.js';
import { forkFixture, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';
import { kill } from './notes.js';
import { until, withPool } from './setup.js';

useWorkerCleanup();

describe('TaskPool during a reload', () => {
  it('loses no task and runs none twice while every worker is replaced', async () => {
    await withPool(2, { highWaterMark: 4 }, async ({ bus, pool, workers, notes }) => {
      const results: Array<Promise<z.infer<typeof TaskResult>>> = [];
      let reloading = true;
      let backpressured = 0;
      const producer = (async () => {
        for (let i = 0; reloading || i < 20; i++) {
          if (pool.needsDrain) {
            backpressured++;
            await pool.onDrain();
          }
          results.push(pool.run('work', { id: `r${i}`, ms: 10 }));
          // Yield now and then so the reload below gets to run.
          if (i % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
        }
      })();

      const fresh: Worker[] = [];
      // Tasks the pool had given each old worker when it was drained: no more may follow.
      const givenBeforeDrain = new Map<number, number>();
      for (const old of workers) {
        const replacement = forkFixture('pool-worker.ts');
        notes.watch(replacement);
        fresh.push(replacement);
        await waitForReady(bus, replacement);
        await bus.drain(old);
        const row = pool.stats().workers.find((w) => w.id === old.id);
        givenBeforeDrain.set(old.id, (row?.running ?? 0) + (row?.completed ?? 0) + (row?.failed ?? 0));
        await until(
          () => (pool.stats().workers.find((w) => w.id === old.id)?.running ?? 0) === 0,
          `the drained worker ${old.id} finishing its task`,
        );
        await kill(old);
      }
      reloading = false;
      await producer;

      const done = await Promise.all(results);
      const ids = done.map((r) => r.id);
      expect(new Set(ids).size).toBe(results.length);
      // Every task started exactly once, on some worker.
      const starts = notes.started();
      expect(starts.length).toBe(results.length);
      expect(new Set(starts).size).toBe(results.length);
      // Nothing was given to an old worker after it was drained. (Counted from the pool's side: a
      // worker's own "start" note for a task sent just before the drain may arrive after it.)
      for (const [id, given] of givenBeforeDrain) {
        expect(notes.all.filter((n) => n.pool === 'start' && n.worker === id)).toHaveLength(given);
      }
      const freshIds = new Set(fresh.map((w) => w.id));
      expect(done.some((r) => freshIds.has(r.worker))).toBe(true);
      expect(backpressured).toBeGreaterThan(0);
      expect(pool.stats()).toMatchObject({
        completed: results.length,
        failed: 0,
        queued: 0,
        running: 0,
        readyWorkers: 2,
      });
    });
  });
});
