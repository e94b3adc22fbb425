/**
 * The contract: one object of schemas shared by the primary and its workers. Procedures served by
 * workers, procedures served by the primary, and event payloads. Any Standard Schema works
 * (zod 4 does); the types of every call, handler and listener are inferred from it.
 */
import type { StandardSchemaV1 } from './standard-schema.js';

/** One procedure: the schema of its input (omit for none) and of its output. */
export interface ProcedureDef {
  input?: StandardSchemaV1;
  output: StandardSchemaV1;
}

/** Procedures by name. */
export type ProcedureMap = Record<string, ProcedureDef>;
/** Event payload schemas by name. */
export type EventMap = Record<string, StandardSchemaV1>;

/** What you pass to {@link defineContract}. */
export interface ContractShape {
  /** Procedures every worker serves; the primary (or another worker) calls them. */
  worker?: ProcedureMap;
  /** Procedures the primary serves; workers call them. */
  primary?: ProcedureMap;
  /** One-way events and the schema of their payload. */
  events?: EventMap;
}

/** A checked contract. Pass the same object to both the primary and the worker bus. */
export type Contract<T extends ContractShape = ContractShape> = T & { readonly __clusterbus: true };

/** Event names the bus uses for itself and so cannot be contract events. */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set(['error', 'newListener', 'removeListener']);

/**
 * Checks and freezes a contract.
 * @throws TypeError when a schema is not a Standard Schema or an event name is reserved.
 */
export function defineContract<const T extends ContractShape>(shape: T): Contract<T> {
  if (typeof shape !== 'object' || shape === null) {
    throw new TypeError(
      `defineContract(shape): expected an object with worker/primary/events, got ${typeof shape}`,
    );
  }
  for (const side of ['worker', 'primary'] as const) {
    for (const [name, def] of Object.entries(shape[side] ?? {})) {
      if (typeof def !== 'object' || def === null) {
        throw new TypeError(`defineContract: ${side}.${name} must be { input?, output }`);
      }
      if (def.input !== undefined) assertSchema(def.input, `${side}.${name}.input`);
      assertSchema(def.output, `${side}.${name}.output`);
    }
  }
  for (const [name, schema] of Object.entries(shape.events ?? {})) {
    if (RESERVED_EVENT_NAMES.has(name)) {
      throw new TypeError(`defineContract: event name "${name}" is reserved by the bus; pick another name`);
    }
    assertSchema(schema, `events.${name}`);
  }
  return Object.freeze({ ...shape, __clusterbus: true as const });
}

function assertSchema(value: unknown, where: string): void {
  const standard = (value as { '~standard'?: { validate?: unknown } } | undefined)?.['~standard'];
  if (typeof standard?.validate !== 'function') {
    throw new TypeError(`defineContract: ${where} is not a Standard Schema (a zod 4 schema, for example)`);
  }
}

// ---- type inference -------------------------------------------------------------------------

type ProcsOf<C, Side extends 'worker' | 'primary'> = C extends { [K in Side]: infer P extends ProcedureMap }
  ? P
  : Record<never, ProcedureDef>;

/** Procedures the workers serve. */
export type WorkerProcedures<C> = ProcsOf<C, 'worker'>;
/** Procedures the primary serves. */
export type PrimaryProcedures<C> = ProcsOf<C, 'primary'>;
/** Events of a contract. */
export type ContractEvents<C> = C extends { events: infer E extends EventMap }
  ? E
  : Record<never, StandardSchemaV1>;

/** What the caller passes as input (before the schema's transforms). */
export type CallInput<P> = P extends { input: infer S extends StandardSchemaV1 }
  ? StandardSchemaV1.InferInput<S>
  : undefined;
/** What the handler receives (after the schema's transforms). */
export type HandlerInput<P> = P extends { input: infer S extends StandardSchemaV1 }
  ? StandardSchemaV1.InferOutput<S>
  : undefined;
/** What the handler returns (before the output schema's transforms). */
export type HandlerOutput<P> = P extends { output: infer S extends StandardSchemaV1 }
  ? StandardSchemaV1.InferInput<S>
  : never;
/** What the caller gets back. */
export type CallOutput<P> = P extends { output: infer S extends StandardSchemaV1 }
  ? StandardSchemaV1.InferOutput<S>
  : never;
/** The payload a sender passes for an event. */
export type EventInput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : never;
/** The payload a listener receives. */
export type EventPayload<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : never;

/** `[input, options?]`, with `input` optional when the schema accepts `undefined`. */
export type CallArgs<P, Options> =
  undefined extends CallInput<P>
    ? [input?: CallInput<P>, options?: Options]
    : [input: CallInput<P>, options?: Options];
