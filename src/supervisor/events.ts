/** The supervisor's typed events and the rows it reports. */
import type { WorkerState } from '../bus/primary-bus.js';
import type { ReloadError, ReplacedWorker } from './errors.js';

/** One live worker, as {@link Supervisor.status} and the worker events (`workerFork`, …) report it. */
export interface LiveWorkerStatus {
  id: number;
  pid: number | undefined;
  /** The slot the worker fills (0 … size-1); replacements and respawns keep the slot. */
  slot: number;
  state: WorkerState;
  /** When it was forked (ms since epoch). */
  startedAt: number;
  /** How long it has been running, in ms (now − `startedAt`). */
  uptime: number;
  /** How many times its slot was respawned after a crash before this worker was forked. */
  restarts: number;
  /** Calls from the primary to this worker still pending. */
  inFlight: number;
  /**
   * CPU used by the worker process over the last sampling interval, in percent of one core
   * (`200` = two cores busy). `undefined` until two samples were taken.
   */
  cpu: number | undefined;
  /**
   * Memory of the worker process: `rss` from the OS (`/proc/<pid>/status` on Linux), `heapUsed`
   * as the worker's V8 last reported it (`undefined` while it never answered). `undefined` until
   * the first sample.
   */
  memory: { rss: number; heapUsed: number | undefined } | undefined;
  /**
   * Event-loop delay of the worker in ms: the p99 of the last interval as the worker measured it,
   * or — when the worker has not answered the sampler for longer than that — how long it has been
   * silent (its loop is blocked at least that long). `undefined` until it first answered.
   */
  eventLoopDelay: number | undefined;
}

/**
 * A slot that spent its crash budget: no worker runs there until the next reload. It keeps its row
 * in {@link Supervisor.status} so a crash loop does not look like a smaller cluster.
 */
export interface StoppedSlotStatus {
  /** No live worker: `undefined`. */
  id: undefined;
  pid: undefined;
  slot: number;
  state: 'stopped';
  /** When the worker that crashed last had been forked (ms since epoch). */
  startedAt: number | undefined;
  /** 0: nothing runs. */
  uptime: 0;
  restarts: number;
  inFlight: 0;
  cpu: undefined;
  memory: undefined;
  eventLoopDelay: undefined;
}

/**
 * A row of {@link Supervisor.status}: a live worker, or a slot stopped by a crash loop
 * (`state: 'stopped'`, where `id` and `pid` are `undefined`). Narrow on `state`.
 */
export type WorkerStatus = LiveWorkerStatus | StoppedSlotStatus;

/** A worker that exited. */
export interface WorkerExit {
  id: number;
  pid: number | undefined;
  slot: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the supervisor asked for it (drain, reload, shutdown, kill at a deadline). */
  planned: boolean;
}

/** A respawn was scheduled after a crash. */
export interface RespawnScheduled {
  slot: number;
  /** The worker that crashed. */
  id: number;
  /** Consecutive crashes of this slot (1 for the first). */
  attempt: number;
  /** Backoff before the fork, in ms. */
  delay: number;
}

/** Forking a slot's worker again after a crash failed (e.g. `spawn E2BIG`, `EAGAIN`). */
export interface RespawnFailed {
  slot: number;
  /** The respawn attempt that failed (the `attempt` of the `respawnScheduled` that planned it). */
  attempt: number;
  /**
   * What the fork threw (as `cause`), with the slot in the message. The failure counts as a crash
   * of the slot: a `respawnScheduled` (retry with a longer backoff) or `crashLoop` event follows.
   */
  error: Error;
}

/** A slot spent its crash budget and is no longer respawned. */
export interface CrashLoop {
  slot: number;
  /** The worker whose exit spent the budget. */
  id: number;
  crashes: number;
  /** The budget's window, in ms. */
  window: number;
}

/** What {@link Supervisor.reload} resolves with. */
export interface ReloadResult {
  replaced: ReplacedWorker[];
  /** Old workers that did not drain within `drainTimeout` and were SIGKILLed (their in-flight work was cut). */
  killed: number[];
  /** Wall time of the whole reload, in ms. */
  durationMs: number;
}

/** What {@link Supervisor.shutdown} resolves with. */
export interface ShutdownResult {
  /** True when every worker exited on its own (not by a signal) before the deadline. */
  graceful: boolean;
  /** Workers that exited on their own (with an exit code, not a signal) before the deadline. */
  drained: number[];
  /** Workers SIGKILLed at the deadline, or ended by a signal while draining. */
  killed: number[];
  durationMs: number;
}

/** Event name → listener. `Supervisor extends EventEmitter<SupervisorEvents>`. */
export interface SupervisorEvents {
  /** A worker was forked (start, respawn or reload). */
  workerFork: (worker: LiveWorkerStatus) => void;
  /** A worker said `ready()`. */
  workerReady: (worker: LiveWorkerStatus) => void;
  /** A worker was told to drain. */
  workerDraining: (worker: LiveWorkerStatus) => void;
  /** A worker exited, with its code or signal. */
  workerExit: (exit: WorkerExit) => void;
  /** A crashed worker's slot will be forked again after `delay` ms. */
  respawnScheduled: (respawn: RespawnScheduled) => void;
  /**
   * Forking a crashed slot's worker again threw. It counts against the slot's crash budget and is
   * retried with backoff. With no listener for this event nor `'error'`, a process warning is emitted.
   */
  respawnFailed: (failure: RespawnFailed) => void;
  /** A slot spent its crash budget; the cluster keeps serving on the other slots. */
  crashLoop: (loop: CrashLoop) => void;
  /** A rolling reload began. */
  reloadStart: (info: { slots: number; parallel: number; canary: boolean }) => void;
  /** One slot was replaced (its old worker is now draining). */
  reloadStep: (step: ReplacedWorker & { index: number; total: number }) => void;
  /** Every slot was replaced. */
  reloadDone: (result: ReloadResult) => void;
  /** The reload was aborted; the old workers that remain keep serving. */
  reloadFailed: (error: ReloadError) => void;
  /** A `scale()` finished: slots were added (their workers ready) or removed (their workers drained). */
  scaled: (result: ScaleResult) => void;
  /** A graceful shutdown began. */
  shutdownStart: (info: { reason: string; timeout: number }) => void;
  /** Every worker is gone. */
  shutdownDone: (result: ShutdownResult) => void;
  /**
   * Something failed that no caller can be told about (e.g. a fork threw during a respawn; that one
   * also arrives as `respawnFailed`). Without a listener it becomes a process warning, not a throw.
   */
  error: (error: Error) => void;
}

/** What {@link Supervisor.scale} resolves with. */
export interface ScaleResult {
  /** How many slots there were before. */
  previous: number;
  /** How many there are now. */
  size: number;
  /** Ids of the workers forked into the new slots (all ready). */
  started: number[];
  /** Ids of the workers drained because their slots were removed. */
  stopped: number[];
  /** Wall time, in ms. */
  durationMs: number;
}
