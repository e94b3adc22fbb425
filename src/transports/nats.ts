/**
 * The NATS side of fleet mode: the optional client, loaded only when `fleet` is set, and one
 * {@link RawChannel} per remote host over this host's single connection, so that a remote host is
 * an ordinary peer (timeouts, cancels, remote errors and bounds are `peer.ts`'s, as for a worker).
 *
 * A frame on a host's inbox is `<sender host> <sender instance>\n<JSON array of envelopes>`: one
 * inbox takes traffic from every host, and the header says which peer it belongs to. Envelopes
 * written to one host in the same turn of the event loop travel as one frame (one NATS message,
 * one socket write on each side), in order, never over the server's `max_payload`.
 */
import { ValidationError } from '../errors.js';
import type { Message } from '../protocol.js';
import { createTransport, type RawChannel } from './channel.js';
import { microtask } from './microtask.js';
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

/** Encodes one value for a subject of the fleet. May throw (a value JSON cannot carry). */
export function encodeFrame(host: string, instance: string, message: unknown): Uint8Array {
  return encoder.encode(`${host} ${instance}\n${JSON.stringify(message)}`);
}

/** Bytes a frame header and the array brackets take, on top of the envelopes. */
function frameOverhead(host: string, instance: string): number {
  return encoder.encode(`${host} ${instance}\n[]`).byteLength;
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
  const overhead = frameOverhead(local.host, local.instance);
  // The envelopes of this turn of the event loop, already JSON, and their writers' callbacks.
  let batch: string[] = [];
  let batchBytes = overhead;
  let callbacks: Array<(error?: Error | null) => void> = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (batch.length === 0) return;
    const frame = `${local.host} ${local.instance}\n[${batch.join(',')}]`;
    const done = callbacks;
    batch = [];
    batchBytes = overhead;
    callbacks = [];
    let failure: Error | undefined;
    try {
      connection.publish(subject, frame);
    } catch (error) {
      // The client throws once the connection is closed or draining.
      failure = Object.assign(new Error((error as Error).message), { code: 'ERR_IPC_CHANNEL_CLOSED' });
    }
    for (const callback of done) callback(failure);
  };

  const raw: RawChannel = {
    name: `host ${remoteHost}`,
    isOpen: () => open && options.isConnected(),
    write(message: Message, done) {
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
      const bytes = Buffer.byteLength(json);
      const max = maxPayload();
      if (bytes + overhead > max) {
        done(
          new ValidationError(
            `cannot send to host ${remoteHost}: the message is ${bytes + overhead} bytes, over the NATS server's max_payload of ${max} bytes; send less data per call or raise max_payload on the server`,
            { data: { size: bytes + overhead, maxPayload: max } },
          ),
        );
        return;
      }
      if (batchBytes + bytes + 1 > max) flush();
      batch.push(json);
      batchBytes += bytes + 1;
      callbacks.push(done);
      if (!scheduled) {
        scheduled = true;
        // A microtask: the transport hands over a whole turn's messages synchronously, so they all
        // share one frame, and nothing waits for a later turn of the event loop.
        microtask(flush);
      }
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
