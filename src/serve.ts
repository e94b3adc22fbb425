/**
 * The calls one end is serving for the other: input validation, the handler, output validation,
 * the reply, and each call's abort signal (cancel, timeout or link closing). Synchronous while
 * validation and the handler are, so a plain handler costs no promise and no microtask hop.
 */
import type { Caller, ServedProcedure } from './call.js';
import { AbortedError, errorToWire, NoHandlerError, TimeoutError, type WireError } from './errors.js';
import { CallContext, LazyAbort } from './handler-context.js';
import type { CallId, ReplyMessage, RequestMessage } from './protocol.js';
import { validate } from './validate.js';

/** What the serving side needs from the peer that owns it. */
export interface ServeHost {
  /** How this end names itself in messages. */
  localName(): string;
  /** How this end names the other: `worker 3`, `the primary`. */
  readonly remoteName: string;
  /** The identity handlers see for calls arriving on this link. */
  readonly remoteCaller: Caller;
  /**
   * Believe the `f` (relayed-from) field of a request. Only a worker may: its only link is the
   * primary, which sets `f` when it relays. The primary never does, or a worker could pose as another.
   */
  readonly trustRelayedCaller: boolean;
  /** Finds the handler for a method; `undefined` means NO_HANDLER. */
  resolve(method: string): ServedProcedure | undefined;
  /** Relays a request carrying `to` (only the primary can); `reply` takes the answer, once. */
  readonly relay?:
    | ((request: RequestMessage, abort: LazyAbort, reply: (message: ReplyMessage) => void) => void)
    | undefined;
  /** Writes one reply. */
  send(reply: ReplyMessage, done: (error?: Error) => void): void;
  /** True once the link is closed: replies are no longer written. */
  isClosed(): boolean;
  /** The other end's instance, from its hello (`ctx.callId` of a numeric wire id needs it). */
  remoteInstance(): string | undefined;
}

/** The calls being served on one link. */
export class IncomingCalls {
  readonly #host: ServeHost;
  readonly #running = new Map<CallId, LazyAbort>();

  constructor(host: ServeHost) {
    this.#host = host;
  }

  /** Calls whose handler (or relay) is still running. */
  get size(): number {
    return this.#running.size;
  }

  /** The caller gave up (it aborted or timed out): abort that call's `ctx.signal`. */
  cancel(id: CallId, why: 'aborted' | 'timeout'): void {
    const abort = this.#running.get(id);
    if (!abort) return;
    const what = `call "${abort.method}" from ${this.#host.remoteName}`;
    abort.abort(
      why === 'timeout'
        ? new TimeoutError(`${what} timed out on the caller's side; stop the work`)
        : new AbortedError(`${what} was aborted by the caller; stop the work`),
    );
  }

