// The demo cluster `npm start` runs: typed calls both ways, a broadcast, a gather, and typed errors.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { createPrimaryBus, isBusError } from 'clusterbus';
import { contract } from './contract.mjs';

const WORKERS = 2;
cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.mjs', import.meta.url)) });

const bus = createPrimaryBus(contract, {
  timeout: 5_000,
  handlers: {
    config: ({ key }, ctx) => {
      console.log(
        `  primary served "config" (${key}) to worker ${ctx.caller.kind === 'worker' ? ctx.caller.id : '?'}`,
      );
      return key === 'greeting' ? 'Hello' : 'teal';
    },
  },
});

console.log(`forking ${WORKERS} workers…`);
const workers = Array.from({ length: WORKERS }, () => cluster.fork());
await bus.waitForReady(WORKERS);
console.log(`ready: workers ${bus.readyWorkerIds().join(', ')}\n`);

console.log('1. primary → worker calls (each one calls back into the primary):');
for (const worker of workers) console.log(`  ${await bus.call(worker, 'greet', { name: 'Ada' })}`);

console.log('\n2. broadcast an event to every ready worker:');
const reached = await bus.broadcast('announce', { text: 'deploy at noon' });
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(`  written to workers ${reached.join(', ')}`);

console.log('\n3. gather stats from all workers (one settled result each):');
for (const result of await bus.callAll('stats', undefined, { timeout: 1_000 })) {
  console.log(`  worker ${result.id}: ${result.ok ? JSON.stringify(result.value) : result.error.code}`);
}

console.log('\n4. typed errors:');
for (const attempt of [
  () => bus.call(workers[0], 'greet', { name: '' }),
  () => bus.call(workers[0], 'explode'),
  () => bus.call(workers[0], 'greet', { name: 'Bob' }, { signal: AbortSignal.abort() }),
]) {
  try {
    await attempt();
  } catch (error) {
    if (!isBusError(error)) throw error;
    const remote = error.code === 'REMOTE' ? ` (remote ${error.remote.name}, code ${error.remote.code})` : '';
    console.log(`  ${error.code}: ${error.message}${remote}`);
  }
}

console.log('\n5. a worker dies with a call pending:');
const pending = bus.call(workers[1], 'nap', { ms: 10_000 });
setTimeout(() => workers[1].process.kill('SIGKILL'), 100);
const started = Date.now();
await pending.catch((error) =>
  console.log(`  ${error.code} after ${Date.now() - started} ms: ${error.message}`),
);

bus.close();
for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
console.log('\ndone.');
