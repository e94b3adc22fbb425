/**
 * Fleet hosts as separate processes (test/fixtures/fleet-host.ts, one primary with its workers
 * each), the test process itself as one more host, and hand-built hosts that speak the fleet's
 * wire over their own NATS connection (to send what a real host would not). Everything is stopped
 * by {@link stopAllHosts}: a stopped (SIGSTOP) host is continued first, so its kill is delivered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from '@nats-io/transport-node';
import { HostPeers } from '../../src/fleet/host-peers.js';
import { fleetSubjects } from '../../src/fleet/subjects.js';
import { ClosedError, type Supervisor, startCluster } from '../../src/index.js';
import type { ReplyMessage, RequestMessage } from '../../src/protocol.js';
import { decodeFrame, type NatsConnectionLike } from '../../src/transports/nats.js';
import { type FleetContract, fleetContract } from '../fixtures/fleet-contract.js';
import { fixturePath } from './cluster.js';
import { parseJsonLine, readLines } from './lines.js';

/** One host process. */
export interface HostProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON line it printed so far. */
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves with the first line (already printed or to come) that matches. */
  waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves once the process exited. */
  readonly exited: Promise<void>;
}

const hosts = new Set<HostProcess>();
const clusters = new Set<Supervisor<FleetContract>>();
const handBuilt = new Set<HandBuiltHost>();

/** Spawns one host process and waits until its fleet is joined. */
export async function spawnHost(
  name: string,
  servers: string,
  env: Record<string, string> = {},
): Promise<HostProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixturePath('fleet-host.ts')], {
    env: { ...process.env, FLEET_HOST: name, FLEET_SERVERS: servers, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output = readLines<Record<string, unknown>>([child.stdout!], parseJsonLine);
  const exited = once(child, 'exit').then(() => {});
  const host: HostProcess = {
    name,
    child,
    pid: child.pid!,
    lines: output.lines,
    exited,
    waitFor(predicate, timeoutMs = 20_000) {
      return output.waitFor(predicate, timeoutMs, `host ${name}: the line waited for`);
    },
  };
  hosts.add(host);
  await host.waitFor((line) => line.event === 'ready', 90_000);
  return host;
}

/** Starts this test process as host `name` (a supervised cluster of fleet-worker.ts). */
export async function startLocalHost(
  name: string,
  servers: string,
  options: {
    size?: number;
    heartbeat?: number;
    timeout?: number;
    concurrency?: number;
    pool?: { timeout?: number; retry?: number };
    /** More `fleet` options (NATS client options pass through). */
    fleet?: Record<string, unknown>;
  } = {},
): Promise<Supervisor<FleetContract>> {
  const cluster = await startCluster({
    contract: fleetContract,
    exec: fixturePath('fleet-worker.ts'),
    execArgv: ['--import', 'tsx'],
    size: options.size ?? 1,
    env: { FLEET_HOST: name },
    signals: false,
    readyTimeout: 60_000,
    timeout: options.timeout ?? 10_000,
    pool: { concurrency: options.concurrency ?? 4, ...options.pool },
    fleet: { servers, host: name, app: 'test', heartbeat: options.heartbeat ?? 250, ...options.fleet },
  });
  clusters.add(cluster);
  return cluster;
}

/** A host built by hand in the test process (app `test`): heartbeats and peers under the test's control. */
export interface HandBuiltHost {
  readonly name: string;
  /** Its instance id (the frame header and heartbeats). */
  readonly instance: string;
  /** Its peers to the fleet's real hosts. */
  readonly peers: HostPeers;
  /** Its own connection, to publish what no host would. */
  readonly nc: NatsConnectionLike;
  /** Publishes one heartbeat: `up` (with `workers` ready workers), or `gone` (a graceful leave: beats stop). */
  beat(state?: 'up' | 'gone', workers?: number): void;
  /** Publishes an `up` heartbeat now and every 250 ms until `beat('gone')` or `close()`. */
  keepBeating(workers?: number): void;
  /** Closes its connection (it goes silent; no goodbye). */
  close(): Promise<void>;
}

/**
 * Joins the fleet as host `name`, instance `instance`, over its own NATS connection, without
 * publishing anything yet. `serve` answers what other hosts send it (`reply` takes the answer).
 */
export async function handBuiltHost(
  name: string,
  instance: string,
  servers: string,
  serve: (request: RequestMessage, reply: (message: ReplyMessage) => void) => void = () => {},
): Promise<HandBuiltHost> {
  const nc = (await connect({ servers })) as unknown as NatsConnectionLike;
  const subjects = fleetSubjects('test');
  const peers = new HostPeers({
    nc,
    subjects,
    local: { host: name, instance },
    timeout: 10_000,
    connected: () => true,
    serve: (request, _abort, reply) => serve(request, reply),
    error: () => {},
  });
  nc.subscribe(subjects.inbox(name), {
    callback: (error, msg) => {
      const frame = error ? undefined : decodeFrame(msg.data);
      if (frame) peers.deliver(frame);
    },
  });
  // Answers the liveness probes, as a live host does.
  nc.subscribe(subjects.ping(name), { callback: (error, msg) => error || msg.respond(new Uint8Array()) });
  await nc.flush();
  let beating: NodeJS.Timeout | undefined;
  const host: HandBuiltHost = {
    name,
    instance,
    peers,
    nc,
    beat(state = 'up', workers = 1) {
      if (state === 'gone') clearInterval(beating);
      nc.publish(subjects.heartbeat(name), JSON.stringify({ i: instance, s: state, w: workers, c: 0 }));
    },
    keepBeating(workers = 1) {
      clearInterval(beating);
      host.beat('up', workers);
      beating = setInterval(() => host.beat('up', workers), 250);
    },
    async close() {
      clearInterval(beating);
      handBuilt.delete(host);
      peers.closeAll(new ClosedError(`hand-built host ${name} closed`));
      if (!nc.isClosed()) await nc.close();
    },
  };
  handBuilt.add(host);
  return host;
}

/** Sends `signal` to a host process (no-op once it exited). */
export function signalHost(host: HostProcess, signal: NodeJS.Signals): void {
  if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill(signal);
}

/** Shuts down the local hosts and kills every host process (continuing stopped ones first). */
export async function stopAllHosts(): Promise<void> {
  await Promise.all([...handBuilt].map((host) => host.close()));
  await Promise.all([...clusters].map((cluster) => cluster.shutdown({ timeout: 5_000 })));
  clusters.clear();
  await Promise.all(
    [...hosts].map(async (host) => {
      signalHost(host, 'SIGCONT');
      signalHost(host, 'SIGKILL');
      await host.exited;
    }),
  );
  hosts.clear();
}
