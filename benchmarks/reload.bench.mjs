/**
 * Scenario: zero-downtime reload of an HTTP cluster under keep-alive load, clusterbus against PM2.
 *
 * The app is the classic Express hello world on N workers (default 2). While autocannon (its own
 * process, 50 keep-alive connections) hammers it, each manager reloads it R times:
 * - clusterbus `reload()` with the default strategy (canary with probation, then parallel batches);
 * - clusterbus with the previous strategy (one slot at a time, 1 s probation each), for reference;
 * - PM2 7 `pm2 reload` (cluster mode, `--wait-ready`) of the same app written with PM2's documented
 *   pattern (SIGINT → `server.close()` → exit), the CLI's wall time;
 * - PM2 running the clusterbus worker file itself (graceful under PM2: SIGINT runs onShutdown).
 * Every request that failed (errors, timeouts, non-2xx) is counted per variant.
 *
 * Baselines in the same run: a cold start of the cluster (startCluster → all ready), and PM2's reload.
 * `ratioToPm2` = median clusterbus reload ÷ median `pm2 reload`; `ratioToColdStart` likewise.
 *
 * Then the growth with N: clusterbus reloads of the same app on `--sizes` workers (default 2,4,8,
 * clusterbus only, 3 reloads each): the wall time should follow the number of batches (canary +
 * ceil((N - 1) / parallel), parallel = max(2, ceil(N / 4))), not N. On 2 cores, 8 Express workers under
 * load oversubscribe the machine, so each boot is slower there: `msPerBatch` shows it.
 *
 *   node benchmarks/reload.bench.mjs [--quick] [--out=<dir>] [--workers=N] [--sizes=2,4,8] [--no-pm2]
 *
 * Imports the built package: run `npm run build` first. PM2 runs with its PM2_HOME in a temp
 * directory and is always `pm2 kill`ed at the end.
 */
import { execFile, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from '../dist/index.js';
import { contract } from './fixtures/reload-contract.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const withPm2 = !argv.includes('--no-pm2');
const outArg = argv.find((arg) => arg.startsWith('--out='));
const out = outArg ? resolve(outArg.slice('--out='.length)) : join(here, 'results');
const workers = Number(argv.find((arg) => arg.startsWith('--workers='))?.slice(10) ?? 2);
const sizes = (argv.find((arg) => arg.startsWith('--sizes='))?.slice(8) ?? (quick ? '2,4' : '2,4,8'))
  .split(',')
  .map(Number);
const reloads = quick ? 2 : 5;
const coldStarts = quick ? 1 : 3;
const connections = 50;
const pauseMs = quick ? 300 : 1_000;
const clusterbusWorker = join(here, 'fixtures', 'reload-express-clusterbus.mjs');
const pm2Worker = join(here, 'fixtures', 'reload-express-pm2.cjs');
const pm2Bin = join(createRequire(import.meta.url).resolve('pm2/package.json'), '..', 'bin', 'pm2');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)];
};
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** autocannon in a child process; `stop()` resolves with its totals. */
async function startLoad(port) {
  const child = fork(join(here, 'fixtures', 'load-autocannon.mjs'), [], {
    env: { ...process.env, URL: `http://127.0.0.1:${port}/`, CONNECTIONS: String(connections) },
  });
  await new Promise((done) => child.once('message', done));
  await sleep(quick ? 300 : 1_000); // connections open and warm
  return {
    stop: () =>
      new Promise((done) => {
        child.on('message', (message) => {
          if (message && typeof message === 'object' && 'requests' in message) done(message);
        });
        child.send('stop');
      }),
  };
}

const failedOf = (load) => load.errors + load.timeouts + load.non2xx;

async function coldStart(port) {
  const started = performance.now();
  const cluster = await startCluster({
    contract,
    exec: clusterbusWorker,
    size: workers,
    env: { PORT: String(port) },
    signals: false,
    log: false,
  });
  const ms = performance.now() - started;
  await cluster.shutdown({ timeout: 5_000 });
  return ms;
}

async function clusterbusReloads(port, label, reloadOptions, { size = workers, times = reloads } = {}) {
  const cluster = await startCluster({
    contract,
    exec: clusterbusWorker,
    size,
    env: { PORT: String(port) },
    signals: false,
    log: false,
  });
  const load = await startLoad(port);
  const runs = [];
  let totals;
  try {
    for (let i = 0; i < times; i++) {
      const result = await cluster.reload(reloadOptions);
      runs.push(result.durationMs);
      await sleep(pauseMs);
    }
  } finally {
    totals = await load.stop();
    await cluster.shutdown({ timeout: 5_000 });
  }
  return report(label, runs, totals);
}

function report(label, runs, totals) {
  const row = {
    variant: label,
    reloadMs: runs.map(Math.round),
    medianMs: Math.round(median(runs)),
    requests: totals.requests,
    failedRequests: failedOf(totals),
    errors: totals.byCode,
    timeouts: totals.timeouts,
    non2xx: totals.non2xx,
  };
  console.log(
    `  ${label.padEnd(44)} median ${String(row.medianMs).padStart(5)} ms  [${row.reloadMs.join(', ')}]  ` +
      `${row.failedRequests} failed of ${row.requests + row.failedRequests}`,
  );
  return row;
}

