/**
 * The worker's half of graceful shutdown. When the primary sends `drain`, the worker runs its
 * `onShutdown` hooks (close servers, flush caches), waits for the bus handlers still running,
 * flushes the channel and exits — with code 1 when a hook failed (each failure is also a process
 * warning on the worker's stderr), which the primary sees as the exit code of `workerExit`.
 * While supervised it ignores stray SIGINT/SIGTERM/SIGHUP (a terminal's Ctrl-C reaches the whole
 * process group) and waits for the primary.
 */

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

/** @internal The worker's drain sequence; created by the worker bus. */
export class WorkerLifecycle {
  readonly #host: LifecycleHost;
  readonly #hooks = new Set<ShutdownHook>();
  readonly #exitAfterDrain: boolean;
  readonly #ignoreSignals: boolean;
  readonly #ignore = () => {};
  #draining: Promise<void> | undefined;

  constructor(host: LifecycleHost, options: WorkerLifecycleOptions = {}) {
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
    this.#host = host;
    this.#exitAfterDrain = options.exitAfterDrain ?? true;
    this.#ignoreSignals = options.ignoreSignals ?? process.env[SUPERVISED_ENV] === '1';
    if (this.#ignoreSignals) for (const signal of IGNORED_SIGNALS) process.on(signal, this.#ignore);
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

  /** Runs the drain once; later calls return the same promise. */
  drain(data: unknown): Promise<void> {
    this.#draining ??= this.#run(readDrainData(data));
    return this.#draining;
  }

  /** Removes the signal listeners (the bus was closed by the app). */
  dispose(): void {
    for (const signal of IGNORED_SIGNALS) process.off(signal, this.#ignore);
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
