/** Shared set-up of the pool tests: a primary bus, pool fixture workers, a pool, and their notes. */
import type { Worker } from 'node:cluster';
import {
  createPrimaryBus,
  createTaskPool,
  type PrimaryBus,
  type TaskPool,
  type TaskPoolOptions,
} from '../../src/index.js';
import { type PoolContract, poolContract } from '../fixtures/pool-contract.js';
import { type ForkOptions, forkReady } from '../helpers/cluster.js';
import { Notes } from './notes.js';

/** What a pool test works with. */
export interface PoolRig {
  bus: PrimaryBus<PoolContract>;
  pool: TaskPool<PoolContract>;
  workers: Worker[];
  notes: Notes;
}

/**
 * Forks `count` ready pool workers, creates a pool over them, runs `body`, and always closes the
 * pool and the bus (the file's `useWorkerCleanup()` kills the workers).
 */
export async function withPool(
  count: number,
  options: TaskPoolOptions,
  body: (rig: PoolRig) => Promise<void>,
  forkOptions?: ForkOptions,
): Promise<void> {
  const bus = createPrimaryBus(poolContract);
  let pool: TaskPool<PoolContract> | undefined;
  try {
    const workers = count > 0 ? await forkReady(bus, 'pool-worker.ts', count, forkOptions) : [];
    pool = createTaskPool(bus, options);
    await body({ bus, pool, workers, notes: new Notes().watch(...workers) });
  } finally {
    pool?.close();
    bus.close();
  }
}

/** Resolves once `predicate` holds, checking every 10 ms. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`until: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
