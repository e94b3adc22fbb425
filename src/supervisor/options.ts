/** Options of `startCluster` and `reload()`, their defaults, and their eager validation. */

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { PrimaryHandlers } from '../bus/primary-bus.js';
import { assertTimeout } from '../call.js';
import type { Contract } from '../contract.js';
import type { FleetOptions } from '../fleet/options.js';
import type { TaskPoolOptions } from '../pool/options.js';
import type { TransportOptions } from '../transports/transport.js';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from './backoff.js';
import { type CrashBudgetOptions, resolveCrashBudget } from './crash-budget.js';
import type { SpawnSpec } from './member.js';
import { type ResolvedSignals, resolveSignals, type SignalOptions } from './signals.js';

/** How worker processes are started; also what a `reload()` may change. */
export interface SpawnOptions {
  /**
   * The worker script: a path (relative to the working directory) or a `file:` URL such as
   * `new URL('./worker.js', import.meta.url)`.
   * @default process.argv[1] (the primary's own script, as with `cluster.fork()`)
   */
  exec?: string | URL;
  /**
   * Arguments passed to the worker script.
   * @default []
   */
  args?: string[];
  /**
   * Node flags of the worker processes, e.g. `['--import', 'tsx']`.
   * @default process.execArgv
   */
  execArgv?: string[];
  /**
   * Extra environment variables of the workers, on top of the primary's `process.env`. The
   * supervisor adds `CLUSTERBUS_SUPERVISED=1` and `CLUSTERBUS_SLOT=<slot>`.
   * @default {}
   */
  env?: Record<string, string | undefined>;
}

/** Options of {@link startCluster}. */
export interface StartClusterOptions<C extends Contract> extends SpawnOptions, TransportOptions {
  /** The contract shared with the workers. */
  contract: C;
  /**
   * How many workers to keep running.
   * @default os.availableParallelism()
   */
  size?: number;
  /** Handlers for the procedures the primary serves (`contract.primary`). */
  handlers?: Partial<PrimaryHandlers<C>>;
  /**
   * Fleet mode: join this host to the other hosts of the app over NATS (`cluster.fleet`). Needs
   * the optional peer dependency `@nats-io/transport-node`.
   * @default undefined (no fleet)
   */
  fleet?: FleetOptions;
  /**
   * Working directory of the workers.
   * @default the primary's
   */
  cwd?: string;
  /**
   * IPC serialization, one per cluster (trap 6): `json` is faster for small messages, `advanced`
   * keeps Map, Set, Date, BigInt and Buffer.
   * @default 'json'
   */
  serialization?: 'json' | 'advanced';
  /**
   * Default timeout of every bus call, in ms (`0`/`Infinity`: none).
   * @default 30000
   */
  timeout?: number;
  /**
   * How long a new worker (start, respawn, reload) may take to call `ready()`, in ms. A respawned
   * worker that misses it is killed and counts as a crash.
   * @default 30000
   */
  readyTimeout?: number;
  /**
   * How long a reload's replacement must stay up after `ready()` before the old worker is
   * drained, in ms. A worker that was ready this long also resets its slot's backoff.
   * @default 1000
   */
  probation?: number;
  /**
   * How long a draining worker gets (shutdown and reload) before it is SIGKILLed, in ms.
   * @default 10000
   */
  drainTimeout?: number;
  /** Backoff between respawns of a crashed slot. */
  backoff?: BackoffOptions;
  /**
   * Crashes per slot in a sliding window before the slot stops respawning (a `crashLoop` event).
   * @default { crashes: 5, window: 60000 }
   */
  crashBudget?: CrashBudgetOptions;
  /**
   * Handle SIGINT/SIGTERM (graceful shutdown, then exit) and SIGHUP (rolling reload) at the
   * primary. `false` leaves the process's signals alone.
   * @default true
   */
  signals?: boolean | SignalOptions;
  /**
   * The task pool behind {@link Supervisor.run}: per-worker `concurrency`, `maxQueue`, `retry`, …
   * Its `timeout` defaults to the cluster's `timeout`.
   * @default POOL_DEFAULTS
   */
  pool?: TaskPoolOptions;
}

/** Options of {@link Supervisor.reload}. Spawn options given here become the new defaults once every slot runs them. */
export interface ReloadOptions extends SpawnOptions {
  /**
   * How many slots are replaced at the same time (each forks its replacement before its old
   * worker drains, so up to `size + parallel` workers run during a reload).
   * @default 1
   */
  parallel?: number;
  /** @default the cluster's `readyTimeout` */
  readyTimeout?: number;
  /** @default the cluster's `probation` */
  probation?: number;
  /** @default the cluster's `drainTimeout` */
  drainTimeout?: number;
}

/**
 * Merges the options of reloads coalesced into one run: later requests win field by field, and
 * `env` maps are merged, so every request's changes are rolled out (none is silently dropped).
 */
export function mergeReloadOptions(
  earlier: ReloadOptions | undefined,
  later: ReloadOptions | undefined,
): ReloadOptions | undefined {
  if (!earlier) return later;
  if (!later) return earlier;
  const merged: ReloadOptions = { ...earlier, ...later };
  if (earlier.env || later.env) merged.env = { ...earlier.env, ...later.env };
  return merged;
}

