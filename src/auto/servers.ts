/**
 * Finds every `http`/`https` server an app creates, without its cooperation: `listen()` is
 * patched on `net.Server.prototype`, which every server inherits whatever module system loaded
 * `node:http` (an ESM `import { createServer }` gets its own copy of the function, but the
 * prototype is shared). A server is tracked from its `listen()` call, before any connection can
 * arrive, so the drain sees every socket.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { type DrainHttpResult, drainHttp, trackHttp } from '../http/drain.js';

const PATCHED = Symbol.for('clusterbus.auto.listen');

/** The app's HTTP servers, and whether they all listen. */
export class ServerTracker {
  readonly #servers = new Set<http.Server>();
  readonly #listeners = new Set<() => void>();
  #scheduled = false;

  /** Patches `listen()` (once per process) so every HTTP server reports here. */
  install(): void {
    const proto = net.Server.prototype as net.Server & { [PATCHED]?: true };
    if (proto[PATCHED]) return;
    const original = proto.listen;
    const tracker = this;
    proto.listen = function listen(this: net.Server, ...args: unknown[]) {
      const result = (original as (...a: unknown[]) => net.Server).apply(this, args);
      if (this instanceof http.Server || this instanceof https.Server) tracker.#add(this as http.Server);
      return result;
    } as typeof proto.listen;
    Object.defineProperty(proto, PATCHED, { value: true });
  }

  /** Servers that called `listen()` and have not closed. */
  get servers(): http.Server[] {
    return [...this.#servers];
  }

  /** True when at least one server was asked to listen and every such server listens. */
  get allListening(): boolean {
    return this.#servers.size > 0 && [...this.#servers].every((server) => server.listening);
  }

  /**
   * Calls `listener` every time the servers reach "all listening". Checked a turn after each
   * `'listening'`, so servers started in the same tick count together and the app's own listen
   * callbacks run first.
   */
  onAllListening(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drains every tracked server at once (see `drainHttp`). */
  drainAll(options: { timeout: number; idleGrace: number }): Promise<DrainHttpResult[]> {
    return Promise.all(this.servers.map((server) => drainHttp(server, options)));
  }

  #add(server: http.Server): void {
    if (this.#servers.has(server)) return;
    trackHttp(server);
    this.#servers.add(server);
    const check = () => this.#schedule();
    server.on('listening', check);
    // A server the app closed no longer holds readiness back. (No 'error' listener: one would
    // swallow the EADDRINUSE that should crash an app that does not handle it.)
    server.on('close', () => {
      this.#servers.delete(server);
      server.off('listening', check);
      this.#schedule();
    });
    if (server.listening) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.allListening) return;
      for (const listener of [...this.#listeners]) listener();
    });
  }
}
