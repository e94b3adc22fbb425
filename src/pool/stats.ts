/**
 * The pool's figures: counters and a sliding window of durations (run time, wait time) from which
 * percentiles are computed on demand. Recording is O(1); only {@link DurationWindow.summary} sorts.
 */

/** Percentiles of one duration over the last samples, in milliseconds. */
export interface DurationStats {
  /** Samples recorded since the pool was created. */
  count: number;
  /** Samples the percentiles below are computed from (the most recent ones). */
  window: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The most recent `capacity` durations, in a ring. */
export class DurationWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #filled = 0;
  #count = 0;

  constructor(capacity: number) {
    this.#samples = new Float64Array(capacity);
  }

  /** Records one duration in ms. */
  add(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#filled < this.#samples.length) this.#filled++;
    this.#count++;
  }

  /** Mean, percentiles (nearest rank) and max over the window; zeros when nothing was recorded. */
  summary(): DurationStats {
    const n = this.#filled;
    if (n === 0) return { count: 0, window: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.#samples.slice(0, n).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const at = (q: number) => round(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] ?? 0);
    return {
      count: this.#count,
      window: n,
      mean: round(sum / n),
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: round(sorted[n - 1] ?? 0),
    };
  }
}

/** Three decimals: microsecond resolution is all `performance.now()` differences are good for here. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** One worker's row in {@link PoolStats}. */
export interface PoolWorkerStats {
  /** The worker's id (as in `bus.workers()`). */
  id: number;
  /** True while it takes new tasks (its bus state is `ready`). */
  ready: boolean;
  /** Tasks this pool has running on it now. */
  running: number;
  /** Tasks that resolved on it. */
  completed: number;
  /** Tasks that rejected on it (the worker's error, a timeout, an abort, or its exit). */
  failed: number;
}

/** A snapshot of a pool, returned by `pool.stats()` (a copy: change it freely). */
export interface PoolStats {
  /** Tasks waiting for a free worker. */
  queued: number;
  /** Tasks sent to a worker and not yet settled. */
  running: number;
  /** Tasks that resolved. */
  completed: number;
  /**
   * Tasks that rejected after they were accepted: on a worker, or while queued (aborted, timed
   * out, NOT_READY, pool closed). Tasks refused at `run()` with OVERLOADED are counted in
   * {@link overloaded} instead.
   */
  failed: number;
  /** `run()` calls refused at once because the queue was full. */
  overloaded: number;
  /** Times a task was resubmitted after its worker died (see the `retry` option). */
  retried: number;
  /** Failed tasks by error code (`TIMEOUT`, `PEER_GONE`, `REMOTE`, …; `UNKNOWN` for non-bus errors). */
  errors: Record<string, number>;
  /** True while producers should wait for the `'drain'` event. */
  needsDrain: boolean;
  /** Workers that take new tasks now. */
  readyWorkers: number;
  /** Tasks the ready workers can run at once (`readyWorkers × concurrency`). */
  capacity: number;
  /** One row per worker this pool can use or still has tasks on. */
  workers: PoolWorkerStats[];
  /** How long tasks ran on a worker (dispatch to settle), in ms. */
  runTime: DurationStats;
  /** How long tasks waited in the queue before a worker took them, in ms. */
  waitTime: DurationStats;
}
