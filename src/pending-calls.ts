/**
 * The calls this end of a link has made and not yet seen settle: id → the caller's promise, its
 * deadline (one timer for all of them, `deadlines.ts`) and its abort listener; the cancel owed to
 * the other end when a caller gives up; the calls given up on whose handler has not answered yet
 * (`abandoned`); and how a reply, a malformed reply or the link closing settles each one. The
 * mirror of `serve.ts`, which owns the calls this end serves for the other.
 *
 * Its own module because a pending call has a life of its own (sent or still held, timed out,
 * aborted, answered late) that nothing else on the link needs to see; `dispatch` and `settle` are
 * the per-call hot path, and read best on their own.
 */
import { type CallRoute, isFiniteTimeout } from './call.js';
import { CallTable } from './call-table.js';
import type { ProcedureDef } from './contract.js';
import { DeadlineQueue, type Expiring } from './deadlines.js';
import {
  AbortedError,
  type BusError,
  busErrorFromWire,
  ClosedError,
  isBusError,
  PeerGoneError,
  RemoteError,
  TimeoutError,
  ValidationError,
  type WireError,
} from './errors.js';
import { type CallSignal, listenForAbort, stopListeningForAbort } from './handler-context.js';
import { type Outbound, sendFailure } from './outbound.js';
import type { CallId, ReplyMessage, RequestMessage } from './protocol.js';
import { busErrorReply } from './serve.js';
import { validate } from './validate.js';

/** What the pending calls need from the peer that owns them. */
export interface CallsHost {
  /** Where requests and cancels leave from. */
  readonly outbound: Outbound;
  /** Starts every call id: the peer's instance, so a forged or stray reply cannot guess one. */
  readonly idPrefix: string;
  /** How this end names itself in messages. */
  localName(): string;
  /** True once the other end said hello (a timeout then says whether it never did). */
  connected(): boolean;
  /** The late reply to an abandoned call arrived: the other end is less busy now. */
  abandonedSettled(): void;
}

interface PendingCall extends Expiring {
  id: CallId;
  method: string;
  /** The call's timeout in ms, for the TIMEOUT message. */
  timeout: number;
  targetName: string;
  def: ProcedureDef | undefined;
  raw: boolean;
  /** Replaced by a no-op once the call settled (see `#forget`). */
  resolve(value: unknown): void;
  reject(error: unknown): void;
  signal: CallSignal | undefined;
  onAbort: (() => void) | undefined;
}

const ignoreError = () => {};
const alreadySettled = () => {};

/** The calls one end of one link is waiting on. */
export class PendingCalls {
  readonly #host: CallsHost;
  readonly #out: Outbound;
  readonly #idPrefix: string;
  #counter = 0;
  /** Set once the other end may be sent numeric ids (see {@link useShortIds}). */
  #shortIds = false;
  readonly #pending = new CallTable<PendingCall>();
  /** The timeouts of the pending calls, on one timer. */
  readonly #deadlines = new DeadlineQueue<PendingCall>((entry) => this.#timedOut(entry));
  /** Calls this end gave up on (timeout, abort) whose handler has not answered yet. */
  readonly #abandoned = new Set<CallId>();
  /** Set once the link closed: calls made after it fail with it. */
  #closedWith: BusError | undefined;

  constructor(host: CallsHost) {
    this.#host = host;
    this.#out = host.outbound;
    this.#idPrefix = host.idPrefix;
  }

  /** Calls sent and not yet settled. */
  get size(): number {
    return this.#pending.size;
  }

  /** Calls given up on (timeout or abort) that the other end has not answered yet. */
  get abandoned(): number {
    return this.#abandoned.size;
  }

  /**
   * From now on calls carry numeric ids: the other end reads them, and its hello named this end's
   * instance, so every reply it sends from now on answers a call of this instance. Calls already
   * sent keep their string ids; both kinds settle alike.
   */
  useShortIds(): void {
    this.#shortIds = true;
  }

