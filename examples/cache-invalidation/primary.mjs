// A primary that owns the data, broadcasts cache invalidations, and gathers cache stats from every worker.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPrimaryBus } from 'clusterbus';
import { contract } from './contract.mjs';

const WORKERS = Number(process.env.WORKERS ?? Math.max(2, Math.min(4, availableParallelism())));
const store = new Map([
  ['user:1', 'Ada'],
  ['user:2', 'Grace'],
]);

cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.mjs', import.meta.url)) });
const bus = createPrimaryBus(contract, {
  handlers: {
    load: ({ key }) => store.get(key) ?? '(missing)',
    store: ({ key, value }) => {
      store.set(key, value);
    },
  },
});

const workers = Array.from({ length: WORKERS }, () => cluster.fork());
await bus.waitForReady(WORKERS);

const readEverywhere = async (key) => {
  const answers = await Promise.all(workers.map((worker) => bus.call(worker, 'get', { key })));
  return answers.map((answer) => `${answer.value}${answer.cached ? ' (cached)' : ''}`).join(' | ');
};

console.log(`${WORKERS} workers ready`);
console.log(`read user:1   → ${await readEverywhere('user:1')}`);
console.log(`read user:1   → ${await readEverywhere('user:1')}`);

// The primary changes the data and broadcasts the invalidation.
store.set('user:1', 'Ada Lovelace');
const reached = await bus.broadcast('invalidate', { key: 'user:1' });
console.log(`invalidated user:1 on workers ${reached.join(', ')}`);
await new Promise((resolve) => setTimeout(resolve, 50));
console.log(`read user:1   → ${await readEverywhere('user:1')}`);

// A worker writes, and tells its peers through the primary.
await bus.call(workers[0], 'write', { key: 'user:2', value: 'Grace Hopper' });
await new Promise((resolve) => setTimeout(resolve, 50));
console.log(`read user:2   → ${await readEverywhere('user:2')}`);

console.log('cache stats gathered from every worker:');
for (const result of await bus.callAll('cacheStats', undefined, { timeout: 1_000 })) {
  console.log(
    `  worker ${result.id} (pid ${result.pid}): ${result.ok ? JSON.stringify(result.value) : result.error.message}`,
  );
}

bus.close();
for (const worker of workers) worker.kill();
