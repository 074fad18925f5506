/**
 * The publish acknowledgements at protocol level 5: PUBACK [MQTT-3.4], PUBREC [MQTT-3.5], PUBREL [MQTT-3.6],
 * PUBCOMP [MQTT-3.7]: packet identifier, then a reason code and properties, both of which may be left out
 * (§3.4.2.1: Remaining Length 2 means code 0 and no properties; §3.4.2.2.1: under 4, no properties).
 */
import { Err } from "../errors";
import { T } from "../mqtt/types";
import { packetSize, r8, rId, rLeft, rStart, start, varSize, w16, w8 } from "../mqtt/wire";
import { clearProps, propsLength, propsOf, readProps, writeProps } from "./props";
import { reasonValid } from "./reason";
import { Packet5, Props } from "./types";

/** Remaining length of an acknowledgement: the shortest form (2 bytes for code 0 and no properties, 3 for a code alone). */
function ackLength(code: number, pl: number): number {
  return pl ? 3 + varSize(pl) + pl : code ? 3 : 2;
}

/** Size of a level-5 PUBACK, PUBREC, PUBREL or PUBCOMP (as encodeAck5 writes it), or an Err. */
export function ack5Size(type: T, code: number, props?: Props): number {
  const pl = propsLength(props, 1 << type);
  return pl < 0 ? pl : packetSize(ackLength(code, pl));
}

/**
 * Writes a level-5 PUBACK, PUBREC, PUBREL (fixed flags 0010 [MQTT-3.6.1-1]) or PUBCOMP for `id` with reason
 * `code` and `props`, in its shortest form. Returns its size, or Err.PacketType (another type), Err.PacketId
 * [MQTT-2.2.1-5], Err.ReturnCode (a code the packet may not carry [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1]
 * [MQTT-3.7.2-1]), Err.NoMemory, or a property error.
 */
export function encodeAck5(b: Uint8Array, off: number, type: T, id: number, code: number, props?: Props): number {
  if (type < T.PUBACK || type > T.PUBCOMP) return Err.PacketType;
  if (!(id > 0 && id < 65536)) return Err.PacketId;
  if (!reasonValid(type, code)) return Err.ReturnCode;
  const pl = propsLength(props, 1 << type);
  if (pl < 0) return pl;
  const rl = ackLength(code, pl);
  const n = start(b, off, type << 4 | (type == T.PUBREL ? 2 : 0), rl);
  if (n < 0) return n;
  w16(id);
  if (rl > 2) w8(code);
  if (pl) writeProps(props, pl);
  return n;
}

/**
 * PUBACK, PUBREC, PUBREL, PUBCOMP body: a non-zero packet identifier [MQTT-2.2.1-5]; a reason code valid for
 * the type [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] (0 when left out); properties when the
 * Remaining Length is 4 or more, valid for the type (props.ts); nothing after them.
 */
export function parseAck5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  rStart(b, s, e);
  const id = rId();
  if (id < 0) return id;
  const c = rLeft() ? r8() : 0;
  if (!reasonValid(p.type, c)) return Err.ReturnCode;
  const pr = propsOf(p);
  if (rLeft()) {
    const r = readProps(pr, 1 << p.type);
    if (r) return r;
  } else clearProps(pr);
  p.id = id;
  p.code = c;
  return rLeft() ? Err.Length : Err.Ok;
}
