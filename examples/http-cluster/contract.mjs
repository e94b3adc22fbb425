// The contract the primary and its workers share: every worker serves `stats`, the primary
// serves `clusterStats` (which gathers `stats` from every worker).

import { defineContract } from 'clusterbus';
import { z } from 'zod';

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
