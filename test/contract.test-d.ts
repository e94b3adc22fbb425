/** Type tests: the inference users rely on. Checked by `tsc` (npm run typecheck) and vitest's typecheck. */
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type BusError,
  type Caller,
  createPrimaryBus,
  createWorkerBus,
  defineContract,
  type GatherResult,
  type HandlerContext,
  startCluster,
  type WorkerCaller,
} from '../src/index.js';

const contract = defineContract({
  worker: {
    stats: { output: z.object({ rss: z.number(), uptime: z.number() }) },
    resize: {
      input: z.object({ width: z.number(), height: z.number().optional() }),
      output: z.array(z.number()),
    },
    parse: { input: z.string().transform((text) => text.length), output: z.number() },
  },
  primary: {
    config: { input: z.object({ key: z.string() }), output: z.string() },
    ping: { input: z.void(), output: z.literal('pong') },
  },
  events: { drain: z.object({ reason: z.string() }) },
});

declare const primary: ReturnType<typeof createPrimaryBus<typeof contract>>;
declare const worker: ReturnType<typeof createWorkerBus<typeof contract>>;

describe('calls', () => {
  it('infer the output type from the contract', () => {
    expectTypeOf(primary.call(1, 'stats')).resolves.toEqualTypeOf<{ rss: number; uptime: number }>();
    expectTypeOf(primary.call(1, 'resize', { width: 10 })).resolves.toEqualTypeOf<number[]>();
    expectTypeOf(worker.call('config', { key: 'port' })).resolves.toEqualTypeOf<string>();
    expectTypeOf(worker.call('ping')).resolves.toEqualTypeOf<'pong'>();
    expectTypeOf(worker.call(2, 'stats')).resolves.toEqualTypeOf<{ rss: number; uptime: number }>();
  });

  it('take the schema input type (before transforms)', () => {
    expectTypeOf(primary.call(1, 'parse', 'some text')).resolves.toEqualTypeOf<number>();
  });

  it('reject wrong method names, missing and wrong input at compile time', () => {
    // @ts-expect-error: no such worker procedure
    void primary.call(1, 'nope');
    // @ts-expect-error: `config` is served by the primary, not the workers
    void primary.call(1, 'config', { key: 'x' });
    // @ts-expect-error: input is required
    void primary.call(1, 'resize');
    // @ts-expect-error: width must be a number
    void primary.call(1, 'resize', { width: '10' });
    // @ts-expect-error: `stats` takes no input
    void primary.call(1, 'stats', { any: 1 });
    // @ts-expect-error: unknown option
    void primary.call(1, 'stats', undefined, { timeot: 5 });
    // @ts-expect-error: the worker calls the primary's procedures by name
    void worker.call('stats');
  });

  it('gathers one typed settled result per worker', () => {
    expectTypeOf(primary.callAll('stats')).resolves.toEqualTypeOf<
      GatherResult<{ rss: number; uptime: number }>[]
    >();
    type Row = GatherResult<number>;
    expectTypeOf<Extract<Row, { ok: true }>['value']>().toEqualTypeOf<number>();
    expectTypeOf<Extract<Row, { ok: false }>['error']>().toEqualTypeOf<BusError>();
  });
});

describe('handlers', () => {
  it('receive the transformed input and the context, and must return the output type', () => {
    createWorkerBus(contract, {
      handlers: {
        parse: (length, ctx) => {
          expectTypeOf(length).toEqualTypeOf<number>();
          expectTypeOf(ctx).toEqualTypeOf<HandlerContext>();
          return length;
        },
        // @ts-expect-error: must return { rss, uptime }
        stats: () => ({ rss: 'lots' }),
      },
    });
    createPrimaryBus(contract, {
      handlers: {
        config: async ({ key }) => key,
        // @ts-expect-error: must return the literal 'pong'
        ping: () => 'ping',
      },
    });
  });
});

describe('events', () => {
  it('type payloads of listeners and senders', () => {
    worker.on('drain', (payload, meta) => {
      expectTypeOf(payload).toEqualTypeOf<{ reason: string }>();
      expectTypeOf(meta.from).toEqualTypeOf<'primary' | number>();
    });
    void primary.broadcast('drain', { reason: 'deploy' });
    // @ts-expect-error: reason must be a string
    void primary.broadcast('drain', { reason: 1 });
    // @ts-expect-error: no such event
    void primary.broadcast('drian', { reason: 'x' });
    primary.on('error', (error) => expectTypeOf(error).toEqualTypeOf<BusError>());
  });
});

describe('handler context', () => {
  it("types ctx.caller in the primary's handlers as a worker (only workers call the primary)", () => {
    createPrimaryBus(contract, {
      handlers: {
        // The README's quick start: `ctx.caller.id` with no narrowing.
        config: ({ key }, ctx) => {
          expectTypeOf(ctx.caller).toEqualTypeOf<WorkerCaller>();
          expectTypeOf(ctx.caller.id).toEqualTypeOf<number>();
          return `value of ${key} for worker ${ctx.caller.id}`;
        },
      },
    });
    void startCluster({
      contract,
      handlers: { config: ({ key }, ctx) => `${key}@${ctx.caller.id}` },
    });
  });

  it("keeps the union in a worker's handlers (the primary, or another worker through it)", () => {
    createWorkerBus(contract, {
      handlers: {
        stats: (_input, ctx) => {
          expectTypeOf(ctx.caller).toEqualTypeOf<Caller>();
          // @ts-expect-error: the primary has no id; narrow on ctx.caller.kind first
          void ctx.caller.id;
          const id = ctx.caller.kind === 'worker' ? ctx.caller.id : 0;
          return { rss: id, uptime: 0 };
        },
      },
    });
  });
});
