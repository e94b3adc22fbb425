/**
 * The worker's half of graceful shutdown. When the primary sends `drain`, the worker runs its
 * `onShutdown` hooks (close servers, flush caches), waits for the bus handlers still running,
 * flushes the channel and exits — with code 1 when a hook failed (each failure is also a process
 * warning on the worker's stderr), which the primary sees as the exit code of `workerExit`.
 * While supervised it ignores stray SIGINT/SIGTERM/SIGHUP (a terminal's Ctrl-C reaches the whole
 * process group) and waits for the primary. When no clusterbus supervisor runs it (PM2, docker,
 * systemd, plain `node`), SIGINT/SIGTERM and PM2's `'shutdown'` message start the same drain
 * (trap 14); a second signal exits at once.
 */
import { detectParent, pm2KillTimeout } from './worker-parent.js';

/** Set to `'1'` by the supervisor in every worker it forks. */
export const SUPERVISED_ENV = 'CLUSTERBUS_SUPERVISED';
/** The supervisor's slot index of a worker (`'0'`, `'1'`, …); a replacement keeps its slot. */
export const SLOT_ENV = 'CLUSTERBUS_SLOT';

/** What an `onShutdown` hook receives. */
export interface ShutdownContext {
  /** Why the worker drains: `shutdown`, `reload`, or what the caller of `shutdown()` said. */
  reason: string;
  /**
   * Milliseconds this worker has to drain; the primary SIGKILLs it a little later (up to 1 s), so a
   * hook that stops at `signal` can still exit cleanly. `0` means no deadline was sent.
   */
  timeout: number;
  /** Aborted when the primary's deadline passes (the hook should give up then). */
  signal: AbortSignal;
}

/** A function run once when the worker is told to drain. May be async. */
export type ShutdownHook = (ctx: ShutdownContext) => unknown;

/** Worker-side lifecycle options (part of `createWorkerBus` options). */
export interface WorkerLifecycleOptions {
  /**
   * Ignore SIGINT, SIGTERM and SIGHUP and wait for the primary's drain command instead. Without this a
   * Ctrl-C in the terminal kills every worker at once, before the primary can drain them.
   * @default true when forked by a clusterbus supervisor, false otherwise
   */
  ignoreSignals?: boolean;
  /**
   * Exit the process (code 0, or 1 when a hook threw) once drained. Set `false` to exit yourself
   * (listen for it with the promise `onShutdown` hooks run in).
   * @default true
   */
  exitAfterDrain?: boolean;
  /**
   * The drain deadline (`ctx.timeout` of the hooks) when a signal or PM2's `'shutdown'` message
   * starts the drain, that is when no clusterbus supervisor runs this worker, in ms. At the
   * deadline the hooks' `ctx.signal` aborts, and the worker exits with code 1 shortly after if it
   * has not yet.
   * @default PM2's `kill_timeout` minus 200 ms under PM2 (1400 with PM2's default 1600); 10000 otherwise
   */
  shutdownTimeout?: number;
}

/** What the lifecycle needs from the worker bus. */
export interface LifecycleHost {
  /** Calls from the primary or other workers whose handlers are running. */
  readonly handling: number;
  close(): Promise<void>;
}

/** How often the drain looks at the handler count; cheap, and only while draining. */
const HANDLER_POLL_MS = 10;
// SIGHUP too: closing the terminal or `kill -HUP -<pgid>` reaches the workers as well, and the
// primary already turns its own SIGHUP into a reload.
const IGNORED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** What PM2 (SIGINT), docker and systemd (SIGTERM) stop a process with. */
const DRAIN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** PM2's default `kill_timeout` (it does not put the default in the environment). */
const PM2_DEFAULT_KILL_TIMEOUT = 1_600;
/** After a self-started drain's deadline, how long before the worker exits on its own. */
const SELF_DEADLINE_GRACE_MS = 100;

