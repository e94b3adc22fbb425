/**
 * Two connected in-memory transports, for fast tests of the bus logic. Messages are copied the
 * way the chosen serialization would copy them, and delivered asynchronously in send order.
 */
import type { WireMessage } from '../protocol.js';
import { createTransport } from './channel.js';
import { microtask } from './microtask.js';
import type { ChannelOptions, Transport } from './transport.js';

/** Options for {@link createMemoryTransportPair}. */
export interface MemoryPairOptions extends ChannelOptions {
  /**
   * How messages are copied: `json` like Node's default IPC, `advanced` like structured clone.
   * @default 'advanced'
   */
  serialization?: 'json' | 'advanced';
}

/** A connected pair; `close()` closes both ends as if the channel died. */
export interface MemoryTransportPair {
  a: Transport;
  b: Transport;
  close(): void;
  /** Delivers a raw value to `a` (`to: 'a'`) or `b`, as if the other end sent it. For tests of foreign or malformed traffic. */
  inject(to: 'a' | 'b', value: unknown): void;
}

interface End {
  open: boolean;
  deliver?: (value: unknown) => void;
  close?: (reason: string) => void;
}

/** Creates two connected in-memory transports. */
export function createMemoryTransportPair(options: MemoryPairOptions = {}): MemoryTransportPair {
  const copy =
    options.serialization === 'json'
      ? (value: WireMessage) => JSON.parse(JSON.stringify(value)) as unknown
      : (value: WireMessage) => structuredClone(value) as unknown;
  const ends: Record<'a' | 'b', End> = { a: { open: true }, b: { open: true } };

  const make = (self: End, other: End, name: string): Transport =>
    createTransport(
      {
        name,
        isOpen: () => self.open,
        write: (message, done) => {
          const copied = copy(message);
          microtask(() => {
            if (other.open) other.deliver?.(copied);
            done(
              other.open
                ? null
                : Object.assign(new Error('channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' }),
            );
          });
        },
        listen: (onMessage, onClose) => {
          self.deliver = onMessage;
          self.close = onClose;
          return () => {
            self.deliver = undefined;
            self.close = undefined;
          };
        },
      },
      options,
    );

  const a = make(ends.a, ends.b, 'memory end a');
  const b = make(ends.b, ends.a, 'memory end b');
  return {
    a,
    b,
    close() {
      for (const end of [ends.a, ends.b]) {
        if (!end.open) continue;
        end.open = false;
        end.close?.('closed');
      }
    },
    inject(to, value) {
      queueMicrotask(() => ends[to].deliver?.(value));
    },
  };
}
