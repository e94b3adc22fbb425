/**
 * Failures of the supervisor itself (as opposed to a call on the bus): a cluster that could not
 * start, a reload that was aborted. Both carry a stable `code` and the details as data.
 */

/** Why one worker did not become ready during `startCluster`. */
export interface StartFailure {
  slot: number;
  id: number;
  pid: number | undefined;
  /** What went wrong, e.g. `exited with code 1 before it was ready`. */
  reason: string;
}

/** `startCluster` gave up: some workers exited or did not call `ready()` in time. */
export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
  /** Stable code to switch on. */
  readonly code = 'CLUSTER_START_FAILED';
  /** One entry per worker that failed. */
  readonly failures: StartFailure[];

  constructor(message: string, failures: StartFailure[]) {
    super(message);
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
export class ReloadError extends Error {
  override name = 'ReloadError';
  /** Stable code to switch on. */
  readonly code = 'RELOAD_FAILED';
  /** Slots replaced before the failure. */
  readonly replaced: ReplacedWorker[];
  /** The slot whose replacement failed, if one did. */
  readonly slot: number | undefined;

  constructor(
    message: string,
    options: { cause?: unknown; replaced: ReplacedWorker[]; slot?: number | undefined },
  ) {
    super(message, { cause: options.cause });
    this.replaced = options.replaced;
    this.slot = options.slot;
  }
}
