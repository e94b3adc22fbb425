// A pool worker: serves `hash`, then tells the primary it is ready for tasks.
import { scryptSync } from 'node:crypto';
import { createWorkerBus } from 'clusterbus';
import { contract } from './contract.mjs';

const bus = createWorkerBus(contract, {
  handlers: {
    hash: ({ password, cost }) =>
      scryptSync(password, 'clusterbus-example-salt', 32, { N: cost, maxmem: 256 * cost * 8 * 2 }).toString(
        'hex',
      ),
  },
});
await bus.ready();
