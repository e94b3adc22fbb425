// The contract every host of the fleet shares: a per-worker cache, its stats, and one event.
import { defineContract } from 'clusterbus';
import { z } from 'zod';

export const contract = defineContract({
  worker: {
    // Read a key through this worker's cache.
    get: {
      input: z.object({ key: z.string() }),
      output: z.object({ value: z.string(), cached: z.boolean() }),
    },
    // How this worker's cache is doing.
    cacheStats: {
      output: z.object({ host: z.string(), size: z.number(), hits: z.number(), misses: z.number() }),
    },
  },
  primary: {
    // The data source (here a JSON file every host reads; in real life, your database).
    load: { input: z.object({ key: z.string() }), output: z.string() },
  },
  events: {
    // Drop a key from every cache, on every host.
    invalidate: z.object({ key: z.string() }),
  },
});
