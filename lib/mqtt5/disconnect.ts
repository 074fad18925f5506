/**
 * DISCONNECT [MQTT-3.14] at protocol level 5, sent by either side: a reason code and properties, both of
 * which may be left out (§3.14.2.1: Remaining Length 0 means code 0, Normal disconnection; §3.14.2.2.1: under
 * 2, no properties). AUTH (auth.ts) has the same body and shares the code here.
 */
import { Err } from "../errors";
import { T } from "../mqtt/types";
import { packetSize, r8, rLeft, rStart, start, varSize, w8 } from "../mqtt/wire";
import { clearProps, propsLength, propsOf, readProps, writeProps } from "./props";
import { reasonValid } from "./reason";
import { In, Packet5, Props } from "./types";

/** Remaining length of a reason code + properties body; `short`: leave out what may be left out. */
function reasonLength(code: number, pl: number, short: boolean): number {
  return pl || !short ? 1 + varSize(pl) + pl : code ? 1 : 0;
}

/** Size of a DISCONNECT (short) or AUTH body with this code and properties, or an Err. */
export function reasonSize(t: T, code: number, props: Props | undefined, short: boolean): number {
  const pl = propsLength(props, 1 << t);
  return pl < 0 ? pl : packetSize(reasonLength(code, pl, short));
}

/**
 * Writes a packet of type `t` (DISCONNECT, AUTH) with a reason code and properties: Err.ReturnCode for a code
 * the type may not carry, a property error, Err.NoMemory. `short`: the shortest form.
 */
export function encodeReason(b: Uint8Array, off: number, t: T, code: number, props: Props | undefined, short: boolean): number {
  if (!reasonValid(t, code)) return Err.ReturnCode;
  const pl = propsLength(props, 1 << t);
  if (pl < 0) return pl;
  const rl = reasonLength(code, pl, short);
  const n = start(b, off, t << 4, rl);
  if (n < 0) return n;
  if (rl) w8(code);
  if (rl > 1) writeProps(props, pl);
  return n;
}

/**
 * A reason code + properties body (DISCONNECT, AUTH): the code (0 when the body is empty) valid for the type,
 * properties valid `where` when 2 or more bytes, nothing after them.
 */
export function parseReason(p: Packet5, b: Uint8Array, s: number, e: number, where: number): number {
  rStart(b, s, e);
  const c = rLeft() ? r8() : 0;
  if (!reasonValid(p.type, c)) return Err.ReturnCode;
  const pr = propsOf(p);
  if (rLeft()) {
    const r = readProps(pr, where);
    if (r) return r;
  } else clearProps(pr);
  p.code = c;
  return rLeft() ? Err.Length : Err.Ok;
}

/** Size of a level-5 DISCONNECT (as encodeDisconnect5 writes it), or an Err. */
export function disconnect5Size(code: number, props?: Props): number {
  return reasonSize(T.DISCONNECT, code, props, true);
}

/**
 * Writes a level-5 DISCONNECT in its shortest form: 2 bytes for code 0 without properties. Returns its size,
 * or Err.ReturnCode (not a DISCONNECT Reason Code [MQTT-3.14.2-1]), a property error, Err.NoMemory. A server
 * must not send a Session Expiry Interval [MQTT-3.14.2-2]: the caller leaves it out.
 */
export function encodeDisconnect5(b: Uint8Array, off: number, code: number, props?: Props): number {
  return encodeReason(b, off, T.DISCONNECT, code, props, true);
}

/** DISCONNECT received by a server: a DISCONNECT Reason Code [MQTT-3.14.2-1], properties (props.ts). */
export function parseDisconnect5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parseReason(p, b, s, e, In.DISCONNECT);
}

/** DISCONNECT received by a client: as parseDisconnect5, without a Session Expiry Interval [MQTT-3.14.2-2]. */
export function parseDisconnect5ToClient(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parseReason(p, b, s, e, In.DISCONNECT_TO_CLIENT);
}
