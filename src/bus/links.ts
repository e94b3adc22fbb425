/**
 * The primary's links to its workers: the state it keeps per link, the read-only row it hands out,
 * and the worker list it pushes to every worker. (Another host of a fleet is a link too, but one
 * without a worker id: it lives in `fleet/`, and the relay serves it through `relayExternal`.)
 */
import type { Worker } from 'node:cluster';
import type { Peer } from '../peer.js';

/** Where a worker is in its life, as the bus sees it. */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

/** A read-only snapshot of one worker link. */
export interface WorkerInfo {
  id: number;
  pid: number | undefined;
  state: WorkerState;
  /** True once the worker's bus answered the handshake. */
  connected: boolean;
  /** Calls from the primary to this worker still pending. */
  inFlight: number;
  /** Calls from this worker the primary is still serving. */
  handling: number;
  /**
   * Calls to this worker that timed out or were aborted and that its handler has not answered
   * yet: it is probably still running them (a handler that ignores `ctx.signal`).
   */
  abandoned: number;
  /** When the bus attached to it (ms since epoch). */
  attachedAt: number;
}

/** @internal One worker link of the primary bus. */
export interface Link {
  id: number;
  pid: number | undefined;
  state: WorkerState;
  peer: Peer;
  worker: Worker | undefined;
  attachedAt: number;
}

/** @internal The read-only row of one link (a copy). */
export function toInfo(link: Link): WorkerInfo {
  return {
    id: link.id,
    pid: link.pid,
    state: link.state,
    connected: link.peer.connected,
    inFlight: link.peer.inFlight,
    handling: link.peer.handling,
    abandoned: link.peer.abandoned,
    attachedAt: link.attachedAt,
  };
}

/** @internal Pushes the worker list to every connected worker, so `peers()` on the worker side is synchronous. */
export function announcePeers(links: Iterable<Link>): void {
  const all = [...links];
  const list = all
    .filter((link) => link.state !== 'exited')
    .map((link) => ({ id: link.id, pid: link.pid, state: link.state }));
  for (const link of all) {
    if (link.state === 'exited' || !link.peer.connected) continue;
    link.peer.sendControl('peers', list).catch(() => {});
  }
}
