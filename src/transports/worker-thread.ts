/** `worker_threads`: a `Worker` (parent side), `parentPort` (thread side) or any `MessagePort`. */
import type { MessagePort, Worker } from 'node:worker_threads';
import { createTransport } from './channel.js';
import type { ChannelOptions, Transport } from './transport.js';

/** A transport over a `worker_threads` `Worker`, a `MessagePort`, or `parentPort`. */
export function workerThreadTransport(port: Worker | MessagePort, options?: ChannelOptions): Transport {
  if (port === null || typeof port !== 'object' || typeof (port as MessagePort).postMessage !== 'function') {
    throw new TypeError(
      'workerThreadTransport(port): expected a worker_threads Worker, MessagePort or parentPort',
    );
  }
  const isWorker = 'threadId' in port && 'terminate' in port;
  let open = true;
  return createTransport(
    {
      name: isWorker ? `worker thread ${(port as Worker).threadId}` : 'the message port',
      isOpen: () => open,
      write: (message, done) => {
        // postMessage copies synchronously (and throws DataCloneError synchronously), so "written" is now.
        port.postMessage(message);
        done();
      },
      listen: (onMessage, onClose) => {
        const closeWith = (reason: string) => {
          open = false;
          onClose(reason);
        };
        const onEnd = isWorker
          ? (code: number) => closeWith(`exited with code ${code}`)
          : () => closeWith('closed');
        const endEvent = isWorker ? 'exit' : 'close';
        port.on('message', onMessage);
        port.on(endEvent, onEnd);
        return () => {
          port.off('message', onMessage);
          port.off(endEvent, onEnd);
        };
      },
    },
    options,
  );
}
