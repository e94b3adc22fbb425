/**
 * Failures of the supervisor itself (as opposed to a call on the bus): a cluster that could not
 * start, a reload that was aborted. Both extend {@link SupervisorError}: a `name`, a stable `code`
 * and the details as data. Check with {@link isSupervisorError}, which does not rely on `instanceof`
 * (two copies of the package in one app each have their own classes).
 */

/** The stable codes of supervisor failures. Switch on `error.code`, never on the message. */
export const SupervisorErrorCode = {
  /** `startCluster` gave up: see {@link ClusterStartError}. */
  CLUSTER_START_FAILED: 'CLUSTER_START_FAILED',
  /** A rolling reload was aborted: see {@link ReloadError}. */
  RELOAD_FAILED: 'RELOAD_FAILED',
  /** A scale-up could not start every new worker: see {@link ScaleError}. */
  SCALE_FAILED: 'SCALE_FAILED',
} as const;

/** One of the stable {@link SupervisorErrorCode} strings. */
export type SupervisorErrorCode = (typeof SupervisorErrorCode)[keyof typeof SupervisorErrorCode];

const SUPERVISOR_CODES = new Set<string>(Object.values(SupervisorErrorCode));

/** The base of the supervisor's own errors. Bus call failures are `BusError`s instead. */
export class SupervisorError extends Error {
  override name = 'SupervisorError';
  /** Stable code to switch on. */
  readonly code: SupervisorErrorCode;

  constructor(code: SupervisorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
  }
}

/**
 * True for a {@link SupervisorError} (start or reload failure), judged by its `name` and `code`
 * rather than `instanceof`.
 */
export function isSupervisorError(value: unknown): value is SupervisorError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { code?: unknown; message?: unknown; name?: unknown };
  return (
    typeof candidate.code === 'string' &&
    SUPERVISOR_CODES.has(candidate.code) &&
    typeof candidate.message === 'string' &&
    typeof candidate.name === 'string' &&
    candidate.name.endsWith('Error')
  );
}

/** Why one worker did not become ready during `startCluster`. */
export interface StartFailure {
  slot: number;
  id: number;
  pid: number | undefined;
  /** What went wrong, e.g. `worker 1 (pid 42) exited with code 1 before it was ready (it died of Error: …)`. */
  reason: string;
  /** Its exit code, when it exited by itself. */
  code?: number | null;
  /** The signal that ended it, when one did. */
  signal?: NodeJS.Signals | null;
  /** The uncaught error it died of (`name: message`), when its bus could report it before dying. */
  error?: string;
}

/** `startCluster` gave up: some workers exited or did not call `ready()` in time. */
export class ClusterStartError extends SupervisorError {
  override name = 'ClusterStartError';
  declare readonly code: 'CLUSTER_START_FAILED';
  /** One entry per worker that failed. */
  readonly failures: StartFailure[];

  constructor(message: string, failures: StartFailure[]) {
    super(SupervisorErrorCode.CLUSTER_START_FAILED, message);
    this.failures = failures;
  }
}

/** One slot a reload replaced. */
export interface ReplacedWorker {
  slot: number;
  /** The worker that was drained; `undefined` when the slot had none (crash loop, waiting to respawn). */
  oldId: number | undefined;
  oldPid: number | undefined;
  newId: number;
  newPid: number | undefined;
  /** Fork → ready → probation, in ms. */
  ms: number;
}

/**
 * A rolling reload was aborted: a replacement did not become ready in time, died during its
 * probation, or the cluster began shutting down. The workers not yet replaced keep serving;
 * `replaced` lists the slots that already run the new code.
 */
export class ReloadError extends SupervisorError {
  override name = 'ReloadError';
  declare readonly code: 'RELOAD_FAILED';
  /** Slots replaced before the failure. */
  readonly replaced: ReplacedWorker[];
  /** The slot whose replacement failed, if one did. */
  readonly slot: number | undefined;

  constructor(
    message: string,
    options: { cause?: unknown; replaced: ReplacedWorker[]; slot?: number | undefined },
  ) {
    super(SupervisorErrorCode.RELOAD_FAILED, message, { cause: options.cause });
    this.replaced = options.replaced;
    this.slot = options.slot;
  }
}

/**
 * A `scale()` up could not bring every new worker to `ready()`: one exited or missed
 * `readyTimeout`. The new slots stay part of the cluster and are respawned with backoff under the
 * crash budget like any crashed slot; `started` lists the workers that did become ready.
 */
export class ScaleError extends SupervisorError {
  override name = 'ScaleError';
  declare readonly code: 'SCALE_FAILED';
  /** The new workers that became ready. */
  readonly started: number[];
  /** One entry per new worker that failed. */
  readonly failures: StartFailure[];

  constructor(message: string, options: { started: number[]; failures: StartFailure[] }) {
    super(SupervisorErrorCode.SCALE_FAILED, message);
    this.started = options.started;
    this.failures = options.failures;
  }
}
