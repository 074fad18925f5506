/**
 * CONNECT [MQTT-3.1] and CONNACK [MQTT-3.2]: size, encode into a caller buffer, and body parsers.
 */
import { Err } from "../errors";
import { Bytes, Packet, T } from "./types";
import { packetSize, r16, r8, rLeft, rStart, rStr, start, strSize, w16, w8, wStr } from "./wire";
import { checkTopic } from "./topic";

/** What a CONNECT carries. `clean` defaults to true, `keepalive` to 60 s. */
export interface ConnectFields {
  clientId: Bytes;
  clean?: boolean;
  keepalive?: number;
  username?: Bytes;
  password?: Bytes;
  will?: WillFields;
}

export interface WillFields {
  topic: Bytes;
  payload: Bytes;
  qos?: number;
  retain?: boolean;
}

/** Protocol name "MQTT" as it appears on the wire, with its length prefix [MQTT-3.1.2-1]. */
const NAME = [0, 4, 77, 81, 84, 84];

/**
 * Whether an optional field is given. Not `v != null`: on Espruino a loose comparison first turns a Uint8Array
 * into its "1,2,3" string (20 ms for 5,000 bytes on 2v29; a 20,000-byte one ran the ESP32 shape out of
 * memory); strict comparisons cost nothing.
 */
function given(v: Bytes | undefined | null): v is Bytes {
  return typeof v != "undefined" && v !== null; // esbuild's minifier folds `v !== undefined && v !== null` to `v != null`
}

function connectLength(o: ConnectFields): number {
  const w = o.will;
  return 10 + strSize(o.clientId) + (w ? strSize(w.topic) + strSize(w.payload) : 0) +
    (given(o.username) ? strSize(o.username) : 0) + (given(o.password) ? strSize(o.password) : 0);
}

/**
 * Writes a CONNECT (protocol level 4) at `b[off]`. Returns its size, or Err.NoMemory (does not fit),
 * Err.TooLarge, Err.PasswordNoUser [MQTT-3.1.2-22], Err.WillFlags (will QoS 3) [MQTT-3.1.2-14], or
 * Err.Argument (keepalive outside 0..65535). Nothing is written on error.
 */
export function encodeConnect(b: Uint8Array, off: number, o: ConnectFields): number {
  const w = o.will;
  const ka = o.keepalive ?? 60;
  const user = given(o.username);
  const pass = given(o.password);
  if (pass && !user) return Err.PasswordNoUser;
  if (w && !((w.qos ?? 0) >= 0 && (w.qos ?? 0) < 3)) return Err.WillFlags;
  if (!(ka >= 0 && ka < 65536)) return Err.Argument;
  const n = start(b, off, T.CONNECT << 4, connectLength(o));
  if (n < 0) return n;
  for (let i = 0; i < 6; i++) w8(NAME[i]!);
  w8(4);
  w8((user ? 128 : 0) | (pass ? 64 : 0) | (w ? 4 | (w.qos ?? 0) << 3 | (w.retain ? 32 : 0) : 0) |
    (o.clean ?? true ? 2 : 0));
  w16(ka);
  wStr(o.clientId);
  if (w) { wStr(w.topic); wStr(w.payload); }
  if (user) wStr(o.username!);
  if (pass) wStr(o.password!);
  return n;
}

/** Size of a CONNECT, or Err.TooLarge. */
export function connectSize(o: ConnectFields): number {
  return packetSize(connectLength(o));
}

/**
 * Writes a CONNACK (4 bytes). `code` is the return code 0..5 (§3.2.2.3, Table 3.1); session present is
 * forced to 0 with a non-zero code [MQTT-3.2.2-4].
 */
export function encodeConnack(b: Uint8Array, off: number, sessionPresent: boolean, code: number): number {
  if (!(code >= 0 && code < 6)) return Err.ReturnCode; // codes over 5 are reserved (Table 3.1)
  const n = start(b, off, T.CONNACK << 4, 2);
  if (n > 0) { w8(sessionPresent && !code ? 1 : 0); w8(code); }
  return n;
}

function is(v: unknown): v is number {
  return typeof v == "number";
}

/**
 * CONNECT body: protocol name "MQTT" [MQTT-3.1.2-1] and level 4 [MQTT-3.1.2-2] (an MQTT 3.1 "MQIsdp"
 * CONNECT is also Err.ProtocolLevel, so the server can answer CONNACK 1); reserved flag [MQTT-3.1.2-3]; will
 * flags [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-14] [MQTT-3.1.2-15]; password without user name
 * [MQTT-3.1.2-22]; UTF-8 client id, will topic and user name [MQTT-3.1.3-4] [MQTT-3.1.3-10] [MQTT-3.1.3-11];
 * will topic a valid topic name [MQTT-3.3.2-2]; fields present exactly as the flags say [MQTT-3.1.3-1].
 */
export function parseConnect(p: Packet, b: Uint8Array, s: number, e: number): number {
  rStart(b, s, e);
  const name = rStr(false);
  if (is(name)) return name;
  if (!sameName(name)) return isMqisdp(name) ? Err.ProtocolLevel : Err.ProtocolName;
  const level = r8();
  const f = r8();
  const ka = r16();
  if (ka < 0) return Err.Length;
  if (level != 4) return Err.ProtocolLevel;
  if (f & 1) return Err.ReservedFlag;
  const will = (f & 4) != 0;
  const wq = f >> 3 & 3;
  if (will ? wq == 3 : wq || f & 32) return Err.WillFlags;
  if ((f & 192) == 64) return Err.PasswordNoUser;
  p.level = level; p.clean = (f & 2) != 0; p.keepalive = ka; p.will = will;
  p.willQos = wq; p.willRetain = (f & 32) != 0; p.username = p.password = null;
  const id = rStr(true);
  if (is(id)) return id;
  p.clientId = id;
  if (will) {
    const t = rStr(true);
    if (is(t)) return t;
    const c = checkTopic(t, 0, t.length);
    if (c) return c;
    const m = rStr(false);
    if (is(m)) return m;
    p.willTopic = t; p.willPayload = m;
  }
  if (f & 128) {
    const u = rStr(true);
    if (is(u)) return u;
    p.username = u;
  }
  if (f & 64) {
    const pw = rStr(false);
    if (is(pw)) return pw;
    p.password = pw;
  }
  return rLeft() ? Err.Length : Err.Ok;
}

function sameName(v: Uint8Array): boolean {
  return v.length == 4 && v[0] == 77 && v[1] == 81 && v[2] == 84 && v[3] == 84;
}

function isMqisdp(v: Uint8Array): boolean {
  // "MQIsdp": the MQTT 3.1 protocol name
  return v.length == 6 && v[0] == 77 && v[1] == 81 && v[2] == 73 && v[3] == 115 && v[4] == 100 && v[5] == 112;
}

/**
 * CONNACK body: exactly 2 bytes (§3.2.1); acknowledge-flag bits 7-1 reserved (§3.2.2.1); return code 0..5,
 * the rest reserved (§3.2.2.3, Table 3.1); session present 0 with a non-zero code [MQTT-3.2.2-4].
 */
export function parseConnack(p: Packet, b: Uint8Array, s: number, e: number): number {
  if (e - s != 2) return Err.Length;
  const f = b[s]!;
  const c = b[s + 1]!;
  if (f & 254) return Err.ReservedFlag;
  if (c > 5) return Err.ReturnCode;
  if (f && c) return Err.SessionPresent;
  p.sessionPresent = f == 1;
  p.code = c;
  return Err.Ok;
}
