/**
 * Fleet mode: this host's primary on NATS. Each remote host is a {@link Peer} over a host channel
 * (`transports/nats.ts`), created when it is first needed and closed with PEER_GONE when the host
 * misses heartbeats, its connection is gone (no responders to a probe), it restarted, or this
 * host's own NATS connection dropped. Owns discovery (heartbeats), addressing (`{ host, id }`),
 * the fleet gather and broadcast, the relays of worker calls, and graceful leave; the cross-host
 * pool is `remote-pool.ts`.
 */

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { PrimaryBus } from '../bus/primary-bus.js';
import type { RelayReply } from '../bus/relay.js';
import { routeTable } from '../bus/routes.js';
import { assertTimeout, type CallOptions } from '../call.js';
import type {
  CallArgs,
  CallOutput,
  Contract,
  ContractEvents,
  EventInput,
  WorkerProcedures,
} from '../contract.js';
import { type BusError, ClosedError, NotReadyError, PeerGoneError, ValidationError } from '../errors.js';
import type { CallSignal, LazyAbort } from '../handler-context.js';
import { assertCallOptionNames } from '../options-check.js';
import type { Peer } from '../peer.js';
import type { RunOptions } from '../pool/options.js';
import type { TaskPool } from '../pool/pool.js';
import type { RequestMessage } from '../protocol.js';
import { busErrorReply } from '../serve.js';
import {
  decodeFrame,
  encodeFrame,
  type NatsConnectionLike,
  type NatsMsgLike,
  type NatsSubscriptionLike,
} from '../transports/nats.js';
import { validate } from '../validate.js';
import {
  type FleetGatherResult,
  gatherFromHost,
  hostFailureRow,
  localRows,
  remoteDeadline,
} from './gather.js';
import { guarded, subscribeGuarded, warnThrown } from './guard.js';
import { HostPeers } from './host-peers.js';
import { type HostInfo, type HostState, HostTable } from './hosts.js';
import { Liveness } from './liveness.js';
import type { ResolvedFleetOptions } from './options.js';
import { POOL_TARGET, RemotePool } from './remote-pool.js';
import { type FleetSubjects, fleetSubjects, isSubjectToken } from './subjects.js';

/** The events of a {@link Fleet}. */
export interface FleetEvents {
  /** A host was heard from for the first time (or again after it was gone). */
  hostUp: [info: HostInfo];
  /** A host was declared gone; its pending calls failed with PEER_GONE. */
  hostGone: [info: { host: string; reason: string }];
  /** Something arrived that could not be used (a malformed frame, a bad event payload). */
  error: [error: BusError];
}

/** What the fleet needs from the cluster it runs in. */
export interface FleetMember<C extends Contract> {
  bus: PrimaryBus<C>;
  pool: TaskPool<C>;
  contract: C;
  /** Default call timeout, in ms. */
  timeout: number;
}

/** Options of {@link Fleet.callAll}. */
export interface FleetGatherOptions extends CallOptions {}

type WorkerMethod<C> = keyof WorkerProcedures<C> & string;
type FleetEvent<C> = keyof ContractEvents<C> & string;

/** This host in the fleet. Available as `cluster.fleet` when the cluster was started with `fleet`. */
export class Fleet<C extends Contract = Contract> extends EventEmitter<FleetEvents> {
  readonly #member: FleetMember<C>;
  readonly #options: ResolvedFleetOptions;
  readonly #nc: NatsConnectionLike;
  readonly #subjects: FleetSubjects;
  // base64url: letters, digits, '-' and '_', so it is a subject token too.
  readonly #instance = randomBytes(9).toString('base64url');
  readonly #table: HostTable;
  readonly #peers: HostPeers;
  readonly #liveness: Liveness;
  readonly #pool: RemotePool<C>;
  readonly #route: ReturnType<typeof routeTable>;
  readonly #subs: NatsSubscriptionLike[] = [];
  #state: HostState | 'closed' = 'up';
  #connected = true;
  /** The NATS connection closed for good (out of reconnect attempts, refused credentials). */
  #connectionClosed = false;
  /** The remote hosts known when the NATS connection dropped: a gather meanwhile has a row for each. */
  #lostHosts: string[] = [];
  #leaving: Promise<void> | undefined;

