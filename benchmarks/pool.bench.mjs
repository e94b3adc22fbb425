/**
 * Scenario: a worker pool of processes, clusterbus's task pool against the pools people use today.
 *
 * One task per worker at a time (the pool queues the rest), the model of a CPU pool:
 *   raw                hand-written cluster IPC (`worker.send` / `process.send`), least-busy
 *                      dispatch: the floor, no validation, no timeouts, no abort
 *   clusterbus         `createTaskPool(bus, { concurrency: 1 })` over `cluster.fork` workers,
 *                      zod-validated input and output on both sides
 *   workerpool         `workerpool.pool(file, { workerType: 'process' })` (child_process workers)
 *   tinypool           `new Tinypool({ filename, runtime: 'child_process' })` (child_process
 *                      workers, one task per worker at a time: its default)
 *   poolifier          `new FixedClusterPool(n, file, { enableTasksQueue: true,
 *                      tasksQueueOptions: { concurrency: 1 } })` (cluster workers)
 * Every task sent to a worker at once (no pool-side queue), poolifier's default:
 *   clusterbus-inf     `createTaskPool(bus, { concurrency: Infinity })`
 *   poolifier-default  `new FixedClusterPool(n, file)`
 *
 * Same worker count (one per core unless POOL_BENCH_WORKERS), same tasks (benchmarks/fixtures/
 * pool-tasks.cjs: a trivial `noop`, and `cpu`, a ~5 ms prime sieve), each round a batch of tasks
 * submitted at once and awaited. Every pool lives in its own child process (three of them fork
 * through `cluster`, which is process-global), all are started up front, and rounds are
 * interleaved in a rotating order so drift on a noisy machine hits every pool alike. Reported:
 * the median throughput over rounds, and clusterbus's throughput divided by each other's.
 *
 *   npm run build && node benchmarks/pool.bench.mjs [--quick] [--out=<dir>]
 */
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name) => join(here, 'fixtures', name);
const POOLS = [
  'raw',
  'clusterbus',
  'workerpool',
  'tinypool',
  'poolifier',
  'clusterbus-inf',
  'poolifier-default',
];
const CPU_N = 1_000_000;

// ---- parent: drive the rounds, print, write the results ----------------------------------------

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const outArg = argv.find((arg) => arg.startsWith('--out='));
  const outDir = outArg ? resolve(outArg.slice('--out='.length)) : join(here, 'results');
  const workers = Number(process.env.POOL_BENCH_WORKERS ?? os.availableParallelism());
  const loadavgStart = os.loadavg().map(round2);
  const plan = quick
    ? { rounds: 2, noop: 400, cpu: 16, warmNoop: 200, warmCpu: 4 }
    : { rounds: 7, noop: 4000, cpu: 120, warmNoop: 2000, warmCpu: 20 };
  console.log(
    `pool: ${POOLS.join(', ')}; ${workers} workers, ${plan.rounds} rounds of ${plan.noop} noop / ` +
      `${plan.cpu} cpu tasks (${quick ? 'quick' : 'full'} run, node ${process.version})`,
  );

  const children = new Map();
  try {
    for (const name of POOLS) children.set(name, await startChild(name, workers));
    for (const pool of children.values()) {
      await pool.round('noop', plan.warmNoop);
      await pool.round('cpu', plan.warmCpu);
    }
    const samples = { noop: {}, cpu: {} };
    for (let r = 0; r < plan.rounds; r++) {
      const order = POOLS.map((_, k) => POOLS[(k + r) % POOLS.length]);
      for (const kind of ['noop', 'cpu']) {
        for (const name of order) {
          const ms = await children.get(name).round(kind, plan[kind]);
          samples[kind][name] ??= [];
          samples[kind][name].push((plan[kind] / ms) * 1000);
        }
      }
    }
    const results = {};
    for (const kind of ['noop', 'cpu']) {
      results[kind] = {};
      for (const name of POOLS) results[kind][name] = Math.round(median(samples[kind][name]));
    }
    report(results, { workers, plan, quick, outDir, loadavgStart });
  } finally {
    await Promise.all([...children.values()].map((pool) => pool.stop()));
  }
}