/** @internal The worker's drain sequence; created by the worker bus. */
export class WorkerLifecycle {
  readonly #host: LifecycleHost;
  readonly #hooks = new Set<ShutdownHook>();
  readonly #exitAfterDrain: boolean;
  readonly #ignoreSignals: boolean;
  readonly #ignore = () => {};
  /** SIGINT/SIGTERM when unsupervised: the first drains, a second exits at once. */
  readonly #onSignal = (signal: NodeJS.Signals) => {
    if (this.#draining) {
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    void this.drain({ reason: signal, timeout: this.#shutdownTimeout }, true);
  };
  /** PM2 sends the string `'shutdown'` instead of a signal where signals do not exist (and on `shutdown_with_message`). */
  readonly #onMessage = (message: unknown) => {
    if (message === 'shutdown') void this.drain({ reason: 'shutdown', timeout: this.#shutdownTimeout }, true);
  };
  readonly #shutdownTimeout: number;
  readonly #handlesSignals: boolean;
  #draining: Promise<void> | undefined;

  /**
   * `ownsProcess`: the bus talks over this process's own channel (not a custom transport), so its
   * signals are the lifecycle's business.
   */
  constructor(host: LifecycleHost, options: WorkerLifecycleOptions = {}, { ownsProcess = true } = {}) {
    if (options.ignoreSignals !== undefined && typeof options.ignoreSignals !== 'boolean') {
      throw new TypeError(
        `createWorkerBus options: ignoreSignals must be a boolean, got ${String(options.ignoreSignals)}`,
      );
    }
    if (options.exitAfterDrain !== undefined && typeof options.exitAfterDrain !== 'boolean') {
      throw new TypeError(
        `createWorkerBus options: exitAfterDrain must be a boolean, got ${String(options.exitAfterDrain)}`,
      );
    }
    const parent = detectParent();
    const pm2Deadline = parent === 'pm2' ? (pm2KillTimeout() ?? PM2_DEFAULT_KILL_TIMEOUT) : undefined;
    const shutdownTimeout =
      options.shutdownTimeout ?? (pm2Deadline === undefined ? 10_000 : Math.max(100, pm2Deadline - 200));
    if (typeof shutdownTimeout !== 'number' || !(shutdownTimeout >= 0) || !Number.isFinite(shutdownTimeout)) {
      throw new RangeError(
        `createWorkerBus options: shutdownTimeout must be a finite number of ms >= 0, got ${String(shutdownTimeout)}`,
      );
    }
    this.#shutdownTimeout = shutdownTimeout;
    this.#host = host;
    this.#exitAfterDrain = options.exitAfterDrain ?? true;
    this.#ignoreSignals = options.ignoreSignals ?? parent === 'clusterbus';
    if (this.#ignoreSignals) for (const signal of IGNORED_SIGNALS) process.on(signal, this.#ignore);
    // Nobody else will drain this worker: its own signals (and PM2's message) do.
    this.#handlesSignals = ownsProcess && !this.#ignoreSignals && parent !== 'clusterbus';
    if (this.#handlesSignals) {
      for (const signal of DRAIN_SIGNALS) process.on(signal, this.#onSignal);
      process.on('message', this.#onMessage);
    }
  }

  /** True once a drain started. */
  get draining(): boolean {
    return this.#draining !== undefined;
  }

  /** Registers a hook; returns the function that removes it. */
  onShutdown(hook: ShutdownHook): () => void {
    if (typeof hook !== 'function') {
      throw new TypeError(`onShutdown(hook): hook must be a function, got ${typeof hook}`);
    }
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /**
   * Runs the drain once; later calls return the same promise. `selfStarted`: no primary
   * enforces the deadline (a signal started it), so this worker exits by itself at the deadline.
   */
  drain(data: unknown, selfStarted = false): Promise<void> {
    if (this.#draining) return this.#draining;
    const plan = readDrainData(data);
    if (selfStarted && plan.timeout > 0 && this.#exitAfterDrain) {
      // The grace after the deadline lets a hook that honoured ctx.signal finish its exit first.
      setTimeout(() => process.exit(1), plan.timeout + SELF_DEADLINE_GRACE_MS).unref();
    }
    this.#draining = this.#run(plan);
    return this.#draining;
  }

  /** Removes the signal listeners (the bus was closed by the app). */
  dispose(): void {
    for (const signal of IGNORED_SIGNALS) process.off(signal, this.#ignore);
    if (this.#handlesSignals) {
      // While draining, a second signal must still exit at once: keep those until the process ends.
      if (!this.#draining) for (const signal of DRAIN_SIGNALS) process.off(signal, this.#onSignal);
      process.off('message', this.#onMessage);
    }
  }

  async #run({ reason, timeout }: { reason: string; timeout: number }): Promise<void> {
    const controller = new AbortController();
    const deadline =
      timeout > 0
        ? setTimeout(
            () =>
              controller.abort(
                new Error(
                  `the drain deadline of ${timeout} ms passed; the primary SIGKILLs this worker shortly`,
                ),
              ),
            timeout,
          ).unref()
        : undefined;
    const ctx: ShutdownContext = { reason, timeout, signal: controller.signal };
    // Hooks run in parallel: closing an HTTP server and finishing a queue should not wait on each other.
    const settled = await Promise.allSettled([...this.#hooks].map(async (hook) => hook(ctx)));
    const failures = settled.flatMap((result) =>
      result.status === 'rejected' ? [String((result.reason as Error)?.stack ?? result.reason)] : [],
    );
    await this.#idle();
    if (deadline) clearTimeout(deadline);
    // No goodbye message: the primary already knows the exit is planned (it asked for the drain),
    // and a hook failure reaches it as exit code 1. close() flushes what is still queued (trap 4).
    await this.#host.close();
    this.dispose();
    if (failures.length > 0) {
      for (const failure of failures) process.emitWarning(`an onShutdown hook failed: ${failure}`);
      process.exitCode = 1;
    }
    if (this.#exitAfterDrain) process.exit();
  }

  /**
   * Resolves when no handler of the bus is running. It does not give up at the deadline: a call
   * still running then is cut by the primary's SIGKILL, which the shutdown reports as a kill.
   */
  #idle(): Promise<void> {
    if (this.#host.handling === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (this.#host.handling > 0) return;
        clearInterval(timer);
        resolve();
      }, HANDLER_POLL_MS);
    });
  }
}

function readDrainData(data: unknown): { reason: string; timeout: number } {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  return {
    reason: typeof d.reason === 'string' ? d.reason : 'shutdown',
    timeout: typeof d.timeout === 'number' && d.timeout > 0 && Number.isFinite(d.timeout) ? d.timeout : 0,
  };
}
