// The one contract both sides import: procedures served by workers, by the primary, and events.
import { defineContract } from 'clusterbus';
import { z } from 'zod';

export const contract = defineContract({
  worker: {
    stats: { output: z.object({ pid: z.number(), served: z.number(), uptimeMs: z.number() }) },
    greet: { input: z.object({ name: z.string().min(1) }), output: z.string() },
    explode: { output: z.void() },
    nap: { input: z.object({ ms: z.number() }), output: z.string() },
  },
  primary: {
    config: { input: z.object({ key: z.enum(['greeting', 'color']) }), output: z.string() },
  },
  events: {
    announce: z.object({ text: z.string() }),
  },
});
