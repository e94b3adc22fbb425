/**
 * Scenario: one call round trip to another host over a real nats-server (spawned on a random
 * loopback port), against the raw NATS baselines and local IPC, all in one run:
 *
 * nats-request: the NATS client's own `nc.request('bench.req', json)`, answered by `msg.respond`
 *               in the remote host's primary process (the baseline: ratios are against it).
 * raw-publish:  `nc.publish('bench.raw', json, { reply })` with our own correlation ids, one
 *               reply subscription, the remote primary publishes the data back to the reply subject.
 * fleet:        `cluster.fleet.call({ host: 'remote', id: 1 }, 'echo', i)` — validated on both
 *               ends, through the remote primary to its worker over IPC and back.
 * local-ipc:    `cluster.bus.call(localWorker, 'echo', i)` on this host.
 *
 * Sequential (1 in flight) and pipelined (64 in flight), small payload. Goals (issue 12):
 * pipelined fleet ≥ 1.0× request() throughput and ≥ 0.5× raw publish; sequential fleet p50 ≤
 * 1.5× request() p50. `ratio` is time per op ÷ the baseline's, so the throughput goals read as
 * fleet ratio ≤ 1.0 and fleet/raw-publish ≤ 2.0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { startCluster } from '../dist/index.js';
import { makeContract, payload } from './fixtures/ipc-contract.mjs';
import { compare, parseArgs, printCase, runMain, writeResults } from './fixtures/ipc-harness.mjs';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const IN_FLIGHT = [1, 64];
const children = [];

async function startNats() {
  const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', '-1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  for await (const chunk of child.stderr) {
    log += chunk;
    const match = /Listening for client connections on [\d.]+:(\d+)\r?\n/.exec(log);
    if (match) {
      child.stderr.resume();
      return `127.0.0.1:${match[1]}`;
    }
  }
  throw new Error(`nats-server did not start:\n${log}`);
}

async function startRemote(servers) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./fixtures/fleet-host.mjs', import.meta.url))],
    {
      env: { ...process.env, CB_BENCH_NATS: servers },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  // Made now: the host may exit before anyone waits for it.
  child.exited = once(child, 'exit');
  for await (const line of createInterface({ input: child.stdout })) if (line === 'ready') return child;
  throw new Error('the remote fleet host exited before it was ready');
}

async function main() {
  const args = parseArgs();
  console.log(
    `fleet: cross-host fleet.call vs raw NATS and local IPC (${args.quick ? 'quick' : 'full'} run)`,
  );
  const load = loadavg().map((n) => n.toFixed(2));
  console.log(`load average ${load.join(' ')}`);
  const servers = await startNats();
  const remote = await startRemote(servers);
  const cluster = await startCluster({
    contract: makeContract('zod'),
    exec: fileURLToPath(new URL('./fixtures/ipc-worker.mjs', import.meta.url)),
    size: 1,
    signals: false,
    fleet: { servers, host: 'local', app: 'bench' },
  });
  await cluster.fleet.waitForHosts(2, { timeout: 10_000 });
  const [localWorker] = cluster.bus.readyWorkerIds();

  const nc = await connect({ servers });
  const encode = (value) => new TextEncoder().encode(JSON.stringify(value));
  const decoder = new TextDecoder();
  const replySubject = `bench.reply.${process.pid}`;
  const pending = new Map();
  let seq = 0;
  nc.subscribe(replySubject, {
    callback: (error, msg) => {
      if (error) return;
      const { r } = JSON.parse(decoder.decode(msg.data));
      const done = pending.get(r);
      pending.delete(r);
      done?.();
    },
  });
  await nc.flush();

  const variants = {
    'nats-request': (i, done) => {
      nc.request('bench.req', encode(payload(i)), { timeout: 10_000 }).then((msg) => {
        JSON.parse(decoder.decode(msg.data));
        done();
      }, done);
    },
    'raw-publish': (i, done) => {
      const r = seq++;
      pending.set(r, done);
      nc.publish('bench.raw', encode({ r, i: payload(i) }), { reply: replySubject });
    },
    fleet: (i, done) => {
      cluster.fleet.call({ host: 'remote', id: 1 }, 'echo', payload(i)).then(() => done(), done);
    },
    'local-ipc': (i, done) => {
      cluster.bus.call(localWorker, 'echo', payload(i)).then(() => done(), done);
    },
  };
  const cases = [];
  for (const inFlight of IN_FLIGHT) {
    const mode = inFlight === 1 ? 'sequential' : 'pipelined';
    const measured = await compare(variants, { ...args, inFlight });
    printCase(`fleet call ${mode} (${inFlight} in flight), json, 1 worker per host`, measured);
    const fleet = measured.fleet;
    const vsRaw = Math.round((fleet.ratio / measured['raw-publish'].ratio) * 1000) / 1000;
    console.log(
      `  fleet throughput = ${(1 / fleet.ratio).toFixed(2)}× request(), ${(1 / vsRaw).toFixed(2)}× raw publish; fleet p50 = ${fleet.ratioP50.toFixed(2)}× request() p50`,
    );
    cases.push({
      scenario: 'fleet-call',
      mode,
      inFlight,
      serialization: 'json',
      workers: 1,
      ...measured,
      fleetVsRawPublish: vsRaw,
    });
  }
  await nc.close();
  remote.stdin.end();
  await cluster.shutdown({ timeout: 3_000 });
  await remote.exited;
  writeResults(args, 'fleet', cases, {
    loadAverage: load,
    goals: {
      'pipelined fleet throughput vs request()': '>= 1.0x (fleet ratio <= 1.0)',
      'pipelined fleet throughput vs raw publish': '>= 0.5x (fleetVsRawPublish <= 2.0)',
      'sequential fleet p50 vs request() p50': '<= 1.5x (fleet ratioP50 <= 1.5)',
    },
  });
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
// Killed from outside (a test's timeout): still take the server and the remote host down.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(1));
runMain(main);
