/** The pool's options, their defaults, and the eager checks that name a bad option and its value. */
import { assertTimeout, type CallOptions, DEFAULT_TIMEOUT } from '../call.js';
import { assertOptionNames, type OptionNames, optionNames } from '../options-check.js';

/** Options of {@link createTaskPool}. */
export interface TaskPoolOptions {
  /**
   * Tasks one worker runs at once. `1` suits CPU-bound procedures (a process has one JS thread);
   * raise it for procedures that mostly wait on I/O. A positive integer or `Infinity`.
   * @default 1
   */
  concurrency?: number;
  /**
   * Tasks that may wait for a free worker. When that many are waiting, `run()` rejects at once
   * with OVERLOADED. `0` queues nothing (reject whenever no worker is free); `Infinity` never rejects.
   * @default 1000
   */
  maxQueue?: number;
  /**
   * {@link TaskPool.needsDrain} turns true when every ready worker is at its `concurrency` and at
   * least this many tasks are queued; `'drain'` fires when it turns false again. `0` means "as soon as
   * every worker is busy". Clamped to `maxQueue`.
   * @default 64
   */
  highWaterMark?: number;
  /**
   * Default deadline of a task in ms, counted from `run()`: time in the queue plus time on the worker.
   * A task still queued at its deadline rejects with NOT_READY when no worker is ready, else with
   * TIMEOUT; once on a worker, the remaining time is the call's `timeout`. `0` or `Infinity`: none.
   * @default 30000 (the bus's default call timeout)
   */
  timeout?: number;
  /**
   * Default number of times a task is resubmitted when its worker dies while running it
   * (PEER_GONE). Only for idempotent procedures: the dead worker may have done part or all of the
   * work. Retries go to the front of the queue and share the task's deadline.
   * @default 0
   */
  retry?: number;
  /**
   * How many recent samples the run-time and wait-time percentiles are computed from.
   * @default 1000
   */
  statsWindow?: number;
}

/** Per-task options of {@link TaskPool.run}: those of `bus.call`, plus `retry`. */
export interface RunOptions extends CallOptions {
  /**
   * Resubmissions when the worker dies mid-task (PEER_GONE). Only for idempotent procedures.
   * @default the pool's `retry` (0 unless set)
   */
  retry?: number;
}

/** Every option resolved to its value. */
export interface ResolvedPoolOptions {
  concurrency: number;
  maxQueue: number;
  highWaterMark: number;
  timeout: number;
  retry: number;
  statsWindow: number;
}

/** Defaults of {@link TaskPoolOptions}. */
export const POOL_DEFAULTS = {
  concurrency: 1,
  maxQueue: 1000,
  highWaterMark: 64,
  timeout: DEFAULT_TIMEOUT,
  retry: 0,
  statsWindow: 1000,
} as const satisfies ResolvedPoolOptions;

/** @internal The names of {@link TaskPoolOptions} (also checked in `startCluster({ pool })`). */
export const POOL_OPTION_NAMES: OptionNames = optionNames<TaskPoolOptions>({
  concurrency: true,
  maxQueue: true,
  highWaterMark: true,
  timeout: true,
  retry: true,
  statsWindow: true,
});

const RUN_OPTION_NAMES = optionNames<RunOptions>({ timeout: true, signal: true, retry: true });

/**
 * Checks every option and fills in defaults.
 * @throws TypeError when `options` is not an object; RangeError naming the option and its value.
 */
export function resolvePoolOptions(options: TaskPoolOptions | undefined): ResolvedPoolOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`createTaskPool(bus, options): options must be an object, got ${String(options)}`);
  }
  const where = 'createTaskPool options';
  if (options) assertOptionNames(options, POOL_OPTION_NAMES, where);
  const concurrency = options?.concurrency ?? POOL_DEFAULTS.concurrency;
  assertCount(concurrency, `${where}: concurrency`, 1, true);
  const maxQueue = options?.maxQueue ?? POOL_DEFAULTS.maxQueue;
  assertCount(maxQueue, `${where}: maxQueue`, 0, true);
  const highWaterMark = options?.highWaterMark ?? Math.min(POOL_DEFAULTS.highWaterMark, maxQueue);
  assertCount(highWaterMark, `${where}: highWaterMark`, 0, true);
  const timeout = options?.timeout ?? POOL_DEFAULTS.timeout;
  assertTimeout(timeout, where);
  const retry = options?.retry ?? POOL_DEFAULTS.retry;
  assertCount(retry, `${where}: retry`, 0, false);
  const statsWindow = options?.statsWindow ?? POOL_DEFAULTS.statsWindow;
  assertCount(statsWindow, `${where}: statsWindow`, 1, false);
  return {
    concurrency,
    maxQueue,
    highWaterMark: Math.min(highWaterMark, maxQueue),
    timeout,
    retry,
    statsWindow,
  };
}

/**
 * Checks the per-task options of `run()`.
 * @throws TypeError / RangeError naming the call, the option and its value.
 */
export function checkRunOptions(options: RunOptions | undefined, method: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`run("${method}"): options must be an object, got ${String(options)}`);
  }
  assertOptionNames(options, RUN_OPTION_NAMES, `run("${method}") options`);
  if (options.timeout !== undefined) assertTimeout(options.timeout, `run("${method}")`);
  if (options.retry !== undefined) assertCount(options.retry, `run("${method}"): retry`, 0, false);
  const signal = options.signal as unknown;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`run("${method}"): signal must be an AbortSignal, got ${String(signal)}`);
  }
}

/** An integer ≥ `min` (or `Infinity` when allowed). */
function assertCount(value: unknown, what: string, min: number, infinite: boolean): asserts value is number {
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min) || (infinite && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    throw new RangeError(
      `${what} must be an integer >= ${min}${infinite ? ' or Infinity' : ''}, got ${String(value)}`,
    );
  }
}
