/**
 * What the primary does beyond serving its own procedures: relaying a call to one worker (or
 * gathering from all of them), and fanning an event out to many workers. A relayed call comes from
 * a link: one of this host's workers, or — in fleet mode — another host, which is a link without a
 * worker id. A worker's call addressed to another host's worker (`h`) goes to the host relay.
 */
import { errorToWire, NoHandlerError, PeerGoneError, ValidationError } from '../errors.js';
import type { CallSignal } from '../handler-context.js';
import type { Peer } from '../peer.js';
import { describeValue, type EventMessage, type ReplyMessage, type RequestMessage } from '../protocol.js';

/** A worker link, as the relay needs it. */
export interface RelayLink {
  id: number;
  pid: number | undefined;
  state: string;
  peer: Peer;
}

/** Where a relay's answer goes, once. */
export type RelayReply = (reply: ReplyMessage) => void;

/** Relays a worker's request addressed to a worker of another host (fleet mode). */
export type HostRelay = (
  request: RequestMessage,
  signal: CallSignal,
  from: number,
  reply: RelayReply,
) => void;

/** The primary's registry, as the relay needs it. */
export interface RelayRegistry<L extends RelayLink> {
  get(id: number): L | undefined;
  /** Links that take routed work, in attach order. */
  ready(): L[];
  /** This host's name and the fleet's relay, when fleet mode is on. */
  host?(): { name: string; relay: HostRelay } | undefined;
}

/**
 * Answers a request sent with `to`: forwards it to one worker (PEER_GONE when that worker does not
 * exist or has exited), gathers from every ready worker (`to: 'all'`, one row per worker), or —
 * for a worker's request naming another host — hands it to the fleet. `from` is the worker that
 * asked, or `undefined` for a request from another host. Every outcome is one call of `reply`.
 * A relay to one worker answers in the same turn as that worker's reply arrives, with no promise
 * in between (each hop a few µs on a path that runs with cold caches).
 */
export function relayRequest<L extends RelayLink>(
  from: L | undefined,
  request: RequestMessage,
  signal: CallSignal,
  links: RelayRegistry<L>,
  reply: RelayReply,
): void {
  if (from && request.h !== undefined) {
    const fleet = links.host?.();
    if (typeof request.h !== 'string') {
      reply(errorReply(new ValidationError(`call "${request.m}": the target host must be a string`)));
      return;
    }
    if (!fleet) {
      reply(
        errorReply(
          new NoHandlerError(
            `call "${request.m}" to worker ${String(request.to)} of host ${request.h}: this primary is not in a fleet; start the cluster with { fleet }`,
          ),
        ),
      );
      return;
    }
    if (request.h !== fleet.name) {
      fleet.relay(request, signal, from.id, reply);
      return;
    }
  }
  if (request.to === 'all') {
    // Every worker's outcome is a row; a failure of the gather itself is still an answer.
    gatherAll(from, request, signal, links).then(reply, (error: unknown) =>
      reply(
        errorReply(
          new Error(
            `call "${request.m}" to every worker: the primary's gather failed (${describeValue(error)})`,
            {
              cause: error,
            },
          ),
        ),
      ),
    );
    return;
  }
  const target = links.get(request.to as number);
  if (!target || target.state === 'exited') {
    const where = request.h === undefined ? '' : ` of host ${request.h}`;
    reply(
      errorReply(
        new PeerGoneError(
          `call "${request.m}" to worker ${String(request.to)}${where} failed: worker ${String(request.to)} does not exist or has exited`,
        ),
      ),
    );
    return;
  }
  // Bounded by the caller's deadline too: its cancel may never come (NATS delivers at most once).
  target.peer.relay(request.m, request.i, { signal, from: from?.id, timeout: request.t }, reply);
}

/** `to: 'all'`: one row per ready worker (but the asker, unless `self`), as wire data. */
async function gatherAll<L extends RelayLink>(
  from: L | undefined,
  request: RequestMessage,
  signal: CallSignal,
  links: RelayRegistry<L>,
): Promise<ReplyMessage> {
  const targets = links.ready().filter((target) => request.self || target.id !== from?.id);
  // forward() never rejects: each worker's reply, success or failure, goes back as wire data.
  const o = await Promise.all(
    targets.map(async (target) => {
      const reply = await target.peer.forward(request.m, request.i, {
        signal,
        from: from?.id,
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

/** A bus-level error reply (its id is set by the serving side). */
function errorReply(error: Error): ReplyMessage {
  return { $cb: 1, k: 'err', id: '', e: errorToWire(error), b: true };
}

/**
 * Sends one event to every target and resolves with the ids it was written to. A worker that is
 * gone or going is skipped without an error, as broadcasts document. One promise however many
 * targets: the write callbacks count down.
 */
export function fanOut(targets: readonly RelayLink[], message: EventMessage): Promise<number[]> {
  if (targets.length === 0) return Promise.resolve([]);
  return new Promise((resolve) => {
    const written: boolean[] = new Array(targets.length).fill(false);
    let left = targets.length;
    targets.forEach((link, index) => {
      link.peer.postEvent(message, (error) => {
        if (!error) written[index] = true;
        if (--left === 0) resolve(targets.filter((_, i) => written[i]).map((target) => target.id));
      });
    });
  });
}
