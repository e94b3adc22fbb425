/**
 * Generators of hostile tagged messages for the wire fuzz test, shared by the test (primary →
 * worker) and its fixture worker (worker → primary). Every field the protocol knows gets wrong
 * types as often as right ones: hostile objects (`toString: 1`, own `__proto__` / `constructor`
 * keys), deep nesting, huge strings, NaN and infinities; `advanced` adds BigInt, Map, Set, Date
 * and cycles, which `json` cannot carry.
 */
import fc from 'fast-check';
import { isViolation, parseMessage } from '../../src/protocol.js';

/** What the generator may aim at. */
export interface WireFuzzOptions {
  serialization: 'json' | 'advanced';
  /** Correlation ids the receiver really has pending or running: replies and cancels hit them. */
  knownIds: ReadonlyArray<string | number>;
  /** Procedure names the receiver serves (requests for them get past NO_HANDLER). */
  methods: readonly string[];
  /** Event names of the contract. */
  events: readonly string[];
  /** Control commands not to send well-formed (`drain` would legitimately stop a worker). */
  withoutControls?: readonly string[];
}

/** Keys that have bitten parsers before. Built with defineProperty so `__proto__` stays an own key. */
const NASTY_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'then',
  'polluted',
  '$cb',
];

function withKeys(entries: Array<[string, unknown]>): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return target;
}

function nest(depth: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
}

/** Any value a hostile peer could put in one field. */
export function hostileValue(serialization: 'json' | 'advanced'): fc.Arbitrary<unknown> {
  const advanced = serialization === 'advanced';
  const leaf = fc.oneof(
    fc.string({ maxLength: 16 }),
    fc.integer(),
    fc.double(), // includes NaN, ±Infinity and -0
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    ...(advanced ? [fc.bigInt(), fc.date({ noInvalidDate: false })] : []),
  );
  const hostileObject = fc.oneof(
    fc.constant({ toString: 1 }),
    fc.constant({ toString: 1, valueOf: 1 }),
    fc
      .array(fc.tuple(fc.constantFrom(...NASTY_KEYS), leaf), { maxLength: 4 })
      .map((entries) => withKeys(entries)),
    fc
      .tuple(fc.constantFrom(...NASTY_KEYS), fc.constantFrom(...NASTY_KEYS), leaf)
      .map(([outer, inner, value]) => withKeys([[outer, withKeys([[inner, value]])]])),
  );
  return fc.oneof(
    // Deep and huge values are rare per field (a message has many fields): ~1 message in 150 each.
    { arbitrary: leaf, weight: 3_000 },
    { arbitrary: hostileObject, weight: 2_000 },
    {
      arbitrary: fc.anything({
        maxDepth: 3,
        maxKeys: 4,
        withBigInt: advanced,
        withDate: advanced,
        withMap: advanced,
        withSet: advanced,
        withNullPrototype: true,
        withSparseArray: true,
        withBoxedValues: false,
      }),
      weight: 800,
    },
    {
      arbitrary: fc
        // Node's own `advanced` IPC decoder (v8.deserialize) overflows its stack on objects nested
        // ~2 000 deep and crashes the receiver before any listener runs: stay below it there.
        .tuple(fc.integer({ min: 500, max: advanced ? 1_200 : 2_500 }), leaf, fc.boolean())
        .map(([depth, value, asArray]) => nest(depth, value, asArray)),
      weight: 1,
    },
    {
      arbitrary: fc.integer({ min: 64_000, max: 256_000 }).map((length) => 'x'.repeat(length)),
      weight: 1,
    },
    ...(advanced
      ? [
          {
            arbitrary: fc.constant(null).map(() => {
              const cyclic: Record<string, unknown> = { name: 'Error', message: 'cycle' };
              cyclic.cause = cyclic;
              cyclic.self = cyclic;
              return cyclic;
            }),
            weight: 1,
          },
        ]
      : []),
  );
}

