// An HTTP server on every core: reload with `kill -HUP <pid>`, stop with Ctrl-C.
// Run `npm run build` first; it imports the built package (`clusterbus` resolves to dist/ through the package's exports).
import { availableParallelism } from 'node:os';
import { startCluster } from 'clusterbus';
import { contract } from './contract.mjs';

const port = Number(process.env.PORT ?? 3000);
const log = (message) => console.log(`[primary ${process.pid}] ${message}`);

/** @type {import('clusterbus').Supervisor<typeof contract> | undefined} */
let cluster;
cluster = await startCluster({
  contract,
  exec: new URL('./worker.mjs', import.meta.url),
  size: Number(process.env.WORKERS ?? availableParallelism()),
  env: { PORT: String(port) },
  handlers: {
    // A worker asks; the primary gathers from every ready worker, partial results at the deadline.
    clusterStats: async () => {
      if (!cluster) return [];
      const rows = await cluster.bus.callAll('stats', undefined, { timeout: 1_000 });
      return rows.map((row) =>
        row.ok
          ? { id: row.id, ok: true, stats: row.value }
          : { id: row.id, ok: false, error: row.error.message },
      );
    },
  },
});

const pids = () =>
  cluster
    .status()
    .map((row) => row.pid)
    .join(', ');
cluster.on('workerExit', ({ id, pid, code, signal, planned }) => {
  if (!planned) log(`worker ${id} (pid ${pid}) died (${signal ?? `code ${code}`}); respawning`);
});
cluster.on('crashLoop', ({ slot }) =>
  log(`slot ${slot} keeps crashing; no more respawns until the next reload`),
);
cluster.on('reloadStart', () => log('reloading…'));
cluster.on('reloadDone', ({ durationMs }) => log(`reloaded in ${durationMs} ms; workers: ${pids()}`));
cluster.on('reloadFailed', (error) => log(`reload failed, old workers keep serving: ${error.message}`));
cluster.on('shutdownStart', ({ reason }) => log(`shutting down (${reason})…`));
cluster.on('shutdownDone', ({ graceful, durationMs }) =>
  log(`stopped in ${durationMs} ms (${graceful ? 'every worker drained' : 'some workers were killed'})`),
);

log(`${cluster.size} workers listening on http://localhost:${port} (pids ${pids()})`);
log(`try: curl localhost:${port}/stats · reload: kill -HUP ${process.pid} · stop: Ctrl-C`);
