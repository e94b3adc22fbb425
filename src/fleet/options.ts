/** Options of fleet mode (`startCluster({ fleet })`), their defaults, and their eager validation. */
import { hostname } from 'node:os';
import { isSubjectToken } from './subjects.js';

/**
 * Options of fleet mode. Every option not listed here (credentials, `token`, `user`/`pass`,
 * `authenticator`, `tls`, `name`, …) is passed through to the NATS client's `connect()`.
 */
export interface FleetOptions {
  /** NATS servers, as the client takes them: `'127.0.0.1:4222'`, `'nats://a:4222'` or a list. */
  servers: string | string[];
  /**
   * This host's unique name in the fleet (a NATS subject token: letters, digits, `_`, `-`).
   * @default `<hostname>-<pid>` (with the characters a token cannot hold replaced by `_`)
   */
  host?: string;
  /**
   * The subject prefix that keeps two apps on one NATS server apart (a subject token).
   * @default 'app'
   */
  app?: string;
  /**
   * Milliseconds between this host's heartbeats. Other hosts declare it gone after
   * `missedHeartbeats` of them are missed.
   * @default 300
   */
  heartbeat?: number;
  /**
   * Heartbeats a host may miss before its pending calls fail with PEER_GONE.
   * @default 3
   */
  missedHeartbeats?: number;
  /**
   * How often the client pings the server, in ms (the client's own default is two minutes: a dead
   * server connection would go unnoticed that long).
   * @default 1500
   */
  pingInterval?: number;
  /**
   * How long a graceful leave waits for the fleet work this host holds to finish, in ms.
   * @default 10000
   */
  leaveTimeout?: number;
  /** Anything else goes to the NATS client's `connect()`. */
  [clientOption: string]: unknown;
}

/** Fleet options with defaults filled in. */
export interface ResolvedFleetOptions {
  host: string;
  app: string;
  heartbeat: number;
  missedHeartbeats: number;
  leaveTimeout: number;
  /** What goes to `connect()`. */
  client: Record<string, unknown>;
}

const OWN = new Set([
  'servers',
  'host',
  'app',
  'heartbeat',
  'missedHeartbeats',
  'pingInterval',
  'leaveTimeout',
]);

function positiveInteger(value: unknown, name: string, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`startCluster({ fleet }): ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/**
 * Checks the fleet options eagerly.
 * @throws TypeError / RangeError naming the option and the value.
 */
export function resolveFleetOptions(options: FleetOptions): ResolvedFleetOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`startCluster({ fleet }): fleet must be an object, got ${String(options)}`);
  }
  const servers = options.servers;
  const list = Array.isArray(servers) ? servers : [servers];
  if (list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new TypeError(
      `startCluster({ fleet }): fleet.servers must be a server URL or a non-empty list of them, got ${JSON.stringify(servers)}`,
    );
  }
  const host = options.host ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!isSubjectToken(host)) {
    throw new TypeError(
      `startCluster({ fleet }): fleet.host must be letters, digits, "_" or "-" (it becomes a NATS subject token), got ${JSON.stringify(host)}`,
    );
  }
  const app = options.app ?? 'app';
  if (!isSubjectToken(app)) {
    throw new TypeError(
      `startCluster({ fleet }): fleet.app must be letters, digits, "_" or "-" (it becomes a NATS subject token), got ${JSON.stringify(app)}`,
    );
  }
  const client: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!OWN.has(key)) client[key] = value;
  return {
    host,
    app,
    heartbeat: positiveInteger(options.heartbeat, 'fleet.heartbeat', 300),
    missedHeartbeats: positiveInteger(options.missedHeartbeats, 'fleet.missedHeartbeats', 3),
    leaveTimeout: positiveInteger(options.leaveTimeout, 'fleet.leaveTimeout', 10_000),
    client: {
      // Reconnect forever, quickly: a server restart must not end the fleet.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      maxPingOut: 2,
      ...client,
      servers: list,
      // This host never needs what it publishes itself, and a pool claim must never land on the
      // host that asks (its own claim subscription may still be up for a moment after its last
      // place was taken): the server does not deliver a connection's own messages to it.
      noEcho: true,
      name: client.name ?? `clusterbus ${host}`,
      pingInterval: positiveInteger(options.pingInterval, 'fleet.pingInterval', 1_500),
    },
  };
}
