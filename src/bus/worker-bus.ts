/**
 * A worker's bus: one link, to the primary. Serves the contract's worker procedures, calls the
 * primary, calls other workers (relayed by the primary), gathers from its peers, and sends and
 * receives events. `ready()` tells the primary this worker can take routed work. Which channel
 * it uses is `worker-channel.ts`; what it does when no clusterbus primary runs it, `parent-watch.ts`.
 */
import cluster from 'node:cluster';
import { assertTimeout, type CallOptions, DEFAULT_TIMEOUT } from '../call.js';
import type {
  CallArgs,
  CallOutput,
  Contract,
  ContractEvents,
  EventInput,
  PrimaryProcedures,
  WorkerProcedures,
} from '../contract.js';
import { type BusError, ClosedError } from '../errors.js';
import { assertCallOptionNames, assertOptionNames } from '../options-check.js';
import { Peer } from '../peer.js';
import type { ControlMessage, EventMessage } from '../protocol.js';
import type { Transport } from '../transports/transport.js';
import { type ErrorListener, EventHub, type EventListener, type EventSubscriber } from './event-hub.js';
import type { GatherResult } from './gather.js';
import { resolveHandlers } from './handlers.js';
import { ParentWatch } from './parent-watch.js';
import { gatherPeers } from './peer-gather.js';
import type { WorkerState } from './primary-bus.js';
import { routeTable, unknownMethodError } from './routes.js';
import { openWorkerChannel } from './worker-channel.js';
import { type ShutdownHook, WorkerLifecycle } from './worker-lifecycle.js';
import { createMetricsReporter } from './worker-metrics.js';
import {
  PEER_GATHER_OPTION_NAMES,
  type PeerGatherOptions,
  WORKER_BROADCAST_OPTION_NAMES,
  WORKER_BUS_OPTION_NAMES,
  type WorkerBroadcastOptions,
  type WorkerBusOptions,
} from './worker-options.js';

export type {
  PeerGatherOptions,
  WorkerBroadcastOptions,
  WorkerBusOptions,
  WorkerHandlers,
} from './worker-options.js';

/** Another worker, as the primary last announced it. */
export interface PeerInfo {
  id: number;
  pid: number | undefined;
  state: WorkerState;
}

/** One worker of one host of a fleet. */
export interface WorkerAddress {
  /** The host's `fleet.host` name. */
  host: string;
  /** The worker's id on that host. */
  id: number;
}

type PrimaryMethod<C> = keyof PrimaryProcedures<C> & string;
type WorkerMethod<C> = keyof WorkerProcedures<C> & string;
type WorkerEvent<C> = keyof ContractEvents<C> & string;

/** The worker's end of the bus. Create with {@link createWorkerBus}. */
export class WorkerBus<C extends Contract> implements EventSubscriber<C> {
  readonly #contract: C;
  readonly #hub: EventHub;
  readonly #peer: Peer;
  readonly #transport: Transport;
  readonly #controlListeners = new Set<(message: ControlMessage) => void>();
  readonly #lifecycle: WorkerLifecycle;
  readonly #timeout: number;
  readonly #primaryRoute: ReturnType<typeof routeTable>;
  readonly #workerRoute: ReturnType<typeof routeTable>;
  readonly #metrics = createMetricsReporter();
  /** Whether a clusterbus primary answers, and what to do when none does. */
  readonly #watch: ParentWatch;
  #peers: PeerInfo[] = [];
  #ready: Promise<void> | undefined;
  #readyDone = false;
  #closed = false;

