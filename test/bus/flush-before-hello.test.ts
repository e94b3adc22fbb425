/**
 * `flush()` before a process exits covers what is still held for the other end's hello: a worker
 * that emits and exits at once (a short job) must not lose the event.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { forkFixture, useWorkerCleanup } from '../helpers/cluster.js';

useWorkerCleanup();
let bus: PrimaryBus<TestContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

describe('flush before the hello', () => {
  it('waits for the held event to be written, so a worker that exits at once loses nothing', async () => {
    bus = createPrimaryBus(contract);
    const notes: string[] = [];
    bus.on('note', ({ text }) => notes.push(text));
    const runs = 3;
    for (let i = 0; i < runs; i++) {
      const worker = forkFixture('emit-exit-worker.ts');
      const [code] = await once(worker, 'exit');
      expect(code).toBe(0);
    }
    // Each note was written before its worker exited; the last may still be in this end's read.
    await expect.poll(() => notes.length, { timeout: 5_000 }).toBe(runs);
    expect(notes.every((text) => text.startsWith('bye from '))).toBe(true);
  });
});
