/**
 * The one outbound path of a link, and the hello hold on it. Until the other end's bus says hello,
 * what this end writes is held here, in order: new work (requests, events) is bounded by
 * {@link MAX_HELD}, and refused at once once the other end is late (`refuseUntilHello`), while what
 * is owed (replies, cancels, control) always waits. The hello releases it all to the transport;
 * after that every message goes straight through, at the cost of one field check.
 *
 * Its own module because the hold is a small state machine of its own (a queue with a bound, a
 * refusal, and calls that leave it when they settle before they were sent) that the pending calls,
 * the calls being served and the peer all write through, and none of them needs to see inside.
 */
import {
  type BusError,
  errorFromWire,
  errorToWire,
  isBusError,
  OverloadedError,
  PeerGoneError,
} from './errors.js';
import { type CallId, isNewWork, type Message } from './protocol.js';
import type { Transport } from './transports/transport.js';

/** Messages held for an end that has not said hello yet, before sends fail with OVERLOADED. */
const MAX_HELD = 10_000;

interface HeldMessage {
  message: Message;
  done(error?: Error): void;
  /** False once the call it carries settled (timeout, abort, close) before it was sent. */
  live: boolean;
}

/** Where every message of one link leaves from. */
export class Outbound {
  readonly #transport: Transport;
  /** How messages name the other end: `worker 3`, `the primary`. */
  readonly #remoteName: string;
  /** Messages written before the other end said hello; flushed in order once it does. */
  #held: HeldMessage[] | undefined = [];
  /** Held requests by id, so a call that settles while held leaves the queue at once. */
  #heldCalls: Map<CallId, HeldMessage> | undefined = new Map();
  /** Held requests and events still to send (what {@link MAX_HELD} bounds). */
  #heldWork = 0;
  /** Held entries that were dropped (their call settled) and are still in the array. */
  #heldDropped = 0;
  /** Set while new work is refused at once because the other end is late to say hello. */
  #refusal: BusError | undefined;
  /** Flushes waiting for the held messages to go (see {@link whenUnheld}). */
  #unheldWaiters: Array<() => void> = [];

  constructor(transport: Transport, remoteName: string) {
    this.#transport = transport;
    this.#remoteName = remoteName;
  }

  /** Straight to the transport, or held until the other end said hello. */
  post(message: Message, done: (error?: Error) => void): void {
    const held = this.#held;
    if (held === undefined || (message.k === 'ctl' && message.c === 'hello')) {
      this.#transport.post(message, done);
      return;
    }
    // Only new work is refused: a reply, cancel or control message is owed (trap 11).
    const newWork = isNewWork(message);
    if (newWork && this.#refusal) {
      done(this.#refusal);
      return;
    }
    if (newWork && this.#heldWork >= MAX_HELD) {
      done(
        new OverloadedError(
          `${this.#remoteName} has not said hello yet and ${MAX_HELD} messages are waiting for it`,
        ),
      );
      return;
    }
    const item: HeldMessage = { message, done, live: true };
    held.push(item);
    if (newWork) this.#heldWork++;
    if (message.k === 'req') this.#heldCalls?.set(message.id, item);
  }

  /** {@link post} as a promise. */
  write(message: Message): Promise<void> {
    return new Promise((resolve, reject) =>
      this.post(message, (error) => (error ? reject(error) : resolve())),
    );
  }

  /**
   * Takes a call that settled before it was sent out of the held queue. Returns false when it
   * was not held (it went out: the other end may be running it).
   */
  dropHeld(id: CallId): boolean {
    const item = this.#heldCalls?.get(id);
    if (!item) return false;
    this.#heldCalls!.delete(id);
    item.live = false;
    this.#heldWork--;
    // Compact now and then, so a stream of calls timing out before the hello cannot grow it.
    if (++this.#heldDropped > 1024 && this.#heldDropped * 2 > this.#held!.length) {
      this.#held = this.#held!.filter((held) => held.live);
      this.#heldDropped = 0;
    }
    return true;
  }

  /**
   * Every held call and event fails with `error` now, and new ones fail at once, until
   * {@link release}. What is owed (replies, cancels, control) stays held. A no-op once released.
   */
  refuseUntilHello(error: BusError): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#refusal = error;
    const failed: HeldMessage[] = [];
    for (const item of held) {
      if (!item.live || !isNewWork(item.message)) continue;
      item.live = false;
      if (item.message.k === 'req') this.#heldCalls?.delete(item.message.id);
      failed.push(item);
    }
    this.#held = held.filter((item) => item.live);
    this.#heldWork = 0;
    this.#heldDropped = 0;
    for (const item of failed) item.done(error);
    this.#wakeUnheldWaiters();
  }

  /** The other end said hello: what was held goes out in order, and nothing is held from now on. */
  release(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#refusal = undefined;
    this.#held = undefined;
    this.#heldCalls = undefined;
    this.#heldWork = 0;
    for (const item of held) if (item.live) this.#transport.post(item.message, item.done);
    this.#wakeUnheldWaiters();
  }

  /** The link closed: every message still held fails with `error`. */
  close(error: BusError): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#heldCalls = undefined;
    this.#heldWork = 0;
    for (const item of held) if (item.live) item.done(error);
    this.#wakeUnheldWaiters();
  }

  /**
   * Resolves once nothing waits here for the other end's hello: it said hello (what was held is
   * then the transport's to write), the link closed, or the hello is late and new work is refused
   * (what is owed stays held for a late hello, but a flush no longer waits for it).
   */
  whenUnheld(): Promise<void> {
    const held = this.#held;
    if (held === undefined || this.#refusal || !held.some((item) => item.live)) return Promise.resolve();
    return new Promise((resolve) => this.#unheldWaiters.push(resolve));
  }

  #wakeUnheldWaiters(): void {
    const waiters = this.#unheldWaiters;
    this.#unheldWaiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * The error for `what` (`call "x" to worker 3`, `event "y" to the primary`) when its message
 * could not be sent: a bus error keeps its code and says which message failed; anything else (the
 * channel threw) is PEER_GONE.
 */
export function sendFailure(error: unknown, what: string): BusError {
  if (isBusError(error)) {
    // Keep the code, but say which call failed.
    const wrapped = errorFromWire({ ...errorToWire(error), message: `${what} failed: ${error.message}` });
    (wrapped as Error).cause = error;
    return wrapped as BusError;
  }
  return new PeerGoneError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
  });
}
