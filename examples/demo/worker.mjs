// A worker: serves `stats`, `greet` and `explode`, asks the primary for config, listens for events.
import { createWorkerBus } from 'clusterbus';
import { contract } from './contract.mjs';

const startedAt = Date.now();
let served = 0;

const bus = createWorkerBus(contract, {
  handlers: {
    stats: () => ({ pid: process.pid, served, uptimeMs: Date.now() - startedAt }),
    greet: async ({ name }) => {
      served++;
      // A call in the other direction, from inside a handler: worker → primary.
      const greeting = await bus.call('config', { key: 'greeting' });
      return `${greeting}, ${name}! (from worker ${bus.id}, pid ${process.pid})`;
    },
    nap: ({ ms }) => new Promise((resolve) => setTimeout(() => resolve(`slept ${ms} ms`), ms)),
    explode: () => {
      const error = new Error('the flux capacitor is out of flux');
      error.code = 'E_FLUX';
      throw error;
    },
  },
});

bus.on('announce', ({ text }, { from }) => {
  console.log(`  worker ${bus.id} got "announce" from ${from}: ${text}`);
});

await bus.ready();
