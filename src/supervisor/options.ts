/** Options of `startCluster` and `reload()`, their defaults, and their eager validation. */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrimaryHandlers } from '../bus/primary-bus.js';
import { assertTimeout } from '../call.js';
import type { Contract } from '../contract.js';
import type { FleetOptions } from '../fleet/options.js';
import { assertOptionNames, optionNames } from '../options-check.js';
import { POOL_OPTION_NAMES, type TaskPoolOptions } from '../pool/options.js';
import type { TransportOptions } from '../transports/transport.js';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from './backoff.js';
import { type CrashBudgetOptions, resolveCrashBudget } from './crash-budget.js';
import { resolveLogger, type SupervisorLogger } from './log.js';
import type { SpawnSpec } from './member.js';
import { type PrefixOutput, resolvePrefix } from './output.js';
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
   * How long a reload's canary (its first replacement) must stay up after `ready()` before any old
   * worker is drained, in ms. It catches a release that dies just after it boots while only one
   * slot runs it. A worker that was ready this long also resets its slot's backoff.
   * Half a second: a release that dies right after boot (a refused connection, a missing setting,
   * a crash on its first requests, which it gets at once under load) does so within milliseconds
   * of its ready, and every millisecond of it is paid once per reload (2 workers: 1.8 s with
   * 1000, on par with `pm2 reload`). Raise it for apps whose failures come later.
   * @default 500
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
  /**
   * Print one concise line per lifecycle step (start, unexpected exit, respawn, crash loop,
   * reload, scale, shutdown) to stderr, or to `logger`. `false` silences it.
   * @default true
   */
  log?: boolean;
  /**
   * Where the lifecycle lines go instead of stderr: any object with `info`, `warn` and `error`
   * functions taking `(msg, data?)` — `console`, a pino or winston logger.
   * @default a `[clusterbus] …` line on stderr
   */
  logger?: SupervisorLogger;
  /**
   * Prefix every line a worker writes to stdout/stderr: `true` gives `[<id>] `, a function gives
   * its own prefix. Line-safe (half lines of two workers never interleave). The workers' stdio is
   * piped through the primary then, so it is no TTY for them.
   * @default false (workers write to the primary's stdout/stderr directly)
   */
  prefixOutput?: PrefixOutput;
  /**
   * How often the status sampler reads every worker's CPU, memory and event-loop delay, in ms;
   * `0` turns it off (those columns stay `undefined`).
   * @default 1000
   */
  sampleInterval?: number;
}

/** Options of {@link Supervisor.reload}. Spawn options given here become the new defaults once every slot runs them. */
export interface ReloadOptions extends SpawnOptions {
  /**
   * How many slots are replaced at the same time after the canary (each forks its replacement
   * before its old worker drains, so up to `size + parallel` workers run during a reload, and never
   * fewer than `size` serve).
   * @default Math.ceil(size / 4), at least 2: a quarter of the cluster, so a reload takes the canary plus at most about 4 batches whatever the size
   */
  parallel?: number;
  /**
   * Replace one slot first and hold it through `probation` before touching the others. `false`
   * starts with a full batch (faster, but a release that dies after boot costs a whole batch).
   * @default true
   */
  canary?: boolean;
  /** @default the cluster's `readyTimeout` */
  readyTimeout?: number;
  /** How long the canary stays up before the batches start, in ms. @default the cluster's `probation` */
  probation?: number;
  /**
   * How long each later batch's replacements stay up after `ready()` before their old workers are
   * drained, in ms. The canary already proved the release boots and stays up, so by default they
   * are adopted as soon as they are ready.
   * @default 0
   */
  batchProbation?: number;
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
  logger: SupervisorLogger | undefined;
  prefix: ((worker: { id: number; slot: number }) => string) | undefined;
  sampleInterval: number;
}

/** @internal */
export interface ReloadPlan {
  spec: SpawnSpec;
  parallel: number;
  canary: boolean;
  readyTimeout: number;
  probation: number;
  batchProbation: number;
  drainTimeout: number;
}

const WHERE = 'startCluster options';

