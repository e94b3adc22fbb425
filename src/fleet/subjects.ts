/**
 * The fleet's NATS subjects (DESIGN.md, "Fleet subjects"). `F = cb.<app>.v1`; every name that
 * becomes a subject token is checked here, so a host or app name can never widen a subscription.
 */

/** A single NATS subject token: no dots, wildcards or whitespace. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** True when `value` can be one subject token. */
export function isSubjectToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 128 && TOKEN.test(value);
}

/** The subjects of one app's fleet. */
export interface FleetSubjects {
  /** `F.h.<host>.in`: a host's inbox (the same envelopes as on IPC). */
  inbox(host: string): string;
  /** `F.h.<host>.ping`: answered by a live host; no responders means its connection is gone. */
  ping(host: string): string;
  /** `F.q.<method>`: claims a place on any host with room (queue group). */
  claim(method: string): string;
  /** `F.q.*`, subscribed in the queue group while a host has room. */
  readonly claimAll: string;
  /** The queue group name of the pool. */
  readonly claimQueue: string;
  /** `F.evt.<name>`: a fleet broadcast. */
  event(name: string): string;
  /** `F.evt.>`. */
  readonly eventAll: string;
  /** `F.hb.<host>`: heartbeats. */
  heartbeat(host: string): string;
  /** `F.hb.*`. */
  readonly heartbeatAll: string;
}

/** Builds the subjects of app `app` (already checked to be a token). */
export function fleetSubjects(app: string): FleetSubjects {
  const f = `cb.${app}.v1`;
  return {
    inbox: (host) => `${f}.h.${host}.in`,
    ping: (host) => `${f}.h.${host}.ping`,
    claim: (method) => `${f}.q.${method}`,
    claimAll: `${f}.q.*`,
    claimQueue: `cb.${app}.pool`,
    event: (name) => `${f}.evt.${name}`,
    eventAll: `${f}.evt.>`,
    heartbeat: (host) => `${f}.hb.${host}`,
    heartbeatAll: `${f}.hb.*`,
  };
}
