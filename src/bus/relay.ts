/**
 * What the primary does for workers beyond serving its own procedures: relaying a worker's call to
 * another worker (or gathering from all of them), and fanning an event out to many workers.
 */
import { errorToWire, PeerGoneError } from '../errors.js';
import type { Peer } from '../peer.js';
import type { EventMessage, ReplyMessage, RequestMessage } from '../protocol.js';

/** A worker link, as the relay needs it. */
export interface RelayLink {
  id: number;
  pid: number | undefined;
  state: string;
  peer: Peer;
}

/** The primary's registry, as the relay needs it. */
export interface RelayRegistry<L extends RelayLink> {
  get(id: number): L | undefined;
  /** Links that take routed work, in attach order. */
  ready(): L[];
}

/**
 * Answers a request a worker sent with `to`: forwards it to one worker (PEER_GONE when that worker
 * does not exist or has exited), or gathers from every ready worker (`to: 'all'`) and answers with
 * one row per worker. Never rejects: every outcome is a reply for the asking worker.
 */
export async function relayRequest<L extends RelayLink>(
  from: L,
  request: RequestMessage,
  signal: AbortSignal,
  links: RelayRegistry<L>,
): Promise<ReplyMessage> {
  if (request.to === 'all') {
    const targets = links.ready().filter((target) => request.self || target.id !== from.id);
    // forward() never rejects: each worker's reply, success or failure, goes back as wire data.
    const o = await Promise.all(
      targets.map(async (target) => {
        const reply = await target.peer.forward(request.m, request.i, {
          signal,
          from: from.id,
          timeout: request.t,
        });
        const row = { id: target.id, pid: target.pid };
        return reply.k === 'res'
          ? { ...row, ok: true, value: reply.o }
          : { ...row, ok: false, error: reply.e, b: reply.b };
      }),
    );
    return { $cb: 1, k: 'res', id: request.id, o };
  }
  const target = links.get(request.to as number);
  if (!target || target.state === 'exited') {
    const error = new PeerGoneError(
      `call "${request.m}" to worker ${String(request.to)} failed: worker ${String(request.to)} does not exist or has exited`,
    );
    return { $cb: 1, k: 'err', id: request.id, e: errorToWire(error), b: true };
  }
  return target.peer.forward(request.m, request.i, { signal, from: from.id });
}

/**
 * Sends one event to every target and resolves with the ids it was written to. A worker that is
 * gone or going is skipped without an error, as broadcasts document.
 */
export async function fanOut(targets: readonly RelayLink[], message: EventMessage): Promise<number[]> {
  const sent = await Promise.all(
    targets.map((link) =>
      link.peer.sendEvent(message).then(
        () => link.id,
        () => undefined,
      ),
    ),
  );
  return sent.filter((id): id is number => id !== undefined);
}