function report(results, { workers, plan, quick, outDir, loadavgStart }) {
  const ratios = {};
  for (const kind of ['noop', 'cpu']) {
    const row = results[kind];
    const title = kind === 'noop' ? 'trivial task (noop)' : `CPU task (primes below ${CPU_N}, ~5 ms)`;
    console.log(`\n  ${title}`);
    console.log(`    ${'pool'.padEnd(19)}${'tasks/s'.padStart(10)}${'vs raw'.padStart(9)}`);
    for (const name of POOLS) {
      const vsRaw = (row[name] / row.raw).toFixed(2);
      console.log(`    ${name.padEnd(19)}${String(row[name]).padStart(10)}${vsRaw.padStart(9)}`);
    }
    ratios[kind] = {
      clusterbusVsRaw: round2(row.clusterbus / row.raw),
      clusterbusVsWorkerpool: round2(row.clusterbus / row.workerpool),
      clusterbusVsTinypool: round2(row.clusterbus / row.tinypool),
      clusterbusVsPoolifier: round2(row.clusterbus / row.poolifier),
      clusterbusInfVsPoolifierDefault: round2(row['clusterbus-inf'] / row['poolifier-default']),
    };
    console.log(
      `    one task per worker: clusterbus ÷ raw ${ratios[kind].clusterbusVsRaw}, ` +
        `÷ workerpool ${ratios[kind].clusterbusVsWorkerpool}, ÷ tinypool ${ratios[kind].clusterbusVsTinypool}, ` +
        `÷ poolifier ${ratios[kind].clusterbusVsPoolifier}`,
    );
    console.log(
      `    all sent at once:    clusterbus-inf ÷ poolifier-default ${ratios[kind].clusterbusInfVsPoolifierDefault}`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'pool.json');
  const data = {
    benchmark: 'pool',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.availableParallelism(),
    quick,
    loadavg: { start: loadavgStart, end: os.loadavg().map(round2) },
    workers,
    plan,
    unit: 'tasks per second (median over rounds)',
    throughput: results,
    ratios,
  };
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`\n  wrote ${file}`);
}