/** A tagged message: mostly our version and known kinds, with every field right or wrong. */
export function taggedMessage(options: WireFuzzOptions): fc.Arbitrary<Record<string, unknown>> {
  const any = hostileValue(options.serialization);
  // A field the kind needs: mostly right; one the kind may carry: mostly absent.
  const maybe = <T>(right: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: right, weight: 4 }, { arbitrary: any, weight: 1 });
  const optional = <T>(right: fc.Arbitrary<T>) =>
    fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 5 },
      { arbitrary: right, weight: 2 },
      { arbitrary: any, weight: 1 },
    );
  // Made-up ids start with `~`, which real ids never do, and made-up numbers are negative, which
  // numeric ids never are: a random "1" or 1 would settle the harness's own calls. Only the known
  // ids aim at calls on purpose.
  const madeUpId = fc.string({ maxLength: 12 }).map((text) => `~${text}`);
  const anyId = any.map((value) => {
    if (typeof value === 'string') return `~${value}`;
    return Number.isSafeInteger(value) && (value as number) >= 0 ? -1 - (value as number) : value;
  });
  const id =
    options.knownIds.length > 0
      ? fc.oneof(
          { arbitrary: fc.constantFrom(...options.knownIds), weight: 3 },
          { arbitrary: madeUpId, weight: 2 },
          { arbitrary: anyId, weight: 2 },
        )
      : fc.oneof({ arbitrary: madeUpId, weight: 4 }, { arbitrary: anyId, weight: 1 });
  const errorLike = fc.record(
    {
      name: maybe(fc.constantFrom('Error', 'TypeError', 'TimeoutError', 'x')),
      message: maybe(fc.string({ maxLength: 30 })),
      code: maybe(fc.constantFrom('TIMEOUT', 'VALIDATION', 'REMOTE', 'E_X', 'MADE_UP')),
      stack: maybe(fc.string({ maxLength: 30 })),
      cause: maybe(fc.record({ name: any, message: any, cause: any }, { requiredKeys: [] })),
      data: any,
    },
    { requiredKeys: [] },
  );
  const hello = fc.record(
    {
      instance: maybe(fc.string({ maxLength: 8 })),
      ack: maybe(fc.boolean()),
      workerId: maybe(fc.nat(50)),
      pid: maybe(fc.nat()),
      metrics: maybe(fc.constant(1)),
    },
    { requiredKeys: ['instance'] },
  );
  const controls = ['hello', 'ready', 'drain', 'peers', 'metrics', 'fatal'].filter(
    (command) => !options.withoutControls?.includes(command),
  );
  // One shape per kind with that kind's fields (each right or wrong, present or not), so most
  // messages get past the first check and reach the code behind it; a few carry stray fields.
  const tag = fc.oneof({ arbitrary: fc.constant(1), weight: 15 }, { arbitrary: any, weight: 1 });
  const kind = (k: string) =>
    fc.oneof({ arbitrary: fc.constant(k), weight: 15 }, { arbitrary: any, weight: 1 });
  const shape = (k: string, fields: Record<string, fc.Arbitrary<unknown>>) =>
    fc
      .record({ $cb: tag, k: kind(k), ...fields })
      .map((message) =>
        Object.fromEntries(Object.entries(message).filter(([, value]) => value !== undefined)),
      );
  const shapes = fc.oneof(
    shape('req', {
      id,
      m: maybe(fc.constantFrom(...options.methods, 'nope', '__proto__', 'constructor', 'toString')),
      i: fc.oneof(fc.constantFrom({ n: 1 }, undefined), any),
      to: optional(fc.constantFrom('all', 1, 2, 999)),
      self: optional(fc.boolean()),
      t: optional(fc.constantFrom(0, 1, 50, 1_000)),
      f: optional(fc.nat(5)),
    }),
    shape('res', { id, o: any }),
    shape('err', {
      id,
      e: fc.oneof({ arbitrary: errorLike, weight: 4 }, { arbitrary: any, weight: 1 }),
      b: optional(fc.constant(true)),
    }),
    shape('cancel', { id, r: maybe(fc.constantFrom('aborted', 'timeout')) }),
    shape('evt', {
      n: maybe(fc.constantFrom(...options.events, 'nope', '__proto__', 'constructor', 'error')),
      p: any,
      to: optional(fc.constant('all')),
      self: optional(fc.boolean()),
      f: optional(fc.nat(5)),
    }),
    shape('ctl', {
      c: maybe(fc.constantFrom(...controls)),
      d: fc.oneof(hello, fc.array(any, { maxLength: 3 }), any),
    }),
  );
  const stray = fc.array(fc.tuple(fc.constantFrom(...NASTY_KEYS, 'id', 'e', 'o', 'x'), any), {
    maxLength: 2,
  });
  return (
    fc
      .tuple(shapes, fc.oneof({ arbitrary: fc.constant([]), weight: 4 }, { arbitrary: stray, weight: 1 }))
      // `drain` and a well-formed `hello` are legitimate commands (stop; the other bus restarted),
      // so only malformed ones are sent (test/protocol-hello.test.ts covers a forged hello).
      .filter(([message]) => !(message.k === 'ctl' && (message as { c?: unknown }).c === 'drain'))
      .filter(([message]) => !isWellFormedHello(message, options.serialization))
      .map(([message, extra]) => withKeys([...extra, ...Object.entries(message)]))
  );
}

/** True for a hello the receiver would accept, once the channel has copied it. */
function isWellFormedHello(message: Record<string, unknown>, serialization: 'json' | 'advanced'): boolean {
  if (message.k !== 'ctl' || message.c !== 'hello') return false;
  let copied: unknown;
  try {
    copied = serialization === 'json' ? JSON.parse(JSON.stringify(message)) : structuredClone(message);
  } catch {
    return false;
  }
  const parsed = parseMessage(copied);
  return parsed !== undefined && !isViolation(parsed);
}

/** `count` messages, the same for the same seed. */
export function sampleMessages(
  seed: number,
  count: number,
  options: WireFuzzOptions,
): Record<string, unknown>[] {
  return fc.sample(taggedMessage(options), { seed, numRuns: count });
}

/**
 * Sends every message through `send` (a raw `worker.send` / `process.send`) with at most `window`
 * in flight, waiting for the send callbacks. A message the channel refuses to serialize counts as
 * refused. Resolves with the counts.
 */
export async function sendAll(
  messages: readonly unknown[],
  send: (message: unknown, done: (error: Error | null) => void) => void,
  window = 128,
): Promise<{ sent: number; refused: number }> {
  let sent = 0;
  let refused = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < window && next < messages.length) {
        const message = messages[next++];
        inFlight++;
        let called = false;
        const done = (error: Error | null) => {
          if (called) return;
          called = true;
          inFlight--;
          if (error) refused++;
          else sent++;
          if (next >= messages.length && inFlight === 0) resolve();
          else setImmediate(pump);
        };
        try {
          send(message, done);
        } catch {
          done(new Error('not serializable'));
        }
      }
      if (messages.length === 0) resolve();
    };
    pump();
  });
  return { sent, refused };
}
