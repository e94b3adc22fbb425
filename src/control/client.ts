/**
 * The client end of a control socket: connects to a running cluster by name and calls its
 * control procedures over a worker-side bus, typed and validated from the control contract.
 */
import { connect, type Socket } from 'node:net';
import { createWorkerBus, type WorkerBus } from '../bus/worker-bus.js';
import { socketTransport } from '../transports/socket.js';
import { type ControlContract, controlContract } from './contract.js';
import { controlHome, socketPath } from './paths.js';

/** Why a control socket could not be reached. */
export type ControlConnectCode = 'NOT_RUNNING' | 'STALE' | 'ACCESS' | 'CONNECT_FAILED';

/** The cluster could not be reached on its control socket. */
export class ControlConnectError extends Error {
  override name = 'ControlConnectError';
  readonly code: ControlConnectCode;
  constructor(code: ControlConnectCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Options of {@link connectControl}. */
export interface ConnectControlOptions {
  /** @default controlHome() */
  home?: string;
  /**
   * Default timeout of each control call, in ms (`0`: none).
   * @default 30000
   */
  timeout?: number;
}

/** A connection to one cluster's control socket. */
export interface ControlClient {
  /** The bus the calls go over: `client.bus.call('status')`. */
  readonly bus: WorkerBus<ControlContract>;
  /** The socket path it is connected to. */
  readonly path: string;
  /** Resolves when the connection is gone (the primary closed it, or exited). */
  readonly closed: Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects to the control socket of cluster `name`.
 * @throws ControlConnectError when no such cluster is running (`NOT_RUNNING`), its socket is stale
 * (`STALE`), or it cannot be opened (`ACCESS`, `CONNECT_FAILED`).
 */
export async function connectControl(
  name: string,
  options: ConnectControlOptions = {},
): Promise<ControlClient> {
  const home = options.home ?? controlHome();
  const path = socketPath(name, home);
  let socket: Socket;
  try {
    socket = await open(path);
  } catch (error) {
    throw connectError(error as NodeJS.ErrnoException, name, path, home);
  }
  return clientOver(socket, path, options.timeout ?? 30_000);
}

/**
 * Whether a primary answers on the socket at `path`: `live` with its pid when it does, `live`
 * without a pid when it accepts but does not answer in time, not live when nobody accepts.
 */
export async function probeControl(path: string, timeout = 2_000): Promise<{ live: boolean; pid?: number }> {
  let socket: Socket;
  try {
    socket = await open(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return { live: false };
    throw error;
  }
  const client = clientOver(socket, path, timeout);
  try {
    const info = await client.bus.call('info');
    return { live: true, pid: info.pid };
  } catch {
    return { live: true };
  } finally {
    await client.close();
  }
}

function clientOver(socket: Socket, path: string, timeout: number): ControlClient {
  socket.on('error', () => {}); // a reset reaches the calls as PEER_GONE
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const bus = createWorkerBus(controlContract, {
    transport: socketTransport(socket, { name: `the control socket ${path}` }),
    timeout,
    // A command is no cluster worker: Ctrl-C must stop it, and nothing may exit it on its behalf.
    ignoreSignals: false,
    exitAfterDrain: false,
  });
  return {
    bus,
    path,
    closed,
    async close() {
      await bus.close();
      socket.end();
      socket.destroySoon();
    },
  };
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function connectError(error: NodeJS.ErrnoException, name: string, path: string, home: string) {
  switch (error.code) {
    case 'ENOENT':
      return new ControlConnectError(
        'NOT_RUNNING',
        `no cluster named "${name}" is running (no control socket in ${home}); \`clusterbus ls\` lists the running ones`,
        { cause: error },
      );
    case 'ECONNREFUSED':
      return new ControlConnectError(
        'STALE',
        `no cluster named "${name}" is running: its control socket ${path} is left over from a primary that died`,
        { cause: error },
      );
    case 'EACCES':
    case 'EPERM':
      return new ControlConnectError(
        'ACCESS',
        `cannot open the control socket ${path}: permission denied (is it another user's cluster?)`,
        { cause: error },
      );
    default:
      return new ControlConnectError(
        'CONNECT_FAILED',
        `cannot connect to cluster "${name}" on ${path}: ${error.message}`,
        { cause: error },
      );
  }
}
