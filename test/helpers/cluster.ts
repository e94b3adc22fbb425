/**
 * Real `cluster.fork` against fixture workers in test/fixtures. Fixtures are TypeScript run through
 * tsx, so they exercise the source, not a build. Every forked worker is tracked and killed after
 * each test, so no test leaves a process behind.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { PrimaryBus, WorkerInfo } from '../../src/index.js';

const forked = new Set<Worker>();

/** Absolute path of a fixture in test/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** Options of {@link forkFixture}. */
export interface ForkOptions {
  env?: Record<string, string>;
  serialization?: 'json' | 'advanced';
}

/** Forks one worker running `test/fixtures/<name>`. */
export function forkFixture(name: string, options: ForkOptions = {}): Worker {
  cluster.setupPrimary({
    exec: fixturePath(name),
    execArgv: ['--import', 'tsx'],
    serialization: options.serialization ?? 'json',
  });
  const worker = cluster.fork(options.env ?? {});
  forked.add(worker);
  worker.once('exit', () => forked.delete(worker));
  return worker;
}

/** SIGKILLs every worker still alive and waits for each exit. */
export async function killAllWorkers(): Promise<void> {
  await Promise.all(
    [...forked].map(async (worker) => {
      if (worker.isDead()) return;
      const exited = once(worker, 'exit');
      worker.process.kill('SIGKILL');
      await exited;
    }),
  );
  forked.clear();
}

/** Registers {@link killAllWorkers} after each test of the calling file. */
export function useWorkerCleanup(): void {
  afterEach(killAllWorkers);
}

/** Resolves once `predicate` holds for a worker row of `bus` (checked now and on every change). */
export function waitForWorker(
  bus: PrimaryBus<any>,
  predicate: (info: WorkerInfo) => boolean,
  timeoutMs = 10_000,
): Promise<WorkerInfo> {
  return new Promise((resolve, reject) => {
    const hit = bus.workers().find(predicate);
    if (hit) return resolve(hit);
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(
          `waitForWorker: no worker matched within ${timeoutMs} ms: ${JSON.stringify(bus.workers())}`,
        ),
      );
    }, timeoutMs);
    const stop = bus.watchWorkers((info) => {
      if (!predicate(info)) return;
      clearTimeout(timer);
      stop();
      resolve(info);
    });
  });
}

/** Resolves once the worker said `ready()` on its bus. */
export function waitForReady(bus: PrimaryBus<any>, worker: Worker, timeoutMs?: number): Promise<WorkerInfo> {
  return waitForWorker(bus, (info) => info.id === worker.id && info.state === 'ready', timeoutMs);
}

/** Forks `count` workers of one fixture and waits until all are ready. */
export async function forkReady(bus: PrimaryBus<any>, name: string, count: number, options?: ForkOptions) {
  const workers = Array.from({ length: count }, () => forkFixture(name, options));
  await Promise.all(workers.map((worker) => waitForReady(bus, worker)));
  return workers;
}

/** Collects the messages a worker sends that are not ours (no `$cb` tag). */
export function foreignMessages(worker: Worker): unknown[] {
  const seen: unknown[] = [];
  worker.on('message', (message) => {
    if (typeof message !== 'object' || message === null || !('$cb' in message)) seen.push(message);
  });
  return seen;
}

/** Resolves with the first foreign message from `worker` that matches `predicate`. */
export function nextMessage<T = any>(
  worker: Worker,
  predicate: (message: any) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.off('message', onMessage);
      reject(new Error(`nextMessage: worker ${worker.id} sent no matching message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if (!predicate(message)) return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(message as T);
    };
    worker.on('message', onMessage);
  });
}

/**
 * Resolves with the first `count` foreign messages from any worker that match `predicate`. Call it
 * before the action that makes the workers send them: a message that arrived earlier is not seen.
 */
export function workerMessages<T = any>(
  predicate: (message: any) => boolean,
  count = 1,
  timeoutMs = 10_000,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const seen: T[] = [];
    const timer = setTimeout(() => {
      cluster.off('message', onMessage);
      reject(
        new Error(`workerMessages: ${seen.length} of ${count} matching messages within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const onMessage = (_worker: Worker, message: unknown) => {
      if (typeof message !== 'object' || message === null || '$cb' in message || !predicate(message)) return;
      seen.push(message as T);
      if (seen.length < count) return;
      clearTimeout(timer);
      cluster.off('message', onMessage);
      resolve(seen);
    };
    cluster.on('message', onMessage);
  });
}
