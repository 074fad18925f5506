/** MQTT 3.1.1 control packet types [MQTT-2.2.1]. Inlined by esbuild (const enum): no device RAM. */
export const enum T {
  CONNECT = 1,
  CONNACK = 2,
  PUBLISH = 3,
  PUBACK = 4,
  PUBREC = 5,
  PUBREL = 6,
  PUBCOMP = 7,
  SUBSCRIBE = 8,
  SUBACK = 9,
  UNSUBSCRIBE = 10,
  UNSUBACK = 11,
  PINGREQ = 12,
  PINGRESP = 13,
  DISCONNECT = 14,
}

/** Largest remaining length the 4-byte encoding can carry [MQTT-2.2.3]: 268,435,455. */
export const MAX_REMAINING = 268435455;

/**
 * A decoded packet. The decoder reuses one object for every packet it hands out, and `topic`, `payload` and
 * the other byte fields are views (`subarray`) into the input chunk or the decoder's buffer: both are valid
 * only during the `onPacket` call. Copy what must outlive it. Which fields a packet type sets:
 *
 * - CONNECT: `level`, `clean`, `keepalive`, `clientId`, `will` (and `willTopic`, `willPayload`, `willQos`,
 *   `willRetain` when it is set), `username`, `password` (`null` when absent).
 * - CONNACK: `sessionPresent`, `code`.
 * - PUBLISH: `topic`, `payload`, `qos`, `retain`, `dup`, `id` (0 at QoS 0).
 * - PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: `id`.
 * - SUBSCRIBE: `id`, `filters` and `qoss` (same length); UNSUBSCRIBE: `id`, `filters`.
 * - SUBACK: `id`, `codes` (a view of the return codes).
 * - PINGREQ, PINGRESP, DISCONNECT: nothing more.
 */
export interface Packet {
  type: T;
  /** Low nibble of the first byte. */
  flags: number;
  /** Remaining length [MQTT-2.2.3]. */
  length: number;
  id: number;
  topic: Uint8Array;
  payload: Uint8Array;
  qos: number;
  retain: boolean;
  dup: boolean;
  level: number;
  clean: boolean;
  keepalive: number;
  clientId: Uint8Array;
  will: boolean;
  willTopic: Uint8Array;
  willPayload: Uint8Array;
  willQos: number;
  willRetain: boolean;
  username: Uint8Array | null;
  password: Uint8Array | null;
  sessionPresent: boolean;
  code: number;
  codes: Uint8Array;
  filters: Uint8Array[];
  qoss: number[];
}

/** Body parser for one packet type: reads `b[s..e)` into `p` (type and flags already set); returns Err.Ok or an error. */
export type Parser = (p: Packet, b: Uint8Array, s: number, e: number) => number;

/** A string or raw bytes: strings are written as UTF-8, bytes as they are. */
export type Bytes = string | Uint8Array;
