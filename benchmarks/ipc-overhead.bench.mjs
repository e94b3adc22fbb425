/**
 * Scenario: where the time of one `bus.call` goes, without the IPC channel in the way.
 *
 * Part 1 — the whole call path in one process, both bus ends over an in-memory transport pair
 * (messages copied with JSON like `json` IPC, delivered on a microtask). Sequential, so time per
 * op is CPU per call of both ends together. Variants switch one thing off through the public API:
 *
 *   raw             the floor: JSON copy + microtask hop each way, reply matched by seq
 *   bus             bus.call(1, 'echo', input) with zod schemas and the default 30 s timeout
 *   bus-no-zod      the same with a pass-through Standard Schema instead of zod (4 validations/call)
 *   bus-with-opts   bus.call(1, 'echo', input, { timeout: 30_000 }): the same work, but passing an
 *                   options object changes the shape of the bag the peer reads, and its cost shows
 *
 * (A `{ timeout: 0 }` variant is not a fair "no timer" measure for that reason: it pays the
 * options-bag cost and saves the timer; the timer alone is in the micro-benchmarks below.)
 *
 * Part 2 — micro-benchmarks of the pieces a call pays for (ns per operation).
 */
import v8 from 'node:v8';
import { createMemoryTransportPair, createPrimaryBus, createWorkerBus } from '../dist/index.js';
import { makeContract, payload } from './fixtures/ipc-contract.mjs';
import { compare, parseArgs, printCase, runMain, writeResults } from './fixtures/ipc-harness.mjs';

/** A primary bus and a worker bus joined by an in-memory pair, with `contract` on both ends. */
async function inProcessPair(schemas) {
  const contract = makeContract(schemas);
  const pair = createMemoryTransportPair({ serialization: 'json' });
  const primary = createPrimaryBus(contract, { autoAttach: false });
  primary.attachTransport(1, pair.a);
  createWorkerBus(contract, { transport: pair.b, handlers: { echo: (input) => input } });
  await primary.call(1, 'echo', payload(0)); // completes the hello handshake
  return primary;
}

/** The raw floor over the same kind of hop: copy with JSON, deliver on a microtask, echo, match. */
function rawEcho() {
  const pending = new Map();
  let seq = 0;
  const hop = (message, deliver) => {
    const copied = JSON.parse(JSON.stringify(message));
    queueMicrotask(() => deliver(copied));
  };
  const atPrimary = (message) => {
    const done = pending.get(message.r);
    pending.delete(message.r);
    done();
  };
  const atWorker = (message) => hop(message, atPrimary);
  return (i, done) => {
    const id = seq++;
    pending.set(id, done);
    hop({ r: id, i: payload(i) }, atWorker);
  };
}

let sink = 0;

/** Median ns per call of `fn` over `repeats` timed batches of `iterations`. */
function nsPerOp(fn, iterations, repeats) {
  for (let i = 0; i < iterations; i++) fn(i); // warm-up / JIT
  const samples = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(i);
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  samples.sort((a, b) => a - b);
  return Math.round(samples[samples.length >> 1] * 10) / 10;
}

