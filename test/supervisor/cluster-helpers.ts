/**
 * Helpers for tests that start real supervised clusters: every cluster a test starts is shut
 * down after it (and any worker still alive is SIGKILLed), and events can be awaited.
 */
import cluster from 'node:cluster';
import { afterEach } from 'vitest';
import {
  type LiveWorkerStatus,
  type StartClusterOptions,
  type Supervisor,
  type SupervisorEvents,
  startCluster,
} from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { fixturePath } from '../helpers/cluster.js';

/** Registers the cleanup and returns a `start(options)` for this file's tests. */
export function useClusters() {
  const started = new Set<Supervisor<TestContract>>();
  afterEach(async () => {
    await Promise.all([...started].map((s) => s.shutdown({ timeout: 3_000 })));
    started.clear();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
  });
  return async (
    fixture: string,
    options: Partial<StartClusterOptions<TestContract>> = {},
  ): Promise<Supervisor<TestContract>> => {
    const supervisor = await startCluster({
      contract,
      exec: fixturePath(fixture),
      execArgv: ['--import', 'tsx'],
      size: 2,
      probation: 100,
      signals: false,
      log: false,
      ...options,
    });
    started.add(supervisor);
    return supervisor;
  };
}

/** Resolves with the args of the first `event` whose payload matches. */
export function nextEvent<E extends keyof SupervisorEvents>(
  supervisor: Supervisor<any>,
  event: E,
  predicate: (...args: Parameters<SupervisorEvents[E]>) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<Parameters<SupervisorEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.off(event, listener as never);
      reject(
        new Error(
          `no "${event}" event within ${timeoutMs} ms; status: ${JSON.stringify(supervisor.status())}`,
        ),
      );
    }, timeoutMs);
    const listener = (...args: Parameters<SupervisorEvents[E]>) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      supervisor.off(event, listener as never);
      resolve(args[0]);
    };
    supervisor.on(event, listener as never);
  });
}

/** Collects every emission of the listed events, in order, as `[name, payload]`. */
export function recordEvents(supervisor: Supervisor<any>, names: (keyof SupervisorEvents)[]) {
  const seen: Array<[string, any]> = [];
  for (const name of names) supervisor.on(name, ((payload: unknown) => seen.push([name, payload])) as never);
  return seen;
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls until `pids` are all gone; resolves with those still alive at the deadline. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** The rows of live workers (a crash loop's `stopped` rows left out), ordered by slot. */
export function liveStatus(supervisor: Supervisor<any>): LiveWorkerStatus[] {
  return supervisor.status().filter((row): row is LiveWorkerStatus => row.state !== 'stopped');
}
