/**
 * The wire envelope. Every clusterbus message is a plain object carrying the tag key `$cb` set to
 * the protocol version; anything without it (the app's own `process.send`, PM2's messages, Node's
 * `NODE_*` cluster traffic) is foreign and left alone. {@link parseMessage} never throws.
 */
import type { WireError } from './errors.js';

/** The tag key that marks our messages. Namespaced so it never collides with `cmd: 'NODE_*'` or PM2's `type`. */
export const TAG = '$cb';
/** The protocol version carried in the tag. */
export const PROTOCOL_VERSION = 1;

/** Routing target of a request or event the primary relays: one worker id, or every worker. */
export type RelayTarget = number | 'all';

/** A call. `to` asks the primary to relay it to a worker (or gather from all). */
export interface RequestMessage {
  $cb: 1;
  k: 'req';
  id: string;
  m: string;
  i?: unknown;
  to?: RelayTarget;
  /** For `to: 'all'`: also call the sender. */
  self?: boolean;
  /** Milliseconds the caller will wait; the relay uses it to bound a gather. */
  t?: number;
  /** Set by the primary on a relayed call: the id of the worker that made it. */
  f?: number;
  /** Fleet mode: with `to`, the host whose worker `to` is (the primaries relay it over NATS). */
  h?: string;
}

/** The caller gave up (abort or timeout): the handler's `ctx.signal` should fire. */
export interface CancelMessage {
  $cb: 1;
  k: 'cancel';
  id: string;
  /** Why, for the handler's `signal.reason`. */
  r: 'aborted' | 'timeout';
}

/** A successful reply. */
export interface ResultMessage {
  $cb: 1;
  k: 'res';
  id: string;
  o?: unknown;
}

/**
 * A failed reply. `b` marks a bus-level failure (NO_HANDLER, VALIDATION, PEER_GONE, …) that the
 * caller rethrows with its own code; without it the handler threw and the caller sees REMOTE.
 */
export interface ErrorMessage {
  $cb: 1;
  k: 'err';
  id: string;
  e: WireError;
  b?: true;
}

/** A one-way event. `to` asks the primary to broadcast it to workers. */
export interface EventMessage {
  $cb: 1;
  k: 'evt';
  n: string;
  p?: unknown;
  to?: 'all';
  self?: boolean;
  /** Set by the primary on a relayed event: the id of the worker that sent it. */
  f?: number;
}

/** Control commands between the bus ends (handshake, readiness, drain). */
export type ControlCommand = 'hello' | 'ready' | 'drain' | 'peers';

/** Lifecycle traffic. `hello` carries the sender's instance id so a restart is detectable. */
export interface ControlMessage {
  $cb: 1;
  k: 'ctl';
  c: ControlCommand;
  d?: unknown;
}

/** Any clusterbus message. */
export type Message =
  | RequestMessage
  | CancelMessage
  | ResultMessage
  | ErrorMessage
  | EventMessage
  | ControlMessage;
/** A reply to a request. */
export type ReplyMessage = ResultMessage | ErrorMessage;

/** Why {@link parseMessage} rejected a message that carried our tag. */
export interface ProtocolViolation {
  violation: string;
}

const CONTROL: ReadonlySet<string> = new Set<ControlCommand>(['hello', 'ready', 'drain', 'peers']);

/** True when `value` carries our tag, whatever its version or shape. */
export function isTagged(value: unknown): value is { $cb: unknown } {
  return typeof value === 'object' && value !== null && TAG in value;
}

/**
 * Reads one incoming value. Returns `undefined` for foreign messages (no tag), a
 * {@link ProtocolViolation} for tagged messages that are malformed or from another protocol
 * version, and the typed message otherwise.
 */
export function parseMessage(value: unknown): Message | ProtocolViolation | undefined {
  if (!isTagged(value)) return undefined;
  const msg = value as Record<string, unknown>;
  if (msg.$cb !== PROTOCOL_VERSION) {
    return {
      violation: `protocol version ${String(msg.$cb)} is not supported (this end speaks ${PROTOCOL_VERSION})`,
    };
  }
  switch (msg.k) {
    case 'req':
      if (typeof msg.id !== 'string' || typeof msg.m !== 'string') return bad('request without id or method');
      if (msg.to !== undefined && msg.to !== 'all' && !Number.isInteger(msg.to))
        return bad('request with bad "to"');
      if (msg.f !== undefined && !Number.isInteger(msg.f)) return bad('request with bad "f"');
      if (msg.t !== undefined && typeof msg.t !== 'number') return bad('request with bad "t"');
      return value as RequestMessage;
    case 'cancel':
      return typeof msg.id === 'string' ? (value as CancelMessage) : bad('cancel without id');
    case 'res':
      return typeof msg.id === 'string' ? (value as ResultMessage) : bad('result without id');
    case 'err': {
      const e = msg.e as Record<string, unknown> | undefined;
      if (
        typeof msg.id !== 'string' ||
        typeof e !== 'object' ||
        e === null ||
        typeof e.message !== 'string'
      ) {
        return bad('error reply without id or error');
      }
      return value as ErrorMessage;
    }
    case 'evt':
      return typeof msg.n === 'string' ? (value as EventMessage) : bad('event without name');
    case 'ctl':
      return typeof msg.c === 'string' && CONTROL.has(msg.c)
        ? (value as ControlMessage)
        : bad('unknown control');
    default:
      return bad(`unknown kind ${JSON.stringify(msg.k)}`);
  }
}

function bad(violation: string): ProtocolViolation {
  return { violation };
}

/** True when {@link parseMessage} returned a violation. */
export function isViolation(parsed: Message | ProtocolViolation): parsed is ProtocolViolation {
  return 'violation' in parsed;
}