/** Forks the child process that owns one pool; resolves once its workers are up. */
async function startChild(name, workers) {
  const proc = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, POOL_BENCH_CHILD: name, POOL_BENCH_WORKERS: String(workers) },
  });
  const replies = [];
  const waiting = [];
  proc.on('message', (message) => {
    const next = waiting.shift();
    if (next) next(message);
    else replies.push(message);
  });
  const exited = once(proc, 'exit');
  const nextReply = () =>
    new Promise((resolveReply, reject) => {
      if (replies.length > 0) return resolveReply(replies.shift());
      waiting.push(resolveReply);
      exited.then(([code]) => reject(new Error(`the ${name} pool process exited (code ${code})`)));
    });
  const hello = await nextReply();
  if (!hello.ready) throw new Error(`the ${name} pool process failed to start: ${hello.error}`);
  return {
    async round(kind, count) {
      proc.send({ cmd: 'round', kind, count });
      const reply = await nextReply();
      if (reply.error) throw new Error(`${name} ${kind} round failed: ${reply.error}`);
      return reply.ms;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.send({ cmd: 'stop' });
      await exited;
      clearTimeout(timer);
    },
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

// ---- child: one pool ----------------------------------------------------------------------------

async function child(name) {
  const workers = Number(process.env.POOL_BENCH_WORKERS);
  // Never leave a worker behind, whatever happens to this process.
  process.on('exit', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
  });
  let pool;
  try {
    pool = await POOL_FACTORIES[name](workers);
  } catch (error) {
    process.send({ ready: false, error: String(error?.stack ?? error) });
    process.exit(1);
  }
  process.on('message', async (message) => {
    if (message.cmd === 'stop') {
      await pool.stop();
      process.exit(0);
    }
    if (message.cmd !== 'round') return;
    try {
      const input = (i) => (message.kind === 'cpu' ? CPU_N : i);
      const started = performance.now();
      await Promise.all(Array.from({ length: message.count }, (_, i) => pool.run(message.kind, input(i))));
      process.send({ ms: performance.now() - started });
    } catch (error) {
      process.send({ error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: true });
}

const POOL_FACTORIES = {
  async raw(workers) {
    cluster.setupPrimary({ exec: fixture('pool-raw-worker.mjs') });
    const all = Array.from({ length: workers }, () => cluster.fork());
    await Promise.all(all.map((worker) => once(worker, 'message')));
    const idle = [...all];
    const queue = [];
    const pending = new Map();
    let seq = 0;
    const send = (worker, job) => {
      const r = seq++;
      pending.set(r, { worker, job });
      worker.send({ r, t: job.task, i: job.input });
    };
    for (const worker of all) {
      worker.on('message', (message) => {
        const entry = pending.get(message.r);
        if (!entry) return;
        pending.delete(message.r);
        entry.job.resolve(message.o);
        const next = queue.shift();
        if (next) send(worker, next);
        else idle.push(worker);
      });
    }
    return {
      run: (task, input) =>
        new Promise((resolveJob) => {
          const job = { task, input, resolve: resolveJob };
          const worker = idle.shift();
          if (worker) send(worker, job);
          else queue.push(job);
        }),
      stop: () => stopClusterWorkers(all),
    };
  },

  clusterbus: (workers) => clusterbusPool(workers, 1),
  'clusterbus-inf': (workers) => clusterbusPool(workers, Number.POSITIVE_INFINITY),

  async workerpool(workers) {
    const { default: workerpool } = await import('workerpool');
    const pool = workerpool.pool(fixture('pool-workerpool-worker.mjs'), {
      workerType: 'process',
      minWorkers: workers,
      maxWorkers: workers,
    });
    return {
      run: (task, input) => pool.exec(task, [input]),
      stop: () => pool.terminate(),
    };
  },

  async tinypool(workers) {
    const { default: Tinypool } = await import('tinypool');
    const pool = new Tinypool({
      filename: fixture('pool-tinypool-worker.mjs'),
      runtime: 'child_process',
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: 0,
    });
    // Start every worker before the first round, as the other pools do.
    await Promise.all(Array.from({ length: workers }, () => pool.run(0, { name: 'noop' })));
    return {
      run: (task, input) => pool.run(input, { name: task }),
      stop: () => pool.destroy(),
    };
  },

  // One task per worker at a time, the rest queued in the pool: the same model as the others.
  poolifier: (workers) =>
    poolifierPool(workers, { enableTasksQueue: true, tasksQueueOptions: { concurrency: 1 } }),
  'poolifier-default': (workers) => poolifierPool(workers, {}),
};

async function clusterbusPool(workers, concurrency) {
  const { createPrimaryBus, createTaskPool } = await import('../dist/index.js');
  const { poolBenchContract } = await import('./fixtures/pool-contract.mjs');
  cluster.setupPrimary({ exec: fixture('pool-clusterbus-worker.mjs') });
  const bus = createPrimaryBus(poolBenchContract);
  const all = Array.from({ length: workers }, () => cluster.fork());
  await new Promise((resolveReady) => {
    const check = () => {
      if (bus.readyWorkerIds().length < workers) return;
      stop();
      resolveReady();
    };
    const stop = bus.watchWorkers(check);
    check();
  });
  // Batches go in at once, as with the other pools (whose queues are unbounded); no deadline.
  const pool = createTaskPool(bus, { concurrency, maxQueue: Number.POSITIVE_INFINITY, timeout: 0 });
  return {
    run: (task, input) => pool.run(task, input),
    async stop() {
      pool.close();
      bus.close();
      await stopClusterWorkers(all);
    },
  };
}

async function poolifierPool(workers, options) {
  const { FixedClusterPool, PoolEvents } = await import('poolifier');
  const pool = new FixedClusterPool(workers, fixture('pool-poolifier-worker.cjs'), {
    ...options,
    errorHandler: (error) => console.error('poolifier worker error', error),
  });
  if (!pool.info.ready) await once(pool.emitter, PoolEvents.ready);
  return {
    run: (task, input) => pool.execute(input, task),
    stop: () => pool.destroy(),
  };
}

async function stopClusterWorkers(all) {
  await Promise.all(
    all.map(async (worker) => {
      if (worker.isDead()) return;
      const exited = once(worker, 'exit');
      worker.kill();
      await exited;
    }),
  );
}

// Last, so every declaration above is initialized before either side starts.
if (process.env.POOL_BENCH_CHILD) await child(process.env.POOL_BENCH_CHILD);
else await main();
