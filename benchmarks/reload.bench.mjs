/**
 * Scenario: zero-downtime rolling reload of an HTTP cluster under keep-alive load.
 *
 * The workers are examples/http-cluster/worker.mjs (drainHttp on shutdown). While K client loops
 * send GETs over a keep-alive `http.Agent`, the primary runs `cluster.reload()` R times and
 * records each reload's wall time, the time per worker, and every failed request.
 *
 * Baseline, measured in the same run: a cold start of one worker (fork → `ready()`), so
 * `ratio` = reload time per worker ÷ cold start (a reload per worker costs at least one cold
 * start plus the probation; the drain of the old worker overlaps the next step).
 *
 *   node benchmarks/reload.bench.mjs [--quick] [--out=<dir>] [--workers=N]
 *
 * Imports the built package: run `npm run build` first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from '../dist/index.js';
import { contract } from '../examples/http-cluster/contract.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const outArg = argv.find((arg) => arg.startsWith('--out='));
const out = outArg ? resolve(outArg.slice('--out='.length)) : join(here, 'results');
const workers = Number(argv.find((arg) => arg.startsWith('--workers='))?.slice(10) ?? 2);
const reloads = quick ? 1 : 3;
const coldStarts = quick ? 1 : 3;
const probation = quick ? 200 : 1_000;
const connections = 8;
const exec = new URL('../examples/http-cluster/worker.mjs', import.meta.url);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)];
};

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

/** K loops of sequential GETs over keep-alive sockets; counts answers and failures. */
function startLoad(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const stats = { ok: 0, failed: 0, errors: {} };
  let stopped = false;
  const once = () =>
    new Promise((done) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) stats.ok++;
          else fail(`HTTP ${res.statusCode}`);
          done();
        });
      });
      const fail = (why) => {
        stats.failed++;
        stats.errors[why] = (stats.errors[why] ?? 0) + 1;
      };
      req.on('error', (error) => {
        fail(error.code ?? error.message);
        done();
      });
    });
  const loops = Array.from({ length: connections }, async () => {
    while (!stopped) await once();
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}

async function coldStart(port) {
  const started = performance.now();
  const cluster = await startCluster({
    contract,
    exec,
    size: 1,
    env: { PORT: String(port) },
    signals: false,
  });
  const ms = performance.now() - started;
  await cluster.shutdown({ timeout: 5_000 });
  return ms;
}

async function main() {
  console.log(
    `reload: rolling reload of ${workers} HTTP workers under keep-alive load (${quick ? 'quick' : 'full'} run)`,
  );
  const port = await freePort();
  const cold = [];
  for (let i = 0; i < coldStarts; i++) cold.push(await coldStart(port));

  const cluster = await startCluster({
    contract,
    exec,
    size: workers,
    env: { PORT: String(port) },
    probation,
    signals: false,
  });
  const load = startLoad(port);
  const runs = [];
  try {
    await new Promise((done) => setTimeout(done, quick ? 200 : 1_000));
    for (let i = 0; i < reloads; i++) {
      const before = { ...load.stats };
      const result = await cluster.reload();
      runs.push({
        durationMs: result.durationMs,
        msPerWorker: Math.round(result.durationMs / workers),
        stepMs: result.replaced.map((step) => step.ms),
        requests: load.stats.ok - before.ok,
        failed: load.stats.failed - before.failed,
      });
      console.log(
        `  reload ${i + 1}: ${result.durationMs} ms (${Math.round(result.durationMs / workers)} ms/worker), ` +
          `${load.stats.ok - before.ok} requests answered, ${load.stats.failed - before.failed} failed`,
      );
    }
  } finally {
    await load.stop();
    await cluster.shutdown({ timeout: 5_000 });
  }

  const msPerWorker = median(runs.map((run) => run.msPerWorker));
  const coldStartMs = Math.round(median(cold));
  const failedRequests = runs.reduce((sum, run) => sum + run.failed, 0);
  const summary = {
    scenario: 'reload',
    serialization: 'json',
    workers,
    connections,
    probationMs: probation,
    reloads: runs,
    msPerWorker,
    coldStartMs,
    ratio: Math.round((msPerWorker / coldStartMs) * 100) / 100,
    requests: load.stats.ok,
    failedRequests,
    errors: load.stats.errors,
  };
  console.log(
    `  median ${msPerWorker} ms per worker (cold start ${coldStartMs} ms, ratio ${summary.ratio}), ` +
      `${failedRequests} failed of ${load.stats.ok + failedRequests} requests`,
  );

  mkdirSync(out, { recursive: true });
  const file = join(out, 'reload.json');
  const doc = {
    name: 'reload',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    quick,
    target: { failedRequests: 0 },
    cases: [summary],
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`wrote ${file}`);
  if (failedRequests > 0)
    throw new Error(`reload lost ${failedRequests} requests: ${JSON.stringify(load.stats.errors)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
