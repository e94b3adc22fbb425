/** Joins the fleet: loads the NATS client, connects, and creates this host's {@link Fleet}. */
import type { Contract } from '../contract.js';
import { PeerGoneError } from '../errors.js';
import { loadNats } from '../transports/nats.js';
import { Fleet, type FleetMember } from './fleet.js';
import type { ResolvedFleetOptions } from './options.js';

/**
 * Connects this host to the fleet's NATS servers and starts heartbeats.
 * @throws TypeError when the NATS client is not installed; PEER_GONE when no server answers.
 */
export async function startFleet<C extends Contract>(
  member: FleetMember<C>,
  options: ResolvedFleetOptions,
): Promise<Fleet<C>> {
  const nats = await loadNats();
  let nc: Awaited<ReturnType<typeof nats.connect>>;
  try {
    nc = await nats.connect(options.client);
  } catch (error) {
    throw new PeerGoneError(
      `startCluster({ fleet }): cannot connect host ${options.host} to NATS at ${String(options.client.servers)} (${(error as Error).message}); is nats-server running there?`,
      { cause: error },
    );
  }
  const fleet = new Fleet(member, options, nc);
  // Subscriptions are in place on the server before anyone is told this host is up.
  await nc.flush();
  return fleet;
}
