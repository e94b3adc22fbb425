/** What a handler gets besides its input: the lazily made abort signal and the caller's identity. */
import type { Caller, HandlerContext } from './call.js';
import type { CallId } from './protocol.js';

/**
 * The abort of one call being served. Its `AbortSignal` is made only when the handler reads
 * `ctx.signal`: an `AbortController` with one listener costs about 10 µs here, and most handlers
 * never look. A relay listens with {@link listen} instead, so relaying a call makes none.
 */
export class LazyAbort {
  /** The procedure being served, for the abort reason's message. */
  readonly method: string;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listeners: Array<() => void> | undefined;

  constructor(method: string) {
    this.method = method;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Calls `listener` once when this aborts (never when it already has: check {@link aborted}). */
  listen(listener: () => void): void {
    if (this.#aborted) return;
    if (this.#listeners) this.#listeners.push(listener);
    else this.#listeners = [listener];
  }

  /** Stops `listener` from being called. */
  unlisten(listener: () => void): void {
    const listeners = this.#listeners;
    const index = listeners?.indexOf(listener) ?? -1;
    if (index >= 0) listeners!.splice(index, 1);
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
    this.#controller?.abort(reason);
  }
}

/**
 * What can cancel a call this end makes: the caller's `AbortSignal`, or, for a call relayed on,
 * the {@link LazyAbort} of the call being served, which needs no `AbortController`.
 */
export type CallSignal = AbortSignal | LazyAbort;

/** Calls `listener` once when `signal` aborts. */
export function listenForAbort(signal: CallSignal, listener: () => void): void {
  if (signal instanceof LazyAbort) signal.listen(listener);
  else signal.addEventListener('abort', listener, { once: true });
}

/** Undoes {@link listenForAbort}. */
export function stopListeningForAbort(signal: CallSignal, listener: () => void): void {
  if (signal instanceof LazyAbort) signal.unlisten(listener);
  else signal.removeEventListener('abort', listener);
}

/** The `ctx` a handler receives; `signal` and `callId` are made on first read. */
export class CallContext implements HandlerContext {
  readonly #abort: LazyAbort;
  readonly #id: CallId;
  readonly #callerInstance: string | undefined;
  /**
   * @param id The wire id.
   * @param callerInstance The caller's instance, from its hello: a numeric wire id is unique only
   *   together with it.
   */
  constructor(
    abort: LazyAbort,
    readonly caller: Caller,
    readonly method: string,
    id: CallId,
    callerInstance: string | undefined,
  ) {
    this.#abort = abort;
    this.#id = id;
    this.#callerInstance = callerInstance;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** `<caller instance>:<counter>` whichever form the wire id took, so unique across restarts. */
  get callId(): string {
    const id = this.#id;
    return typeof id === 'string' ? id : `${this.#callerInstance ?? '?'}:${id.toString(36)}`;
  }
}
