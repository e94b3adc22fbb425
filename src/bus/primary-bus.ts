/**
 * The primary's bus: one link per worker. Calls one worker, gathers from all ready workers,
 * broadcasts events, serves the primary's procedures, and relays worker→worker calls and
 * broadcasts. Its links, their states and who hears of a change are `link-registry.ts`.
 */
import cluster, { type Worker } from 'node:cluster';
import { assertTimeout, type CallOptions, DEFAULT_TIMEOUT } from '../call.js';
import type {
  CallArgs,
  CallOutput,
  Contract,
  ContractEvents,
  EventInput,
  WorkerProcedures,
} from '../contract.js';
import { ClosedError, PeerGoneError } from '../errors.js';
import type { CallSignal } from '../handler-context.js';
import { assertCallOptionNames, assertOptionNames } from '../options-check.js';
import { Peer } from '../peer.js';
import type { ControlCommand, ControlMessage, EventMessage, RequestMessage } from '../protocol.js';
import { clusterWorkerTransport } from '../transports/cluster-worker.js';
import type { Transport, TransportOptions } from '../transports/transport.js';
import { type ErrorListener, EventHub, type EventListener, type EventSubscriber } from './event-hub.js';
import { type GatherOptions, type GatherResult, gatherInput } from './gather.js';
import { resolveHandlers } from './handlers.js';
import { LinkRegistry } from './link-registry.js';
import { type Link, toInfo, type WorkerInfo } from './links.js';
import {
  BROADCAST_OPTION_NAMES,
  type BroadcastOptions,
  PRIMARY_BUS_OPTION_NAMES,
  type PrimaryBusOptions,
} from './primary-options.js';
import { fanOut, type HostRelay, type RelayRegistry, type RelayReply, relayRequest } from './relay.js';
import { routeTable, unknownMethodError } from './routes.js';
import { waitForReady } from './wait-ready.js';

export type { WorkerInfo, WorkerState } from './links.js';
export type { BroadcastOptions, PrimaryBusOptions, PrimaryHandlers } from './primary-options.js';

type WorkerMethod<C> = keyof WorkerProcedures<C> & string;
type PrimaryEvent<C> = keyof ContractEvents<C> & string;

