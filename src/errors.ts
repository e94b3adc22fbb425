/**
 * Every failure clusterbus reports is a {@link BusError} with a stable `code` users can switch on.
 * Errors cross the IPC channel as plain data ({@link WireError}) because neither `json` nor
 * `advanced` serialization keeps a custom class, its `code`, or its `cause`.
 */

/** The stable error codes. Switch on `error.code`, never on the message. */
export const ErrorCode = {
  /** The call did not settle within its timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The caller's `AbortSignal` fired. */
  ABORTED: 'ABORTED',
  /** The remote handler threw; `remote` keeps its name, code, message, stack and data. */
  REMOTE: 'REMOTE',
  /** Input or output failed its schema; the message names the side, the method and the path. */
  VALIDATION: 'VALIDATION',
  /** The other side has no handler for this method. */
  NO_HANDLER: 'NO_HANDLER',
  /** The peer exited or disconnected while the call was pending, or does not exist. */
  PEER_GONE: 'PEER_GONE',
  /** This bus was closed. */
  CLOSED: 'CLOSED',
  /** An in-flight or queue bound was hit. */
  OVERLOADED: 'OVERLOADED',
  /** No ready worker could take the work. */
  NOT_READY: 'NOT_READY',
  /** A worker called the primary, but no clusterbus primary runs it (plain `node`, PM2, …). */
  NO_PRIMARY: 'NO_PRIMARY',
} as const;

/** One of the stable {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const CODES = new Set<string>(Object.values(ErrorCode));

/** An error as it travels on the wire: plain data that survives both serialization modes. */
export interface WireError {
  name: string;
  message: string;
  code?: string | number | undefined;
  stack?: string | undefined;
  cause?: WireError | undefined;
  data?: unknown;
}

/** Options shared by every {@link BusError} constructor. */
export interface BusErrorOptions {
  cause?: unknown;
  /** Plain extra data (kept across the wire). */
  data?: unknown;
}

/** The base of every clusterbus error. Check with {@link isBusError}, which does not rely on `instanceof`. */
export class BusError extends Error {
  override name = 'BusError';
  readonly code: ErrorCode;
  readonly data?: unknown;

  constructor(code: ErrorCode, message: string, options: BusErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    if (options.data !== undefined) this.data = options.data;
  }
}

/** The call did not settle within its timeout. */
export class TimeoutError extends BusError {
  override name = 'TimeoutError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.TIMEOUT, message, options);
  }
}

/** The caller aborted the call through its `AbortSignal`. */
export class AbortedError extends BusError {
  override name = 'AbortedError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.ABORTED, message, options);
  }
}

/** Input or output failed its schema. */
export class ValidationError extends BusError {
  override name = 'ValidationError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.VALIDATION, message, options);
  }
}

/** The other side has no handler for the method. */
export class NoHandlerError extends BusError {
  override name = 'NoHandlerError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.NO_HANDLER, message, options);
  }
}

/** The peer is gone: it exited, disconnected, or never existed. */
export class PeerGoneError extends BusError {
  override name = 'PeerGoneError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.PEER_GONE, message, options);
  }
}

/** The bus was closed. */
export class ClosedError extends BusError {
  override name = 'ClosedError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.CLOSED, message, options);
  }
}

/** An in-flight or queue bound was hit; retry later or raise the bound. */
export class OverloadedError extends BusError {
  override name = 'OverloadedError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.OVERLOADED, message, options);
  }
}

/** No ready worker could take the work in time. */
export class NotReadyError extends BusError {
  override name = 'NotReadyError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.NOT_READY, message, options);
  }
}

/**
 * This process has no clusterbus primary to talk to: it runs standalone (`node worker.js`) or
 * under another process manager (PM2). Calls and events to the primary fail at once with it.
 */
export class NoPrimaryError extends BusError {
  override name = 'NoPrimaryError';
  constructor(message: string, options?: BusErrorOptions) {
    super(ErrorCode.NO_PRIMARY, message, options);
  }
}

/** What the remote handler threw, as far as it survived the wire. */
export interface RemoteErrorInfo {
  name: string;
  message: string;
  code?: string | number | undefined;
  stack?: string | undefined;
  data?: unknown;
}

/**
 * The remote handler threw. `remote` holds the thrown error's name, message, code, stack and data;
 * `cause` is that error rebuilt as an `Error` (its own `cause` chain included).
 */
