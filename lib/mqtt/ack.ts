/**
 * The acknowledgements that carry only a packet identifier: PUBACK [MQTT-3.4], PUBREC [MQTT-3.5],
 * PUBREL [MQTT-3.6], PUBCOMP [MQTT-3.7], and UNSUBACK [MQTT-3.11], which has the same shape.
 */
import { Err } from "../errors";
import { Packet, T } from "./types";
import { start, w16 } from "./wire";

/**
 * Writes a 4-byte acknowledgement of `type` (T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.UNSUBACK) for `id`.
 * PUBREL gets its fixed flags 0010 [MQTT-3.6.1-1]. Returns 4, Err.NoMemory, or Err.PacketId [MQTT-2.3.1-1].
 */
export function encodeAck(b: Uint8Array, off: number, type: T, id: number): number {
  if (!(id > 0 && id < 65536)) return Err.PacketId;
  const n = start(b, off, type << 4 | (type == T.PUBREL ? 2 : 0), 2);
  if (n > 0) w16(id);
  return n;
}

/** Acknowledgement body: exactly a non-zero packet identifier (§3.4.1 .. §3.7.1, §3.11.1) [MQTT-2.3.1-1]. */
export function parseAck(p: Packet, b: Uint8Array, s: number, e: number): number {
  if (e - s != 2) return Err.Length;
  const id = b[s]! << 8 | b[s + 1]!;
  if (!id) return Err.PacketId;
  p.id = id;
  return Err.Ok;
}
