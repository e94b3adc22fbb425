// Runs the same batch of scrypt hashes through a task pool of 1 worker, then of one worker per
// core, and prints the throughput of each.
//
//   npm run build && node examples/task-pool/primary.mjs
//   TASKS=400 COST=16384 node examples/task-pool/primary.mjs
import cluster from 'node:cluster';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPrimaryBus, createTaskPool } from 'clusterbus';
import { contract } from './contract.mjs';

const TASKS = Number(process.env.TASKS ?? 100);
const COST = Number(process.env.COST ?? 2 ** 14); // scrypt N: ~20–40 ms per hash on a laptop core
const CORES = Number(process.env.WORKERS ?? availableParallelism());

cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.mjs', import.meta.url)) });
const bus = createPrimaryBus(contract);

/** Forks `size` workers and resolves once every one said `bus.ready()` (the previous ones have exited). */
async function forkReady(size) {
  const workers = Array.from({ length: size }, () => cluster.fork());
  await bus.waitForReady(size);
  return workers;
}

async function measure(size) {
  const workers = await forkReady(size);
  const pool = createTaskPool(bus, { concurrency: 1 });
  const started = performance.now();
  const results = [];
  for (let i = 0; i < TASKS; i++) {
    // Backpressure: a producer that waits when the pool asks never hits OVERLOADED.
    if (pool.needsDrain) await pool.onDrain();
    results.push(pool.run('hash', { password: `password-${i}`, cost: COST }));
  }
  await Promise.all(results);
  const seconds = (performance.now() - started) / 1000;
  const stats = pool.stats();
  pool.close();
  await Promise.all(
    workers.map(async (worker) => {
      const exited = once(worker, 'exit');
      worker.kill();
      await exited;
    }),
  );
  const perWorker = stats.workers.map((w) => w.completed).join('/');
  console.log(
    `${String(size).padStart(2)} worker(s): ${TASKS} hashes in ${seconds.toFixed(2)} s = ` +
      `${(TASKS / seconds).toFixed(1)} hashes/s  (run p50 ${stats.runTime.p50.toFixed(1)} ms, ` +
      `wait p50 ${stats.waitTime.p50.toFixed(1)} ms, per worker ${perWorker})`,
  );
  return TASKS / seconds;
}

console.log(`scrypt N=${COST}, ${TASKS} tasks, ${CORES} core(s)`);
const one = await measure(1);
const all = await measure(CORES);
console.log(`speed-up with ${CORES} workers: ${(all / one).toFixed(2)}x`);
bus.close();
