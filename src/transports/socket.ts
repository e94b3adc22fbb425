/**
 * A transport over a stream socket (`net.Socket`: a Unix domain socket or TCP): one JSON message
 * per frame, each frame a 4-byte big-endian length and that many bytes of UTF-8 JSON. A stream has
 * no message boundaries of its own, and a length prefix lets the reader refuse an oversized frame
 * before buffering it. The values carried are those of `json` IPC serialization.
 */
import type { Socket } from 'node:net';
import { createTransport } from './channel.js';
import type { Transport, TransportOptions } from './transport.js';

/** Options of {@link socketTransport}. */
export interface SocketTransportOptions extends TransportOptions {
  /**
   * The largest frame accepted, in bytes. A bigger incoming frame closes the socket (the peer is
   * broken or hostile); a bigger outgoing message fails its send with VALIDATION.
   * @default 16777216 (16 MiB)
   */
  maxFrameBytes?: number;
  /**
   * How the other end is named in error messages.
   * @default 'the socket peer'
   */
  name?: string;
}

const HEADER_BYTES = 4;
const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

/**
 * A transport over a connected `net.Socket`. The socket is the caller's: `dispose()` only removes
 * the transport's listeners; end or destroy the socket yourself.
 * @throws TypeError / RangeError for a bad socket or option.
 */
export function socketTransport(socket: Socket, options: SocketTransportOptions = {}): Transport {
  if (typeof socket !== 'object' || socket === null || typeof socket.write !== 'function') {
    throw new TypeError(`socketTransport(socket): expected a net.Socket, got ${String(socket)}`);
  }
  const maxFrame = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > 0xffff_ffff) {
    throw new RangeError(
      `socketTransport options: maxFrameBytes must be an integer from 1 to 4294967295, got ${String(maxFrame)}`,
    );
  }
  const name = options.name ?? 'the socket peer';
  if (typeof name !== 'string') {
    throw new TypeError(`socketTransport options: name must be a string, got ${typeof name}`);
  }
  // Without an 'error' listener a reset connection (EPIPE, ECONNRESET) crashes the process; the
  // failure reaches the sender through its write callback and the close listener instead.
  const swallow = () => {};
  socket.on('error', swallow);
  let broken: string | undefined;

  return createTransport(
    {
      name,
      // Batch envelopes are sized by estimate: keep them well inside what the reader accepts.
      maxBatchBytes: Math.floor(maxFrame / 2),
      isOpen: () => broken === undefined && !socket.destroyed && socket.writable,
      write: (message, done) => {
        // One message or one batch envelope. JSON.stringify throws synchronously for a BigInt or a
        // cycle: the channel reports VALIDATION.
        const body = Buffer.from(JSON.stringify(message), 'utf8');
        if (body.length > maxFrame) {
          throw new RangeError(`the message is ${body.length} bytes, over maxFrameBytes ${maxFrame}`);
        }
        const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
        frame.writeUInt32BE(body.length, 0);
        body.copy(frame, HEADER_BYTES);
        socket.write(frame, (error) => done(error ?? null));
      },
      listen: (onMessage, onClose) => {
        const reader = new FrameReader(maxFrame);
        const fail = (reason: string) => {
          broken = reason;
          socket.destroy();
          onClose(reason);
        };
        const onData = (chunk: Buffer) => {
          if (broken !== undefined) return;
          const outcome = reader.push(chunk, onMessage);
          if (outcome) fail(`${name} ${outcome}`);
        };
        const onSocketClose = (hadError: boolean) =>
          onClose(hadError ? 'the connection was reset' : 'the connection closed');
        socket.on('data', onData);
        socket.on('close', onSocketClose);
        return () => {
          socket.off('data', onData);
          socket.off('close', onSocketClose);
          socket.off('error', swallow);
        };
      },
    },
    options,
  );
}

/**
 * Reassembles frames from stream chunks. Chunks are kept in a list and joined once per frame, so
 * a large frame arriving in many small chunks costs no quadratic copying.
 */
class FrameReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Body length of the frame being read, once its header is complete. */
  #expected: number | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  /** Adds a chunk and delivers every complete frame. Returns why the stream is broken, if it is. */
  push(chunk: Buffer, deliver: (value: unknown) => void): string | undefined {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#buffered < HEADER_BYTES) return undefined;
        const length = this.#take(HEADER_BYTES).readUInt32BE(0);
        if (length > this.#max) return `sent a frame of ${length} bytes, over the limit of ${this.#max}`;
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) return undefined;
      const body = this.#take(this.#expected);
      this.#expected = undefined;
      let value: unknown;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch (error) {
        return `sent a frame that is not JSON (${(error as Error).message})`;
      }
      deliver(value);
    }
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return taken;
  }
}
