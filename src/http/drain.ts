/**
 * A lossless drain for `node:http` and `node:https` servers (trap 7). `server.close()` alone leaves busy
 * keep-alive sockets open, and since Node 19 it also destroys the idle ones at once, racing a
 * client that is just reusing one (ECONNRESET on a request the server never saw). This drain:
 * stops accepting connections, answers every response from now on with `Connection: close` so
 * clients stop reusing their sockets, closes a socket only after it has been idle for a short
 * grace, and force-closes what remains only at the deadline.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** Options of {@link drainHttp}. */
export interface DrainHttpOptions {
  /**
   * Deadline in ms: sockets still open then are destroyed (`closeAllConnections()`).
   * @default 10000
   */
  timeout?: number;
  /**
   * How long a keep-alive socket must have been idle (since the drain began or since its last
   * response) before it is closed, in ms. A busy client sends its next request within the grace
   * and gets `Connection: close` instead of a reset.
   * @default 500
   */
  idleGrace?: number;
}

/** What {@link drainHttp} resolves with. */
export interface DrainHttpResult {
  /** True when every connection ended before the deadline. */
  graceful: boolean;
  /** Idle keep-alive sockets the drain closed after their grace. */
  closedIdle: number;
  /** Sockets destroyed at the deadline. */
  forced: number;
  durationMs: number;
}

interface SocketState {
  active: number;
  idleSince: number;
  response: { headersSent: boolean; setHeader(name: string, value: string): unknown } | undefined;
  /** Taken over by an 'upgrade' handler (WebSocket, CONNECT): never idle in HTTP's sense. */
  upgraded: boolean;
}

/** Per-server bookkeeping: which sockets are open and which are between requests. */
class HttpTracker {
  readonly sockets = new Map<Socket, SocketState>();
  draining = false;
  drainStart = 0;
  drainPromise: Promise<DrainHttpResult> | undefined;
  onChange: (() => void) | undefined;

  constructor(server: Server) {
    // Requests arrive on the socket the HTTP parser reads: on https that is the TLSSocket of
    // 'secureConnection', not the raw TCP socket of 'connection'. Keying by the raw one would see
    // it as idle forever and destroy it under a request in flight.
    const connectionEvent = server instanceof TlsServer ? 'secureConnection' : 'connection';
    server.on(connectionEvent, (socket: Socket) => this.#state(socket));
    // An upgraded socket belongs to the app now (its own shutdown hook closes it); the drain only
    // force-closes it at the deadline, never as an "idle" HTTP socket.
    server.prependListener('upgrade', (req: { socket: Socket }) => {
      this.#state(req.socket).upgraded = true;
    });
    server.prependListener('request', (req, res) => {
      const state = this.#state(req.socket);
      state.active++;
      state.response = res;
      if (this.draining && !res.headersSent) res.setHeader('Connection', 'close');
      let done = false;
      const finished = () => {
        if (done) return;
        done = true;
        state.active--;
        state.idleSince = Date.now();
        if (state.response === res) state.response = undefined;
        this.onChange?.();
      };
      res.once('finish', finished);
      res.once('close', finished);
    });
  }

  #state(socket: Socket): SocketState {
    let state = this.sockets.get(socket);
    if (!state) {
      state = { active: 0, idleSince: Date.now(), response: undefined, upgraded: false };
      this.sockets.set(socket, state);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.onChange?.();
      });
    }
    return state;
  }
}

const trackers = new WeakMap<Server, HttpTracker>();

/**
 * Starts tracking a server's sockets so a later {@link drainHttp} knows every connection,
 * including requests in flight and idle keep-alive sockets opened before the drain. Call it right
 * after `createServer()`. Idempotent. (Without it, `drainHttp` still loses nothing, but sockets
 * it never saw stay open until they are used again or the deadline passes.)
 */
export function trackHttp(server: Server): void {
  if (!trackers.has(server)) trackers.set(server, new HttpTracker(server));
}

