/**
 * The primary's registry of its worker links, kept apart from `cluster.workers` because that drops
 * a worker as soon as it starts disconnecting. Owns the links by id, the lookup from what a caller
 * passed (a `cluster.Worker` or an id), which links take routed work, every change of a link's
 * state and who hears of it (the watchers, and every worker's peer list), and how a link that left
 * ended.
 *
 * Its own module because this is the state the primary bus's methods all read, with rules of its
 * own (a link whose channel closed takes no work even before its 'exit'), while the bus itself is
 * the public API over it.
 */
import type { Worker } from 'node:cluster';
import { PeerGoneError } from '../errors.js';
import type { Peer } from '../peer.js';
import type { ControlMessage } from '../protocol.js';
import { announcePeers, type Link, toInfo, type WorkerInfo, type WorkerState } from './links.js';

/** @internal The worker links of one primary bus. */
export class LinkRegistry {
  /** By worker id, in attach order; links come and go through {@link add} and {@link remove}. */
  readonly byId: ReadonlyMap<number, Link>;
  readonly #links = new Map<number, Link>();
  readonly #watchers = new Set<(info: WorkerInfo) => void>();
  /** Attaches a cluster worker that is connected but not attached yet (see {@link find}). */
  readonly #attach: (worker: Worker) => void;

  constructor(attach: (worker: Worker) => void) {
    this.byId = this.#links;
    this.#attach = attach;
  }

  /** Registers a new link, `starting`. Its peer is the caller's to create, at once. */
  add(id: number, info: { pid?: number | undefined; worker?: Worker }): Link {
    const link: Link = {
      id,
      pid: info.pid,
      state: 'starting',
      worker: info.worker,
      attachedAt: Date.now(),
      peer: undefined as unknown as Peer,
    };
    this.#links.set(id, link);
    return link;
  }

  /** The link closed: it turns `exited` (watchers and workers are told) and leaves the registry. */
  remove(link: Link): void {
    this.setState(link, 'exited');
    this.#links.delete(link.id);
  }

  /**
   * The link of `worker` (a `cluster.Worker` or its id) for `what` (e.g. `call "stats"`). A
   * connected `cluster.Worker` that is not attached yet is attached now.
   * @throws TypeError when `worker` is neither; PeerGoneError when it is not attached.
   */
  find(worker: Worker | number, what: string): Link {
    const id = typeof worker === 'number' ? worker : worker?.id;
    if (typeof id !== 'number') {
      throw new TypeError(`${what}: expected a cluster.Worker or a worker id, got ${String(worker)}`);
    }
    let link = this.#links.get(id);
    if (!link && typeof worker === 'object' && worker.isConnected()) {
      this.#attach(worker);
      link = this.#links.get(id);
    }
    if (!link) {
      throw new PeerGoneError(
        `${what} to worker ${id} failed: worker ${id} is not attached (it exited, or was never forked)`,
      );
    }
    return link;
  }

  /** Every link (a copy), in attach order. */
  all(): Link[] {
    return [...this.#links.values()];
  }

  /** The links that take routed work now, in attach order. */
  ready(): Link[] {
    return [...this.#links.values()].filter((link) => this.takesWork(link));
  }

  /**
   * A ready link whose channel has closed (the worker died or disconnected, and its 'exit' event
   * has not run yet) takes no work. Its link is closed on the next microtask, not here: callers
   * are in the middle of choosing a worker, and watchers must not run under them.
   */
  takesWork(link: Link): boolean {
    if (link.state !== 'ready') return false;
    if (!link.peer.transport.closed) return true;
    queueMicrotask(() =>
      link.peer.close(new PeerGoneError(`worker ${link.id} is gone (its IPC channel closed)`)),
    );
    return false;
  }

  /** A control message arrived on `link`: its hello and its `ready()` change what everyone sees. */
  control(link: Link, message: ControlMessage): void {
    if (message.c === 'hello') {
      // A cluster worker's pid is `worker.process.pid`, never what the wire claims; only a
      // link attached without a pid (a custom transport) learns it from the hello.
      const pid = (message.d as { pid?: unknown } | undefined)?.pid;
      if (link.pid === undefined && link.worker === undefined && typeof pid === 'number') link.pid = pid;
      this.#changed(link);
    } else if (message.c === 'ready' && link.state === 'starting') {
      this.setState(link, 'ready');
    }
  }

  /** Moves `link` to `state` and tells everyone; nothing moves an `exited` link. */
  setState(link: Link, state: WorkerState): void {
    if (link.state === state || link.state === 'exited') return;
    link.state = state;
    this.#changed(link);
  }

  /** Something about `link` changed that the workers' peer lists show too. */
  #changed(link: Link): void {
    this.notify(link);
    // Pushes the worker list to every worker, so `peers()` on the worker side is synchronous.
    announcePeers(this.#links.values());
  }

  /** Tells the watchers only (e.g. a changed `abandoned` count). */
  notify(link: Link): void {
    for (const watcher of [...this.#watchers]) watcher(toInfo(link));
  }

  /** Adds a watcher; returns the function that removes it. */
  watch(listener: (info: WorkerInfo) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /**
   * How a leaving worker ended: its exit code or signal (waiting up to a second for the process to
   * exit, as 'disconnect' usually comes first), else why its link closed.
   */
  exitOf(id: number): Promise<string> {
    const link = this.#links.get(id);
    const closed = link?.peer.closedWith?.message ?? 'its link closed';
    const child = link?.worker?.process;
    if (!child) return Promise.resolve(closed);
    const describe = (code: number | null, signal: string | null) =>
      signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve(describe(child.exitCode, child.signalCode));
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        resolve(`disconnected (pid ${child.pid} is still running)`);
      }, 1_000).unref();
      const onExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        resolve(describe(code, signal));
      };
      child.once('exit', onExit);
    });
  }
}