  /**
   * The link closed, or the other end's bus was replaced (a new instance said hello): abort every
   * running call's signal, and drop the replies, which nobody waits for any more.
   */
  abortAll(reason: Error): void {
    for (const abort of this.#running.values()) abort.abort(reason);
    this.#running.clear();
  }

  /**
   * Serves one request. Stays synchronous while validation and the handler are, so a plain
   * handler costs no promise and no microtask hop.
   */
  serve(request: RequestMessage): void {
    if (this.#running.has(request.id)) return; // a duplicate id would clash with the running call
    const abort = new LazyAbort(request.m);
    this.#running.set(request.id, abort);
    if (request.to !== undefined) {
      this.#relay(request, abort);
      return;
    }
    let reply: ReplyMessage | Promise<ReplyMessage>;
    try {
      reply = this.#runHandler(request, abort);
    } catch (error) {
      reply = busErrorReply(error);
    }
    if (reply instanceof Promise) {
      reply.then(
        (settled) => this.#reply(request, abort, settled),
        (error: unknown) => this.#reply(request, abort, busErrorReply(error)),
      );
    } else {
      this.#reply(request, abort, reply);
    }
  }

  #reply(request: RequestMessage, abort: LazyAbort, reply: ReplyMessage): void {
    // Not running any more: the link closed (abortAll), or a later call took this id. Either way
    // the reply has no one to go to.
    if (this.#running.get(request.id) !== abort) return;
    this.#running.delete(request.id);
    if (this.#host.isClosed()) return;
    reply.id = request.id;
    this.#host.send(reply, (error) => {
      if (!error || this.#host.isClosed()) return;
      // The reply could not be sent (not serializable, over the link's size limit): the caller
      // still gets an answer, a small one, instead of waiting for its timeout.
      this.#host.send({ ...unsentReply(reply, error, `call "${request.m}"`), id: request.id }, () => {});
    });
  }

  /** A request for another end: the relay answers it (once: a second answer finds it gone). */
  #relay(request: RequestMessage, abort: LazyAbort): void {
    const answer = (reply: ReplyMessage) => this.#reply(request, abort, reply);
    const relay = this.#host.relay;
    if (!relay) {
      answer(
        busErrorReply(
          new NoHandlerError(
            `call "${request.m}" asked ${this.#host.localName()} to relay it, which only the primary does`,
          ),
        ),
      );
      return;
    }
    try {
      relay(request, abort, answer);
    } catch (error) {
      answer(busErrorReply(error));
    }
  }

  #runHandler(request: RequestMessage, abort: LazyAbort): ReplyMessage | Promise<ReplyMessage> {
    const served = this.#host.resolve(request.m);
    if (!served) {
      return busErrorReply(
        new NoHandlerError(
          `call "${request.m}": ${this.#host.localName()} has no handler for "${request.m}"`,
        ),
      );
    }
    let input: unknown;
    try {
      input = validate(served.def.input, request.i, () => ({
        what: 'input',
        subject: `call "${request.m}"`,
        side: `on ${this.#host.localName()} on receipt`,
      }));
    } catch (error) {
      return busErrorReply(error);
    }
    if (input instanceof Promise) {
      return input.then((value) => this.#invoke(request, served, value, abort), busErrorReply);
    }
    return this.#invoke(request, served, input, abort);
  }

  #invoke(
    request: RequestMessage,
    served: ServedProcedure,
    input: unknown,
    abort: LazyAbort,
  ): ReplyMessage | Promise<ReplyMessage> {
    const caller: Caller =
      request.f !== undefined && this.#host.trustRelayedCaller
        ? { kind: 'worker', id: request.f }
        : this.#host.remoteCaller;
    let output: unknown;
    try {
      output = served.handler(
        input,
        new CallContext(abort, caller, request.m, request.id, this.#host.remoteInstance()),
      );
    } catch (error) {
      return handlerErrorReply(error);
    }
    if (isThenable(output)) {
      return Promise.resolve(output).then(
        (value) => this.#checkOutput(request, served, value),
        handlerErrorReply,
      );
    }
    return this.#checkOutput(request, served, output);
  }

  #checkOutput(
    request: RequestMessage,
    served: ServedProcedure,
    output: unknown,
  ): ReplyMessage | Promise<ReplyMessage> {
    let checked: unknown;
    try {
      checked = validate(served.def.output, output, () => ({
        what: 'output',
        subject: `call "${request.m}"`,
        side: `on ${this.#host.localName()} before replying`,
      }));
    } catch (error) {
      return busErrorReply(error);
    }
    if (checked instanceof Promise) return checked.then(resultReply, busErrorReply);
    return resultReply(checked);
  }
}

/** A successful reply carrying `output`. */
function resultReply(output: unknown): ReplyMessage {
  const reply: ReplyMessage = { $cb: 1, k: 'res', id: '' };
  if (output !== undefined) reply.o = output;
  return reply;
}

/** The handler threw: the caller sees REMOTE. */
function handlerErrorReply(error: unknown): ReplyMessage {
  return { $cb: 1, k: 'err', id: '', e: errorToWire(error) };
}

/** True for a promise or any other thenable a handler may return. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * What goes instead of a reply that could not be sent: for a result, the send's failure
 * (VALIDATION), naming `what` (the call); for an error, the same error's name, code and message,
 * without what made it unsendable (its stack, data and cause).
 */
function unsentReply(reply: ReplyMessage, failure: Error, what: string): ReplyMessage {
  if (reply.k !== 'err' || reply.e === undefined) {
    const instead = busErrorReply(failure) as ReplyMessage & { e: WireError };
    instead.e.message = `${what}: its result could not be sent back (${instead.e.message})`;
    return instead;
  }
  const { name, message, code } = reply.e;
  const e: WireError = {
    name,
    message: `${message} (the rest of this error could not be sent: ${failure.message})`,
  };
  if (code !== undefined) e.code = code;
  return reply.b ? { $cb: 1, k: 'err', id: '', e, b: true } : { $cb: 1, k: 'err', id: '', e };
}

/** A failure of the bus itself (NO_HANDLER, VALIDATION, …): the caller rethrows it with its code. */
export function busErrorReply(error: unknown): ReplyMessage {
  return { $cb: 1, k: 'err', id: '', e: errorToWire(error), b: true };
}
