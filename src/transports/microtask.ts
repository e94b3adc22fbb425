/**
 * A cheaper `queueMicrotask` for the per-message paths. Node's `queueMicrotask` creates an
 * `AsyncResource` and a bound function for every call (~170 ns here); a `then` on a promise that
 * is already resolved runs at the same point of the microtask queue for ~70 ns. Measured on the
 * outbound flush and the in-memory delivery, which run once or more per message.
 */
const resolved = Promise.resolve();

/**
 * Runs `task` in a microtask. `task` must not throw: a throw would surface as an unhandled
 * rejection instead of an uncaught exception.
 */
export function microtask(task: () => void): void {
  void resolved.then(task);
}
