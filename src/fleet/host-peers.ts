/**
 * The remote hosts as peers: one {@link Peer} per host over a host channel, created when first
 * needed (a call to it, or its first message), replaced when the host's instance changes, and
 * closed — failing its pending calls with PEER_GONE — when the fleet says the host is gone.
 * A frame from a host not heard yet gets a peer too: after a NATS reconnect, a host's frames (its
 * hello first) may come before its next heartbeat, and the hello must be answered, or the sender
 * holds everything after it for a hello that never comes.
 */
import type { BusError } from '../errors.js';
import type { LazyAbort } from '../handler-context.js';
import { Peer } from '../peer.js';
import type { ReplyMessage, RequestMessage } from '../protocol.js';
import {
  createHostChannel,
  type HostChannel,
  type InboxFrame,
  type NatsConnectionLike,
} from '../transports/nats.js';
import type { FleetSubjects } from './subjects.js';

/** What the host peers need from the fleet. */
export interface HostPeersOptions {
  nc: NatsConnectionLike;
  subjects: FleetSubjects;
  /** This host's name and instance id. */
  local: { host: string; instance: string };
  /** Default call timeout, in ms. */
  timeout: number;
  /** False while the NATS connection is down. */
  connected(): boolean;
  /** Serves a request another host sent (a relay to a worker, a gather, a pool task); `reply` takes the answer. */
  serve(request: RequestMessage, abort: LazyAbort, reply: (message: ReplyMessage) => void): void;
  /** Reports what no caller can be told about (a malformed message). */
  error(error: BusError): void;
}

interface Entry {
  instance: string;
  peer: Peer;
  channel: HostChannel;
}

/** This host's peers, one per remote host. */
export class HostPeers {
  readonly #options: HostPeersOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: HostPeersOptions) {
    this.#options = options;
  }

  /** The peer of `host` as instance `instance`; a different instance replaces (and fails) the old one. */
  get(host: string, instance: string): Peer {
    const existing = this.#entries.get(host);
    if (existing && existing.instance === instance && !existing.peer.closedWith) return existing.peer;
    existing?.channel.close(`host ${host} restarted`);
    const { nc, subjects, local } = this.#options;
    const channel = createHostChannel({
      connection: nc,
      local,
      remoteHost: host,
      subject: subjects.inbox(host),
      isConnected: () => this.#options.connected(),
    });
    const entry: Entry = { instance, channel, peer: undefined as unknown as Peer };
    entry.peer = new Peer({
      transport: channel.transport,
      localName: `host ${local.host}`,
      remoteName: `host ${host}`,
      remoteCaller: { kind: 'primary' },
      timeout: this.#options.timeout,
      hello: { host: local.host },
      hooks: {
        // Another host's primary addresses this host's workers; it serves no procedures itself.
        resolve: () => undefined,
        relay: (request, abort, reply) => this.#options.serve(request, abort, reply),
        event: () => {},
        control: () => {},
        error: (error) => this.#options.error(error),
        closed: () => {
          channel.transport.dispose();
          if (this.#entries.get(host) === entry) this.#entries.delete(host);
        },
      },
    });
    this.#entries.set(host, entry);
    return entry.peer;
  }

  /**
   * Hands an inbox frame to its sender's peer (creating it for a host not seen yet, or for a new
   * instance: a restarted host's first frame can come before its first heartbeat).
   */
  deliver(frame: InboxFrame): void {
    this.get(frame.host, frame.instance);
    this.#entries.get(frame.host)?.channel.deliver(frame.value);
  }

  /** The host is gone: its pending calls fail with PEER_GONE saying `reason`. */
  close(host: string, reason: string): void {
    this.#entries.get(host)?.channel.close(reason);
  }

  /** The host now runs as `instance`: a peer of any other instance is closed with `reason`. */
  closeStale(host: string, instance: string, reason: string): void {
    const entry = this.#entries.get(host);
    if (entry && entry.instance !== instance) entry.channel.close(reason);
  }

  /** Closes every peer with `error` (this host leaves). */
  closeAll(error: BusError): void {
    for (const { peer } of [...this.#entries.values()]) peer.close(error);
    this.#entries.clear();
  }

  /** True while this host is serving a call another host sent. */
  busy(): boolean {
    return [...this.#entries.values()].some(({ peer }) => peer.handling > 0);
  }
}