export class RemoteError extends BusError {
  override name = 'RemoteError';
  readonly remote: RemoteErrorInfo;
  constructor(message: string, remote: WireError) {
    // It may come straight off the wire: take only what is safe to read.
    const safe = wireErrorFrom(remote);
    super(ErrorCode.REMOTE, message, { cause: errorFromWire(safe), data: safe.data });
    this.remote = {
      name: safe.name,
      message: safe.message,
      code: safe.code,
      stack: safe.stack,
      data: safe.data,
    };
  }
}

const SUBCLASS: Record<Exclude<ErrorCode, 'REMOTE'>, new (m: string, o?: BusErrorOptions) => BusError> = {
  TIMEOUT: TimeoutError,
  ABORTED: AbortedError,
  VALIDATION: ValidationError,
  NO_HANDLER: NoHandlerError,
  PEER_GONE: PeerGoneError,
  CLOSED: ClosedError,
  OVERLOADED: OverloadedError,
  NOT_READY: NotReadyError,
  NO_PRIMARY: NoPrimaryError,
};

/** True for any clusterbus error, even one from another copy of the library (no `instanceof`). */
export function isBusError(value: unknown): value is BusError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { code?: unknown; message?: unknown; name?: unknown };
  return (
    typeof candidate.code === 'string' &&
    CODES.has(candidate.code) &&
    typeof candidate.message === 'string' &&
    typeof candidate.name === 'string' &&
    candidate.name.endsWith('Error')
  );
}

/** Builds the {@link BusError} subclass for `code`. */
export function createBusError(code: ErrorCode, message: string, options?: BusErrorOptions): BusError {
  if (code === 'REMOTE') {
    return new RemoteError(message, { name: 'Error', message, data: options?.data });
  }
  return new SUBCLASS[code](message, options);
}

const MAX_CAUSE_DEPTH = 8;
/**
 * Caps on the strings of an error, read from the wire (a peer must not make us keep megabytes) and
 * sent (what the other end would cut anyway must not make the reply too big to send).
 */
const MAX_NAME = 200;
const MAX_CODE = 200;
const MAX_MESSAGE = 10_000;
const MAX_STACK = 50_000;

/**
 * Turns anything thrown into plain data that survives `json` and `advanced` serialization. A
 * thrown plain object keeps its fields as `data` (and its `message`). Never throws: the error
 * path of a reply must not fail on an error with a throwing getter.
 */
export function errorToWire(thrown: unknown, depth = 0): WireError {
  try {
    return toWire(thrown, depth);
  } catch {
    // Not even the failure is printed: `String()` of what threw may throw again.
    return { name: 'Error', message: 'an error was thrown whose fields could not be read' };
  }
}

function toWire(thrown: unknown, depth: number): WireError {
  if (!(thrown instanceof Error) && (typeof thrown !== 'object' || thrown === null)) {
    return { name: 'Error', message: cap(String(thrown), MAX_MESSAGE) };
  }
  const source = thrown as Partial<Error> & { code?: unknown; data?: unknown; cause?: unknown };
  const plain = !(thrown instanceof Error) && isPlainObject(thrown);
  const wire: WireError = {
    name: typeof source.name === 'string' ? cap(source.name, MAX_NAME) : 'Error',
    message: cap(
      typeof source.message === 'string'
        ? source.message
        : plain
          ? `a plain object was thrown: ${preview(thrown)}`
          : String(thrown),
      MAX_MESSAGE,
    ),
  };
  if (typeof source.code === 'string') wire.code = cap(source.code, MAX_CODE);
  else if (typeof source.code === 'number') wire.code = source.code;
  if (typeof source.stack === 'string') wire.stack = cap(source.stack, MAX_STACK);
  if (plain) {
    // `throw { status: 503, reason: 'db down' }`: its fields are the information, keep them.
    const data = plainFields(thrown as Record<string, unknown>);
    if (data !== undefined) wire.data = data;
  } else if (source.data !== undefined && isPlainData(source.data)) {
    wire.data = source.data;
  }
  if (source.cause !== undefined && depth < MAX_CAUSE_DEPTH) wire.cause = toWire(source.cause, depth + 1);
  return wire;
}

/**
 * Reads an error as a peer sent it into a {@link WireError} that is safe to use: strings checked
 * by type and capped in length, the cause chain capped in depth, a bad field replaced by a
 * placeholder. Never throws.
 */
