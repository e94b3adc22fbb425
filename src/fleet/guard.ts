/**
 * What the fleet runs from code that must not throw: the NATS client calls subscription callbacks
 * without a try/catch (a throw stops the connection's reader and the host goes deaf), and a throw
 * from a timer or a promise handler crashes the process. A throw there (the app's event listener,
 * or a bug of ours) becomes a process warning saying what threw.
 */

import { describeValue } from '../protocol.js';
import type { NatsConnectionLike, NatsMsgLike, NatsSubscriptionLike } from '../transports/nats.js';

/** Runs `fn`; a throw becomes a process warning naming `what` (e.g. `the fleet's "hostUp" listener`). */
export function guarded(what: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    warnThrown(what, error);
  }
}

/** Reports what `what` threw as a process warning: there is no caller left to tell. */
export function warnThrown(what: string, error: unknown): void {
  process.emitWarning(`clusterbus fleet: ${what} threw: ${describeValue(error)}; the fleet carries on`, {
    code: 'CLUSTERBUS_FLEET',
  });
}

/** `nc.subscribe` whose callback can never throw into the NATS client. */
export function subscribeGuarded(
  nc: NatsConnectionLike,
  subject: string,
  handle: (msg: NatsMsgLike) => void,
  queue?: string,
): NatsSubscriptionLike {
  return nc.subscribe(subject, {
    ...(queue === undefined ? {} : { queue }),
    // Runs for every message (the inbox carries every fleet call): no closure, no string, unless it threw.
    callback: (error, msg) => {
      if (error) return;
      try {
        handle(msg);
      } catch (thrown) {
        warnThrown(`handling a message on ${subject}`, thrown);
      }
    },
  });
}
