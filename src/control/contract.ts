/**
 * The control contract: what a running cluster's primary serves on its control socket, and what
 * the `clusterbus` command calls. An ordinary clusterbus contract, validated at both ends like
 * every call; the primary serves it, each command connects as a client.
 *
 * Worker rows are loose objects: fields this version does not know (a newer primary's status
 * columns) pass through untouched, so `status --json` prints exactly what `cluster.status()` returned.
 */
import { z } from 'zod';
import { defineContract } from '../contract.js';

/**
 * One row of `cluster.status()`: a live worker, or a slot stopped by a crash loop (`state:
 * 'stopped'`, no id or pid).
 */
export const WorkerRow = z.looseObject({
  id: z.number().optional(),
  pid: z.number().optional(),
  slot: z.number(),
  state: z.string(),
  startedAt: z.number().optional(),
  restarts: z.number(),
  inFlight: z.number(),
  uptime: z.number().optional(),
  cpu: z.number().optional(),
  memory: z.object({ rss: z.number(), heapUsed: z.number().optional() }).optional(),
  eventLoopDelay: z.number().optional(),
});

/** What `ls` shows of one cluster. */
export const ClusterInfo = z.looseObject({
  name: z.string(),
  /** The primary's pid. */
  pid: z.number(),
  /** The worker script. */
  script: z.string(),
  cwd: z.string(),
  /** Slots the cluster keeps filled. */
  size: z.number(),
  /** Workers serving right now. */
  ready: z.number(),
  /** Workers alive (any state). */
  workers: z.number(),
  state: z.enum(['starting', 'running', 'reloading', 'stopping']),
  /** When the primary started (ms since epoch). */
  startedAt: z.number(),
  /** The clusterbus version of the primary. */
  version: z.string(),
  node: z.string(),
});

const Replaced = z.object({
  slot: z.number(),
  oldId: z.number().optional(),
  oldPid: z.number().optional(),
  newId: z.number(),
  newPid: z.number().optional(),
  ms: z.number(),
});

/** The control procedures. */
export const controlContract = defineContract({
  primary: {
    info: { output: ClusterInfo },
    status: { output: z.array(WorkerRow) },
    /** A rolling reload; fails with a `ReloadError` (code `RELOAD_FAILED`, `data.replaced`) when aborted. */
    reload: {
      output: z.object({ replaced: z.array(Replaced), killed: z.array(z.number()), durationMs: z.number() }),
    },
    scale: {
      input: z.object({ size: z.number().int().min(1).max(4096) }),
      output: z.object({
        previous: z.number(),
        size: z.number(),
        started: z.array(z.number()),
        stopped: z.array(z.number()),
        durationMs: z.number(),
      }),
    },
    /** Graceful shutdown; answers once every worker is gone, then the primary exits. */
    stop: {
      input: z.object({ timeout: z.number().min(0).optional() }).optional(),
      output: z.object({
        graceful: z.boolean(),
        drained: z.array(z.number()),
        killed: z.array(z.number()),
        durationMs: z.number(),
      }),
    },
  },
});

/** The control contract's type. */
export type ControlContract = typeof controlContract;
/** One worker row. */
export type WorkerRow = z.infer<typeof WorkerRow>;
/** What `info` returns. */
export type ClusterInfo = z.infer<typeof ClusterInfo>;
/** A slot a reload replaced. */
export type ReplacedRow = z.infer<typeof Replaced>;
