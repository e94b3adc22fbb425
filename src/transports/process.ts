/** Child side: `process.send` out, `process.on('message')` in. Works in cluster workers and `child_process.fork` children. */
import { createTransport } from './channel.js';
import type { ChannelOptions, Transport } from './transport.js';

/**
 * A transport over this process's IPC channel.
 * @throws TypeError when the process has no IPC channel (it was not forked).
 */
export function processTransport(options?: ChannelOptions): Transport {
  if (typeof process.send !== 'function') {
    throw new TypeError(
      'processTransport(): this process has no IPC channel; run it with cluster.fork() or child_process.fork()',
    );
  }
  return createTransport(
    {
      name: 'the parent process',
      isOpen: () => process.connected,
      write: (message, done) => {
        process.send!(message, undefined, undefined, done);
      },
      listen: (onMessage, onClose) => {
        const onDisconnect = () => onClose('the parent disconnected');
        process.on('message', onMessage);
        process.on('disconnect', onDisconnect);
        return () => {
          process.off('message', onMessage);
          process.off('disconnect', onDisconnect);
        };
      },
    },
    options,
  );
}
