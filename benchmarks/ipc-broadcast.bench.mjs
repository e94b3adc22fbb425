/**
 * Scenario: one event to every worker, timed until every worker has acknowledged it.
 *
 * raw: a loop of `worker.send({ rb: seq })` to N workers; each acks with `process.send({ ra: seq })`.
 * bus: `bus.broadcast('tick', { n })`; each worker's `bus.on('tick')` answers `bus.emit('ack', { n })`
 *      — so both directions go through the bus (validated on send and on receipt).
 *
 * One broadcast in flight, then 64 (a service fanning out invalidations under load), N = 2 then
 * 4 workers (the 2 extra are forked between the cases), json then advanced serialization. Ratio =
 * bus time per broadcast ÷ raw time per broadcast.
 */
import { createPrimaryBus } from '../dist/index.js';
import { makeContract } from './fixtures/ipc-contract.mjs';
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
/** One broadcast at a time (latency), then 64 (throughput: what one turn writes goes out together). */
const IN_FLIGHT = [1, 64];

/** seq → { left, done }: one entry per broadcast waiting for its acks. */
function ackCounter() {
  const waiting = new Map();
  return {
    expect(seq, count, done) {
      waiting.set(seq, { left: count, done });
    },
    ack(seq) {
      const entry = waiting.get(seq);
      if (!entry || --entry.left > 0) return;
      waiting.delete(seq);
      entry.done();
    },
  };
}

async function main() {
  const args = parseArgs();
  const bus = createPrimaryBus(makeContract('zod'));
  const busAcks = ackCounter();
  bus.on('ack', ({ n }) => busAcks.ack(n));
  const cases = [];
  console.log(
    `ipc-broadcast: bus.broadcast vs a raw worker.send loop (${args.quick ? 'quick' : 'full'} run)`,
  );
  for (const serialization of SERIALIZATIONS) {
    const workers = [];
    const rawAcks = ackCounter();
    let rawSeq = 0;
    let busSeq = 0;
    for (const size of SIZES) {
      const added = await forkWorkers(bus, size - workers.length, { serialization });
      for (const worker of added) {
        worker.on('message', (message) => {
          if (message?.ra !== undefined) rawAcks.ack(message.ra);
        });
      }
      workers.push(...added);
      const variants = {
        raw: (_i, done) => {
          const seq = rawSeq++;
          rawAcks.expect(seq, workers.length, done);
          for (const worker of workers) worker.send({ rb: seq });
        },
        bus: (_i, done) => {
          const seq = busSeq++;
          busAcks.expect(seq, workers.length, done);
          bus.broadcast('tick', { n: seq }).catch(done);
        },
      };
      for (const inFlight of IN_FLIGHT) {
        const measured = await compare(variants, { ...args, inFlight });
        printCase(
          `broadcast to ${size} workers, ${serialization}, ${inFlight} in flight, until all acked`,
          measured,
        );
        cases.push({ scenario: 'broadcast', inFlight, serialization, workers: size, ...measured });
      }
    }
    await stopWorkers(workers);
  }
  bus.close();
  writeResults(args, 'ipc-broadcast', cases);
}

runMain(main);