function microBenchmarks(quick) {
  const iterations = quick ? 2_000 : 50_000;
  const repeats = quick ? 3 : 7;
  const zodSmall = makeContract('zod').worker.echo.input['~standard'];
  const passthrough = makeContract('passthrough').worker.echo.input['~standard'];
  const busRequest = { $cb: 1, k: 'req', id: 'V1StGXR8_Z:1a2b', m: 'echo', i: payload(7), t: 30000 };
  const busReply = { $cb: 1, k: 'res', id: 'V1StGXR8_Z:1a2b', o: payload(7) };
  const rawRequest = { r: 4242, i: payload(7) };
  const pieces = {
    'zod validate {n,s} (x4 per call)': (i) => {
      sink += zodSmall.validate(payload(i)).value.n;
    },
    'pass-through validate (x4 per call)': (i) => {
      sink += passthrough.validate(payload(i)).value.n;
    },
    'setTimeout+unref+clearTimeout (x1 per call)': () => {
      const timer = setTimeout(noop, 30_000);
      timer.unref();
      clearTimeout(timer);
    },
    'new AbortController (x1 per served call)': () => {
      sink += new AbortController().signal.aborted ? 1 : 0;
    },
    'new Promise + resolve + then (x3+ per call)': (i) => {
      let settle;
      new Promise((resolve) => {
        settle = resolve;
      }).then(noop);
      settle(i);
    },
    'JSON round trip, bus request envelope': () => {
      sink += JSON.parse(JSON.stringify(busRequest)).t;
    },
    'JSON round trip, bus reply envelope': () => {
      sink += JSON.parse(JSON.stringify(busReply)).$cb;
    },
    'JSON round trip, raw {r,i} message': () => {
      sink += JSON.parse(JSON.stringify(rawRequest)).r;
    },
    'v8 (advanced) round trip, bus request': () => {
      sink += v8.deserialize(v8.serialize(busRequest)).t;
    },
    'v8 (advanced) round trip, raw {r,i}': () => {
      sink += v8.deserialize(v8.serialize(rawRequest)).r;
    },
  };
  const out = {};
  for (const [name, fn] of Object.entries(pieces)) out[name] = nsPerOp(fn, iterations, repeats);
  return {
    nsPerOp: out,
    bytes: {
      busRequestJson: JSON.stringify(busRequest).length,
      busReplyJson: JSON.stringify(busReply).length,
      rawJson: JSON.stringify(rawRequest).length,
    },
  };
}

function noop() {}

async function main() {
  const args = parseArgs();
  console.log(`ipc-overhead: the cost of one bus.call, in process (${args.quick ? 'quick' : 'full'} run)`);
  const zodBus = await inProcessPair('zod');
  const passBus = await inProcessPair('passthrough');
  const call = (bus, options) => (i, done) => {
    bus.call(1, 'echo', payload(i), options).then(() => done(), done);
  };
  const variants = {
    raw: rawEcho(),
    bus: call(zodBus),
    'bus-no-zod': call(passBus),
    'bus-with-opts': call(zodBus, { timeout: 30_000 }),
  };
  const measured = await compare(variants, { ...args, inFlight: 1 });
  printCase('in-process call, json copy, 1 in flight (time per op = CPU of both ends)', measured);
  const usPerOp = Object.fromEntries(
    Object.entries(measured).map(([name, m]) => [name, Math.round((1e6 / m.opsPerSec) * 100) / 100]),
  );
  const breakdown = {
    totalOverheadUs: round2(usPerOp.bus - usPerOp.raw),
    zodUs: round2(usPerOp.bus - usPerOp['bus-no-zod']),
    optionsObjectUs: round2(usPerOp['bus-with-opts'] - usPerOp.bus),
    restOfBusUs: round2(usPerOp['bus-no-zod'] - usPerOp.raw),
  };
  console.log(
    `  µs per call: ${Object.entries(usPerOp)
      .map(([name, us]) => `${name} ${us}`)
      .join(', ')}`,
  );
  console.log(
    `  bus overhead ${breakdown.totalOverheadUs} µs/call = zod ~${breakdown.zodUs} + everything else ${breakdown.restOfBusUs} (AbortController, promises, ids, timer, envelopes, dispatch); passing an options object: +${breakdown.optionsObjectUs}`,
  );
  const micro = microBenchmarks(args.quick);
  console.log('pieces (ns per operation, median of batches):');
  for (const [name, ns] of Object.entries(micro.nsPerOp)) {
    console.log(`  ${String(ns).padStart(8)} ns  ${name}`);
  }
  console.log(
    `  wire bytes (json): bus request ${micro.bytes.busRequestJson}, bus reply ${micro.bytes.busReplyJson}, raw ${micro.bytes.rawJson}`,
  );
  zodBus.close();
  passBus.close();
  writeResults(
    args,
    'ipc-overhead',
    [
      {
        scenario: 'in-process call',
        inFlight: 1,
        serialization: 'json (memory pair)',
        workers: 0,
        ...measured,
      },
    ],
    { usPerOp, breakdown, micro, sink: sink > 0 },
  );
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

runMain(main);