  /** Sends a call whose input is already validated, and settles it when its reply arrives. */
  dispatch(
    method: string,
    input: unknown,
    signal: CallSignal | undefined,
    timeout: number,
    route: CallRoute,
    targetName: string,
  ): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.send(method, input, signal, timeout, route, targetName, resolve, reject),
    );
  }

  /**
   * {@link dispatch} without a promise, for a relay: the reply reaches `resolve` (or the failure
   * `reject`) in the same turn it arrives, with no microtask hop. Exactly one of them is called,
   * synchronously when the call cannot be sent.
   */
  send(
    method: string,
    input: unknown,
    signal: CallSignal | undefined,
    timeout: number,
    route: CallRoute,
    targetName: string,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ): void {
    // Checked here, after validation: an async schema may have let the link close or the signal fire.
    if (this.#closedWith) {
      reject(this.#rejectionFor(method, targetName));
      return;
    }
    if (signal?.aborted) {
      reject(
        new AbortedError(`call "${method}" to ${targetName} was aborted before it was sent`, {
          cause: signal.reason,
        }),
      );
      return;
    }
    const id: CallId = this.#shortIds ? this.#counter++ : this.#idPrefix + (this.#counter++).toString(36);
    const request: RequestMessage = { $cb: 1, k: 'req', id, m: method };
    if (input !== undefined) request.i = input;
    if (route.to !== undefined) {
      request.to = route.to;
      if (route.self) request.self = true;
      // Only a relaying primary needs the caller's deadline (to bound a gather).
      const deadline = route.relayDeadline ?? timeout;
      if (isFiniteTimeout(deadline)) request.t = deadline;
    }
    if (route.host !== undefined) request.h = route.host;
    if (route.relayFrom !== undefined) request.f = route.relayFrom;

    const finite = isFiniteTimeout(timeout);
    const entry: PendingCall = {
      id,
      method,
      timeout,
      targetName,
      def: route.def,
      raw: route.forward === true,
      resolve,
      reject,
      expiresAt: finite ? performance.now() + timeout : Number.POSITIVE_INFINITY,
      // No deadline to keep track of.
      done: !finite,
      signal,
      onAbort: undefined,
    };
    this.#pending.add(entry);
    if (finite) this.#deadlines.add(entry, timeout);
    if (signal) {
      entry.onAbort = () => {
        // A relay aborts because its own caller timed out: pass the real reason on to the handler.
        const reason = signal.reason;
        const { reject: fail } = entry;
        this.#cancel(id, isBusError(reason) && reason.code === 'TIMEOUT' ? 'timeout' : 'aborted');
        fail(new AbortedError(`call "${method}" to ${targetName} was aborted`, { cause: reason }));
      };
      listenForAbort(signal, entry.onAbort);
    }
    this.#out.post(request, (error) => {
      if (!error || this.#pending.get(id) !== entry) return;
      this.#forget(entry);
      reject(sendFailure(error, `call "${method}" to ${targetName}`));
    });
  }

  /** A reply arrived: settles its call, checking the output against the contract. */
  settle(reply: ReplyMessage): void {
    const entry = this.#pending.get(reply.id);
    if (!entry) {
      // A late reply to a call that timed out or was aborted: its handler is done now.
      if (this.#abandoned.delete(reply.id)) this.#host.abandonedSettled();
      return; // replies to ids we never sent are dropped quietly
    }
    const { resolve, reject } = entry;
    this.#forget(entry);
    if (entry.raw) {
      if (reply.k === 'res') resolve(reply.o);
      else reject(new RawReplyError(reply));
      return;
    }
    if (reply.k === 'err') {
      reject(this.#errorFromReply(entry, reply.e, reply.b === true));
      return;
    }
    try {
      if (!entry.def) {
        resolve(reply.o);
        return;
      }
      const output = validate(entry.def.output, reply.o, () => ({
        what: 'output',
        subject: `call "${entry.method}"`,
        side: `on ${this.#host.localName()} on receipt from ${entry.targetName}`,
      }));
      if (output instanceof Promise) output.then(resolve, reject);
      else resolve(output);
    } catch (error) {
      reject(error);
    }
  }

  /** The reply to call `id` failed the decoder (`violation` says how): the call fails with VALIDATION. */
  settleMalformed(id: CallId, violation: string): void {
    const entry = this.#pending.get(id);
    if (!entry) {
      if (this.#abandoned.delete(id)) this.#host.abandonedSettled();
      return;
    }
    const { reject } = entry;
    this.#forget(entry);
    const error = new ValidationError(
      `call "${entry.method}" to ${entry.targetName} failed: its reply was malformed (${violation})`,
    );
    reject(entry.raw ? new RawReplyError({ ...busErrorReply(error), id }) : error);
  }

  /** The link closed: every pending call rejects (CLOSED or PEER_GONE, after `error`), and so do new ones. */
  close(error: BusError): void {
    this.#closedWith = error;
    this.#deadlines.clear();
    this.#rejectAll(error);
  }

  /**
   * The other end was replaced (a new instance said hello): nobody is left to answer the calls
   * already sent, so each rejects with PEER_GONE saying `reason`. The link stays open for new calls.
   */
  orphaned(reason: string): void {
    this.#rejectAll(new PeerGoneError(reason));
  }

  #rejectAll(reason: BusError): void {
    for (const entry of [...this.#pending.values()]) {
      const { reject } = entry;
      this.#forget(entry);
      reject(this.#rejectionFor(entry.method, entry.targetName, reason));
    }
    this.#abandoned.clear();
  }

  /** A pending call's deadline passed. */
  #timedOut(entry: PendingCall): void {
    if (this.#pending.get(entry.id) !== entry) return;
    const { reject } = entry;
    this.#cancel(entry.id, 'timeout');
    const hint = this.#host.connected()
      ? ''
      : ` (${entry.targetName} never answered the handshake: did it create its bus?)`;
    reject(
      new TimeoutError(
        `call "${entry.method}" to ${entry.targetName} timed out after ${entry.timeout} ms${hint}`,
      ),
    );
  }

  /**
   * Removes a pending call and its deadline and abort listener, and lets go of everything the
   * entry holds: its caller's promise, the signal. The caller takes `resolve`/`reject` first.
   *
   * Why let go: an entry may outlive its call in places that are dead but not yet collected (a
   * deadline lane's old array, a string-id map's old hash table), and whatever it points to would
   * survive every scavenge with it (see `call-table.ts`). Cut loose, it drags nothing.
   */
  #forget(entry: PendingCall): void {
    this.#pending.delete(entry.id);
    this.#deadlines.settle(entry);
    if (entry.onAbort && entry.signal) stopListeningForAbort(entry.signal, entry.onAbort);
    entry.resolve = alreadySettled;
    entry.reject = alreadySettled;
    entry.signal = undefined;
    entry.onAbort = undefined;
  }

  #cancel(id: CallId, reason: 'aborted' | 'timeout'): void {
    const entry = this.#pending.get(id);
    if (!entry) return;
    this.#forget(entry);
    // Never sent: nothing runs over there, nothing to cancel.
    if (this.#out.dropHeld(id)) return;
    // The handler may well still be running over there (it may ignore ctx.signal): count it until
    // its late reply arrives, so schedulers do not pile more work onto a busy worker.
    this.#abandoned.add(id);
    // Cancels are owed: the bound never refuses them, so the only failure is a channel that is
    // gone, and then the handler over there is gone with it.
    this.#out.post({ $cb: 1, k: 'cancel', id, r: reason }, ignoreError);
  }

  #rejectionFor(method: string, targetName: string, reason: BusError = this.#closedWith!): BusError {
    const ErrorClass = reason.code === 'CLOSED' ? ClosedError : PeerGoneError;
    return new ErrorClass(`call "${method}" to ${targetName} failed: ${reason.message}`, { cause: reason });
  }

  /**
   * The caller's error for an error reply (already made safe by the decoder). A bus-level reply
   * keeps its code; one without a known code is a REMOTE failure, so the caller always gets a BusError.
   */
  #errorFromReply(entry: PendingCall, wire: WireError, busLevel: boolean): Error {
    const what = `call "${entry.method}" to ${entry.targetName}`;
    if (busLevel) return busErrorFromWire(wire, what);
    return new RemoteError(`${what} failed: ${wire.name}: ${wire.message}`, wire);
  }
}

/** Thrown inside a raw (relayed) call to carry the other end's reply untouched. */
export class RawReplyError extends Error {
  constructor(readonly reply: ReplyMessage) {
    super('raw reply');
  }
}
