/**
 * Scenario: the heap over many calls. 1M `bus.call`s (200k in a quick run) at 64 in flight over
 * real cluster IPC, json; the primary's heap after a full GC every 10% of the way. A flat line
 * means nothing is kept per call (pending entries, timers, ids, batches).
 *
 *   npm run build && node benchmarks/ipc-heap.bench.mjs [--quick] [--out=<dir>]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createPrimaryBus } from '../dist/index.js';
import { makeContract, payload } from './fixtures/ipc-contract.mjs';
import { forkWorkers, parseArgs, runMain, stopWorkers, writeResults } from './fixtures/ipc-harness.mjs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

async function main() {
  const args = parseArgs();
  const total = args.quick ? 200_000 : 1_000_000;
  const step = total / 10;
  const inFlight = 64;
  const bus = createPrimaryBus(makeContract('zod'));
  const [worker] = await forkWorkers(bus, 1, { serialization: 'json' });
  const samples = [];
  const sample = (calls) => {
    gc();
    samples.push({ calls, heapUsedMB: Math.round((process.memoryUsage().heapUsed / 1e6) * 10) / 10 });
  };
  console.log(`ipc-heap: ${total} bus.call at ${inFlight} in flight, heap after GC every ${step} calls`);
  const started = performance.now();
  await new Promise((resolveAll, reject) => {
    let sent = 0;
    let done = 0;
    const launch = () => {
      const i = sent++;
      bus.call(worker, 'echo', payload(i)).then(() => {
        done++;
        if (done % step === 0) sample(done);
        if (done === total) resolveAll();
        else if (sent < total) launch();
      }, reject);
    };
    sample(0);
    for (let k = 0; k < inFlight; k++) launch();
  });
  const seconds = (performance.now() - started) / 1000;
  for (const { calls, heapUsedMB } of samples)
    console.log(`  ${String(calls).padStart(8)} calls  ${heapUsedMB} MB`);
  const warm = samples.slice(1).map((s) => s.heapUsedMB);
  const growthMB = Math.round((warm.at(-1) - warm[0]) * 10) / 10;
  console.log(
    `  ${Math.round(total / seconds)} calls/s; heap from 10% to 100% of the run: ${growthMB >= 0 ? '+' : ''}${growthMB} MB`,
  );
  await stopWorkers([worker]);
  bus.close();
  writeResults(args, 'ipc-heap', [{ scenario: 'heap', calls: total, inFlight, samples, growthMB }]);
}

runMain(main);
