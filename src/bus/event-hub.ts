/**
 * Contract events on one bus: typed on/once/off over eventemitter3, validation of what arrives,
 * and the `'error'` channel for what had to be dropped.
 */
import { EventEmitter } from 'eventemitter3';
import type { ContractEvents, EventMap, EventPayload } from '../contract.js';
import { type BusError, ValidationError } from '../errors.js';
import type { EventMessage } from '../protocol.js';
import { validate } from '../validate.js';

/** Where an event came from: `'primary'`, or the id of the worker that sent it. */
export interface EventMeta {
  from: 'primary' | number;
}

/** A listener for contract event `E`. */
export type EventListener<C, E extends keyof ContractEvents<C>> = (
  payload: EventPayload<ContractEvents<C>[E]>,
  meta: EventMeta,
) => void;

/** A listener for dropped messages and other failures no caller could be told about. */
export type ErrorListener = (error: BusError) => void;

/** The typed `on/once/off` both buses expose. */
export interface EventSubscriber<C> {
  on<E extends keyof ContractEvents<C> & string>(event: E, listener: EventListener<C, E>): this;
  on(event: 'error', listener: ErrorListener): this;
  once<E extends keyof ContractEvents<C> & string>(event: E, listener: EventListener<C, E>): this;
  once(event: 'error', listener: ErrorListener): this;
  off<E extends keyof ContractEvents<C> & string>(event: E, listener?: EventListener<C, E>): this;
  off(event: 'error', listener?: ErrorListener): this;
}

/** @internal Shared by the primary and worker bus. */
export class EventHub {
  readonly #emitter = new EventEmitter();
  readonly #schemas: EventMap;
  readonly #name: () => string;

  constructor(schemas: EventMap | undefined, localName: () => string) {
    this.#schemas = schemas ?? {};
    this.#name = localName;
  }

  get emitter(): EventEmitter {
    return this.#emitter;
  }

  /** Validates an outgoing payload; throws VALIDATION (or a TypeError for an unknown event). */
  checkOutgoing(event: string, payload: unknown): unknown {
    const schema = this.#schema(event);
    if (!schema) {
      throw new TypeError(
        `event "${event}" is not in the contract's events; add it to defineContract({ events })`,
      );
    }
    // The site is a function: it is only worded when the payload fails.
    const value = validate(schema, payload, () => ({
      what: 'payload',
      subject: `event "${event}"`,
      side: `on ${this.#name()} before sending`,
    }));
    if (value instanceof Promise) throw asyncSchemaError(value, `event "${event}" on ${this.#name()}`);
    return value;
  }

  /**
   * Validates an incoming event. Returns the payload, or `undefined` after reporting the drop on
   * `'error'` (never throws: a bad message must not crash the receiver).
   */
  checkIncoming(message: EventMessage, from: number | 'primary'): { payload: unknown } | undefined {
    // Worded only for a report: this runs for every event that arrives.
    const fromName = () => (from === 'primary' ? 'the primary' : `worker ${from}`);
    const schema = this.#schema(message.n);
    if (!schema) {
      this.reportError(
        new ValidationError(
          `dropped event "${message.n}" from ${fromName()}: ${this.#name()}'s contract has no such event`,
        ),
      );
      return undefined;
    }
    try {
      const payload = validate(schema, message.p, () => ({
        what: 'payload',
        subject: `event "${message.n}" from ${fromName()}`,
        side: `on ${this.#name()} on receipt (dropped)`,
      }));
      if (payload instanceof Promise) {
        const what = `event "${message.n}" from ${fromName()} (dropped)`;
        // zod reports a refine that threw as a rejection: once settled, say which it was.
        payload.then(
          () => this.reportError(asyncSchemaError(undefined, what)),
          (error: BusError) =>
            this.reportError(error.cause === undefined ? asyncSchemaError(undefined, what) : error),
        );
        return undefined;
      }
      return { payload };
    } catch (error) {
      this.reportError(error as BusError);
      return undefined;
    }
  }

  /** Delivers a validated event to its listeners. */
  deliver(event: string, payload: unknown, meta: EventMeta): void {
    this.#emitter.emit(event, payload, meta);
  }

  /** Reports on `'error'`; with no listener, as a process warning so the drop is never silent. */
  reportError(error: BusError): void {
    if (this.#emitter.listenerCount('error') > 0) this.#emitter.emit('error', error);
    else process.emitWarning(error.message, { code: `CLUSTERBUS_${error.code}` });
  }

  #schema(event: string) {
    return Object.hasOwn(this.#schemas, event) ? this.#schemas[event] : undefined;
  }
}

/**
 * Events are validated synchronously so they keep their send order. An async schema is refused;
 * its pending result is settled here so a failing refinement cannot become an unhandled rejection.
 */
function asyncSchemaError(pending: Promise<unknown> | undefined, what: string): ValidationError {
  pending?.catch(() => {});
  return new ValidationError(
    `${what}: the payload schema is async (an async refine or transform, or a zod refine that threw); event schemas must be synchronous so events keep their order`,
  );
}
