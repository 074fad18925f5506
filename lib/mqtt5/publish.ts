/** PUBLISH [MQTT-3.3] at protocol level 5: size, encode into a caller buffer, and the body parsers. */
import { Err } from "../errors";
import { Bytes } from "../mqtt/types";
import { checkTopic } from "../mqtt/topic";
import { byteLength, packetSize, rId, rRest, rStart, rStr, start, strSize, varSize, w16, wRaw, wStr } from "../mqtt/wire";
import { propsLength, propsOf, readProps, writeProps } from "./props";
import { In, Packet5, Props } from "./types";

function publishLength(topic: Bytes, payload: Bytes, qos: number, pl: number): number {
  return strSize(topic) + (qos ? 2 : 0) + varSize(pl) + pl + byteLength(payload);
}

/** Size of a level-5 PUBLISH, or an Err (Err.TooLarge, or a property error: see props.ts). */
export function publish5Size(topic: Bytes, payload: Bytes, qos: number, props?: Props): number {
  const pl = propsLength(props, In.PUBLISH);
  return pl < 0 ? pl : packetSize(publishLength(topic, payload, qos, pl));
}

/**
 * Writes a level-5 PUBLISH at `b[off]`: topic, packet identifier (QoS 1 and 2), properties, payload. Returns
 * its size, or Err.NoMemory / Err.TooLarge / Err.Qos (QoS not 0..2) / Err.PacketId (id 0 or over 65535 at QoS
 * 1 or 2 [MQTT-2.2.1-3]) / a property error. DUP is written only at QoS 1 and 2 [MQTT-3.3.1-2]. The topic is
 * written as given, and may be empty with a Topic Alias (§3.3.2.3.4): the caller checks it.
 */
export function encodePublish5(
  b: Uint8Array, off: number, topic: Bytes, payload: Bytes, qos: number, retain: boolean, dup: boolean, id: number,
  props?: Props,
): number {
  if (!(qos >= 0 && qos < 3)) return Err.Qos;
  if (qos && !(id > 0 && id < 65536)) return Err.PacketId;
  const pl = propsLength(props, In.PUBLISH);
  if (pl < 0) return pl;
  const n = start(b, off, 0x30 | (dup && qos ? 8 : 0) | qos << 1 | (retain ? 1 : 0), publishLength(topic, payload, qos, pl));
  if (n < 0) return n;
  wStr(topic);
  if (qos) w16(id);
  writeProps(props, pl);
  wRaw(payload);
  return n;
}

/**
 * PUBLISH body with the properties allowed `where`: QoS 3 [MQTT-3.3.1-4]; DUP with QoS 0 [MQTT-3.3.1-2];
 * UTF-8 topic [MQTT-3.3.2-1] without wildcards [MQTT-3.3.2-2], empty only with a Topic Alias (§3.3.2.1: a
 * Protocol Error otherwise, Err.EmptyTopic); packet identifier non-zero at QoS 1 and 2 [MQTT-2.2.1-3]; the
 * properties (props.ts); the payload is the rest.
 */
function parse(p: Packet5, b: Uint8Array, s: number, e: number, where: number): number {
  const f = p.flags;
  const qos = f >> 1 & 3;
  if (qos == 3) return Err.Qos;
  if (f & 8 && !qos) return Err.DupQos0;
  rStart(b, s, e);
  const t = rStr(true);
  if (typeof t == "number") return t;
  const id = qos ? rId() : 0;
  if (id < 0) return id;
  const pr = propsOf(p);
  const r = readProps(pr, where);
  if (r) return r;
  if (t.length || typeof pr.topicAlias == "undefined") {
    const c = checkTopic(t, 0, t.length);
    if (c) return c;
  }
  p.topic = t; p.qos = qos; p.id = id; p.dup = (f & 8) != 0; p.retain = (f & 1) != 0;
  p.payload = rRest();
  return Err.Ok;
}

/** PUBLISH received by a client (any property of Table 2-4 for PUBLISH, Subscription Identifiers repeated). */
export function parsePublish5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parse(p, b, s, e, In.PUBLISH);
}

/** PUBLISH received by a server: a Subscription Identifier is not allowed [MQTT-3.3.4-6] (Err.ReservedFlag). */
export function parsePublish5ToServer(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parse(p, b, s, e, In.PUBLISH_TO_SERVER);
}