/** Options of {@link Supervisor.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long the workers get to drain, all in parallel under this one deadline, in ms;
   * stragglers are SIGKILLed.
   * @default the cluster's `drainTimeout`
   */
  timeout?: number;
  /**
   * Passed to the workers' `onShutdown` hooks as `ctx.reason`.
   * @default 'shutdown'
   */
  reason?: string;
}

/** @internal */
export interface ResolvedClusterOptions {
  spec: SpawnSpec;
  size: number;
  timeout: number | undefined;
  maxPendingSends: number | undefined;
  readyTimeout: number;
  probation: number;
  drainTimeout: number;
  backoff: ResolvedBackoff;
  crashBudget: { crashes: number; window: number };
  signals: ResolvedSignals;
}

/** @internal */
export interface ReloadPlan {
  spec: SpawnSpec;
  parallel: number;
  readyTimeout: number;
  probation: number;
  drainTimeout: number;
}

const WHERE = 'startCluster options';

/** @internal Checks every option of `startCluster` and fills in defaults. */
export function resolveClusterOptions<C extends Contract>(
  options: StartClusterOptions<C>,
): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `startCluster(options): expected an object with at least { contract }, got ${String(options)}`,
    );
  }
  if (typeof options.contract !== 'object' || options.contract === null || !options.contract.__clusterbus) {
    throw new TypeError(
      `${WHERE}: contract must come from defineContract(), got ${String(options.contract)}`,
    );
  }
  const size = options.size ?? availableParallelism();
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`${WHERE}: size must be an integer >= 1, got ${String(size)}`);
  }
  const serialization = options.serialization ?? 'json';
  if (serialization !== 'json' && serialization !== 'advanced') {
    throw new TypeError(`${WHERE}: serialization must be "json" or "advanced", got ${String(serialization)}`);
  }
  if (options.cwd !== undefined && typeof options.cwd !== 'string') {
    throw new TypeError(`${WHERE}: cwd must be a string, got ${String(options.cwd)}`);
  }
  if (options.timeout !== undefined) assertTimeout(options.timeout, WHERE);
  const spec = resolveSpawn(
    options,
    {
      exec: process.argv[1] ?? '',
      args: [],
      execArgv: process.execArgv,
      env: {},
      cwd: options.cwd,
      serialization,
    },
    WHERE,
  );
  return {
    spec,
    size,
    timeout: options.timeout,
    maxPendingSends: options.maxPendingSends,
    readyTimeout: positive(options.readyTimeout, 30_000, 'readyTimeout', WHERE),
    probation: nonNegative(options.probation, 1_000, 'probation', WHERE),
    drainTimeout: nonNegative(options.drainTimeout, 10_000, 'drainTimeout', WHERE),
    backoff: resolveBackoff(options.backoff, WHERE),
    crashBudget: resolveCrashBudget(options.crashBudget, WHERE),
    signals: resolveSignals(options.signals, WHERE),
  };
}

/** @internal Checks the options of one `reload()` against the cluster's current settings. */
export function resolveReloadOptions(
  options: ReloadOptions | undefined,
  base: ResolvedClusterOptions,
): ReloadPlan {
  const where = 'reload options';
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${where}: expected an object, got ${String(options)}`);
  }
  const given = options ?? {};
  if ('concurrency' in given) {
    throw new TypeError(
      `${where}: there is no "concurrency" option; use "parallel" for how many slots are replaced at once`,
    );
  }
  const parallel = given.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new RangeError(`${where}: parallel must be an integer >= 1, got ${String(parallel)}`);
  }
  return {
    spec: resolveSpawn(given, base.spec, where, true),
    parallel,
    readyTimeout: positive(given.readyTimeout, base.readyTimeout, 'readyTimeout', where),
    probation: nonNegative(given.probation, base.probation, 'probation', where),
    drainTimeout: nonNegative(given.drainTimeout, base.drainTimeout, 'drainTimeout', where),
  };
}

function resolveSpawn(given: SpawnOptions, base: SpawnSpec, where: string, mergeEnv = false): SpawnSpec {
  let exec = base.exec;
  if (given.exec !== undefined) {
    if (given.exec instanceof URL) exec = fileURLToPath(given.exec);
    else if (typeof given.exec === 'string' && given.exec.length > 0) exec = given.exec;
    else throw new TypeError(`${where}: exec must be a path or a file: URL, got ${String(given.exec)}`);
  }
  if (!exec) throw new TypeError(`${where}: exec is required (the path of the worker script)`);
  for (const key of ['args', 'execArgv'] as const) {
    const list = given[key];
    if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string'))) {
      throw new TypeError(`${where}: ${key} must be an array of strings, got ${String(list)}`);
    }
  }
  if (given.env !== undefined && (typeof given.env !== 'object' || given.env === null)) {
    throw new TypeError(`${where}: env must be an object of strings, got ${String(given.env)}`);
  }
  return {
    ...base,
    exec,
    args: given.args ? [...given.args] : [...base.args],
    execArgv: given.execArgv ? [...given.execArgv] : [...base.execArgv],
    env: mergeEnv ? { ...base.env, ...given.env } : { ...given.env },
  };
}

function positive(value: number | undefined, fallback: number, name: string, where: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`${where}: ${name} must be a finite number of ms > 0, got ${String(v)}`);
  }
  return v;
}

function nonNegative(value: number | undefined, fallback: number, name: string, where: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || !Number.isFinite(v)) {
    throw new RangeError(`${where}: ${name} must be a finite number of ms >= 0, got ${String(v)}`);
  }
  return v;
}
