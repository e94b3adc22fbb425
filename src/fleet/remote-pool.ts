/**
 * The cross-host pool behind `fleet.run()`: local workers first, then a host with room. A host
 * subscribes to the claim subjects in the pool's queue group only while it has free places, so
 * NATS' random pick among the members lands on a host that can run the task; the claimed host then
 * gets the task as an ordinary call over its peer (timeouts, cancels and errors as for any call).
 */
import type { PrimaryBus } from '../bus/primary-bus.js';
import { type CallRoute, isFiniteTimeout } from '../call.js';
import type { Contract } from '../contract.js';
import { errorToWire, isBusError } from '../errors.js';
import type { Peer } from '../peer.js';
import { checkRunOptions, type RunOptions } from '../pool/options.js';
import type { TaskPool } from '../pool/pool.js';
import type { ReplyMessage, RequestMessage } from '../protocol.js';
import { busErrorReply } from '../serve.js';
import type { NatsConnectionLike, NatsMsgLike, NatsSubscriptionLike } from '../transports/nats.js';
import { subscribeGuarded } from './guard.js';
import { type FleetSubjects, isSubjectToken } from './subjects.js';

/** The `to` of a request that asks a host to run it in its pool (worker ids start at 1). */
export const POOL_TARGET = 0;

/** How long a claimed place is held for the task that claimed it, in ms. */
const RESERVATION_MS = 2_000;
/** How long a claim waits for a host with room, in ms. */
const CLAIM_TIMEOUT_MS = 500;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the remote pool needs from the fleet. */
export interface RemotePoolHost<C extends Contract> {
  nc: NatsConnectionLike;
  subjects: FleetSubjects;
  host: string;
  bus: PrimaryBus<C>;
  pool: TaskPool<C>;
  /** The peer of a remote host that takes work, or `undefined`. */
  peerFor(host: string): Peer | undefined;
  /** True while this host takes fleet work (up, connected). */
  accepting(): boolean;
  /** The validation route of a worker method. */
  route(method: string): CallRoute;
}

/** `pool.run` with a method name only known at run time. */
function runTask(
  pool: TaskPool<Contract>,
  method: string,
  input: unknown,
  options: RunOptions | undefined,
): Promise<unknown> {
  return (
    pool.run as (this: TaskPool<Contract>, m: string, i: unknown, o?: RunOptions) => Promise<unknown>
  ).call(pool, method, input, options);
}

/** The pool side of one host's fleet. */
export class RemotePool<C extends Contract> {
  readonly #host: RemotePoolHost<C>;
  readonly #concurrency: number;
  readonly #reservations: NodeJS.Timeout[] = [];
  #sub: NatsSubscriptionLike | undefined;

  constructor(host: RemotePoolHost<C>) {
    this.#host = host;
    this.#concurrency = host.pool.options.concurrency;
  }

  /** Free places in this host's pool: ready workers × concurrency − running − queued − claimed. */
  capacity(): number {
    const { bus, pool } = this.#host;
    const free =
      bus.readyWorkerIds().length * this.#concurrency -
      pool.running -
      pool.queued -
      this.#reservations.length;
    return Math.max(0, free);
  }

  /** Joins the queue group while there is room and this host takes work; leaves it otherwise. */
  update(): void {
    const wanted = this.#host.accepting() && this.capacity() > 0;
    if (wanted && !this.#sub) {
      const { nc, subjects } = this.#host;
      this.#sub = subscribeGuarded(
        nc,
        subjects.claimAll,
        (msg) => this.#answerClaim(msg),
        subjects.claimQueue,
      );
    } else if (!wanted && this.#sub) {
      this.#sub.unsubscribe();
      this.#sub = undefined;
    }
  }

  /** Leaves the queue group for good and drops the reservations. */
  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    for (const timer of this.#reservations.splice(0)) clearTimeout(timer);
  }

  /**
   * Runs `method` locally when there is room here, else on a host with room, else queues locally.
   * The pool's options hold wherever it runs: its `timeout` (one deadline over every attempt) and
   * its `retry` (a task whose host dies mid-run, PEER_GONE, is placed again).
   */
  async run(method: string, input: unknown, options: RunOptions | undefined): Promise<unknown> {
    checkRunOptions(options, method);
    const { pool } = this.#host;
    const defaults = pool.options;
    const timeout = options?.timeout ?? defaults.timeout;
    const signal = options?.signal;
    const deadline = isFiniteTimeout(timeout) ? performance.now() + timeout : Number.POSITIVE_INFINITY;
    for (let retriesLeft = options?.retry ?? defaults.retry; ; retriesLeft--) {
      // What is left of the deadline, as a call timeout (0: none).
      const left =
        deadline === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(deadline - performance.now()));
      const run = () => runTask(pool, method, input, { timeout: left, signal, retry: retriesLeft });
      if (this.capacity() > 0 || !isSubjectToken(method)) return run();
      const claimed = await this.#claim(method);
      const peer = claimed === undefined ? undefined : this.#host.peerFor(claimed);
      if (!peer) return run();
      try {
        return await peer.call(
          method,
          input,
          { timeout: left, signal },
          {
            ...this.#host.route(method),
            to: POOL_TARGET,
            relayDeadline: left,
            targetName: `the pool of host ${claimed}`,
          },
        );
      } catch (error) {
        const retry =
          retriesLeft > 0 &&
          isBusError(error) &&
          error.code === 'PEER_GONE' &&
          !signal?.aborted &&
          performance.now() < deadline;
        if (!retry) throw error;
      }
    }
  }

  /** Serves a task another host claimed a place for. Never rejects. */
  async serve(request: RequestMessage, signal: AbortSignal): Promise<ReplyMessage> {
    const timer = this.#reservations.shift();
    if (timer) clearTimeout(timer);
    try {
      const o = await runTask(this.#host.pool, request.m, request.i, { signal, timeout: request.t ?? 0 });
      const reply: ReplyMessage = { $cb: 1, k: 'res', id: request.id };
      if (o !== undefined) reply.o = o;
      return reply;
    } catch (error) {
      // A handler's throw goes back as the handler's error, so the caller sees REMOTE with its name.
      if (isBusError(error) && error.code === 'REMOTE') {
        return { $cb: 1, k: 'err', id: request.id, e: errorToWire(error.cause) };
      }
      return busErrorReply(error);
    } finally {
      this.update();
    }
  }

  async #claim(method: string): Promise<string | undefined> {
    const { nc, subjects, host } = this.#host;
    try {
      const reply = await nc.request(subjects.claim(method), encoder.encode(host), {
        timeout: CLAIM_TIMEOUT_MS,
      });
      const name = decoder.decode(reply.data);
      return isSubjectToken(name) && name !== host ? name : undefined;
    } catch {
      // No responders (no host has room), a timeout or a dropped connection: run it here.
      return undefined;
    }
  }

  #answerClaim(msg: NatsMsgLike): void {
    if (!this.#host.accepting() || this.capacity() === 0) {
      msg.respond(encoder.encode(''));
      this.update();
      return;
    }
    const timer = setTimeout(() => {
      const at = this.#reservations.indexOf(timer);
      if (at >= 0) this.#reservations.splice(at, 1);
      this.update();
    }, RESERVATION_MS);
    timer.unref();
    this.#reservations.push(timer);
    msg.respond(encoder.encode(this.#host.host));
    this.update();
  }
}
