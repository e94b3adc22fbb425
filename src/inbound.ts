/**
 * What arrives on one link, and who handles it. Each message (each element of a batch, in order,
 * exactly as if it had arrived alone) is decoded and handed to its owner: replies to the pending
 * calls, requests and cancels to the calls being served, events and control to the bus, the hello
 * to the peer's handshake. A tagged message that fails the decoder is reported on 'error', and
 * what it still owes happens. Nothing the other end sends may throw out of here.
 *
 * Its own module because every message of the link passes through it, and the malformed-message
 * path (the report, the preview, what is still owed) is as long as the good one: here it stays out
 * of the peer, and off the path a good message takes.
 */
import { type BusError, ValidationError } from './errors.js';
import type { Outbound } from './outbound.js';
import type { PendingCalls } from './pending-calls.js';
import {
  type ControlMessage,
  describeValue,
  type EventMessage,
  isBatch,
  isViolation,
  type Message,
  type ProtocolViolation,
  parseMessage,
  unpackBatch,
} from './protocol.js';
import { busErrorReply, type IncomingCalls } from './serve.js';

/** The bus's share of what arrives (the peer's hooks). */
export interface InboundHooks {
  /** An event arrived (not yet validated). */
  event(message: EventMessage): void;
  /** A control message other than the handshake arrived. */
  control(message: ControlMessage): void;
  /** A tagged message was malformed, or handling one threw. */
  error(error: BusError): void;
}

/** Where the messages of one link go. */
export interface InboundHost {
  /** How this end names the other: `worker 3`, `the primary`. */
  readonly remoteName: string;
  /** How this end names itself in messages. */
  localName(): string;
  /** Replies settle these. */
  readonly calls: PendingCalls;
  /** Requests and cancels go here. */
  readonly incoming: IncomingCalls;
  /** Where the error reply to a malformed request leaves from. */
  readonly outbound: Outbound;
  /** Events, control and reports go to the bus. */
  readonly hooks: InboundHooks;
  /** The other end said hello (the peer's handshake). */
  hello(message: ControlMessage): void;
  /** True once the link is closed: nothing more is written. */
  isClosed(): boolean;
}

const ignoreError = () => {};

/** Decodes and dispatches what arrives on one link. */
export class Inbound {
  readonly #host: InboundHost;
  readonly #calls: PendingCalls;
  readonly #incoming: IncomingCalls;
  readonly #hooks: InboundHooks;

  constructor(host: InboundHost) {
    this.#host = host;
    this.#calls = host.calls;
    this.#incoming = host.incoming;
    this.#hooks = host.hooks;
  }

  /** The transport's message listener: nothing a peer sends may throw out of it. */
  receive(value: unknown): void {
    if (isBatch(value)) {
      const unpacked = unpackBatch(value);
      if (!Array.isArray(unpacked)) {
        this.#guarded(unpacked, value);
        return;
      }
      // In order, each exactly as if it had arrived alone: one that throws does not drop the rest.
      const elements = (value as unknown as { b: unknown[] }).b;
      for (let i = 0; i < unpacked.length; i++) this.#guarded(unpacked[i]!, elements[i]);
      return;
    }
    const parsed = parseMessage(value);
    if (parsed === undefined) return; // foreign traffic: not ours, not our business
    this.#guarded(parsed, value);
  }

  #guarded(parsed: Message | ProtocolViolation, value: unknown): void {
    try {
      this.#handle(parsed, value);
    } catch (error) {
      // A last line of defence (a listener of ours or the app's threw): report, never crash.
      this.#report(
        new ValidationError(
          `handling a message from ${this.#host.remoteName} threw: ${describeValue(error)}; the message was dropped`,
          { cause: error },
        ),
      );
    }
  }

  #handle(parsed: Message | ProtocolViolation, value: unknown): void {
    if (isViolation(parsed)) {
      this.#dropped(parsed, value);
      return;
    }
    switch (parsed.k) {
      case 'res':
      case 'err':
        this.#calls.settle(parsed);
        return;
      case 'req':
        this.#incoming.serve(parsed);
        return;
      case 'cancel':
        this.#incoming.cancel(parsed.id, parsed.r === 'timeout' ? 'timeout' : 'aborted');
        return;
      case 'evt':
        this.#hooks.event(parsed);
        return;
      case 'ctl':
        if (parsed.c === 'hello') this.#host.hello(parsed);
        else this.#hooks.control(parsed);
        return;
    }
  }

  /**
   * A tagged message that failed the decoder: reported on 'error'. When it carried a readable id,
   * what is owed still happens: a request gets an error reply, a reply settles its call, a cancel
   * still cancels.
   */
  #dropped(parsed: ProtocolViolation, value: unknown): void {
    const what = `a malformed message from ${this.#host.remoteName}: ${parsed.violation}`;
    this.#report(new ValidationError(`dropped ${what}`, { data: { message: preview(value) } }));
    const id = parsed.id;
    if (id === undefined) return;
    switch (parsed.kind) {
      case 'req':
        if (this.#host.isClosed()) return;
        this.#host.outbound.post(
          { ...busErrorReply(new ValidationError(`${this.#host.localName()} refused ${what}`)), id },
          ignoreError,
        );
        return;
      case 'res':
      case 'err':
        this.#calls.settleMalformed(id, parsed.violation);
        return;
      case 'cancel':
        this.#incoming.cancel(id, 'aborted');
        return;
    }
  }

  /** Reports on the bus's 'error'; if even that throws (the app's listener), as a process warning. */
  #report(error: BusError): void {
    try {
      this.#hooks.error(error);
    } catch (thrown) {
      process.emitWarning(`${error.message} (and reporting it threw: ${describeValue(thrown)})`, {
        code: `CLUSTERBUS_${error.code}`,
      });
    }
  }
}

/** At most 200 characters of what was dropped, for the report; never throws. */
function preview(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? describeValue(value)).slice(0, 200);
  } catch {
    return describeValue(value);
  }
}