const SPAWN_NAMES = { exec: true, args: true, execArgv: true, env: true } as const;
const CLUSTER_OPTION_NAMES = optionNames<StartClusterOptions<Contract>>({
  ...SPAWN_NAMES,
  contract: true,
  size: true,
  handlers: true,
  cwd: true,
  serialization: true,
  timeout: true,
  readyTimeout: true,
  probation: true,
  drainTimeout: true,
  backoff: true,
  crashBudget: true,
  signals: true,
  pool: true,
  fleet: true,
  maxPendingSends: true,
  log: true,
  logger: true,
  prefixOutput: true,
  sampleInterval: true,
});
const RELOAD_OPTION_NAMES = optionNames<ReloadOptions>({
  ...SPAWN_NAMES,
  parallel: true,
  canary: true,
  readyTimeout: true,
  probation: true,
  batchProbation: true,
  drainTimeout: true,
});
const BACKOFF_NAMES = optionNames<BackoffOptions>({ min: true, max: true, factor: true, jitter: true });
const CRASH_BUDGET_NAMES = optionNames<CrashBudgetOptions>({ crashes: true, window: true });
const SIGNAL_NAMES = optionNames<SignalOptions>({ shutdown: true, reload: true, exit: true });

/** Checks the names in the options and in the nested option objects (their values are checked later). */
function assertClusterOptionNames(options: object): void {
  assertOptionNames(options, CLUSTER_OPTION_NAMES, WHERE);
  const nested: Array<[string, unknown, readonly string[]]> = [
    ['pool', (options as StartClusterOptions<Contract>).pool, POOL_OPTION_NAMES],
    ['backoff', (options as StartClusterOptions<Contract>).backoff, BACKOFF_NAMES],
    ['crashBudget', (options as StartClusterOptions<Contract>).crashBudget, CRASH_BUDGET_NAMES],
    ['signals', (options as StartClusterOptions<Contract>).signals, SIGNAL_NAMES],
  ];
  for (const [name, value, names] of nested) {
    if (typeof value === 'object' && value !== null) assertOptionNames(value, names, `${WHERE}.${name}`);
  }
}

/** @internal Checks every option of `startCluster` and fills in defaults. */
export function resolveClusterOptions<C extends Contract>(
  options: StartClusterOptions<C>,
): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `startCluster(options): expected an object with at least { contract }, got ${String(options)}`,
    );
  }
  assertClusterOptionNames(options);
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
    probation: nonNegative(options.probation, 500, 'probation', WHERE),
    drainTimeout: nonNegative(options.drainTimeout, 10_000, 'drainTimeout', WHERE),
    backoff: resolveBackoff(options.backoff, WHERE),
    crashBudget: resolveCrashBudget(options.crashBudget, WHERE),
    signals: resolveSignals(options.signals, WHERE),
    logger: resolveLogger(options.log, options.logger, WHERE),
    prefix: resolvePrefix(options.prefixOutput, WHERE),
    sampleInterval: nonNegative(options.sampleInterval, 1_000, 'sampleInterval', WHERE),
  };
}

/**
 * The default `parallel` of a reload: a quarter of the cluster (Kubernetes' default surge), at
 * least 2, so a small cluster is not replaced one worker at a time (4 workers: canary and 2
 * batches instead of 4 steps; measured 3.9 s → see benchmarks/README.md#reload).
 */
export function defaultParallel(size: number): number {
  return Math.max(2, Math.ceil(size / 4));
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
  assertOptionNames(given, RELOAD_OPTION_NAMES, where);
  const parallel = given.parallel ?? defaultParallel(base.size);
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new RangeError(`${where}: parallel must be an integer >= 1, got ${String(parallel)}`);
  }
  const canary = given.canary ?? true;
  if (typeof canary !== 'boolean') {
    throw new TypeError(`${where}: canary must be a boolean, got ${String(canary)}`);
  }
  return {
    spec: resolveSpawn(given, base.spec, where, true),
    parallel,
    canary,
    readyTimeout: positive(given.readyTimeout, base.readyTimeout, 'readyTimeout', where),
    probation: nonNegative(given.probation, base.probation, 'probation', where),
    batchProbation: nonNegative(given.batchProbation, 0, 'batchProbation', where),
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
  // Checked once here: otherwise every worker dies with its own "Cannot find module" stack.
  if (given.exec !== undefined || !mergeEnv) {
    const cwd = base.cwd ?? process.cwd();
    const absolute = resolvePath(cwd, exec);
    if (!existsSync(absolute)) {
      throw new TypeError(
        `${where}: exec ${JSON.stringify(exec)} does not exist (looked for ${absolute}); pass the path of the worker script, relative to the working directory or as new URL('./worker.js', import.meta.url)`,
      );
    }
  }
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