function pm2(home, args, env = {}) {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [pm2Bin, ...args],
      { env: { ...process.env, PM2_HOME: home, ...env }, timeout: 120_000 },
      (error, stdout, stderr) =>
        error ? fail(new Error(`pm2 ${args[0]}: ${error.message}\n${stderr}`)) : done(stdout),
    );
  });
}

async function pm2Reloads(home, port, label, script) {
  await pm2(
    home,
    [
      'start',
      script,
      '-i',
      String(workers),
      '--name',
      'bench',
      '--wait-ready',
      '--listen-timeout',
      '10000',
      '--kill-timeout',
      '5000',
    ],
    { PORT: String(port) },
  );
  const load = await startLoad(port);
  const runs = [];
  let totals;
  try {
    for (let i = 0; i < reloads; i++) {
      const started = performance.now();
      await pm2(home, ['reload', 'bench']);
      runs.push(performance.now() - started);
      await sleep(pauseMs);
    }
  } finally {
    totals = await load.stop();
    await pm2(home, ['delete', 'bench']).catch(() => {});
  }
  return report(label, runs, totals);
}

async function main() {
  const [load1, load5, load15] = os.loadavg().map((n) => Math.round(n * 10) / 10);
  console.log(
    `reload: ${workers} Express workers under ${connections} keep-alive connections, ${reloads} reloads per variant ` +
      `(${quick ? 'quick' : 'full'} run; load average ${load1} ${load5} ${load15})`,
  );
  const port = await freePort();
  const cold = [];
  for (let i = 0; i < coldStarts; i++) cold.push(await coldStart(port));
  const coldStartMs = Math.round(median(cold));
  console.log(`  cold start of ${workers} workers (startCluster → all ready): median ${coldStartMs} ms`);

  const cases = [];
  cases.push(await clusterbusReloads(port, 'clusterbus reload() (canary + batches)', undefined));
  cases.push(
    await clusterbusReloads(port, 'clusterbus, previous strategy (1 at a time)', {
      parallel: 1,
      canary: false,
      probation: 1_000,
      batchProbation: 1_000,
    }),
  );
  if (withPm2) {
    const home = mkdtempSync(join(os.tmpdir(), 'clusterbus-bench-pm2-'));
    try {
      await pm2(home, ['ping']); // the daemon's start is not part of any reload
      cases.push(await pm2Reloads(home, port, 'pm2 reload (documented SIGINT + close())', pm2Worker));
      cases.push(await pm2Reloads(home, port, 'pm2 reload of the clusterbus worker file', clusterbusWorker));
    } finally {
      await pm2(home, ['kill']).catch(() => {});
      rmSync(home, { recursive: true, force: true });
    }
  }

  // Growth with N: the default strategy on each size.
  const scaling = [];
  for (const size of sizes) {
    const parallel = Math.max(2, Math.ceil(size / 4));
    const batches = 1 + Math.ceil((size - 1) / parallel);
    const row = await clusterbusReloads(
      port,
      `clusterbus reload() on ${size} workers (${batches} batches)`,
      undefined,
      {
        size,
        times: quick ? 1 : 3,
      },
    );
    scaling.push({ size, parallel, batches, ...row, msPerBatch: Math.round(row.medianMs / batches) });
  }

  const ours = cases[0];
  const pm2Doc = cases.find((c) => c.variant.startsWith('pm2 reload (documented'));
  const summary = {
    coldStartMs,
    clusterbusMedianMs: ours.medianMs,
    ratioToColdStart: Math.round((ours.medianMs / coldStartMs) * 100) / 100,
    ratioToPm2: pm2Doc ? Math.round((ours.medianMs / pm2Doc.medianMs) * 100) / 100 : undefined,
    speedupOverPrevious: Math.round((cases[1].medianMs / ours.medianMs) * 100) / 100,
  };
  console.log(
    `  clusterbus reload ${ours.medianMs} ms = ${summary.ratioToColdStart}× a cold start` +
      (pm2Doc ? `, ${summary.ratioToPm2}× pm2 reload (${pm2Doc.medianMs} ms)` : '') +
      `, ${summary.speedupOverPrevious}× faster than the previous strategy`,
  );

  for (const row of scaling) {
    console.log(
      `  ${row.size} workers: ${row.batches} batches, ${row.medianMs} ms, ${row.msPerBatch} ms per batch`,
    );
  }

  mkdirSync(out, { recursive: true });
  const file = join(out, 'reload.json');
  const doc = {
    name: 'reload',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadAverage: [load1, load5, load15],
    quick,
    workers,
    connections,
    reloadsPerVariant: reloads,
    target: { failedRequests: 0, ratioToPm2: '<= 1' },
    summary,
    cases,
    scaling,
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`wrote ${file}`);
  const lost = [...cases, ...scaling].filter(
    (c) => c.variant.startsWith('clusterbus') && c.failedRequests > 0,
  );
  if (lost.length > 0) throw new Error(`clusterbus lost requests: ${JSON.stringify(lost)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