/**
 * Drains `server` and resolves once every connection ended (or the deadline passed). Use it in
 * a worker's `onShutdown` hook: `bus.onShutdown(() => drainHttp(server, { timeout: 8000 }))`.
 * Calling it again returns the same promise.
 * @throws TypeError / RangeError for a bad server or option.
 */
export function drainHttp(server: Server, options: DrainHttpOptions = {}): Promise<DrainHttpResult> {
  if (typeof server !== 'object' || server === null || typeof server.closeAllConnections !== 'function') {
    throw new TypeError(
      `drainHttp(server): expected a node:http or node:https Server, got ${String(server)}`,
    );
  }
  const timeout = options.timeout ?? 10_000;
  const idleGrace = options.idleGrace ?? 500;
  if (typeof timeout !== 'number' || !(timeout >= 0) || !Number.isFinite(timeout)) {
    throw new RangeError(
      `drainHttp options: timeout must be a finite number of ms >= 0, got ${String(timeout)}`,
    );
  }
  if (typeof idleGrace !== 'number' || !(idleGrace >= 0) || !Number.isFinite(idleGrace)) {
    throw new RangeError(
      `drainHttp options: idleGrace must be a finite number of ms >= 0, got ${String(idleGrace)}`,
    );
  }
  trackHttp(server);
  const tracker = trackers.get(server)!;
  tracker.drainPromise ??= runDrain(server, tracker, timeout, idleGrace);
  return tracker.drainPromise;
}

function runDrain(
  server: Server,
  tracker: HttpTracker,
  timeout: number,
  idleGrace: number,
): Promise<DrainHttpResult> {
  const started = Date.now();
  tracker.draining = true;
  tracker.drainStart = started;
  for (const state of tracker.sockets.values()) {
    if (state.response && !state.response.headersSent) state.response.setHeader('Connection', 'close');
  }
  return new Promise((resolve) => {
    let closedIdle = 0;
    let forced = 0;
    let serverClosed = !server.listening;
    let settled = false;
    let timedOut = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearInterval(sweep);
      clearTimeout(deadline);
      tracker.onChange = undefined;
      resolve({ graceful: !timedOut, closedIdle, forced, durationMs: Date.now() - started });
    };
    const check = () => {
      if (serverClosed && tracker.sockets.size === 0) finish();
    };
    const closeIdle = () => {
      const now = Date.now();
      for (const [socket, state] of tracker.sockets) {
        if (state.active > 0 || state.upgraded) continue;
        if (now - Math.max(state.idleSince, started) < idleGrace) continue;
        closedIdle++;
        socket.destroy();
      }
    };
    // Sweeping at a fraction of the grace keeps the extra wait per socket small.
    const sweep = setInterval(closeIdle, Math.max(10, Math.min(100, idleGrace / 4)));
    const deadline = setTimeout(() => {
      timedOut = true;
      forced = tracker.sockets.size;
      for (const socket of tracker.sockets.keys()) socket.destroy();
      server.closeAllConnections();
      // The close callback follows on the next turns; do not wait on sockets we never saw.
      setTimeout(finish, 50);
    }, timeout);
    tracker.onChange = check;
    if (!serverClosed) {
      stopAccepting(server, () => {
        serverClosed = true;
        check();
      });
    }
    check();
  });
}

/**
 * `server.close()` without its `closeIdleConnections()` (Node ≥ 19), which would reset idle
 * keep-alive sockets a client may be reusing this very moment; idle sockets get their grace instead.
 */
function stopAccepting(server: Server, done: () => void): void {
  const own = Object.getOwnPropertyDescriptor(server, 'closeIdleConnections');
  server.closeIdleConnections = () => {};
  try {
    server.close(() => done());
  } finally {
    if (own) Object.defineProperty(server, 'closeIdleConnections', own);
    else delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
  }
}
