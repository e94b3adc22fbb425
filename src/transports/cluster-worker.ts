/** Primary side of one cluster worker: `worker.send` out, `worker.on('message')` in. */
import type { Worker } from 'node:cluster';
import { createTransport } from './channel.js';
import type { ChannelOptions, Transport } from './transport.js';

/** A transport over a `cluster.Worker`, for the primary. */
export function clusterWorkerTransport(worker: Worker, options?: ChannelOptions): Transport {
  return createTransport(
    {
      name: `worker ${worker.id}`,
      isOpen: () => worker.isConnected() && !worker.isDead(),
      write: (message, done) => {
        // Always pass a callback: without one a failed send becomes an 'error' event that can
        // crash the primary (ERR_IPC_CHANNEL_CLOSED after the worker died).
        worker.send(message, undefined, done);
      },
      listen: (onMessage, onClose) => {
        const onDisconnect = () => onClose('disconnected');
        const onExit = (code: number | null, signal: string | null) =>
          onClose(`exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
        // Our own listener keeps an IPC error from being an unhandled 'error' event; the failing
        // send still rejects through its callback.
        const onError = () => {};
        worker.on('message', onMessage);
        worker.on('disconnect', onDisconnect);
        worker.on('exit', onExit);
        worker.on('error', onError);
        return () => {
          worker.off('message', onMessage);
          worker.off('disconnect', onDisconnect);
          worker.off('exit', onExit);
          worker.off('error', onError);
        };
      },
    },
    options,
  );
}
