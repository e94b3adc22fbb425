/**
 * A cheap estimate of how many bytes a message takes once serialized, for the batch size cap.
 * It walks only the payload, gives up past a limit (the message is large: it goes alone), and
 * treats a payload with very many parts as large rather than walking it all.
 */
import type { Message } from '../protocol.js';

/** Envelope keys, tag and punctuation of a small message, in JSON. */
const ENVELOPE_BYTES = 32;
/** Objects and arrays walked per message before it counts as large. */
const MAX_NODES = 256;

/**
 * Estimated serialized size of `message` in bytes; at least `limit` (possibly Infinity) once it is
 * known to reach it.
 */
export function estimateMessageSize(message: Message, limit: number): number {
  try {
    return estimate(message, { nodes: MAX_NODES, limit });
  } catch {
    // A payload whose getters throw (or a revoked proxy): large, so it goes alone and fails alone.
    return Number.POSITIVE_INFINITY;
  }
}

function estimate(message: Message, budget: { nodes: number; limit: number }): number {
  switch (message.k) {
    case 'req':
      return ENVELOPE_BYTES + sizeOf(message.id, budget) + message.m.length + sizeOf(message.i, budget);
    case 'res':
      return ENVELOPE_BYTES + sizeOf(message.id, budget) + sizeOf(message.o, budget);
    case 'err':
      return ENVELOPE_BYTES + sizeOf(message.id, budget) + sizeOf(message.e, budget);
    case 'evt':
      return ENVELOPE_BYTES + message.n.length + sizeOf(message.p, budget);
    case 'ctl':
      return ENVELOPE_BYTES + sizeOf(message.d, budget);
    default:
      return ENVELOPE_BYTES + 16;
  }
}

function sizeOf(value: unknown, budget: { nodes: number; limit: number }): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return 0;
  }
  if (value === null) return 4;
  if (--budget.nodes < 0) return Number.POSITIVE_INFINITY;
  if (ArrayBuffer.isView(value)) return value.byteLength * 2;
  if (value instanceof ArrayBuffer) return value.byteLength * 2;
  let total = 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      total += sizeOf(item, budget) + 1;
      if (total >= budget.limit) return total;
    }
    return total;
  }
  if (value instanceof Map || value instanceof Set) {
    // Rare in a hot path: size by entry count rather than walking.
    return total + value.size * 32;
  }
  for (const key in value) {
    total += key.length + 4 + sizeOf((value as Record<string, unknown>)[key], budget);
    if (total >= budget.limit) return total;
  }
  return total;
}
