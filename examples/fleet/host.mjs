// One host of the fleet: a supervised cluster whose primary joins the fleet over NATS.
//   NATS_URL=127.0.0.1:4222 HOST=west DB_FILE=/tmp/db.json node examples/fleet/host.mjs
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCluster } from 'clusterbus';
import { contract } from './contract.mjs';

/** Starts this host; resolves with the cluster once its workers are ready and it joined the fleet. */
export function startHost({ host, servers, dbFile, size = 2 }) {
  return startCluster({
    contract,
    exec: fileURLToPath(new URL('./worker.mjs', import.meta.url)),
    size,
    env: { FLEET_HOST: host },
    handlers: {
      load: ({ key }) => JSON.parse(readFileSync(dbFile, 'utf8'))[key] ?? '(missing)',
    },
    fleet: { servers, host, app: 'cache-demo' },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cluster = await startHost({
    host: process.env.HOST ?? 'west',
    servers: process.env.NATS_URL ?? '127.0.0.1:4222',
    dbFile: process.env.DB_FILE,
  });
  // SIGTERM / Ctrl-C: leave the fleet gracefully (finish fleet calls), then drain the workers.
  console.log(`host ${cluster.fleet.host} ready with ${cluster.bus.readyWorkerIds().length} workers`);
}
