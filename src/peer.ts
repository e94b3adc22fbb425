/**
 * One end of one link: what a bus holds per link. Owns the link's life (open until its transport
 * or the bus closes it) and the hello handshake, and puts together the parts that do the work,
 * each in its own module: the outbound path that holds traffic until the other end's bus says
 * hello (`outbound.ts`), the calls this end has pending (`pending-calls.ts`), the calls it serves
 * for the other end (`serve.ts`), and the dispatch of what arrives (`inbound.ts`).
 */
import { randomBytes } from 'node:crypto';
import {
  assertTimeout,
  type Caller,
  type CallOptions,
  type CallRoute,
  type ServedProcedure,
} from './call.js';
import { type BusError, ClosedError, PeerGoneError } from './errors.js';
import type { CallSignal, LazyAbort } from './handler-context.js';
import { Inbound } from './inbound.js';
import { Outbound, sendFailure } from './outbound.js';
import { PendingCalls, RawReplyError } from './pending-calls.js';
import {
  type ControlCommand,
  type ControlMessage,
  type EventMessage,
  FEATURE_BATCH,
  FEATURE_SHORT_IDS,
  FEATURES,
  type HelloData,
  helloFeatures,
  type RelayTarget,
  type ReplyMessage,
  type RequestMessage,
} from './protocol.js';
import { busErrorReply, IncomingCalls } from './serve.js';
import type { Transport } from './transports/transport.js';
import { validate } from './validate.js';

/** Hooks through which the owning bus sees what the peer does not handle itself. */
export interface PeerHooks {
  /** Finds the handler for a method; `undefined` means NO_HANDLER. */
  resolve(method: string): ServedProcedure | undefined;
  /**
   * A request carrying `to` (a relay); only the primary implements it. `abort` is the served
   * call's; `reply` takes the answer, once.
   */
  relay?(request: RequestMessage, abort: LazyAbort, reply: (message: ReplyMessage) => void): void;
  /** An event arrived (not yet validated). */
  event(message: EventMessage): void;
  /** A control message other than the handshake arrived. */
  control(message: ControlMessage): void;
  /** A tagged message was malformed, or something went wrong that no caller can be told about. */
  error(error: BusError): void;
  /** The link closed; pending calls were already rejected with `error`. */
  closed(error: BusError): void;
  /** The late reply to an abandoned call arrived: the other end is less busy now. */
  abandonedSettled?(): void;
}

/** Options of {@link createPeer}. */
export interface PeerOptions {
  /** The channel this end talks over. */
  transport: Transport;
  /** How this end names itself in messages: `the primary`, `worker 3` (a function when it can change). */
  localName: string | (() => string);
  /** How this end names the other: `worker 3`, `the primary`. */
  remoteName: string;
  /** The identity handlers see for calls arriving on this link. */
  remoteCaller: Caller;
  /**
   * Believe the relayed-from worker id a request carries (the worker side of a link to the
   * primary). Never on the primary, or a worker could pose as another.
   * @default false
   */
  trustRelayedCaller?: boolean;
  /** Default call timeout in ms (0 or Infinity: none). */
  timeout: number;
  /** How the owning bus handles what the peer does not: handlers, relays, events, control, errors. */
  hooks: PeerHooks;
  /** Extra data sent with this end's hello (e.g. the worker's id and pid). */
  hello?: Record<string, unknown>;
}

/** Options of {@link Peer.forward} and {@link Peer.relay}. */
export interface ForwardOptions {
  /** The served call's signal: its abort cancels the forwarded call. */
  signal: CallSignal;
  /** The worker the request came from (none when it came from another host). */
  from?: number | undefined;
  /** The caller's deadline in ms (0: none). */
  timeout?: number | undefined;
  /** Asks the other end to relay it further. */
  to?: RelayTarget;
}

const NO_ROUTE: CallRoute = Object.freeze({});
const NO_OPTIONS: CallOptions = Object.freeze({});

/** One end of one link. Create with {@link createPeer}. */
export class Peer {
  readonly #options: PeerOptions;
  readonly #transport: Transport;
  // 64 random bits per peer instance (in the hello too, so a restart behind the same channel shows).
  readonly #instance = randomBytes(8).toString('base64url');
  /** The one outbound path, holding what is written until the other end said hello. */
  readonly #out: Outbound;
  readonly #calls: PendingCalls;
  readonly #incoming: IncomingCalls;
  #remoteHello: Record<string, unknown> | undefined;
  #closedWith: BusError | undefined;
  readonly #unsubscribe: Array<() => void>;

