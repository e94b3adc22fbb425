/**
 * Scenario: one call round trip, primary → worker → primary, over real cluster IPC.
 *
 * raw: `worker.send({ r: seq, i })`, the worker echoes it with `process.send`, matched by seq.
 * bus: `bus.call(worker, 'echo', i)` — validated input and output on both sides, correlation id,
 *      timeout timer, reply routed back to the caller's promise.
 *
 * Sequential (1 in flight) and pipelined (64 in flight), small payload, json then advanced
 * serialization, one worker. Interleaved rounds; ratio = bus time per op ÷ raw time per op.
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
const IN_FLIGHT = [1, 64];

async function main() {
  const args = parseArgs();
  const bus = createPrimaryBus(makeContract('zod'));
  const cases = [];
  console.log(`ipc-call: bus.call vs raw worker.send echo (${args.quick ? 'quick' : 'full'} run)`);
  for (const serialization of SERIALIZATIONS) {
    const [worker] = await forkWorkers(bus, 1, { serialization });
    const pending = new Map();
    let seq = 0;
    worker.on('message', (message) => {
      const done = message?.r === undefined ? undefined : pending.get(message.r);
      if (!done) return;
      pending.delete(message.r);
      done();
    });
    const variants = {
      raw: (i, done) => {
        const id = seq++;
        pending.set(id, done);
        worker.send({ r: id, i: payload(i) });
      },
      bus: (i, done) => {
        bus.call(worker, 'echo', payload(i)).then(() => done(), done);
      },
    };
    for (const inFlight of IN_FLIGHT) {
      const mode = inFlight === 1 ? 'sequential' : 'pipelined';
      const measured = await compare(variants, { ...args, inFlight });
      printCase(`call ${mode} (${inFlight} in flight), ${serialization}, 1 worker`, measured);
      cases.push({ scenario: 'call', mode, inFlight, serialization, workers: 1, ...measured });
    }
    await stopWorkers([worker]);
  }
  bus.close();
  writeResults(args, 'ipc-call', cases, { target: { case: 'call sequential json', maxRatio: 1.25 } });
}

runMain(main);
