/** Primary side of one cluster worker: its child process's `send` out and 'message' in, and the worker's life. */
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
        worker.process.send(message, undefined, undefined, done);
      },
      listen: (onMessage, onClose) => {
        const onDisconnect = () => onClose('disconnected');
        const onExit = (code: number | null, signal: string | null) =>
          onClose(`exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
        // Our own listener keeps an IPC error from being an unhandled 'error' event; the failing
        // send still rejects through its callback.
        const onError = () => {};
        // The child process's own event: the cluster worker only re-emits it, one hop later.
        worker.process.on('message', onMessage);
        worker.on('disconnect', onDisconnect);
        worker.on('exit', onExit);
        worker.on('error', onError);
        return () => {
          worker.process.off('message', onMessage);
          worker.off('disconnect', onDisconnect);
          worker.off('exit', onExit);
          worker.off('error', onError);
        };
      },
    },
    options,
  );
}
