/**
 * Process signals at the primary: SIGINT/SIGTERM start a graceful shutdown, SIGHUP a rolling
 * reload. Installing a listener replaces Node's default (exit at once), so the supervisor owns
 * the exit: a second shutdown signal while draining kills the stragglers right away.
 */

/** Which signals the supervisor handles. `false` handles none. */
export interface SignalOptions {
  /**
   * Signals that start a graceful shutdown.
   * @default ['SIGINT', 'SIGTERM']
   */
  shutdown?: NodeJS.Signals[];
  /**
   * Signals that start a rolling reload.
   * @default ['SIGHUP']
   */
  reload?: NodeJS.Signals[];
  /**
   * After a signal-started shutdown, exit the primary: code 0 when every worker drained in time,
   * 1 otherwise.
   * @default true
   */
  exit?: boolean;
}

/** Signal options with defaults filled in; `undefined` when signals are off. */
export type ResolvedSignals = Required<SignalOptions> | undefined;

/**
 * Fills in defaults and checks every field.
 * @throws TypeError naming the field and the value.
 */
export function resolveSignals(options: boolean | SignalOptions | undefined, where: string): ResolvedSignals {
  if (options === false) return undefined;
  if (options !== undefined && options !== true && (typeof options !== 'object' || options === null)) {
    throw new TypeError(
      `${where}: signals must be true, false or { shutdown, reload, exit }, got ${String(options)}`,
    );
  }
  const given = typeof options === 'object' ? options : {};
  const resolved = {
    shutdown: given.shutdown ?? (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]),
    reload: given.reload ?? (['SIGHUP'] as NodeJS.Signals[]),
    exit: given.exit ?? true,
  };
  for (const key of ['shutdown', 'reload'] as const) {
    const list = resolved[key];
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))) {
      throw new TypeError(
        `${where}: signals.${key} must be an array of signal names like "SIGTERM", got ${String(list)}`,
      );
    }
  }
  if (typeof resolved.exit !== 'boolean') {
    throw new TypeError(`${where}: signals.exit must be a boolean, got ${String(resolved.exit)}`);
  }
  return resolved;
}

/** What the signal listeners call. */
export interface SignalHandlers {
  shutdown(signal: NodeJS.Signals): void;
  reload(signal: NodeJS.Signals): void;
}

/** Whether a cluster in this process already owns the signals (only one may: each would exit the process). */
let owned = false;

/**
 * Installs the listeners; returns the function that removes them.
 * @throws TypeError when another cluster in this process already handles signals.
 */
export function installSignals(signals: Required<SignalOptions>, handlers: SignalHandlers): () => void {
  if (owned) {
    throw new TypeError(
      'startCluster(): another cluster in this process already handles SIGINT/SIGTERM/SIGHUP, and two would each exit the process on their own; pass { signals: false } to this one and call its shutdown()/reload() yourself',
    );
  }
  owned = true;
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  for (const signal of signals.shutdown) installed.push([signal, () => handlers.shutdown(signal)]);
  for (const signal of signals.reload) installed.push([signal, () => handlers.reload(signal)]);
  for (const [signal, listener] of installed) process.on(signal, listener);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    owned = false;
    for (const [signal, listener] of installed) process.off(signal, listener);
  };
}
