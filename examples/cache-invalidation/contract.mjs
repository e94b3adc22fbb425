import { defineContract } from 'clusterbus';
import { z } from 'zod';

export const contract = defineContract({
  worker: {
    // Reads through the worker's local cache (fills it on a miss).
    get: {
      input: z.object({ key: z.string() }),
      output: z.object({ value: z.string(), cached: z.boolean() }),
    },
    cacheStats: {
      output: z.object({ size: z.number(), hits: z.number(), misses: z.number(), invalidations: z.number() }),
    },
    // Asks this worker to write a key, which it announces to its peers by broadcast.
    write: { input: z.object({ key: z.string(), value: z.string() }), output: z.void() },
  },
  primary: {
    // The "database" every worker reads through.
    load: { input: z.object({ key: z.string() }), output: z.string() },
    store: { input: z.object({ key: z.string(), value: z.string() }), output: z.void() },
  },
  events: {
    invalidate: z.object({ key: z.string() }),
  },
});
