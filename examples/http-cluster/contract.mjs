// The contract the primary and its workers share: every worker serves `stats`, the primary
// serves `clusterStats` (which gathers `stats` from every worker).
import { z } from 'zod';
import { defineContract } from 'clusterbus';

const WorkerStats = z.object({
  pid: z.number(),
  requests: z.number(),
  uptimeMs: z.number(),
  rssBytes: z.number(),
});

export const contract = defineContract({
  worker: {
    stats: { output: WorkerStats },
  },
  primary: {
    clusterStats: {
      output: z.array(
        z.object({
          id: z.number(),
          ok: z.boolean(),
          stats: WorkerStats.optional(),
          error: z.string().optional(),
        }),
      ),
    },
  },
});
