/**
 * Scenario: gather — call every worker at once and wait for all N replies.
 *
 * raw: `worker.send({ r: seq, i })` to each of N workers, each echoes it, done when N replies came.
 * bus: `bus.callAll('echo', i)` — N validated calls with their own ids and timers, one settled
 *      result per worker.
 *
 * One gather in flight, then 64 (a dashboard polling under load), N = 2 then 4 workers (the 2
 * extra are forked between the cases), json then advanced serialization. Ratio = bus time per
 * gather ÷ raw time per gather.
 */
import { createPrimaryBus } from '../dist/index.js';
import { makeContract, payload } from './fixtures/ipc-contract.mjs';
import {
  compare,
  forkWorkers,
  parseArgs,
  printCase,
  runMain,
  stopWorkers,
  writeResults,
} from './fixtures/ipc-harness.mjs';

const SERIALIZATIONS = ['json', 'advanced'];
const SIZES = [2, 4];
/** One gather at a time (latency), then 64 (throughput: what one turn writes goes out together). */
const IN_FLIGHT = [1, 64];

async function main() {
  const args = parseArgs();
  const bus = createPrimaryBus(makeContract('zod'));
  const cases = [];
  console.log(`ipc-callall: bus.callAll vs raw send-to-N and gather (${args.quick ? 'quick' : 'full'} run)`);
  for (const serialization of SERIALIZATIONS) {
    const workers = [];
    const waiting = new Map();
    let seq = 0;
    const onReply = (message) => {
      const entry = message?.r === undefined ? undefined : waiting.get(message.r);
      if (!entry || --entry.left > 0) return;
      waiting.delete(message.r);
      entry.done();
    };
    for (const size of SIZES) {
      const added = await forkWorkers(bus, size - workers.length, { serialization });
      for (const worker of added) worker.on('message', onReply);
      workers.push(...added);
      const variants = {
        raw: (i, done) => {
          const id = seq++;
          waiting.set(id, { left: workers.length, done });
          const message = { r: id, i: payload(i) };
          for (const worker of workers) worker.send(message);
        },
        bus: (i, done) => {
          bus.callAll('echo', payload(i)).then((results) => {
            const failed = results.find((result) => !result.ok);
            if (results.length !== workers.length) done(new Error(`gathered ${results.length} results`));
            else done(failed?.error);
          }, done);
        },
      };
      for (const inFlight of IN_FLIGHT) {
        const measured = await compare(variants, { ...args, inFlight });
        printCase(`callAll over ${size} workers, ${serialization}, ${inFlight} in flight`, measured);
        cases.push({ scenario: 'callAll', inFlight, serialization, workers: size, ...measured });
      }
    }
    await stopWorkers(workers);
  }
  bus.close();
  writeResults(args, 'ipc-callall', cases);
}

runMain(main);
