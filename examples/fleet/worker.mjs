// A worker with a small cache in front of the data source its primary serves.
import { createWorkerBus } from 'clusterbus';
import { contract } from './contract.mjs';

const cache = new Map();
let hits = 0;
let misses = 0;

const bus = createWorkerBus(contract, {
  handlers: {
    get: async ({ key }) => {
      if (cache.has(key)) {
        hits++;
        return { value: cache.get(key), cached: true };
      }
      misses++;
      const value = await bus.call('load', { key });
      cache.set(key, value);
      return { value, cached: false };
    },
    cacheStats: () => ({ host: process.env.FLEET_HOST ?? '?', size: cache.size, hits, misses }),
  },
});

// Fleet broadcasts arrive like any other event.
bus.on('invalidate', ({ key }) => cache.delete(key));
bus.ready();
