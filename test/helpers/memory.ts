/** A primary bus and worker buses wired over in-memory transports: the bus logic without processes. */
import {
  type Contract,
  createMemoryTransportPair,
  createPrimaryBus,
  createWorkerBus,
  type MemoryTransportPair,
  type PrimaryBus,
  type PrimaryBusOptions,
  type WorkerBus,
  type WorkerBusOptions,
} from '../../src/index.js';

/** Options of {@link memoryCluster}. */
export interface MemoryClusterOptions<C extends Contract> {
  workers?: number;
  serialization?: 'json' | 'advanced';
  primary?: PrimaryBusOptions<C>;
  worker?: (id: number) => WorkerBusOptions<C>;
  /** Call `ready()` on every worker bus. @default true */
  ready?: boolean;
}

/** A primary and `workers` worker buses, each over its own in-memory channel. */
export async function memoryCluster<C extends Contract>(contract: C, options: MemoryClusterOptions<C> = {}) {
  const primary: PrimaryBus<C> = createPrimaryBus(contract, { ...options.primary, autoAttach: false });
  const workers: WorkerBus<C>[] = [];
  const pairs: MemoryTransportPair[] = [];
  for (let id = 1; id <= (options.workers ?? 1); id++) {
    const pair = createMemoryTransportPair({ serialization: options.serialization ?? 'json' });
    pairs.push(pair);
    primary.attachTransport(id, pair.a, { pid: 10_000 + id });
    workers.push(createWorkerBus(contract, { ...options.worker?.(id), transport: pair.b }));
  }
  if (options.ready ?? true) {
    await Promise.all(workers.map((worker) => worker.ready()));
    await until(() => primary.readyWorkerIds().length === workers.length);
  }
  return {
    primary,
    workers,
    pairs,
    async close() {
      primary.close();
      await Promise.all(workers.map((worker) => worker.close()));
      for (const pair of pairs) pair.close();
    },
  };
}

/** Polls `condition` every few ms until it holds (or throws after `timeoutMs`). */
export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`until: condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