  constructor(contract: C, options: WorkerBusOptions<C> = {}) {
    this.#contract = contract;
    assertOptionNames(options, WORKER_BUS_OPTION_NAMES, 'createWorkerBus options');
    const timeout = options.timeout ?? DEFAULT_TIMEOUT;
    assertTimeout(timeout, 'createWorkerBus options');
    this.#timeout = timeout;
    this.#primaryRoute = routeTable(contract.primary);
    this.#workerRoute = routeTable(contract.worker);
    const handlers = resolveHandlers(contract.worker, options.handlers, 'createWorkerBus', 'worker');
    const channel = openWorkerChannel(options);
    this.#transport = channel.transport;
    const localName = () => (this.id === undefined ? `process ${process.pid}` : `worker ${this.id}`);
    this.#hub = new EventHub(contract.events, localName);
    this.#lifecycle = new WorkerLifecycle(this, options, { ownsProcess: options.transport === undefined });
    this.#peer = new Peer({
      transport: this.#transport,
      localName,
      remoteName: 'the primary',
      remoteCaller: { kind: 'primary' },
      // Requests the primary relays from other workers carry the sender's id.
      trustRelayedCaller: true,
      timeout,
      // `metrics: 1`: this end answers the supervisor's status sampler (an older primary ignores it).
      hello: { workerId: cluster.worker?.id, pid: process.pid, metrics: 1 },
      hooks: {
        resolve: handlers,
        event: (message) => this.#onEvent(message),
        control: (message) => {
          if (message.c === 'peers' && Array.isArray(message.d)) {
            this.#peers = (message.d as unknown[]).filter(
              (peer): peer is PeerInfo =>
                typeof peer === 'object' &&
                peer !== null &&
                typeof (peer as PeerInfo).id === 'number' &&
                (peer as PeerInfo).id !== this.id,
            );
          }
          if (message.c === 'drain') void this.#lifecycle.drain(message.d);
          if (message.c === 'metrics') this.#peer.sendControl('metrics', this.#metrics()).catch(() => {});
          for (const listener of [...this.#controlListeners]) listener(message);
        },
        error: (error) => this.#hub.reportError(error),
        closed: () => {
          this.#transport.dispose();
          channel.release();
        },
      },
    });
    this.#watch = new ParentWatch(
      channel.parent,
      this.#peer,
      options.helloTimeout,
      options.transport === undefined,
      () => this.#closed,
    );
  }

  /** This worker's id: `cluster.worker.id`, or the id the primary attached it under. */
  get id(): number | undefined {
    const fromPrimary = this.#peer.remoteHello?.workerId;
    return typeof fromPrimary === 'number' ? fromPrimary : cluster.worker?.id;
  }

  /** True once {@link ready} settled successfully (the primary, or PM2, was told). */
  get isReady(): boolean {
    return this.#readyDone;
  }

  /** The contract this bus was created with. */
  get contract(): C {
    return this.#contract;
  }

  /** Calls the primary's `method`. */
  call<M extends PrimaryMethod<C>>(
    method: M,
    ...args: CallArgs<PrimaryProcedures<C>[M], CallOptions>
  ): Promise<CallOutput<PrimaryProcedures<C>[M]>>;
  /** Calls `method` on another worker, relayed by the primary. PEER_GONE when it does not exist or dies. */
  call<M extends WorkerMethod<C>>(
    workerId: number,
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], CallOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>>;
  /**
   * Calls `method` on a worker of another host of the fleet, relayed by this host's primary and
   * that host's (fleet mode). PEER_GONE when the host or worker is gone; NO_HANDLER when the
   * primary is not in a fleet.
   */
  call<M extends WorkerMethod<C>>(
    target: WorkerAddress,
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], CallOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>>;
  call(first: string | number | WorkerAddress, ...rest: unknown[]): Promise<unknown> {
    if (this.#watch.noPrimary) {
      return this.#watch.refuse(
        typeof first === 'number'
          ? `call "${rest[0]}" to worker ${first}`
          : typeof first === 'object' && first !== null
            ? `call "${rest[0]}" to worker ${first.id} of host ${first.host}`
            : `call "${first}"`,
      );
    }
    if (typeof first === 'object' && first !== null) {
      const [method, input, options] = rest as [string, unknown, CallOptions | undefined];
      assertCallOptionNames(options, () => `call "${method}" options`);
      const { host, id } = first;
      if (typeof host !== 'string' || !Number.isInteger(id)) {
        return Promise.reject(
          new TypeError(
            `call(${JSON.stringify(first)}, "${method}"): expected { host: string, id: integer worker id }`,
          ),
        );
      }
      return this.#peer.call(method, input, options, {
        def: this.#workerRoute(method).def,
        to: id,
        host,
        targetName: `worker ${id} of host ${host} (via the primaries)`,
      });
    }
    if (typeof first === 'number') {
      const [method, input, options] = rest as [string, unknown, CallOptions | undefined];
      assertCallOptionNames(options, () => `call "${method}" options`);
      const def = this.#workerRoute(method).def;
      if (def === undefined) {
        return Promise.reject(unknownMethodError(method, this.#contract, 'worker', `call(${first}, …)`));
      }
      return this.#watch.standaloneAware(
        `call "${method}" to worker ${first}`,
        this.#peer.call(method, input, options, {
          def,
          to: first,
          targetName: `worker ${first} (via the primary)`,
        }),
      );
    }
    const [input, options] = rest as [unknown, CallOptions | undefined];
    assertCallOptionNames(options, () => `call "${first}" options`);
    const route = this.#primaryRoute(first);
    if (route.def === undefined) {
      return Promise.reject(unknownMethodError(first, this.#contract, 'primary', 'call()'));
    }
    return this.#watch.standaloneAware(`call "${first}"`, this.#peer.call(first, input, options, route));
  }

  /**
   * Calls `method` on every other ready worker through the primary; one settled result per worker,
   * partial results at the deadline, exactly like the primary's `callAll`.
   */
  async callPeers<M extends WorkerMethod<C>>(
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], PeerGatherOptions>
  ): Promise<GatherResult<CallOutput<WorkerProcedures<C>[M]>>[]> {
    if (this.#watch.noPrimary) return this.#watch.refuse(`callPeers("${method}")`);
    const [input, options = {}] = args as [unknown, PeerGatherOptions | undefined];
    assertOptionNames(options, PEER_GATHER_OPTION_NAMES, `callPeers("${method}") options`);
    const def = this.#workerRoute(method).def;
    if (def === undefined) throw unknownMethodError(method, this.#contract, 'worker', 'callPeers()');
    const timeout = options.timeout ?? this.#timeout;
    assertTimeout(timeout, `callPeers("${method}")`);
    return gatherPeers(this.#peer, this, method, def, input, timeout, options) as Promise<
      GatherResult<CallOutput<WorkerProcedures<C>[M]>>[]
    >;
  }

  /** Sends an event to the primary. Rejects with VALIDATION before sending a bad payload. */
  async emit<E extends WorkerEvent<C>>(event: E, payload: EventInput<ContractEvents<C>[E]>): Promise<void> {
    const p = this.#hub.checkOutgoing(event, payload);
    if (this.#watch.noPrimary) return this.#watch.refuse(`event "${event}"`);
    await this.#peer.sendEvent({ $cb: 1, k: 'evt', n: event, p });
  }

  /**
   * Sends an event to every ready worker through the primary. The sender gets no copy unless
   * `includeSelf`. The primary's own listeners do not see broadcasts (use {@link emit}).
   */
  async broadcast<E extends WorkerEvent<C>>(
    event: E,
    payload: EventInput<ContractEvents<C>[E]>,
    options: WorkerBroadcastOptions = {},
  ): Promise<void> {
    assertOptionNames(options, WORKER_BROADCAST_OPTION_NAMES, `broadcast("${event}") options`);
    const p = this.#hub.checkOutgoing(event, payload);
    if (this.#watch.noPrimary) return this.#watch.refuse(`broadcast of event "${event}"`);
    const message: EventMessage = { $cb: 1, k: 'evt', n: event, p, to: 'all' };
    if (options.includeSelf) message.self = true;
    await this.#peer.sendEvent(message);
  }

  /**
   * Listens to a contract event (payload typed and already validated; `meta.from` is the sender),
   * or to `'error'`: messages dropped because they were malformed or failed their schema.
   */
  on<E extends WorkerEvent<C>>(event: E, listener: EventListener<C, E>): this;
  on(event: 'error', listener: ErrorListener): this;
  on(event: string, listener: (...args: any[]) => void): this {
    this.#hub.emitter.on(event, listener);
    return this;
  }

  /** Like {@link on}, for the next event only. */
  once<E extends WorkerEvent<C>>(event: E, listener: EventListener<C, E>): this;
  once(event: 'error', listener: ErrorListener): this;
  once(event: string, listener: (...args: any[]) => void): this {
    this.#hub.emitter.once(event, listener);
    return this;
  }

  /** Removes `listener`, or every listener of `event` when omitted. */
  off<E extends WorkerEvent<C>>(event: E, listener?: EventListener<C, E>): this;
  off(event: 'error', listener?: ErrorListener): this;
  off(event: string, listener?: (...args: any[]) => void): this {
    this.#hub.emitter.off(event, listener);
    return this;
  }

  /**
   * Tells the primary this worker can take routed work (gathers, broadcasts, pool tasks, traffic
   * from the supervisor). Call it once the app is listening. Idempotent. Resolves once the primary
   * was told. Without a clusterbus primary it still settles: at once with no IPC channel (plain
   * `node`); at once under PM2, which is told with its own `'ready'` message (for `--wait-ready`);
   * and for any other parent it rejects with NO_PRIMARY when no clusterbus primary answered
   * within `helloTimeout`.
   */
  ready(): Promise<void> {
    if (this.#ready) return this.#ready;
    const settled = this.#watch.tellReady();
    this.#ready = settled;
    settled.then(
      () => {
        if (this.#ready === settled) this.#readyDone = true;
      },
      // `bus.ready()` is often not awaited: a failure must not become an unhandled rejection.
      // It is reported on 'error', and a later ready() tries again.
      (error: BusError) => {
        if (this.#ready === settled) this.#ready = undefined;
        this.#hub.reportError(error);
      },
    );
    return settled;
  }

  /** The other workers the primary last announced (copies; this worker excluded). */
  peers(): PeerInfo[] {
    return this.#peers.map((peer) => ({ ...peer }));
  }

  /** Calls the primary is serving for this worker and that are still pending. */
  get inFlight(): number {
    return this.#peer.inFlight;
  }

  /** Calls from the primary or other workers whose handlers are running. */
  get handling(): number {
    return this.#peer.handling;
  }

  /**
   * Registers a hook the worker runs when the primary tells it to drain (shutdown or reload):
   * close servers (see `drainHttp`), finish work. Hooks run in parallel; then the worker waits for
   * running handlers, flushes what it sent and exits (code 1 if a hook threw). Returns the function that removes it.
   */
  onShutdown(hook: ShutdownHook): () => void {
    return this.#lifecycle.onShutdown(hook);
  }

  /** True once the primary told this worker to drain. */
  get draining(): boolean {
    return this.#lifecycle.draining;
  }

  /** @internal Lets the supervisor's worker side see control traffic (drain, …). */
  onControl(listener: (message: ControlMessage) => void): () => void {
    this.#controlListeners.add(listener);
    return () => this.#controlListeners.delete(listener);
  }

  /** @internal Sends a control message to the primary. */
  sendControl(command: ControlMessage['c'], data?: unknown): Promise<void> {
    return this.#peer.sendControl(command, data);
  }

  /** Resolves once everything sent so far is written to the channel (await it before `process.exit`). */
  flush(): Promise<void> {
    return this.#peer.flush();
  }

  /**
   * Closes the bus: waits until what was sent is written, then rejects pending calls with CLOSED,
   * aborts running handlers, and removes the bus's listeners so the process can exit.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lifecycle.dispose();
    await this.#peer.flush();
    this.#peer.close(
      new ClosedError(`the bus of ${this.id === undefined ? 'this worker' : `worker ${this.id}`} was closed`),
    );
  }

  #onEvent(message: EventMessage): void {
    const from = message.f ?? 'primary';
    const checked = this.#hub.checkIncoming(message, from);
    if (checked) this.#hub.deliver(message.n, checked.payload, { from });
  }
}

/**
 * Creates this worker's bus over its IPC channel (or `options.transport`). One bus per process
 * may use the process's own channel.
 * @throws TypeError when the process has no IPC channel, already has a bus on it, or a handler is not in the contract.
 */
export function createWorkerBus<C extends Contract>(
  contract: C,
  options?: WorkerBusOptions<C>,
): WorkerBus<C> {
  return new WorkerBus(contract, options);
}
