// Each worker caches what it read from the primary's store; `invalidate` events keep the caches honest.
import { createWorkerBus } from 'clusterbus';
import { contract } from './contract.mjs';

const cache = new Map();
const counters = { hits: 0, misses: 0, invalidations: 0 };

const bus = createWorkerBus(contract, {
  handlers: {
    get: async ({ key }) => {
      if (cache.has(key)) {
        counters.hits++;
        return { value: cache.get(key), cached: true };
      }
      counters.misses++;
      const value = await bus.call('load', { key });
      cache.set(key, value);
      return { value, cached: false };
    },
    cacheStats: () => ({ size: cache.size, ...counters }),
    write: async ({ key, value }) => {
      await bus.call('store', { key, value });
      cache.set(key, value);
      // Tell every other worker; this one already has the fresh value.
      await bus.broadcast('invalidate', { key });
    },
  },
});

bus.on('invalidate', ({ key }) => {
  if (cache.delete(key)) counters.invalidations++;
});

await bus.ready();
