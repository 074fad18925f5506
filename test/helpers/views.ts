/**
 * Test helpers (Node only): plain "views" of a packet that can be compared with toEqual, built three ways —
 * from this codec's decoded Packet, from an encode input (PacketInput), and from mqtt-packet's parsed object —
 * plus the conversion of a PacketInput into mqtt-packet's packet object. Byte fields become hex (or a digest
 * for large ones), so a view is a copy that outlives the decoder's callback.
 */
import { createHash } from "node:crypto";
import * as mp from "mqtt-packet";
import { Err } from "../../lib/errors";
import { Decoder } from "../../lib/mqtt/decoder";
import { PacketInput } from "../../lib/mqtt/encode";
import { ALL } from "../../lib/mqtt/parsers";
import { Bytes, Packet, Parser, T } from "../../lib/mqtt/types";

export type View = Record<string, unknown>;

/** mqtt-packet's command name per packet type. */
export const CMD = [
  "", "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback", "unsubscribe",
  "unsuback", "pingreq", "pingresp", "disconnect", "auth",
];

/** Hex of small byte fields; a length and digest for large ones (cheap to compare thousands of times). */
export function hexOf(b: Uint8Array): string {
  if (b.length <= 512) return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
  return "len " + b.length + " sha256 " + createHash("sha256").update(b).digest("hex");
}

/** UTF-8 bytes of a string (Node's encoder: lone surrogates become U+FFFD), or the bytes themselves. */
export function bytesOf(s: Bytes): Uint8Array {
  return typeof s == "string" ? Buffer.from(s, "utf8") : s;
}

function h(s: Bytes): string {
  return hexOf(bytesOf(s));
}

function mpBytes(s: string | Buffer): string {
  return hexOf(typeof s == "string" ? Buffer.from(s, "utf8") : s);
}

