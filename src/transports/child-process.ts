/** Parent side of a `child_process.fork()` child: `child.send` out, `child.on('message')` in. */
import type { ChildProcess } from 'node:child_process';
import { createTransport } from './channel.js';
import type { ChannelOptions, Transport } from './transport.js';

/**
 * A transport over a forked child's IPC channel.
 * @throws TypeError when the child was spawned without an IPC channel.
 */
export function childProcessTransport(child: ChildProcess, options?: ChannelOptions): Transport {
  if (typeof child.send !== 'function') {
    throw new TypeError(
      `childProcessTransport(child): child ${child.pid} has no IPC channel; start it with child_process.fork() or stdio 'ipc'`,
    );
  }
  return createTransport(
    {
      name: `child process ${child.pid}`,
      isOpen: () => child.connected,
      write: (message, done) => {
        child.send(message, undefined, undefined, done);
      },
      listen: (onMessage, onClose) => {
        const onDisconnect = () => onClose('disconnected');
        const onExit = (code: number | null, signal: string | null) =>
          onClose(`exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
        const onError = () => {};
        child.on('message', onMessage);
        child.on('disconnect', onDisconnect);
        child.on('exit', onExit);
        child.on('error', onError);
        return () => {
          child.off('message', onMessage);
          child.off('disconnect', onDisconnect);
          child.off('exit', onExit);
          child.off('error', onError);
        };
      },
    },
    options,
  );
}
