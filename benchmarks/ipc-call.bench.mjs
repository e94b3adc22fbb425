/**
 * Scenario: one call round trip, primary → worker → primary, over real cluster IPC.
 *
 * raw:           `worker.send({ r: seq, i })`, the worker echoes it with `process.send`, matched by seq.
 * raw-coalesced: what the primary posts in one microtask goes in one `worker.send({ rc: [...] })`,
 *                the worker echoes the whole array in one `process.send`: the limit of coalescing.
 * birpc:         birpc 4 over the same channel (`post: worker.send`, `on: worker.on('message')`).
 * bus:           `bus.call(worker, 'echo', i)` — validated input and output on both sides,
 *                correlation id, timeout timer, reply routed back to the caller's promise.
 *
 * 1, 64 and 256 calls in flight, small payload, json then advanced serialization, one worker.
 * Interleaved rounds; `ratio` = bus time per op ÷ raw time per op, `vs` the same against every
 * other variant (so `bus.vs['raw-coalesced']` ≤ 1.25 means at least 0.8× the coalesced echo).
 */
import { createBirpc } from 'birpc';
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
const IN_FLIGHT = [1, 64, 256];

async function main() {
  const args = parseArgs();
  const bus = createPrimaryBus(makeContract('zod'));
  const cases = [];
  console.log(
    `ipc-call: bus.call vs raw, coalesced raw and birpc echo (${args.quick ? 'quick' : 'full'} run)`,
  );
  for (const serialization of SERIALIZATIONS) {
    const [worker] = await forkWorkers(bus, 1, { serialization });
    const pending = new Map();
    let seq = 0;
    let coalesced = [];
    const flushCoalesced = () => {
      const batch = coalesced;
      coalesced = [];
      worker.send({ rc: batch });
    };
    worker.on('message', (message) => {
      if (message?.rc !== undefined) {
        for (const echo of message.rc) {
          const done = pending.get(echo.r);
          pending.delete(echo.r);
          done?.();
        }
        return;
      }
      const done = message?.r === undefined ? undefined : pending.get(message.r);
      if (!done) return;
      pending.delete(message.r);
      done();
    });
    const rpc = createBirpc(
      {},
      {
        post: (data) => worker.send(data),
        on: (listener) => worker.on('message', (message) => message?.t !== undefined && listener(message)),
      },
    );
    const variants = {
      raw: (i, done) => {
        const id = seq++;
        pending.set(id, done);
        worker.send({ r: id, i: payload(i) });
      },
      'raw-coalesced': (i, done) => {
        const id = seq++;
        pending.set(id, done);
        if (coalesced.push({ r: id, i: payload(i) }) === 1) queueMicrotask(flushCoalesced);
      },
      birpc: (i, done) => {
        rpc.echo(payload(i)).then(() => done(), done);
      },
      bus: (i, done) => {
        bus.call(worker, 'echo', payload(i)).then(() => done(), done);
      },
    };
    for (const inFlight of IN_FLIGHT) {
      const mode = inFlight === 1 ? 'sequential' : 'pipelined';
      const measured = await compare(variants, { ...args, inFlight });
      printCase(`call ${mode} (${inFlight} in flight), ${serialization}, 1 worker`, measured);
      const bus = measured.bus;
      console.log(
        `  bus throughput: ${(1 / bus.ratio).toFixed(2)}× raw, ${(1 / bus.vs['raw-coalesced']).toFixed(2)}× coalesced raw, ${(1 / bus.vs.birpc).toFixed(2)}× birpc`,
      );
      cases.push({ scenario: 'call', mode, inFlight, serialization, workers: 1, ...measured });
    }
    rpc.$close();
    await stopWorkers([worker]);
  }
  bus.close();
  writeResults(args, 'ipc-call', cases, {
    targets: {
      'pipelined 64/256: bus throughput vs raw': '>= 2 (ratio <= 0.5)',
      'pipelined 64/256: bus throughput vs raw-coalesced': '>= 0.8 (vs <= 1.25)',
      'sequential: bus p50 vs raw': '<= 1.15',
      'p99 vs raw': '<= 1',
    },
  });
}

runMain(main);