/** View of a decoded packet (call inside onPacket: it copies everything it keeps). */
export function view(p: Packet): View {
  switch (p.type) {
    case T.CONNECT:
      return {
        type: p.type, clientId: hexOf(p.clientId), clean: p.clean, keepalive: p.keepalive,
        will: p.will ? { topic: hexOf(p.willTopic), payload: hexOf(p.willPayload), qos: p.willQos, retain: p.willRetain } : null,
        username: p.username ? hexOf(p.username) : null, password: p.password ? hexOf(p.password) : null,
      };
    case T.CONNACK:
      return { type: p.type, sessionPresent: p.sessionPresent, code: p.code };
    case T.PUBLISH:
      return { type: p.type, topic: hexOf(p.topic), payload: hexOf(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, id: p.id };
    case T.SUBSCRIBE:
      return { type: p.type, id: p.id, filters: p.filters.map(hexOf), qoss: p.qoss.slice() };
    case T.UNSUBSCRIBE:
      return { type: p.type, id: p.id, filters: p.filters.map(hexOf) };
    case T.SUBACK:
      return { type: p.type, id: p.id, codes: Array.prototype.slice.call(p.codes) };
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP: case T.UNSUBACK:
      return { type: p.type, id: p.id };
  }
  return { type: p.type };
}

/** The view a PacketInput should decode to (the encoder's defaults and rules applied). */
export function expected(o: PacketInput): View {
  switch (o.type) {
    case T.CONNECT: {
      const w = o.will;
      return {
        type: o.type, clientId: h(o.clientId ?? ""), clean: o.clean ?? true, keepalive: o.keepalive ?? 60,
        will: w ? { topic: h(w.topic), payload: h(w.payload), qos: w.qos ?? 0, retain: !!w.retain } : null,
        username: o.username != null ? h(o.username) : null, password: o.password != null ? h(o.password) : null,
      };
    }
    case T.CONNACK:
      // session present is forced to 0 with a non-zero code [MQTT-3.2.2-4]
      return { type: o.type, sessionPresent: !!o.sessionPresent && !o.code, code: o.code ?? 0 };
    case T.PUBLISH: {
      const qos = o.qos ?? 0;
      // DUP is never written at QoS 0 [MQTT-3.3.1-2]
      return { type: o.type, topic: h(o.topic ?? ""), payload: h(o.payload ?? ""), qos, retain: !!o.retain, dup: !!o.dup && qos > 0, id: qos ? o.id : 0 };
    }
    case T.SUBSCRIBE:
      return { type: o.type, id: o.id, filters: (o.filters ?? []).map(h), qoss: (o.qoss ?? []).slice() };
    case T.UNSUBSCRIBE:
      return { type: o.type, id: o.id, filters: (o.filters ?? []).map(h) };
    case T.SUBACK:
      return { type: o.type, id: o.id, codes: Array.prototype.slice.call(o.codes ?? []) };
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP: case T.UNSUBACK:
      return { type: o.type, id: o.id };
  }
  return { type: o.type };
}

function mpStr(s: Bytes): string {
  return typeof s == "string" ? s : Buffer.from(s).toString("utf8");
}

function mpBuf(s: Bytes): Buffer {
  return Buffer.from(bytesOf(s));
}

/** The equivalent mqtt-packet object, for `mp.generate(obj, { protocolVersion: 4 })`. */
export function toMp(o: PacketInput): mp.Packet {
  const cmd = CMD[o.type];
  switch (o.type) {
    case T.CONNECT: {
      const w = o.will;
      const c: Record<string, unknown> = {
        cmd, protocolId: "MQTT", protocolVersion: 4, clean: o.clean ?? true, keepalive: o.keepalive ?? 60,
        clientId: mpStr(o.clientId ?? ""),
      };
      if (o.username != null) c.username = mpStr(o.username);
      if (o.password != null) c.password = mpBuf(o.password);
      if (w) c.will = { topic: mpStr(w.topic), payload: mpBuf(w.payload), qos: w.qos ?? 0, retain: !!w.retain };
      return c as unknown as mp.Packet;
    }
    case T.CONNACK:
      return { cmd: "connack", sessionPresent: !!o.sessionPresent && !o.code, returnCode: o.code ?? 0 };
    case T.PUBLISH: {
      const qos = (o.qos ?? 0) as mp.QoS;
      const pkt: Record<string, unknown> = {
        cmd, topic: mpBuf(o.topic ?? ""), payload: mpBuf(o.payload ?? ""), qos, retain: !!o.retain, dup: !!o.dup && qos > 0,
      };
      if (qos) pkt.messageId = o.id;
      return pkt as unknown as mp.Packet;
    }
    case T.SUBSCRIBE:
      return {
        cmd: "subscribe", messageId: o.id,
        subscriptions: (o.filters ?? []).map((f, i) => ({ topic: mpStr(f), qos: (o.qoss ?? [])[i] as mp.QoS })),
      };
    case T.UNSUBSCRIBE:
      return { cmd: "unsubscribe", messageId: o.id, unsubscriptions: (o.filters ?? []).map(mpStr) };
    case T.SUBACK:
      return { cmd: "suback", messageId: o.id, granted: Array.prototype.slice.call(o.codes ?? []) };
  }
  return { cmd, messageId: o.id } as unknown as mp.Packet;
}

interface MpAny {
  cmd: string; messageId?: number; clientId?: string; clean?: boolean; keepalive?: number; protocolVersion?: number;
  will?: { topic: string; payload: Buffer; qos: number; retain: boolean };
  username?: string; password?: Buffer; sessionPresent?: boolean; returnCode?: number; topic?: string;
  payload?: Buffer; qos?: number; retain?: boolean; dup?: boolean; subscriptions?: { topic: string; qos: number }[];
  unsubscriptions?: string[]; granted?: number[];
}

/** View of a packet mqtt-packet parsed. */
export function mpView(x: object): View {
  const p = x as MpAny;
  const type = CMD.indexOf(p.cmd);
  switch (type) {
    case T.CONNECT: {
      const w = p.will;
      return {
        type, clientId: mpBytes(p.clientId ?? ""), clean: p.clean, keepalive: p.keepalive,
        will: w ? { topic: mpBytes(w.topic), payload: mpBytes(w.payload), qos: w.qos, retain: w.retain } : null,
        username: p.username != null ? mpBytes(p.username) : null, password: p.password != null ? mpBytes(p.password) : null,
      };
    }
    case T.CONNACK:
      return { type, sessionPresent: p.sessionPresent, code: p.returnCode };
    case T.PUBLISH:
      return {
        type, topic: mpBytes(p.topic ?? ""), payload: mpBytes(p.payload ?? ""), qos: p.qos, retain: p.retain, dup: p.dup,
        id: p.qos ? p.messageId : 0,
      };
    case T.SUBSCRIBE:
      return {
        type, id: p.messageId, filters: (p.subscriptions ?? []).map((s) => mpBytes(s.topic)),
        qoss: (p.subscriptions ?? []).map((s) => s.qos),
      };
    case T.UNSUBSCRIBE:
      return { type, id: p.messageId, filters: (p.unsubscriptions ?? []).map((s) => mpBytes(s)) };
    case T.SUBACK:
      return { type, id: p.messageId, codes: p.granted };
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP: case T.UNSUBACK:
      return { type, id: p.messageId };
  }
  return { type };
}

/** Parses bytes with mqtt-packet (protocol level 4): the packets it emitted and the first error, if any. */
export function mpParse(b: Uint8Array): { packets: View[]; error: Error | null } {
  const parser = mp.parser({ protocolVersion: 4 });
  const packets: View[] = [];
  let error: Error | null = null;
  parser.on("packet", (p: object) => { packets.push(mpView(p)); });
  parser.on("error", (e: Error) => { if (!error) error = e; });
  parser.parse(Buffer.from(b.buffer, b.byteOffset, b.length));
  return { packets, error };
}

/** mqtt-packet's bytes for a PacketInput, as hex (throws when mqtt-packet refuses it). */
export function mpGenerate(o: PacketInput): string {
  return mp.generate(toMp(o), { protocolVersion: 4 }).toString("hex");
}

/** Result of running one decoder over chunks: the views it handed out and the error it ended with. */
export interface Run {
  views: View[];
  err: Err;
  errType: number;
}

/**
 * A decoder (`max`, `parsers`) reused across runs: each call resets it, feeds `chunks` (stopping at the first
 * error) and returns what it handed out. Reuse keeps thousands of runs from allocating `max` bytes each.
 */
export function makeRunner(max: number, parsers: ArrayLike<Parser | 0> = ALL): (chunks: Uint8Array[]) => Run {
  let views: View[] = [];
  const d = new Decoder(max, parsers, (p) => { views.push(view(p)); });
  return (chunks) => {
    d.reset();
    views = [];
    let err: Err = Err.Ok;
    for (const c of chunks) {
      err = d.feed(c);
      if (err) break;
    }
    return { views, err, errType: d.errType_ };
  };
}

/** Feeds `chunks` to a new Decoder (`parsers`, `max`) and collects views; stops feeding after an error. */
export function decodeChunks(chunks: Uint8Array[], max: number, parsers: ArrayLike<Parser | 0> = ALL): Run {
  const views: View[] = [];
  const d = new Decoder(max, parsers, (p) => { views.push(view(p)); });
  let err: Err = Err.Ok;
  for (const c of chunks) {
    err = d.feed(c);
    if (err) break;
  }
  return { views, err, errType: d.errType_ };
}

/** `b` cut into chunks at the given (sorted) offsets. */
export function splitAt(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = 0;
  for (const c of cuts) { out.push(b.subarray(s, c)); s = c; }
  out.push(b.subarray(s));
  return out;
}

/** `b` as one chunk per byte. */
export function bytewise(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
}
