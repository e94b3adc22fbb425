// One HTTP worker. `/stats` asks the primary, which gathers stats from every worker over the bus.
import { createServer } from 'node:http';
import { createWorkerBus, drainHttp, trackHttp } from 'clusterbus';
import { contract } from './contract.mjs';

let requests = 0;
const bus = createWorkerBus(contract, {
  handlers: {
    stats: () => ({
      pid: process.pid,
      requests,
      uptimeMs: Math.round(process.uptime() * 1000),
      rssBytes: process.memoryUsage().rss,
    }),
  },
});

const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
};

const server = createServer(async (req, res) => {
  requests++;
  try {
    if (req.url === '/stats')
      send(res, 200, { workers: await bus.call('clusterStats', undefined, { timeout: 2_000 }) });
    else send(res, 200, { hello: 'world', pid: process.pid });
  } catch (error) {
    send(res, 503, { error: error.message });
  }
});
// Track sockets from the start so a drain knows every keep-alive connection.
trackHttp(server);
// On reload or shutdown: stop accepting, finish in-flight requests, close keep-alive sockets gently.
bus.onShutdown(() => drainHttp(server, { timeout: 8_000 }));

server.listen(Number(process.env.PORT ?? 3000), () => {
  // Only now does the supervisor count this worker as serving (and drain the one it replaces).
  bus.ready();
});
