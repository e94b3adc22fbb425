/**
 * The one timer behind every pending call's timeout: entries expire in deadline order across
 * lanes, never before their deadline, settled ones never expire, and memory follows the live
 * entries even while one of them hangs for its whole timeout.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineQueue, type Expiring } from '../src/deadlines.js';

interface Item extends Expiring {
  name: string;
}

const queues: Array<DeadlineQueue<Item>> = [];
afterEach(() => {
  for (const queue of queues.splice(0)) queue.clear();
});

function setup() {
  const expired: Array<{ name: string; late: number }> = [];
  const queue = new DeadlineQueue<Item>((item) =>
    expired.push({ name: item.name, late: performance.now() - item.expiresAt }),
  );
  queues.push(queue);
  const add = (name: string, timeoutMs: number): Item => {
    const item: Item = { name, expiresAt: performance.now() + timeoutMs, done: false };
    queue.add(item, timeoutMs);
    return item;
  };
  return { queue, expired, add };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DeadlineQueue', () => {
  it('expires entries of different timeouts in deadline order, never early', async () => {
    const { expired, add } = setup();
    add('slow', 60);
    add('fast', 10);
    add('mid', 30);
    add('slow2', 60);
    await sleep(120);
    expect(expired.map((e) => e.name)).toEqual(['fast', 'mid', 'slow', 'slow2']);
    for (const { late } of expired) expect(late).toBeGreaterThanOrEqual(0);
  });

  it('never expires a settled entry, and marks expired ones done', async () => {
    const { queue, expired, add } = setup();
    const a = add('a', 10);
    const b = add('b', 10);
    queue.settle(a);
    await sleep(40);
    expect(expired.map((e) => e.name)).toEqual(['b']);
    expect(b.done).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('keeps memory to the live entries while an old one hangs', () => {
    const { queue, add } = setup();
    add('hanging', 60_000);
    for (let i = 0; i < 100_000; i++) queue.settle(add(`quick${i}`, 60_000));
    // Settled entries are swept once they outnumber the live ones (and reach 1024).
    expect(queue.size).toBeLessThan(2100);
  });

  it('lets an expiry handler add a new entry that expires in its turn', async () => {
    const expired: string[] = [];
    const queue: DeadlineQueue<Item> = new DeadlineQueue<Item>((item) => {
      expired.push(item.name);
      if (item.name === 'first')
        queue.add({ name: 'retry', expiresAt: performance.now() + 10, done: false }, 10);
    });
    queues.push(queue);
    queue.add({ name: 'first', expiresAt: performance.now() + 10, done: false }, 10);
    await sleep(60);
    expect(expired).toEqual(['first', 'retry']);
  });

  it('waits out a deadline past what one timer can (2^31-1 ms) without spinning', async () => {
    const { add, expired } = setup();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      // A peer may send any deadline (a relayed gather's); a timer past the maximum fires after
      // 1 ms, and re-arming it would loop.
      add('far', 2 ** 40);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
    expect(expired).toEqual([]);
  });

  it('clear drops everything without expiring it', async () => {
    const { queue, expired, add } = setup();
    add('a', 10);
    queue.clear();
    await sleep(30);
    expect(expired).toEqual([]);
    expect(queue.size).toBe(0);
  });

  it('never keeps a process alive on its own', () => {
    const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
    // A call pending for a minute over a link whose other end never answers; the process must
    // still exit as soon as its own work is done.
    const script = `
      const { createMemoryTransportPair, createPrimaryBus, defineContract } = await import(${JSON.stringify(dist)});
      const any = { '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) } };
      const pair = createMemoryTransportPair();
      const bus = createPrimaryBus(defineContract({ worker: { slow: { output: any } } }), { autoAttach: false });
      bus.attachTransport(1, pair.a);
      bus.call(1, 'slow', undefined, { timeout: 60_000 }).catch(() => {});
    `;
    const started = performance.now();
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
    expect(run.status, String(run.stderr)).toBe(0);
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
