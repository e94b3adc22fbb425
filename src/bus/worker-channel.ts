/**
 * Which channel a worker bus talks to its primary over, and the claim that keeps it to one bus per
 * process on the process's own IPC channel. Its own module because the choice depends on who runs
 * the process (`worker-parent.ts`), and the claim must outlive any one copy of the library.
 */
import { createMemoryTransportPair } from '../transports/memory.js';
import { processTransport } from '../transports/process.js';
import type { Transport, TransportOptions } from '../transports/transport.js';
import { detectParent, type WorkerParent } from './worker-parent.js';

/** A worker bus's channel to its primary. */
export interface WorkerChannel {
  /** Who runs this process; `clusterbus` for a custom transport (its other end is a bus). */
  parent: WorkerParent;
  /** The channel itself. */
  transport: Transport;
  /** Gives up the claim on the process's IPC channel (a no-op when the bus did not take it). */
  release(): void;
}

/**
 * The custom `transport` when given; else the process's IPC channel, claimed for this bus; else
 * (no IPC channel) a channel to nowhere, which keeps the bus's shape while it runs standalone.
 * @throws TypeError when another bus that is not closed holds the process's IPC channel.
 */
export function openWorkerChannel(
  options: TransportOptions & { transport?: Transport | undefined },
): WorkerChannel {
  if (options.transport) return { parent: 'clusterbus', transport: options.transport, release: () => {} };
  const parent = detectParent();
  if (parent === 'none') {
    // Nobody on the other end: a channel to nowhere keeps the bus's shape; it goes standalone.
    return { parent, transport: createMemoryTransportPair().a, release: () => {} };
  }
  // Claimed first: a refused second bus must not leave listeners on the channel.
  const release = claimProcessChannel();
  try {
    return { parent, transport: processTransport({ maxPendingSends: options.maxPendingSends }), release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Which bus listens on this process's own IPC channel. On `globalThis` under a registered symbol,
 * so two copies of the library in one process (its CommonJS and ES builds) see the same claim.
 */
const PROCESS_CHANNEL_CLAIM = Symbol.for('clusterbus.processChannelBus');

/**
 * Claims the process's IPC channel for one worker bus; returns the release. A second bus would
 * get every message too, but the primary answers only one hello per worker: the second bus's
 * handlers would never be reached, silently.
 * @throws TypeError when a bus that is not closed already holds it.
 */
function claimProcessChannel(): () => void {
  const holder = globalThis as { [PROCESS_CHANNEL_CLAIM]?: object };
  if (holder[PROCESS_CHANNEL_CLAIM]) {
    throw new TypeError(
      'createWorkerBus(): this process already has a worker bus on its IPC channel, and the primary talks to one ' +
        "bus per worker: a second bus's handlers would never be called. Create the bus once (in its own module) " +
        'and import it where you need it, or close() the first bus before creating another',
    );
  }
  const claim = {};
  holder[PROCESS_CHANNEL_CLAIM] = claim;
  return () => {
    if (holder[PROCESS_CHANNEL_CLAIM] === claim) delete holder[PROCESS_CHANNEL_CLAIM];
  };
}
