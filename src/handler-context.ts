/** What a handler gets besides its input: the lazily made abort signal and the caller's identity. */
import type { Caller, HandlerContext } from './call.js';

/**
 * The handler's abort signal, made only when the handler reads `ctx.signal` (or a relay needs
 * one): an `AbortController` costs several microseconds, most handlers never look.
 */
export class LazyAbort {
  /** The procedure being served, for the abort reason's message. */
  readonly method: string;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(method: string) {
    this.method = method;
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
    this.#controller?.abort(reason);
  }
}

/** The `ctx` a handler receives; `signal` is created on first read. */
export class CallContext implements HandlerContext {
  readonly #abort: LazyAbort;
  constructor(
    abort: LazyAbort,
    readonly caller: Caller,
    readonly method: string,
    readonly callId: string,
  ) {
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}
