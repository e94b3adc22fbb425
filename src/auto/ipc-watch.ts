/**
 * Watches what the app sends to the primary over IPC, without changing it: a clusterbus hello
 * means the app created its own worker bus (it keeps control of readiness and shutdown), and the
 * string `'ready'` is PM2's `wait_ready` signal. Every message goes out exactly as it came.
 */

/** What the watcher saw (hellos and `'ready'` inside a batch envelope too). */
export interface OutgoingHandlers {
  /** A worker bus said hello; `instance` identifies that bus. */
  hello(instance: unknown): void;
  /** The app sent `process.send('ready')`. */
  ready(): void;
}

/** Wraps `process.send`; returns the function that unwraps it. */
export function watchOutgoing(handlers: OutgoingHandlers): () => void {
  const original = process.send;
  if (typeof original !== 'function') return () => {};
  const wrapped = function send(this: unknown, message: unknown, ...rest: unknown[]): boolean {
    try {
      inspect(message, handlers);
    } catch {
      // A hostile getter on the app's own message is the app's business, not a reason to drop it.
    }
    return (original as (...args: unknown[]) => boolean).apply(process, [message, ...rest]);
  } as typeof process.send;
  process.send = wrapped;
  return () => {
    if (process.send === wrapped) process.send = original;
  };
}

function inspect(message: unknown, handlers: OutgoingHandlers, depth = 0): void {
  if (message === 'ready') {
    handlers.ready();
    return;
  }
  if (typeof message !== 'object' || message === null) return;
  const m = message as { $cb?: unknown; k?: unknown; c?: unknown; d?: unknown; b?: unknown };
  if (m.$cb === undefined) return;
  // Messages posted in one turn may travel as one batch envelope: look inside (one level only).
  if (m.k === 'batch' && Array.isArray(m.b) && depth === 0) {
    for (const item of m.b) inspect(item, handlers, 1);
    return;
  }
  if (m.k !== 'ctl' || m.c !== 'hello') return;
  const instance =
    typeof m.d === 'object' && m.d !== null ? (m.d as { instance?: unknown }).instance : undefined;
  handlers.hello(instance);
}
