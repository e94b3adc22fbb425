/**
 * Fleet hosts as separate processes (test/fixtures/fleet-host.ts, one primary with its workers
 * each), and the test process itself as one more host. Everything is stopped by {@link stopAllHosts}:
 * a stopped (SIGSTOP) host is continued first, so its kill is delivered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type Supervisor, startCluster } from '../../src/index.js';
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
  options: { size?: number; heartbeat?: number; timeout?: number; concurrency?: number } = {},
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
    pool: { concurrency: options.concurrency ?? 4 },
    fleet: { servers, host: name, app: 'test', heartbeat: options.heartbeat ?? 250 },
  });
  clusters.add(cluster);
  return cluster;
}

/** Sends `signal` to a host process (no-op once it exited). */
export function signalHost(host: HostProcess, signal: NodeJS.Signals): void {
  if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill(signal);
}

/** Shuts down the local hosts and kills every host process (continuing stopped ones first). */
export async function stopAllHosts(): Promise<void> {
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
