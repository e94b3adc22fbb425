import { describe, expect, it } from 'vitest';
import { createPrimaryBus } from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { forkReady, useWorkerCleanup } from '../helpers/cluster.js';

useWorkerCleanup();

describe('smoke', () => {
  it('calls a real worker', async () => {
    const bus = createPrimaryBus(contract, { handlers: { config: ({ key }) => `v:${key}` } });
    try {
      const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
      const stats = await bus.call(worker!, 'stats');
      expect(stats.pid).toBe(worker!.process.pid);
      expect(await bus.call(worker!, 'askPrimary', { key: 'port' })).toBe('v:port');
    } finally {
      bus.close();
    }
  });
});