/** The primary's end of the bus. Create with {@link createPrimaryBus}. */
export class PrimaryBus<C extends Contract> implements EventSubscriber<C> {
  readonly #contract: C;
  readonly #hub: EventHub;
  readonly #timeout: number;
  readonly #transportOptions: TransportOptions;
  readonly #handlers: ReturnType<typeof resolveHandlers>;
  readonly #workerRoute: ReturnType<typeof routeTable>;
  /** The same routes for a gather's calls, whose input `callAll` validated once for all. */
  readonly #gatherRoute: ReturnType<typeof routeTable>;
  readonly #links = new LinkRegistry((worker) => this.attach(worker));
  readonly #controlListeners = new Set<(id: number, message: ControlMessage) => void>();
  readonly #onFork = (worker: Worker) => this.attach(worker);
  readonly #registry: RelayRegistry<Link> = {
    get: (id) => this.#links.byId.get(id),
    ready: () => this.#links.ready(),
    host: () => this.#hostRelay,
  };
  #hostRelay: { name: string; relay: HostRelay } | undefined;
  #closed = false;

  constructor(contract: C, options: PrimaryBusOptions<C> = {}) {
    this.#contract = contract;
    assertOptionNames(options, PRIMARY_BUS_OPTION_NAMES, 'createPrimaryBus options');
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT;
    assertTimeout(this.#timeout, 'createPrimaryBus options');
    this.#transportOptions = {
      maxPendingSends: options.maxPendingSends,
    };
    this.#handlers = resolveHandlers(contract.primary, options.handlers, 'createPrimaryBus', 'primary');
    this.#hub = new EventHub(contract.events, () => 'the primary');
    this.#workerRoute = routeTable(contract.worker);
    this.#gatherRoute = routeTable(contract.worker, { inputChecked: true });
    if (options.autoAttach ?? true) {
      if (!cluster.isPrimary) {
        throw new TypeError(
          'createPrimaryBus(): this process is a cluster worker; use createWorkerBus() here, or pass { autoAttach: false }',
        );
      }
      cluster.on('fork', this.#onFork);
      for (const worker of Object.values(cluster.workers ?? {})) if (worker) this.attach(worker);
    }
  }

  /** The contract this bus was created with. */
  get contract(): C {
    return this.#contract;
  }

  /**
   * Attaches to a worker forked with `cluster.fork()`. Automatic unless `autoAttach: false`;
   * attaching twice is a no-op.
   */
  attach(worker: Worker): void {
    if (this.#links.byId.has(worker.id)) return;
    this.attachTransport(worker.id, clusterWorkerTransport(worker, this.#transportOptions), {
      pid: worker.process.pid,
      worker,
    });
  }

  /**
   * Attaches to any transport under a worker id (a `child_process` child, a worker thread).
   * @throws RangeError when the id is already attached.
   */
  attachTransport(
    id: number,
    transport: Transport,
    info: { pid?: number | undefined; worker?: Worker } = {},
  ): void {
    if (this.#closed) throw new ClosedError('attachTransport(): the primary bus is closed');
    if (this.#links.byId.has(id))
      throw new RangeError(`attachTransport(): worker id ${id} is already attached`);
    const link = this.#links.add(id, info);
    link.peer = new Peer({
      transport,
      localName: 'the primary',
      remoteName: `worker ${id}`,
      remoteCaller: { kind: 'worker', id, pid: info.pid },
      timeout: this.#timeout,
      hello: { workerId: id },
      hooks: {
        resolve: (method) => this.#handlers(method),
        relay: (request, abort, reply) => relayRequest(link, request, abort, this.#registry, reply),
        event: (message) => this.#onEvent(link, message),
        control: (message) => {
          this.#links.control(link, message);
          for (const listener of this.#controlListeners) listener(id, message);
        },
        error: (error) => this.#hub.reportError(error),
        // Watchers only (no peer-list push): schedulers care that the worker is less busy now.
        abandonedSettled: () => this.#links.notify(link),
        closed: () => {
          transport.dispose();
          this.#links.remove(link);
        },
      },
    });
  }

  /** Calls `method` on one worker (a `cluster.Worker` or its id). */
  call<M extends WorkerMethod<C>>(
    worker: Worker | number,
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], CallOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>> {
    const [input, options] = args as [unknown, CallOptions | undefined];
    assertCallOptionNames(options, () => `call "${method}" options`);
    const route = this.#workerRoute(method);
    if (route.def === undefined) return Promise.reject(this.#badCall(worker, method));
    // Fast path first: the message for a failed lookup is only built when it is needed.
    let link = this.#closed
      ? undefined
      : this.#links.byId.get(typeof worker === 'number' ? worker : worker?.id);
    if (!link) {
      try {
        link = this.#linkFor(worker, `call "${method}"`);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return link.peer.call(method, input, options, route) as Promise<CallOutput<WorkerProcedures<C>[M]>>;
  }

  /**
   * Calls `method` on every ready worker at once. Resolves with one settled result per worker and
   * never rejects because one failed: at the deadline the slow ones are TIMEOUT results and the
   * fast ones keep their values. Resolves to `[]` when no worker is ready.
   */
  callAll<M extends WorkerMethod<C>>(
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], GatherOptions>
  ): Promise<GatherResult<CallOutput<WorkerProcedures<C>[M]>>[]> {
    const [input, options] = args as [unknown, GatherOptions | undefined];
    assertCallOptionNames(options, () => `callAll("${method}") options`);
    const route = this.#workerRoute(method);
    if (route.def === undefined) {
      return Promise.reject(unknownMethodError(method, this.#contract, 'worker', 'callAll()'));
    }
    const checkedRoute = this.#gatherRoute(method);
    return gatherInput(this.#links.ready(), route.def.input, input, `call "${method}"`, (link, checked) =>
      link.peer.call(method, checked, options, checkedRoute),
    ) as Promise<GatherResult<CallOutput<WorkerProcedures<C>[M]>>[]>;
  }

  /**
   * Sends an event to every ready worker. Validates first (rejects with VALIDATION, nothing sent).
   * Workers that are starting, draining or gone are skipped; a worker forked later does not get
   * it. Resolves with the ids of the workers it was written to.
   */
  async broadcast<E extends PrimaryEvent<C>>(
    event: E,
    payload: EventInput<ContractEvents<C>[E]>,
    options: BroadcastOptions = {},
  ): Promise<number[]> {
    assertOptionNames(options, BROADCAST_OPTION_NAMES, `broadcast("${event}") options`);
    const p = this.#hub.checkOutgoing(event, payload);
    const targets = options.includeStarting
      ? this.#links.all().filter((link) => link.state === 'starting' || link.state === 'ready')
      : this.#links.ready();
    return fanOut(targets, { $cb: 1, k: 'evt', n: event, p });
  }

  /** Sends an event to one worker. Rejects with VALIDATION or PEER_GONE. */
  async emitTo<E extends PrimaryEvent<C>>(
    worker: Worker | number,
    event: E,
    payload: EventInput<ContractEvents<C>[E]>,
  ): Promise<void> {
    const p = this.#hub.checkOutgoing(event, payload);
    await this.#linkFor(worker, `event "${event}"`).peer.sendEvent({ $cb: 1, k: 'evt', n: event, p });
  }

  /**
   * Listens to a contract event (payload typed and already validated; `meta.from` is the sender),
   * or to `'error'`: messages dropped because they were malformed or failed their schema.
   */
  on<E extends PrimaryEvent<C>>(event: E, listener: EventListener<C, E>): this;
  on(event: 'error', listener: ErrorListener): this;
  on(event: string, listener: (...args: any[]) => void): this {
    this.#hub.emitter.on(event, listener);
    return this;
  }

  /** Like {@link on}, for the next event only. */
  once<E extends PrimaryEvent<C>>(event: E, listener: EventListener<C, E>): this;
  once(event: 'error', listener: ErrorListener): this;
  once(event: string, listener: (...args: any[]) => void): this {
    this.#hub.emitter.once(event, listener);
    return this;
  }

  /** Removes `listener`, or every listener of `event` when omitted. */
  off<E extends PrimaryEvent<C>>(event: E, listener?: EventListener<C, E>): this;
  off(event: 'error', listener?: ErrorListener): this;
  off(event: string, listener?: (...args: any[]) => void): this {
    this.#hub.emitter.off(event, listener);
    return this;
  }

  /** One row per attached worker (copies). */
  workers(): WorkerInfo[] {
    return this.#links.all().map(toInfo);
  }

  /** One worker's row, or `undefined` when it is not attached. */
  worker(id: number): WorkerInfo | undefined {
    const link = this.#links.byId.get(id);
    return link && toInfo(link);
  }

  /**
   * Calls to worker `id` that timed out or were aborted and that it has not answered yet (its
   * `abandoned` count, without building a whole row: schedulers ask on every pick).
   */
  abandonedCalls(id: number): number {
    return this.#links.byId.get(id)?.peer.abandoned ?? 0;
  }

  /**
   * @internal Fleet mode: relays a request that came from another host (a link without a worker
   * id) to one of this host's workers, or gathers from all of them. `reply` takes the answer, once.
   */
  relayExternal(request: RequestMessage, signal: CallSignal, reply: RelayReply): void {
    relayRequest(undefined, request, signal, this.#registry, reply);
  }

  /** @internal Fleet mode: where a worker's calls to another host's worker (`{ host, id }`) go. */
  setHostRelay(host: { name: string; relay: HostRelay } | undefined): void {
    this.#hostRelay = host;
  }

  /**
   * True when worker `id` takes routed work now: it said `ready()`, is not draining, and its
   * channel is open. A worker whose channel just closed is not ready at once, before the primary
   * has handled its 'disconnect' or 'exit'.
   */
  isReady(id: number): boolean {
    const link = this.#links.byId.get(id);
    return link !== undefined && this.#links.takesWork(link);
  }

  /** Ids of the workers that take routed work (calls, events, gathers), in attach order. */
  readyWorkerIds(): number[] {
    return this.#links.ready().map((link) => link.id);
  }

  /**
   * Resolves with the ready worker ids once at least `count` workers called `bus.ready()`.
   * Rejects with TIMEOUT after `timeout` (the bus's default unless given) or ABORTED.
   * @throws RangeError for a `count` that is not a positive integer.
   */
  waitForReady(count = 1, options: CallOptions = {}): Promise<number[]> {
    assertCallOptionNames(options, () => `waitForReady(${count}) options`);
    const source = {
      readyWorkerIds: () => this.readyWorkerIds(),
      workers: () => this.workers(),
      watchWorkers: (listener: (info: WorkerInfo) => void) => this.watchWorkers(listener),
      exitOf: (id: number) => this.#links.exitOf(id),
    };
    return waitForReady(source, count, options.timeout ?? this.#timeout, options.signal);
  }

  /**
   * Watches every change of a worker's state, connection or `abandoned` count. Returns the
   * function that stops watching.
   */
  watchWorkers(listener: (info: WorkerInfo) => void): () => void {
    return this.#links.watch(listener);
  }

  /**
   * @internal Every control message a worker link receives (hello, ready, and the supervisor's
   * `metrics` / `fatal`), after the bus handled it. Returns the function that stops listening.
   */
  onControl(listener: (id: number, message: ControlMessage) => void): () => void {
    this.#controlListeners.add(listener);
    return () => this.#controlListeners.delete(listener);
  }

  /** @internal Sends a control message to one worker; rejects when it is not attached or gone. */
  sendControl(id: number, command: ControlCommand, data?: unknown): Promise<void> {
    const link = this.#links.byId.get(id);
    if (!link) return Promise.reject(new PeerGoneError(`worker ${id} is not attached to the bus`));
    return link.peer.sendControl(command, data);
  }

  /**
   * Takes a worker out of routing (no new gathers, broadcasts or pool tasks) and tells its bus to
   * drain with `data`. Calls already in flight continue. Used by the supervisor.
   */
  async drain(worker: Worker | number, data?: unknown): Promise<void> {
    const link = this.#linkFor(worker, 'drain');
    if (link.state !== 'draining') this.#links.setState(link, 'draining');
    await link.peer.sendControl('drain', data).catch(() => {});
  }

  /** Resolves once everything accepted for sending to `worker` has been written. */
  async flush(worker?: Worker | number): Promise<void> {
    const links = worker === undefined ? this.#links.all() : [this.#linkFor(worker, 'flush')];
    await Promise.all(links.map((link) => link.peer.flush()));
  }

  /**
   * Closes the bus: pending calls reject with CLOSED, running handlers see their signal abort,
   * and the bus stops attaching to new workers. Workers keep running.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    cluster.off('fork', this.#onFork);
    for (const link of this.#links.all()) link.peer.close(new ClosedError('the primary bus was closed'));
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Why a call to a method the contract does not list was refused: a forgotten worker argument, or the name. */
  #badCall(worker: unknown, method: unknown): Error {
    if (typeof worker === 'string' && method === undefined) {
      return new TypeError(
        `call("${worker}"): the first argument is the worker (a cluster.Worker or its id), the second the method; ` +
          `did you mean bus.call(worker, "${worker}", input)? For every ready worker use bus.callAll("${worker}"), ` +
          `for the least busy one a task pool's run("${worker}")`,
      );
    }
    return unknownMethodError(method, this.#contract, 'worker', 'call()');
  }

  #linkFor(worker: Worker | number, what: string): Link {
    if (this.#closed) throw new ClosedError(`${what}: the primary bus is closed`);
    return this.#links.find(worker, what);
  }

  #onEvent(link: Link, message: EventMessage): void {
    const checked = this.#hub.checkIncoming(message, link.id);
    if (!checked) return;
    if (message.to === 'all') {
      const targets = this.#links.ready().filter((target) => message.self || target.id !== link.id);
      void fanOut(targets, { $cb: 1, k: 'evt', n: message.n, p: checked.payload, f: link.id });
      return;
    }
    this.#hub.deliver(message.n, checked.payload, { from: link.id });
  }
}

/**
 * Creates the primary's bus. Attaches to every worker `cluster.fork()` creates unless
 * `autoAttach: false`.
 * @throws TypeError for a handler that is not in the contract or not a function.
 */
export function createPrimaryBus<C extends Contract>(
  contract: C,
  options?: PrimaryBusOptions<C>,
): PrimaryBus<C> {
  return new PrimaryBus(contract, options);
}
