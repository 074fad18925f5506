/** PUBLISH [MQTT-3.3]: size, encode into a caller buffer, and the body parser. */
import { Err } from "../errors";
import { Bytes, Packet } from "./types";
import { byteLength, packetSize, rId, rRest, rStart, rStr, start, strSize, w16, wRaw, wStr } from "./wire";
import { checkTopic } from "./topic";

function publishLength(topic: Bytes, payload: Bytes, qos: number): number {
  return strSize(topic) + (qos ? 2 : 0) + byteLength(payload);
}

/** Size of a PUBLISH, or Err.TooLarge. */
export function publishSize(topic: Bytes, payload: Bytes, qos: number): number {
  return packetSize(publishLength(topic, payload, qos));
}

/**
 * Writes a PUBLISH at `b[off]`; returns its size, or Err.NoMemory / Err.TooLarge / Err.Qos (QoS not 0..2)
 * / Err.PacketId (id 0 or over 65535 at QoS 1 or 2 [MQTT-2.3.1-1]). DUP is written only at QoS 1 and 2
 * [MQTT-3.3.1-2]. The topic is written as given: the client checks it before (checkTopic).
 */
export function encodePublish(
  b: Uint8Array, off: number, topic: Bytes, payload: Bytes, qos: number, retain: boolean, dup: boolean, id: number,
): number {
  if (!(qos >= 0 && qos < 3)) return Err.Qos;
  if (qos && !(id > 0 && id < 65536)) return Err.PacketId;
  const n = start(b, off, 0x30 | (dup && qos ? 8 : 0) | qos << 1 | (retain ? 1 : 0), publishLength(topic, payload, qos));
  if (n < 0) return n;
  wStr(topic);
  if (qos) w16(id);
  wRaw(payload);
  return n;
}

/**
 * PUBLISH body: QoS 3 [MQTT-3.3.1-4]; DUP with QoS 0 [MQTT-3.3.1-2]; UTF-8 topic [MQTT-3.3.2-1] that is not
 * empty [MQTT-4.7.3-1] and has no wildcard [MQTT-3.3.2-2]; packet identifier non-zero at QoS 1 and 2
 * [MQTT-2.3.1-1]. The payload is the rest, possibly empty.
 */
export function parsePublish(p: Packet, b: Uint8Array, s: number, e: number): number {
  const f = p.flags;
  const qos = f >> 1 & 3;
  if (qos == 3) return Err.Qos;
  if (f & 8 && !qos) return Err.DupQos0;
  rStart(b, s, e);
  const t = rStr(true);
  if (typeof t == "number") return t;
  const c = checkTopic(t, 0, t.length);
  if (c) return c;
  const id = qos ? rId() : 0;
  if (id < 0) return id;
  p.topic = t; p.qos = qos; p.id = id; p.dup = (f & 8) != 0; p.retain = (f & 1) != 0;
  p.payload = rRest();
  return Err.Ok;
}