export function wireErrorFrom(value: unknown, depth = 0): WireError {
  try {
    if (typeof value !== 'object' || value === null) {
      return { name: 'Error', message: `malformed error (${typeof value} instead of an object)` };
    }
    const source = value as Record<string, unknown>;
    const wire: WireError = {
      name: typeof source.name === 'string' && source.name !== '' ? cap(source.name, MAX_NAME) : 'Error',
      message:
        typeof source.message === 'string' ? cap(source.message, MAX_MESSAGE) : '(no readable message)',
    };
    if (typeof source.code === 'string') wire.code = cap(source.code, MAX_CODE);
    else if (typeof source.code === 'number' && Number.isFinite(source.code)) wire.code = source.code;
    if (typeof source.stack === 'string') wire.stack = cap(source.stack, MAX_STACK);
    if (source.data !== undefined) wire.data = source.data;
    // A cause chain from the wire may be cyclic (advanced serialization keeps cycles): cap it.
    if (source.cause !== undefined && source.cause !== null && depth < MAX_CAUSE_DEPTH) {
      wire.cause = wireErrorFrom(source.cause, depth + 1);
    }
    return wire;
  } catch {
    return { name: 'Error', message: '(an error whose fields could not be read)' };
  }
}

/**
 * Rebuilds an `Error` from wire data; a clusterbus code becomes its {@link BusError} subclass.
 * Safe on anything a peer sent (see {@link wireErrorFrom}).
 */
export function errorFromWire(wire: WireError): Error {
  return rebuild(wireErrorFrom(wire), 0);
}

/**
 * The caller's error for a bus-level error reply (`b: true`): the {@link BusError} its code
 * names, or REMOTE when the code is missing or not one of ours, so it is always a BusError.
 * `what` names the call for the REMOTE message, e.g. `call "stats" to worker 3`.
 */
export function busErrorFromWire(wire: WireError, what: string): BusError {
  const safe = wireErrorFrom(wire);
  const error = errorFromWire(safe);
  if (error instanceof BusError) return error;
  return new RemoteError(`${what} failed: ${safe.name}: ${safe.message}`, safe);
}

function rebuild(wire: WireError, depth: number): Error {
  const cause = wire.cause && depth < MAX_CAUSE_DEPTH ? rebuild(wire.cause, depth + 1) : undefined;
  const options = cause ? { cause } : undefined;
  let error: Error;
  if (typeof wire.code === 'string' && CODES.has(wire.code) && wire.code !== 'REMOTE') {
    error = createBusError(wire.code as ErrorCode, wire.message, { ...options, data: wire.data });
    // Keep the remote's class name only when it still reads as an error (isBusError relies on it).
    if (!wire.name.endsWith('Error')) wire = { ...wire, name: error.name };
  } else {
    error = new Error(wire.message, options);
    const target = error as Error & { code?: unknown; data?: unknown };
    if (wire.code !== undefined) target.code = wire.code;
    if (wire.data !== undefined) target.data = wire.data;
  }
  // Own property, so it shadows the subclass's class field and keeps the remote's name.
  Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true });
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** `text` cut to at most `max` characters, the note included (so a capped text caps to itself). */
function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `… (cut from ${text.length} characters)`;
  return `${text.slice(0, Math.max(0, max - note.length))}${note}`;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The own fields of a thrown plain object that travel as data (its `message` travels as such). */
function plainFields(source: Record<string, unknown>): Record<string, unknown> | undefined {
  const data: Record<string, unknown> = {};
  let any = false;
  for (const [key, item] of Object.entries(source)) {
    if (key === 'message' || item === undefined || !isPlainData(item)) continue;
    // defineProperty, so a key named `__proto__` stays a plain field.
    Object.defineProperty(data, key, { value: item, enumerable: true, writable: true, configurable: true });
    any = true;
  }
  return any ? data : undefined;
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return '(an object that cannot be shown)';
  }
}

/** Data that both serialization modes carry faithfully enough: JSON-like values. */
function isPlainData(value: unknown, depth = 0): boolean {
  if (depth > 16) return false;
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (Array.isArray(value)) return value.every((item) => isPlainData(item, depth + 1));
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(value as object).every(
        (item) => item === undefined || isPlainData(item, depth + 1),
      );
    }
    default:
      return false;
  }
}
