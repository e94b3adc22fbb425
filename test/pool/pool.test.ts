/**
 * Routing with real workers: least-busy pick with round-robin ties, the concurrency bound,
 * draining workers, waiting for a ready worker, NOT_READY and TIMEOUT in the queue, the figures.
 */
import { describe, expect, it } from 'vitest';
import { forkFixture, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';
import { Notes } from './notes.js';
import { withPool } from './setup.js';

useWorkerCleanup();

describe('TaskPool routing', () => {
  it('spreads tasks over every ready worker, one at a time each, and counts them', async () => {
    await withPool(3, {}, async ({ pool, workers }) => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => pool.run('work', { id: `t${i}`, ms: 20 })),
      );
      // Three idle workers: the first three tasks go to three different workers.
      expect(new Set(results.slice(0, 3).map((r) => r.worker)).size).toBe(3);
      expect(new Set(results.map((r) => r.worker))).toEqual(new Set(workers.map((w) => w.id)));
      expect(results.every((r) => r.concurrent === 1)).toBe(true);

      const stats = pool.stats();
      expect(stats).toMatchObject({ queued: 0, running: 0, completed: 12, failed: 0, readyWorkers: 3 });
      expect(stats.capacity).toBe(3);
      expect(stats.runTime.count).toBe(12);
      expect(stats.waitTime.count).toBe(12);
      expect(stats.runTime.p50).toBeGreaterThan(0);
      expect(stats.runTime.p99).toBeGreaterThanOrEqual(stats.runTime.p50);
      expect(stats.workers.map((w) => w.completed).reduce((a, b) => a + b)).toBe(12);
      expect(stats.workers.every((w) => w.completed >= 1 && w.running === 0)).toBe(true);
    });
  });

  it('runs up to `concurrency` tasks per worker and queues the rest', async () => {
    await withPool(2, { concurrency: 2 }, async ({ pool }) => {
      const tasks = Array.from({ length: 5 }, (_, i) => pool.run('work', { id: `c${i}`, ms: 150 }));
      expect(pool.running).toBe(4);
      expect(pool.queued).toBe(1);
      const results = await Promise.all(tasks);
      expect(Math.max(...results.map((r) => r.concurrent))).toBeLessThanOrEqual(2);
      const perWorker = new Map<number, number>();
      for (const r of results.slice(0, 4)) perWorker.set(r.worker, (perWorker.get(r.worker) ?? 0) + 1);
      expect([...perWorker.values()]).toEqual([2, 2]);
    });
  });

  it('gives a draining worker no new tasks and lets its running task finish there', async () => {
    await withPool(2, {}, async ({ bus, pool, workers, notes }) => {
      const long = pool.run('work', { id: 'long', ms: 300 });
      const { worker: drainedId } = await notes.next((n) => n.id === 'long' && n.pool === 'start');
      await bus.drain(drainedId);
      const other = workers.find((w) => w.id !== drainedId)!.id;

      const short = await Promise.all(
        Array.from({ length: 4 }, (_, i) => pool.run('work', { id: `s${i}`, ms: 5 })),
      );
      expect(short.map((r) => r.worker)).toEqual([other, other, other, other]);
      expect((await long).worker).toBe(drainedId);
      expect(pool.stats().workers.find((w) => w.id === drainedId)).toMatchObject({
        ready: false,
        running: 0,
      });
      expect(pool.stats().readyWorkers).toBe(1);
    });
  });

  it('holds tasks until a worker is ready, and gives NOT_READY when none is in time', async () => {
    await withPool(0, {}, async ({ bus, pool }) => {
      const error = await pool.run('noop', 1, { timeout: 100 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NOT_READY', name: 'NotReadyError' });
      expect((error as Error).message).toMatch(/task "noop" found no ready worker within 100 ms/);

      const worker = forkFixture('pool-worker.ts', { env: { DELAY_READY_MS: '200' } });
      const pending = pool.run('noop', 7, { timeout: 20_000 });
      expect(pool.stats().queued).toBe(1);
      await waitForReady(bus, worker);
      expect(await pending).toBe(7);
      expect(pool.stats()).toMatchObject({ completed: 1, failed: 1, errors: { NOT_READY: 1 } });
    });
  });

  it('gives TIMEOUT to a task still queued at its deadline while every worker is busy', async () => {
    await withPool(1, {}, async ({ pool, notes }) => {
      const controller = new AbortController();
      const busy = pool.run('work', { id: 'busy', ms: 10_000 }, { signal: controller.signal });
      const error = await pool.run('work', { id: 'late', ms: 1 }, { timeout: 100 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TIMEOUT' });
      expect((error as Error).message).toMatch(/waiting in the pool queue/);
      controller.abort();
      await expect(busy).rejects.toMatchObject({ code: 'ABORTED' });
      await notes.next((n) => n.id === 'busy' && n.pool === 'abort');
      expect(notes.started()).toEqual(['busy']);
    });
  });

  it('picks up workers forked after the pool was created', async () => {
    await withPool(1, {}, async ({ bus, pool, workers }) => {
      const late = forkFixture('pool-worker.ts');
      new Notes().watch(late);
      await waitForReady(bus, late);
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => pool.run('work', { id: `l${i}`, ms: 30 })),
      );
      expect(new Set(results.map((r) => r.worker))).toEqual(new Set([workers[0]!.id, late.id]));
    });
  });
});