  /** @internal Created by the supervisor once the connection is up (see `startFleet`). */
  constructor(member: FleetMember<C>, options: ResolvedFleetOptions, nc: NatsConnectionLike) {
    super();
    this.#member = member;
    this.#options = options;
    this.#nc = nc;
    this.#subjects = fleetSubjects(options.app);
    this.#route = routeTable(member.contract.worker);
    this.#table = new HostTable(() => this.#selfInfo());
    this.#pool = new RemotePool({
      nc,
      subjects: this.#subjects,
      host: options.host,
      bus: member.bus,
      pool: member.pool,
      peerFor: (host) => {
        const info = this.#table.get(host);
        return info && info.state === 'up' && this.#connected
          ? this.#peers.get(host, info.instance)
          : undefined;
      },
      accepting: () => this.#state === 'up' && this.#connected,
      route: this.#route,
    });
    this.#peers = new HostPeers({
      nc,
      subjects: this.#subjects,
      local: { host: options.host, instance: this.#instance },
      timeout: member.timeout,
      connected: () => this.#connected,
      serve: (request, abort, reply) => this.#serve(request, abort, reply),
      error: (error) => this.#notify('error', error),
    });
    this.#liveness = new Liveness({
      nc,
      subjects: this.#subjects,
      host: options.host,
      instance: this.#instance,
      heartbeat: options.heartbeat,
      missedHeartbeats: options.missedHeartbeats,
      table: this.#table,
      self: () => this.#selfInfo(),
      watching: () => this.#connected && this.#state !== 'closed',
      drop: (host, reason) => this.#drop(host, reason),
      arrived: (info, restarted) => {
        // A frame of the new instance may have come before this heartbeat and replaced the peer
        // already: only a peer of another instance is stale.
        if (restarted) this.#peers.closeStale(info.host, info.instance, `host ${info.host} restarted`);
        else this.#notify('hostUp', info);
      },
      report: (message) => this.#report(message),
      tick: () => this.#pool.update(),
    });
    this.#listen();
  }

  /** This host's name in the fleet. */
  get host(): string {
    return this.#options.host;
  }

  /** Every host heard from, this one first (copies). */
  hosts(): HostInfo[] {
    return this.#table.all();
  }

  /**
   * Resolves with the hosts once `count` of them (this one included) are up. Rejects with TIMEOUT
   * after `timeout` ms (the cluster's default unless given) or ABORTED.
   */
  waitForHosts(count: number, options: CallOptions = {}): Promise<HostInfo[]> {
    try {
      const timeout = options.timeout ?? this.#member.timeout;
      assertTimeout(timeout, `waitForHosts(${count})`);
      return this.#table.waitFor(count, timeout, options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Calls `method` on worker `id` of host `host` (this host's own workers too). */
  call<M extends WorkerMethod<C>>(
    target: { host: string; id: number },
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], CallOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>> {
    const [input, options] = args as [unknown, CallOptions | undefined];
    assertCallOptionNames(options, () => `fleet.call "${method}" options`);
    const { host, id } = (target ?? {}) as { host?: unknown; id?: unknown };
    if (typeof host !== 'string' || !Number.isInteger(id)) {
      return Promise.reject(
        new TypeError(
          `fleet.call(target, "${method}"): target must be { host: string, id: integer }, got host ${typeof host === 'string' ? JSON.stringify(host) : typeof host} and id ${typeof id === 'number' ? id : typeof id}`,
        ),
      );
    }
    if (host === this.host) {
      return (this.#member.bus.call as (w: number, m: string, i: unknown, o?: CallOptions) => Promise<never>)(
        id as number,
        method,
        input,
        options,
      );
    }
    let peer: Peer;
    try {
      peer = this.#takingWork(host, `call "${method}" to worker ${String(id)} of host ${host}`);
    } catch (error) {
      return Promise.reject(error);
    }
    return peer.call(method, input, options, {
      def: this.#route(method).def,
      to: id as number,
      targetName: `worker ${String(id)} of host ${host}`,
    }) as Promise<CallOutput<WorkerProcedures<C>[M]>>;
  }

  /**
   * Calls `method` on every ready worker of every host at once: one settled row per worker, each
   * with its `host`. Never rejects because one failed; at the deadline slow workers are TIMEOUT
   * rows, and a host that did not answer at all (frozen, gone, leaving, or out of reach while this
   * host's NATS connection is down: PEER_GONE) is one row with `id` undefined.
   */
  async callAll<M extends WorkerMethod<C>>(
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], FleetGatherOptions>
  ): Promise<FleetGatherResult<CallOutput<WorkerProcedures<C>[M]>>[]> {
    const [input, options = {}] = args as [unknown, FleetGatherOptions | undefined];
    assertCallOptionNames(options, () => `fleet.callAll("${method}") options`);
    const def = this.#route(method).def;
    const timeout = options.timeout ?? this.#member.timeout;
    const checked = def
      ? await validate(def.input, input, {
          what: 'input',
          subject: `call "${method}"`,
          side: `on host ${this.host} before sending`,
        })
      : input;
    const inner = remoteDeadline(timeout);
    const local = (this.#member.bus.callAll as (m: string, i: unknown, o?: CallOptions) => Promise<never>)(
      method,
      input,
      options,
    ).then((rows) => localRows(this.host, rows));
    const remote = this.#connected ? this.#table.remotes() : [];
    const call = { method, input: checked, def, timeout, signal: options.signal, deadline: inner };
    const answers = remote.map((info) =>
      gatherFromHost(info, () => this.#peers.get(info.host, info.instance), call, `host ${this.host}`),
    );
    // Hosts out of reach while the connection is down are failures, never silently missing rows.
    const unreachable = this.#connected
      ? []
      : this.#lostHosts.map((host) =>
          hostFailureRow(
            host,
            new PeerGoneError(`call "${method}" to host ${host} failed: ${this.#unreachable()}`),
          ),
        );
    const all = await Promise.all([local, ...answers, ...unreachable]);
    return all.flat() as FleetGatherResult<CallOutput<WorkerProcedures<C>[M]>>[];
  }

  /**
   * Sends an event to every ready worker of every host: this host's workers directly, the others
   * with one NATS publish (at most once, like every NATS message). Rejects with VALIDATION before
   * sending a bad payload or one over the server's `max_payload`. Resolves with the hosts it was
   * sent to.
   */
  async broadcast<E extends FleetEvent<C>>(
    event: E,
    payload: EventInput<ContractEvents<C>[E]>,
  ): Promise<string[]> {
    if (!isSubjectToken(event)) {
      throw new TypeError(
        `fleet.broadcast("${String(event)}"): fleet event names must be letters, digits, "_" or "-" (they become NATS subjects)`,
      );
    }
    if (this.#state === 'closed')
      throw new ClosedError(`fleet.broadcast("${event}"): this host left the fleet`);
    const frame = encodeFrame(this.host, this.#instance, { n: event, p: payload });
    const max = this.#nc.info?.max_payload ?? 1024 * 1024;
    if (frame.byteLength > max) {
      throw new ValidationError(
        `fleet.broadcast("${event}"): the payload is ${frame.byteLength} bytes, over the NATS server's max_payload of ${max} bytes`,
        { data: { size: frame.byteLength, maxPayload: max } },
      );
    }
    await this.#member.bus.broadcast(event, payload);
    this.#nc.publish(this.#subjects.event(event), frame);
    return [this.host, ...this.#table.remotes().map((info) => info.host)];
  }

  /**
   * Runs `method` on a local worker when one has room, else on a host of the fleet with free
   * capacity, else queues it in the local pool. Results and errors are those of `cluster.run`.
   */
  run<M extends WorkerMethod<C>>(
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], RunOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>> {
    const [input, options] = args as [unknown, RunOptions | undefined];
    return this.#pool.run(method, input, options) as Promise<CallOutput<WorkerProcedures<C>[M]>>;
  }

  /**
   * Graceful leave: announce `leaving` (other hosts send no new work), leave the pool's queue group,
   * finish every fleet call this host is serving, then close. Idempotent.
   */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  /** Leaves at once: pending fleet calls fail with CLOSED, the NATS connection drains. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#member.bus.setHostRelay(undefined);
    this.#pool.stop();
    this.#liveness.goodbye();
    this.#liveness.stop();
    this.#peers.closeAll(new ClosedError(`host ${this.host} left the fleet`));
    this.#table.close(new ClosedError(`waitForHosts(): host ${this.host} left the fleet`));
    for (const sub of this.#subs) sub.unsubscribe();
    await this.#nc.drain().catch(() => this.#nc.close().catch(() => {}));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async #leave(): Promise<void> {
    if (this.#state !== 'up') return;
    this.#state = 'leaving';
    this.#pool.stop();
    this.#liveness.beat();
    await this.#nc.flush().catch(() => {});
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    // Calls sent before the others saw `leaving` may still be on their way: serve them too.
    const grace = 2 * this.#options.heartbeat;
    const busy = () => this.#peers.busy();
    while (elapsed() < this.#options.leaveTimeout && (busy() || elapsed() < grace)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.close();
  }

  #listen(): void {
    const sub = (subject: string, handle: (msg: NatsMsgLike) => void) =>
      this.#subs.push(subscribeGuarded(this.#nc, subject, handle));
    sub(this.#subjects.inbox(this.host), (msg) => this.#onInbox(msg));
    sub(this.#subjects.eventAll, (msg) => this.#onEvent(msg));
    this.#member.bus.setHostRelay({
      name: this.host,
      relay: (request, signal, from, reply) => this.#relayFromWorker(request, signal, from, reply),
    });
    this.#liveness.beat();
    this.#watchStatus().catch((error: unknown) => warnThrown('the NATS status watcher', error));
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      guarded(`handling the NATS status "${status.type}"`, () => this.#onStatus(status));
    }
    // The statuses end with the connection: when it closed for good without `close()`, every call
    // must say so rather than "reconnecting" for ever.
    if (this.#state !== 'closed') {
      guarded('handling the end of the NATS connection', () => {
        this.#onStatus({ type: 'disconnect', server: 'closed for good' });
        this.#connectionClosed = true;
      });
    }
  }

  /** Why nothing can reach another host while the connection is down. */
  #unreachable(): string {
    return this.#connectionClosed
      ? `the NATS connection of host ${this.host} closed for good (no reconnect attempts left); restart this host, or let the client reconnect for ever (maxReconnectAttempts -1, the fleet's default)`
      : `the NATS connection of host ${this.host} is down (reconnecting); retry shortly`;
  }

  #onStatus(status: { type: string; server?: string }): void {
    if (status.type === 'disconnect') {
      this.#connected = false;
      this.#pool.update();
      const lost = this.#table.remotes();
      // A second disconnect before a reconnect finds the table empty: keep the first list.
      if (lost.length > 0) this.#lostHosts = lost.map((info) => info.host);
      for (const info of lost) {
        this.#drop(
          info.host,
          `the NATS connection of host ${this.host} dropped (${status.server ?? 'server'})`,
        );
      }
    } else if (status.type === 'reconnect') {
      this.#connected = true;
      this.#lostHosts = [];
      this.#liveness.reconnected();
    }
  }

  // ---- heartbeats and failure detection --------------------------------------------------------

  #selfInfo(): HostInfo {
    return {
      host: this.host,
      instance: this.#instance,
      state: this.#state === 'closed' ? 'leaving' : this.#state,
      workers: this.#member.bus.readyWorkerIds().length,
      capacity: this.#pool.capacity(),
      lastHeard: Date.now(),
      self: true,
    };
  }

  #drop(host: string, reason: string): void {
    const known = this.#table.get(host) !== undefined;
    this.#table.remove(host);
    this.#peers.close(host, reason);
    if (known) this.#notify('hostGone', { host, reason });
  }

  // ---- peers ----------------------------------------------------------------------------------

  /** The peer of a host that takes new work; throws PEER_GONE / NOT_READY naming the call otherwise. */
  #takingWork(host: string, what: string): Peer {
    if (this.#state === 'closed') throw new ClosedError(`${what}: this host left the fleet`);
    if (!this.#connected) throw new PeerGoneError(`${what} failed: ${this.#unreachable()}`);
    const info = this.#table.get(host);
    if (!info) {
      const known = this.#table.remotes().map((h) => h.host);
      throw new PeerGoneError(
        `${what} failed: host ${host} is not in the fleet (known: ${known.length ? known.join(', ') : 'none'}); await fleet.waitForHosts() first`,
      );
    }
    if (info.state !== 'up')
      throw new NotReadyError(`${what} was refused: host ${host} is leaving the fleet`);
    return this.#peers.get(host, info.instance);
  }

  #onInbox(msg: NatsMsgLike): void {
    if (this.#state === 'closed') return;
    const frame = decodeFrame(msg.data);
    if (
      !frame ||
      !isSubjectToken(frame.host) ||
      !isSubjectToken(frame.instance) ||
      frame.host === this.host
    ) {
      this.#report(`dropped a malformed frame on the inbox of host ${this.host}`);
      return;
    }
    this.#peers.deliver(frame);
  }

  #onEvent(msg: NatsMsgLike): void {
    const frame = decodeFrame(msg.data);
    if (!frame || frame.host === this.host || this.#state === 'closed') return;
    const { n, p } = (frame.value ?? {}) as { n?: unknown; p?: unknown };
    if (typeof n !== 'string') {
      this.#report(`dropped a malformed fleet event from host ${frame.host}`);
      return;
    }
    (this.#member.bus.broadcast as (e: string, p: unknown) => Promise<number[]>)(n, p).catch(
      (error: BusError) => this.#notify('error', error),
    );
  }

  // ---- serving other hosts ------------------------------------------------------------------------

  /** A request from another host: one of this host's workers, all of them, or the pool. */
  #serve(request: RequestMessage, abort: LazyAbort, reply: RelayReply): void {
    // A pool task runs through the pool's public API, which takes an AbortSignal.
    if (request.to === POOL_TARGET) {
      this.#pool.serve(request, abort.signal).then(reply, (error: unknown) => reply(busErrorReply(error)));
      return;
    }
    this.#member.bus.relayExternal(request, abort, reply);
  }

  /** A local worker's call to a worker of another host: forwarded raw over that host's peer. */
  #relayFromWorker(request: RequestMessage, signal: CallSignal, from: number, reply: RelayReply): void {
    const host = request.h as string;
    let peer: Peer;
    try {
      peer = this.#takingWork(
        host,
        `call "${request.m}" from worker ${from} to worker ${String(request.to)} of host ${host}`,
      );
    } catch (error) {
      reply(busErrorReply(error));
      return;
    }
    peer.relay(request.m, request.i, { signal, to: request.to as number, timeout: request.t }, reply);
  }

  #report(message: string): void {
    this.#notify('error', new ValidationError(message) as BusError);
  }

  /**
   * Every fleet event goes out here: it is emitted from NATS callbacks, timers and promise
   * handlers, where an app listener's throw would stop the connection's reader or crash the
   * process. A throw becomes a process warning naming the event.
   */
  #notify<E extends keyof FleetEvents>(event: E, ...args: FleetEvents[E]): void {
    guarded(`the fleet's "${event}" listener`, () => {
      (this.emit as (event: E, ...rest: unknown[]) => boolean)(event, ...args);
    });
  }
}

export type { FleetGatherResult } from './gather.js';
export type { HostInfo, HostState } from './hosts.js';
