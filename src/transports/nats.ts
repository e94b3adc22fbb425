/**
 * The NATS side of fleet mode: the optional client, loaded only when `fleet` is set, and one
 * {@link RawChannel} per remote host over this host's single connection, so that a remote host is
 * an ordinary peer (timeouts, cancels, remote errors and bounds are `peer.ts`'s, as for a worker).
 *
 * A frame on a host's inbox is `<sender host> <sender instance>\n<JSON array of envelopes>`: one
 * inbox takes traffic from every host, and the header says which peer it belongs to. What the
 * transport writes to one host in one turn of the event loop (a batch envelope) is one frame, one
 * NATS message, published at once, never over the server's `max_payload`.
 */
import { ValidationError } from '../errors.js';
import type { BatchMessage } from '../protocol.js';
import { createTransport, type RawChannel } from './channel.js';
import type { Transport, TransportOptions } from './transport.js';

/** The part of a NATS message fleet mode reads. */
export interface NatsMsgLike {
  readonly data: Uint8Array;
  readonly subject: string;
  respond(data?: Uint8Array | string): boolean;
}

/** The part of a NATS subscription fleet mode uses. */
export interface NatsSubscriptionLike {
  unsubscribe(): void;
}

/** The part of `@nats-io/transport-node`'s connection fleet mode uses (kept structural, so the
 * published types do not require the optional dependency). */
export interface NatsConnectionLike {
  readonly info?: { max_payload: number } | undefined;
  publish(subject: string, data?: Uint8Array | string): void;
  subscribe(
    subject: string,
    options: { queue?: string; callback: (error: Error | null, msg: NatsMsgLike) => void },
  ): NatsSubscriptionLike;
  request(subject: string, data: Uint8Array | string, options: { timeout: number }): Promise<NatsMsgLike>;
  status(): AsyncIterable<{ type: string; server?: string }>;
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
}

/** The module `@nats-io/transport-node`, as far as fleet mode uses it. */
export interface NatsModuleLike {
  connect(options: Record<string, unknown>): Promise<NatsConnectionLike>;
}

/** The package fleet mode needs, an optional peer dependency. */
export const NATS_PACKAGE = '@nats-io/transport-node';

/**
 * Loads the NATS client with a dynamic `import()`, so a cluster without `fleet` never needs it.
 * @param specifier The module to load (tests pass one that does not exist).
 * @throws TypeError saying what to install when the package is missing.
 */
