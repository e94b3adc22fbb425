/**
 * The control socket of a running primary: a Unix domain socket named after the cluster, where
 * each connection is one more link of a primary bus serving the control contract. Claiming the
 * socket is how a name is taken: a second primary with a live name is refused, and the socket a
 * killed primary left behind (nobody accepts on it) is detected and replaced.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createPrimaryBus, type PrimaryBus, type PrimaryHandlers } from '../bus/primary-bus.js';
import type { BusError } from '../errors.js';
import { socketTransport } from '../transports/socket.js';
import { probeControl } from './client.js';
import { type ControlContract, controlContract } from './contract.js';
import { controlHome, ensureControlHome, socketPath } from './paths.js';

/** Options of {@link ControlServer.listen}. */
export interface ControlServerOptions {
  /** The cluster's name: the socket is `<home>/<name>.sock`. */
  name: string;
  /**
   * The control directory.
   * @default controlHome() ($CLUSTERBUS_HOME, $XDG_RUNTIME_DIR/clusterbus, or <tmpdir>/clusterbus-<uid>)
   */
  home?: string;
  /** The control procedures. */
  handlers: PrimaryHandlers<ControlContract>;
  /** Malformed traffic from a client (dropped); a process warning when omitted. */
  onError?: (error: BusError) => void;
  /**
   * Clients connected at once; more are refused at accept.
   * @default 64
   */
  maxConnections?: number;
}

/** A second primary tried to take a name that is already running. */
export class ClusterRunningError extends Error {
  override name = 'ClusterRunningError';
  readonly code = 'CLUSTER_RUNNING';
}

/** How long a shutting-down server waits for control calls still running (a `stop`'s own reply). */
const CLOSE_GRACE_MS = 5_000;

/** A listening control socket. Create with {@link ControlServer.listen}. */
export class ControlServer {
  readonly #server: Server;
  readonly #bus: PrimaryBus<ControlContract>;
  readonly #sockets = new Set<Socket>();
  readonly #path: string;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, bus: PrimaryBus<ControlContract>, path: string) {
    this.#server = server;
    this.#bus = bus;
    this.#path = path;
  }

  /**
   * Takes the cluster's name and listens on its control socket (mode `0600`, in a `0700`
   * directory).
   * @throws ClusterRunningError when a primary with this name answers on the socket.
   * @throws TypeError for a bad name; Error for an unsafe control directory.
   */
  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const home = options.home ?? controlHome();
    const path = socketPath(options.name, home);
    ensureControlHome(home);
    const bus = createPrimaryBus(controlContract, { autoAttach: false, handlers: options.handlers });
    bus.on('error', options.onError ?? ((error) => process.emitWarning(`control socket: ${error.message}`)));
    const server = createServer();
    server.maxConnections = options.maxConnections ?? 64;
    const control = new ControlServer(server, bus, path);
    server.on('connection', (socket) => control.#accept(socket));
    try {
      await claim(server, path, options.name);
    } catch (error) {
      bus.close();
      throw error;
    }
    // The directory already keeps others out; the socket's own mode says the same to anyone who looks.
    chmodSync(path, 0o600);
    return control;
  }

  /** The socket's path. */
  get path(): string {
    return this.#path;
  }

  /** Clients connected right now. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Stops listening (the socket file is removed), lets the control calls still running answer
   * (a `stop` replies after the workers are gone), then disconnects every client. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.#bus.workers().some((link) => link.handling > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The replies of calls that just settled are posted on the next turns: let them reach the channel.
    await new Promise((resolve) => setImmediate(resolve));
    await this.#bus.flush();
    this.#bus.close();
    for (const socket of this.#sockets) {
      socket.end();
      // A client that never reads would hold the close forever.
      setTimeout(() => socket.destroy(), 1_000).unref();
    }
    await closed;
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    // A client that resets its connection must not crash the primary (the transport's own
    // listener goes with the transport; this one stays as long as the socket).
    socket.on('error', () => {});
    socket.once('close', () => this.#sockets.delete(socket));
    this.#bus.attachTransport(nextLinkId++, socketTransport(socket, { name: 'a control client' }));
  }
}

let nextLinkId = 1;

/** Listens on `path`, replacing a stale socket; refuses a live one. */
async function claim(server: Server, path: string, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await listenOn(server, path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 0) throw error;
    }
    const probe = await probeControl(path);
    if (probe.live) {
      const who = probe.pid === undefined ? '' : ` (primary pid ${probe.pid})`;
      throw new ClusterRunningError(
        `a cluster named "${name}" is already running${who} on ${path}; stop it with \`clusterbus stop ${name}\` or choose another --name`,
      );
    }
    // Nobody accepts on it: a primary that was killed left it behind.
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function listenOn(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
}
