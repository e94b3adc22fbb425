// The contract both sides import: one CPU-bound procedure.

import { defineContract } from 'clusterbus';
import { z } from 'zod';

export const contract = defineContract({
  worker: {
    /** Hashes a password with scrypt (synchronously: the work stays on this worker's one JS thread). */
    hash: {
      input: z.object({ password: z.string(), cost: z.number().int().min(2) }),
      output: z.string(),
    },
  },
});