export async function loadNats(specifier: string = NATS_PACKAGE): Promise<NatsModuleLike> {
  try {
    // A variable specifier keeps bundlers from inlining an optional dependency.
    const mod = (await import(specifier)) as NatsModuleLike & { default?: NatsModuleLike };
    return typeof mod.connect === 'function' ? mod : (mod.default as NatsModuleLike);
  } catch (error) {
    throw new TypeError(
      `startCluster({ fleet }): fleet mode needs the NATS client ${specifier}, which could not be loaded; install it with \`npm install ${NATS_PACKAGE}@3\` (${(error as Error).message})`,
      { cause: error },
    );
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Who sent a frame, and what it carried (not yet checked by `parseMessage`). */
export interface InboxFrame {
  host: string;
  instance: string;
  value: unknown;
}

/** The header every frame starts with: who sent it. */
function frameHeader(host: string, instance: string): string {
  return `${host} ${instance}\n`;
}

/** Encodes one value for a subject of the fleet. May throw (a value JSON cannot carry). */
export function encodeFrame(host: string, instance: string, message: unknown): Uint8Array {
  return encoder.encode(frameHeader(host, instance) + JSON.stringify(message));
}

/** Decodes one frame; `undefined` for anything that is not one (never throws). */
export function decodeFrame(data: Uint8Array): InboxFrame | undefined {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  const space = text.indexOf(' ');
  if (newline < 0 || space < 1 || space > newline) return undefined;
  try {
    return {
      host: text.slice(0, space),
      instance: text.slice(space + 1, newline),
      value: JSON.parse(text.slice(newline + 1)) as unknown,
    };
  } catch {
    return undefined;
  }
}

/** What one host channel needs from the fleet's connection. */
export interface HostChannelOptions extends TransportOptions {
  /** The local connection. */
  connection: NatsConnectionLike;
  /** This host's name and instance id (the frame header). */
  local: { host: string; instance: string };
  /** The remote host's name. */
  remoteHost: string;
  /** The remote host's inbox subject. */
  subject: string;
  /** True while the fleet considers the connection usable (false during a NATS reconnect). */
  isConnected(): boolean;
}

/** One remote host's channel: write to its inbox; the fleet delivers what arrives from it. */
export interface HostChannel {
  /** The transport a {@link Peer} runs over. */
  readonly transport: Transport;
  /** Hands an incoming frame's value (a batch of envelopes) from this host to the peer, in order. */
  deliver(value: unknown): void;
  /** Marks the channel gone (missed heartbeats, NATS disconnect, the host left). */
  close(reason: string): void;
}

/**
 * Creates the channel to one remote host. Writes larger than the server's `max_payload` fail
 * with VALIDATION naming the limit, before anything is published.
 */
export function createHostChannel(options: HostChannelOptions): HostChannel {
  const { connection, local, remoteHost, subject } = options;
  let open = true;
  let onMessage: ((value: unknown) => void) | undefined;
  let onClose: ((reason: string) => void) | undefined;
  const maxPayload = () => connection.info?.max_payload ?? 1024 * 1024;
  const header = frameHeader(local.host, local.instance);
  // The header and the array's brackets, on top of the envelopes.
  const overhead = Buffer.byteLength(header) + 2;

  /** Publishes one frame; the error a closed or draining connection throws, as a gone channel's. */
  const publish = (envelopes: string): Error | undefined => {
    try {
      connection.publish(subject, `${header}[${envelopes}]`);
      return undefined;
    } catch (error) {
      return Object.assign(new Error((error as Error).message), { code: 'ERR_IPC_CHANNEL_CLOSED' });
    }
  };

  /**
   * A batch whose JSON came out over `max_payload` (the transport's size estimate runs low for some
   * payloads): its envelopes go in as few frames as fit, in order. Each is far below the limit,
   * since the transport sends anything near it alone.
   */
  const publishSplit = (batch: BatchMessage, max: number): Error | undefined => {
    let frame: string[] = [];
    let bytes = overhead;
    for (const element of batch.b) {
      const json = JSON.stringify(element);
      const size = Buffer.byteLength(json) + 1;
      if (bytes + size > max && frame.length > 0) {
        const failure = publish(frame.join(','));
        if (failure) return failure;
        frame = [];
        bytes = overhead;
      }
      if (bytes + size > max) return tooLarge(bytes + size, max);
      frame.push(json);
      bytes += size;
    }
    return frame.length > 0 ? publish(frame.join(',')) : undefined;
  };

  const tooLarge = (size: number, max: number) =>
    new ValidationError(
      `cannot send to host ${remoteHost}: the message is ${size} bytes, over the NATS server's max_payload of ${max} bytes; send less data per call or raise max_payload on the server`,
      { data: { size, maxPayload: max } },
    );

  const raw: RawChannel = {
    name: `host ${remoteHost}`,
    isOpen: () => open && options.isConnected(),
    // Half the limit: the transport's estimate of a batch's size is only an estimate.
    maxBatchBytes: Math.floor(maxPayload() / 2),
    write(message, done) {
      let json: string;
      try {
        json = JSON.stringify(message);
      } catch (error) {
        done(
          new ValidationError(
            `cannot send to host ${remoteHost}: the message could not be serialized as JSON (${(error as Error).message}); fleet messages must be plain JSON data`,
            { cause: error },
          ),
        );
        return;
      }
      // Byte length of the UTF-8 encoding, without encoding it twice.
      const size = Buffer.byteLength(json) + overhead;
      const max = maxPayload();
      // Published at once: the transport already hands over a whole turn's messages as one batch,
      // and the client itself coalesces the socket writes of a turn (a microtask of its own).
      if (size <= max) done(publish(json));
      else if (message.k === 'batch') done(publishSplit(message, max));
      else done(tooLarge(size, max));
    },
    listen(message, close) {
      onMessage = message;
      onClose = close;
      return () => {
        onMessage = undefined;
        onClose = undefined;
      };
    },
  };
  const transport = createTransport(raw, options);
  return {
    transport,
    deliver(value) {
      // Not a batch: the peer's decoder judges it (and reports it when it is tagged but malformed).
      if (!Array.isArray(value)) {
        if (open) onMessage?.(value);
        return;
      }
      for (const item of value) {
        if (!open) return;
        onMessage?.(item);
      }
    },
    close(reason) {
      if (!open) return;
      open = false;
      onClose?.(reason);
    },
  };
}
