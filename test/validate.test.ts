/**
 * Schema failures are VALIDATION, always: a schema that throws, rejects, overflows the stack or
 * returns nonsense becomes a VALIDATION error naming the method, the side and the cause, on the
 * caller's side and on the receiving side (which still replies).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type BusError,
  createMemoryTransportPair,
  createPrimaryBus,
  createWorkerBus,
  defineContract,
  isBusError,
} from '../src/index.js';
import type { StandardSchemaV1 } from '../src/standard-schema.js';
import { validate } from '../src/validate.js';
import { until } from './helpers/memory.js';

type Tree = { child?: Tree };
const Tree: z.ZodType<Tree> = z.lazy(() => z.object({ child: Tree.optional() }));
function deepTree(depth: number): Tree {
  let tree: Tree = {};
  for (let i = 0; i < depth; i++) tree = { child: tree };
  return tree;
}

/** A hand-made Standard Schema whose validate does what `behave` says. */
function schemaThat(behave: () => unknown): StandardSchemaV1 {
  return { '~standard': { version: 1, vendor: 'test', validate: behave as never } };
}

const buggyRefine = z.string().refine(() => {
  throw new Error('buggy refine');
});

const site = { what: 'input', subject: 'call "check"', side: 'on the test before sending' } as const;

async function outcome(run: () => unknown): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    return error;
  }
}

describe('validate()', () => {
  const cases: Array<[string, StandardSchemaV1, unknown, string]> = [
    [
      'throws synchronously',
      schemaThat(() => {
        throw new TypeError('sync bug');
      }),
      'x',
      'sync bug',
    ],
    ['rejects', schemaThat(() => Promise.reject(new Error('async bug'))), 'x', 'async bug'],
    ['is a zod refine that throws (zod turns it into a rejection)', buggyRefine, 'x', 'buggy refine'],
    ['overflows the stack (z.lazy on a 2000-deep value)', Tree, deepTree(2000), 'Maximum call stack'],
    ['returns no result at all', schemaThat(() => undefined), 'x', 'no result'],
    ['rejects with a non-error', schemaThat(() => Promise.reject({ toString: 1 })), 'x', 'schema threw'],
  ];
  it.each(cases)(
    'a schema that %s fails with VALIDATION naming the call, side and cause',
    async (_, schema, value, cause) => {
      const error = (await outcome(() => validate(schema, value, site))) as BusError;
      expect(isBusError(error)).toBe(true);
      expect(error.code).toBe('VALIDATION');
      expect(error.message).toContain('call "check"');
      expect(error.message).toContain('on the test before sending');
      expect(error.message).toContain(cause);
    },
  );
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

/**
 * A primary and a worker that disagree on one schema: `strict` is the buggy one on that side, a
 * plain one on the other, so the failure happens exactly where the test wants it.
 */
function link(primarySchemas: 'buggy' | 'plain', workerSchemas: 'buggy' | 'plain') {
  const make = (kind: 'buggy' | 'plain') =>
    defineContract({
      worker: {
        check: { input: kind === 'buggy' ? buggyRefine : z.string(), output: z.string() },
        deep: { input: kind === 'buggy' ? Tree : z.unknown(), output: z.string() },
        answer: { output: kind === 'buggy' ? buggyRefine : z.string() },
      },
    });
  const primary = createPrimaryBus(make(primarySchemas), { autoAttach: false });
  const pair = createMemoryTransportPair({ serialization: 'json' });
  primary.attachTransport(1, pair.a);
  const handled: string[] = [];
  const worker = createWorkerBus(make(workerSchemas), {
    transport: pair.b,
    handlers: {
      check: (text) => {
        handled.push('check');
        return text;
      },
      deep: () => {
        handled.push('deep');
        return 'ok';
      },
      answer: () => {
        handled.push('answer');
        return 'fine';
      },
    },
  });
  cleanups.push(async () => {
    primary.close();
    await worker.close();
    pair.close();
  });
  return { primary, worker, handled };
}

describe('over a link', () => {
  it('the caller: input that its schema throws on is VALIDATION, nothing is sent', async () => {
    const { primary, handled } = link('buggy', 'plain');
    await expect(primary.call(1, 'check', 'x')).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/call "check".*on the primary before sending.*buggy refine/),
    });
    expect(handled).toEqual([]);
  });

  it('the receiver: input its schema throws on gets a VALIDATION reply naming its side', async () => {
    const { primary, handled } = link('plain', 'buggy');
    await expect(primary.call(1, 'check', 'x')).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/call "check".*on worker 1 on receipt.*buggy refine/),
    });
    expect(handled).toEqual([]);
  });

  it('the receiver: a 2000-deep value that overflows its recursive schema gets a VALIDATION reply', async () => {
    const { primary, handled } = link('plain', 'buggy');
    await expect(primary.call(1, 'deep', deepTree(2000))).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/call "deep".*on worker 1 on receipt.*Maximum call stack/),
    });
    expect(handled).toEqual([]);
  });

  it('the receiver: output its schema throws on gets a VALIDATION reply', async () => {
    const { primary, handled } = link('plain', 'buggy');
    await expect(primary.call(1, 'answer')).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/call "answer".*on worker 1 before replying.*buggy refine/),
    });
    await until(() => handled.length === 1);
  });

  it('the caller: a reply its output schema throws on is VALIDATION on receipt', async () => {
    const { primary, handled } = link('buggy', 'plain');
    await expect(primary.call(1, 'answer')).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/call "answer".*on the primary on receipt from worker 1.*buggy refine/),
    });
    expect(handled).toEqual(['answer']);
  });
});

describe('event schemas', () => {
  it('an incoming event whose schema throws is dropped and reported as VALIDATION with the cause', async () => {
    const make = (kind: 'buggy' | 'plain') =>
      defineContract({
        events: { note: kind === 'buggy' ? z.object({ text: buggyRefine }) : z.object({ text: z.string() }) },
      });
    const primary = createPrimaryBus(make('plain'), { autoAttach: false });
    const pair = createMemoryTransportPair({ serialization: 'json' });
    primary.attachTransport(1, pair.a);
    const worker = createWorkerBus(make('buggy'), { transport: pair.b });
    cleanups.push(async () => {
      primary.close();
      await worker.close();
      pair.close();
    });
    const errors: BusError[] = [];
    const seen: unknown[] = [];
    worker.on('error', (error) => errors.push(error));
    worker.on('note', (payload) => seen.push(payload));
    await worker.ready();
    await until(() => primary.readyWorkerIds().length === 1);
    await primary.broadcast('note', { text: 'x' });
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/event "note" from the primary.*on receipt \(dropped\).*buggy refine/),
    });
    expect(seen).toEqual([]);
  });
});
