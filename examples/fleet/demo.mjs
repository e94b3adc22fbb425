// Two hosts on one machine: this process is host "east", and it starts host "west" as a second
// process. Both keep worker caches; east invalidates a key fleet-wide and gathers stats from all.
//   nats-server -a 127.0.0.1 -p 4222 &   then   NATS_URL=127.0.0.1:4222 node examples/fleet/demo.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startHost } from './host.mjs';

const servers = process.env.NATS_URL ?? '127.0.0.1:4222';
const dir = mkdtempSync(join(tmpdir(), 'clusterbus-fleet-demo-'));
const dbFile = join(dir, 'db.json');
writeFileSync(dbFile, JSON.stringify({ 'user:1': 'Ada', 'user:2': 'Grace' }));

const west = spawn(process.execPath, [fileURLToPath(new URL('./host.mjs', import.meta.url))], {
  env: { ...process.env, HOST: 'west', NATS_URL: servers, DB_FILE: dbFile },
  stdio: ['ignore', 'pipe', 'inherit'],
});
for await (const line of createInterface({ input: west.stdout }))
  if (line.startsWith('host west ready')) break;

const east = await startHost({ host: 'east', servers, dbFile });
const hosts = await east.fleet.waitForHosts(2, { timeout: 10_000 });
console.log(`fleet: ${hosts.map((h) => `${h.host} (${h.workers} workers)`).join(', ')}`);

const readEverywhere = async (key) => {
  const rows = await east.fleet.callAll('get', { key }, { timeout: 2_000 });
  return rows
    .filter((row) => row.ok)
    .map((row) => `${row.host}/${row.id}: ${row.value.value}${row.value.cached ? ' (cached)' : ''}`)
    .join(' | ');
};

console.log(`read user:1  → ${await readEverywhere('user:1')}`);
console.log(`read user:1  → ${await readEverywhere('user:1')}`);

// The data changes; one broadcast drops the stale entry from every worker of every host.
writeFileSync(dbFile, JSON.stringify({ 'user:1': 'Ada Lovelace', 'user:2': 'Grace' }));
const reached = await east.fleet.broadcast('invalidate', { key: 'user:1' });
console.log(`invalidated user:1 on hosts ${reached.join(', ')}`);
// NATS delivers it to west asynchronously: wait until no worker serves the stale value.
for (let i = 0; i < 100 && (await readEverywhere('user:1')).includes(': Ada (cached)'); i++) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
console.log(`read user:1  → ${await readEverywhere('user:1')}`);

// One worker of one particular host, by address.
const one = await east.fleet.call({ host: 'west', id: 1 }, 'get', { key: 'user:2' });
console.log(`west/1 user:2 → ${one.value}`);

console.log('cache stats from every worker of every host:');
for (const row of await east.fleet.callAll('cacheStats', undefined, { timeout: 2_000 })) {
  console.log(`  ${row.host}/${row.id}: ${row.ok ? JSON.stringify(row.value) : row.error.code}`);
}

west.kill('SIGTERM'); // west leaves the fleet gracefully and drains its workers
await new Promise((resolve) => west.once('exit', resolve));
await east.shutdown();
rmSync(dir, { recursive: true, force: true });
console.log('done.');
