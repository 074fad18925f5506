/**
 * Topic name and topic filter rules [MQTT-4.7], on UTF-8 bytes (already checked by checkUtf8). Matching of
 * names against filters, which the broker needs, lives beside these rules in lib/broker/.
 */
import { Err } from "../errors";

const PLUS = 43; // '+'
const HASH = 35; // '#'
const SLASH = 47; // '/'

/** A topic name for PUBLISH: not empty [MQTT-4.7.3-1], no wildcard [MQTT-3.3.2-2]. */
export function checkTopic(b: Uint8Array, s: number, e: number): Err {
  if (s >= e) return Err.EmptyTopic;
  for (; s < e; s++) if (b[s] == PLUS || b[s] == HASH) return Err.TopicWildcard;
  return Err.Ok;
}

/**
 * A topic filter for SUBSCRIBE/UNSUBSCRIBE: not empty [MQTT-4.7.3-1]; `#` alone in the last level
 * [MQTT-4.7.1-2]; `+` alone in its level [MQTT-4.7.1-3].
 */
export function checkFilter(b: Uint8Array, s: number, e: number): Err {
  if (s >= e) return Err.EmptyTopic;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c != PLUS && c != HASH) continue;
    if ((i > s && b[i - 1] != SLASH) || (i + 1 < e && (c == HASH || b[i + 1] != SLASH))) return Err.FilterWildcard;
  }
  return Err.Ok;
}