  constructor(options: PeerOptions) {
    this.#options = options;
    this.#transport = options.transport;
    const localName = () => this.#localName;
    const isClosed = () => this.#closedWith !== undefined;
    const out = new Outbound(this.#transport, options.remoteName);
    this.#out = out;
    this.#calls = new PendingCalls({
      outbound: out,
      // Ids carry the instance: a forged or stray reply cannot guess a pending call's id.
      idPrefix: `${this.#instance}:`,
      localName,
      connected: () => this.connected,
      abandonedSettled: () => options.hooks.abandonedSettled?.(),
    });
    this.#incoming = new IncomingCalls({
      localName,
      remoteName: options.remoteName,
      remoteCaller: options.remoteCaller,
      trustRelayedCaller: options.trustRelayedCaller ?? false,
      resolve: options.hooks.resolve,
      relay: options.hooks.relay,
      send: (reply, done) => out.post(reply, done),
      isClosed,
      remoteInstance: () => this.#remoteHello?.instance as string | undefined,
    });
    const inbound = new Inbound({
      remoteName: options.remoteName,
      localName,
      calls: this.#calls,
      incoming: this.#incoming,
      outbound: out,
      hooks: options.hooks,
      hello: (message) => this.#receiveHello(message),
      isClosed,
    });
    this.#unsubscribe = [
      this.#transport.onMessage((value) => inbound.receive(value)),
      this.#transport.onClose((reason) =>
        this.close(new PeerGoneError(`${options.remoteName} is gone (${reason})`)),
      ),
    ];
    this.#sendHello(false);
  }

  get #localName(): string {
    const name = this.#options.localName;
    return typeof name === 'function' ? name() : name;
  }

  /** Calls this end has sent and not yet seen settle. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /**
   * Calls this end gave up on (timeout or abort) and the other end has not answered yet: their
   * handlers are probably still running there.
   */
  get abandoned(): number {
    return this.#calls.abandoned;
  }

  /** Calls from the other end whose handlers are still running. */
  get handling(): number {
    return this.#incoming.size;
  }

  /** True once the other end's bus said hello. */
  get connected(): boolean {
    return this.#remoteHello !== undefined;
  }

  /** What the other end sent with its hello. */
  get remoteHello(): Readonly<Record<string, unknown>> | undefined {
    return this.#remoteHello;
  }

  /** Set once the link is closed. */
  get closedWith(): BusError | undefined {
    return this.#closedWith;
  }

  /** The underlying transport. */
  get transport(): Transport {
    return this.#transport;
  }

  /**
   * Makes a call. Input is validated here before sending (unless `route.inputChecked`: a gather
   * validates once for every worker) and again on receipt.
   */
  call(
    method: string,
    input: unknown,
    options: CallOptions = NO_OPTIONS,
    route: CallRoute = NO_ROUTE,
  ): Promise<unknown> {
    const targetName = route.targetName ?? this.#options.remoteName;
    const signal = options.signal;
    const timeout = options.timeout ?? this.#options.timeout;
    assertTimeout(timeout, `call "${method}"`);
    let checkedInput: unknown;
    try {
      checkedInput =
        route.def && !route.inputChecked
          ? validate(route.def.input, input, () => ({
              what: 'input',
              subject: `call "${method}"`,
              side: `on ${this.#localName} before sending`,
            }))
          : input;
    } catch (error) {
      return Promise.reject(error);
    }
    if (checkedInput instanceof Promise) {
      return checkedInput.then((value) =>
        this.#calls.dispatch(method, value, signal, timeout, route, targetName),
      );
    }
    return this.#calls.dispatch(method, checkedInput, signal, timeout, route, targetName);
  }

  /**
   * Forwards a request verbatim and resolves with the raw reply (for a gather, which waits for
   * every worker). See {@link relay}.
   */
  forward(method: string, input: unknown, options: ForwardOptions): Promise<ReplyMessage> {
    return new Promise((resolve) => this.relay(method, input, options, resolve));
  }

  /**
   * Forwards a request verbatim (for the primary's relay) and hands the raw reply, or the failure
   * as an error reply, to `done`: in the same turn the reply arrives, so a relay's answer leaves
   * with no promise hop between the two links. `from` is the worker it came from (none when it
   * came from another host); `to` asks the other end to relay it further (a remote host's worker,
   * or all of them).
   */
  relay(method: string, input: unknown, options: ForwardOptions, done: (reply: ReplyMessage) => void): void {
    const { signal, from, timeout = 0, to } = options;
    const route: CallRoute = { relayFrom: from, forward: true };
    if (to !== undefined) route.to = to;
    // Straight to the pending calls: nothing to validate here, and the served call's LazyAbort
    // cancels it without an AbortController (`timeout` comes from a decoded request: a number ≥ 0).
    this.#calls.send(
      method,
      input,
      signal,
      timeout,
      route,
      this.#options.remoteName,
      (o) => done({ $cb: 1, k: 'res', id: '', o }),
      (error) => done(error instanceof RawReplyError ? error.reply : busErrorReply(error)),
    );
  }

  /** Sends an event (already validated by the bus). */
  sendEvent(message: EventMessage): Promise<void> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    return new Promise((resolve, reject) =>
      this.#out.post(message, (error) =>
        error ? reject(sendFailure(error, `event "${message.n}" to ${this.#options.remoteName}`)) : resolve(),
      ),
    );
  }

  /** {@link sendEvent} without a promise, for a fan-out to many links: `done` gets the failure. */
  postEvent(message: EventMessage, done: (error?: Error) => void): void {
    if (this.#closedWith) done(this.#closedWith);
    else this.#out.post(message, done);
  }

  /** Sends a control message. */
  sendControl(command: ControlCommand, data?: unknown): Promise<void> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const message: ControlMessage = { $cb: 1, k: 'ctl', c: command };
    if (data !== undefined) message.d = data;
    return this.#out.write(message);
  }

  /**
   * The other end has not said hello in time and probably never will: every held call and event
   * fails with `error` now, and new ones fail at once, until a hello does arrive (a late bus is
   * still welcome). What is owed (replies, cancels, control) stays held.
   */
  refuseUntilHello(error: BusError): void {
    if (this.#closedWith) return;
    this.#out.refuseUntilHello(error);
  }

  /**
   * Resolves once everything accepted for sending has been written (before a process exits),
   * including what is held until the other end says hello (a worker that exits right after it
   * starts): once it is released, or refused because the hello is late, or the link closed.
   */
  async flush(): Promise<void> {
    await this.#out.whenUnheld();
    await this.#transport.flush();
  }

  /**
   * Closes the link: every pending call rejects with `error`, every running handler's signal
   * aborts, held messages fail. Idempotent.
   */
  close(error: BusError = new ClosedError(`the link to ${this.#options.remoteName} was closed`)): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    this.#calls.close(error);
    this.#incoming.abortAll(error);
    this.#out.close(error);
    for (const stop of this.#unsubscribe) stop();
    this.#options.hooks.closed(error);
  }

  #sendHello(ack: boolean): void {
    const data: HelloData = {
      ...this.#options.hello,
      instance: this.#instance,
      ack,
      features: [...FEATURES],
    };
    const remote = this.#remoteHello?.instance;
    if (typeof remote === 'string') data.to = remote;
    this.#transport
      .send({ $cb: 1, k: 'ctl', c: 'hello', d: data })
      // A hello to a channel that is already gone is answered by the close handler.
      .catch(() => {});
  }

  /**
   * The other end's bus said hello: answer it the first time, then let held traffic go.
   *
   * A hello from a new instance behind the same channel (the other end replaced its bus) ends the
   * calls the old instance made: their replies have nobody to go to, and dropping them is what lets
   * the new instance number its calls from 0 without meeting one. The calls this end sent to the old
   * instance fail with PEER_GONE: nothing is left to answer them (in fleet mode, a host that dropped
   * this one and made a new peer for it). The answer names the instance it answers (`to`), and
   * asks for an answer in turn (`ack: false`) while the other end's hellos have
   * not named this one: a hello naming this instance is the proof that numeric ids are safe, since
   * everything the other end sends after it is for this instance. At most one answer per instance
   * heard, so two ends never trade hellos for ever.
   */
  #receiveHello(message: ControlMessage): void {
    const data = (message.d ?? {}) as HelloData;
    const previous = this.#remoteHello;
    const first = previous === undefined || previous.instance !== data.instance;
    this.#remoteHello = data;
    const namesThisEnd = data.to === this.#instance;
    const features = helloFeatures(data);
    if (first) {
      if (previous !== undefined) {
        const replaced = `${this.#options.remoteName} replaced its bus (a new instance said hello)`;
        this.#incoming.abortAll(new PeerGoneError(`${replaced}: the call's caller is gone`));
        // The old instance will never answer what was sent to it.
        this.#calls.orphaned(`${replaced}, so nothing will answer it; it may or may not have run`);
      }
      this.#transport.useBatches?.(features.has(FEATURE_BATCH));
      // An end without short ids never names anyone: it gets the v1 answer, only to a probe.
      const wantsProof = features.has(FEATURE_SHORT_IDS) && !namesThisEnd;
      if (data.ack !== true || wantsProof) this.#sendHello(!wantsProof);
    }
    if (namesThisEnd && features.has(FEATURE_SHORT_IDS)) this.#calls.useShortIds();
    this.#out.release();
    if (first) this.#options.hooks.control(message);
  }
}

/** Creates one end of a link over `transport`. */
export function createPeer(options: PeerOptions): Peer {
  return new Peer(options);
}
