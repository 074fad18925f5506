/**
 * Test helpers (Node only) for the level-5 codec, as views.ts is for level 4: plain "views" of a packet built
 * from this codec's decoded Packet5, from an encode input (Packet5Input) and from mqtt-packet's parsed object
 * (`protocolVersion: 5`), and the conversion of a Packet5Input into mqtt-packet's packet object. Byte fields
 * become hex; properties become an object of the present ones, user properties a list of [name, value] pairs.
 *
 * mqtt-packet keeps user properties as an object (a repeated name: an array of values), so it writes and parses
 * them grouped by name, in the order each name first appears; `grouped` puts a view's pairs in that order for
 * the comparisons with it.
 */
import * as mp from "mqtt-packet";
import { Err } from "../../lib/errors";
import { Decoder } from "../../lib/mqtt/decoder";
import { Bytes, Packet, Parser, T } from "../../lib/mqtt/types";
import { Packet5Input } from "../../lib/mqtt5/encode";
import { ALL5 } from "../../lib/mqtt5/parsers";
import { Packet5, Props } from "../../lib/mqtt5/types";
import { bytesOf, CMD, hexOf, View } from "./views";

const AUTH = 15;

/** [our field, mqtt-packet's name, kind], in identifier order (the order both write them). */
export const PROPS: [keyof Props, string, string][] = [
  ["payloadFormat", "payloadFormatIndicator", "bool"], ["messageExpiry", "messageExpiryInterval", "num"],
  ["contentType", "contentType", "str"], ["responseTopic", "responseTopic", "str"],
  ["correlationData", "correlationData", "bin"], ["subIds", "subscriptionIdentifier", "ids"],
  ["sessionExpiry", "sessionExpiryInterval", "num"], ["assignedClientId", "assignedClientIdentifier", "str"],
  ["serverKeepAlive", "serverKeepAlive", "num"], ["authMethod", "authenticationMethod", "str"],
  ["authData", "authenticationData", "bin"], ["requestProblemInfo", "requestProblemInformation", "bool"],
  ["willDelay", "willDelayInterval", "num"], ["requestResponseInfo", "requestResponseInformation", "bool"],
  ["responseInfo", "responseInformation", "str"], ["serverReference", "serverReference", "str"],
  ["reasonString", "reasonString", "str"], ["receiveMax", "receiveMaximum", "num"],
  ["topicAliasMax", "topicAliasMaximum", "num"], ["topicAlias", "topicAlias", "num"], ["maxQos", "maximumQoS", "num"],
  ["retainAvailable", "retainAvailable", "bool"], ["userProps", "userProperties", "pairs"],
  ["maxPacketSize", "maximumPacketSize", "num"], ["wildcardAvailable", "wildcardSubscriptionAvailable", "bool"],
  ["subIdAvailable", "subscriptionIdentifiersAvailable", "bool"], ["sharedAvailable", "sharedSubscriptionAvailable", "bool"],
];

/** View of a property set (decoded, or an encode input): the present properties only. */
export function propsView(pr: Props | undefined | null): View {
  const out: View = {};
  if (!pr) return out;
  const o = pr as unknown as Record<string, unknown>;
  for (const [name, , kind] of PROPS) {
    const v = o[name];
    if (v === undefined || v === null) continue;
    if (kind == "ids") { if ((v as number[]).length) out[name] = (v as number[]).slice(); continue; }
    if (kind == "pairs") {
      const l = v as Bytes[];
      if (!l.length) continue;
      const pairs: string[][] = [];
      for (let i = 0; i < l.length; i += 2) pairs.push([hexOf(bytesOf(l[i]!)), hexOf(bytesOf(l[i + 1]!))]);
      out[name] = pairs;
      continue;
    }
    out[name] = kind == "str" || kind == "bin" ? hexOf(bytesOf(v as Bytes)) : v;
  }
  return out;
}

/** View of a decoded level-5 packet (call inside onPacket: it copies what it keeps). */
export function view5(x: Packet): View {
  const p = x as Packet5;
  const props = propsView(p.props);
  switch (p.type as number) {
    case T.CONNECT:
      return {
        type: p.type, clientId: hexOf(p.clientId), clean: p.clean, keepalive: p.keepalive,
        will: p.will ? { topic: hexOf(p.willTopic), payload: hexOf(p.willPayload), qos: p.willQos, retain: p.willRetain, props: propsView(p.willProps) } : null,
        username: p.username ? hexOf(p.username) : null, password: p.password ? hexOf(p.password) : null, props,
      };
    case T.CONNACK:
      return { type: p.type, sessionPresent: p.sessionPresent, code: p.code, props };
    case T.PUBLISH:
      return { type: p.type, topic: hexOf(p.topic), payload: hexOf(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, id: p.id, props };
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP:
      return { type: p.type, id: p.id, code: p.code, props };
    case T.SUBSCRIBE:
      return { type: p.type, id: p.id, filters: p.filters.map(hexOf), opts: p.opts.slice(), props };
    case T.UNSUBSCRIBE:
      return { type: p.type, id: p.id, filters: p.filters.map(hexOf), props };
    case T.SUBACK: case T.UNSUBACK:
      return { type: p.type, id: p.id, codes: Array.prototype.slice.call(p.codes), props };
    case T.DISCONNECT: case AUTH:
      return { type: p.type, code: p.code, props };
  }
  return { type: p.type };
}

function h(s: Bytes | undefined): string {
  return hexOf(bytesOf(s ?? ""));
}

/** The view a Packet5Input should decode to (the encoder's defaults and rules applied). */
export function expected5(o: Packet5Input): View {
  const props = propsView(o.props);
  const code = o.code ?? 0;
  switch (o.type as number) {
    case T.CONNECT: {
      const w = o.will;
      return {
        type: o.type, clientId: h(o.clientId), clean: o.clean ?? true, keepalive: o.keepalive ?? 60,
        will: w ? { topic: h(w.topic), payload: h(w.payload), qos: w.qos ?? 0, retain: !!w.retain, props: propsView(w.props) } : null,
        username: o.username != null ? h(o.username) : null, password: o.password != null ? h(o.password) : null, props,
      };
    }
    case T.CONNACK:
      return { type: o.type, sessionPresent: !!o.sessionPresent && !code, code, props };
    case T.PUBLISH: {
      const qos = o.qos ?? 0;
      return { type: o.type, topic: h(o.topic), payload: h(o.payload), qos, retain: !!o.retain, dup: !!o.dup && qos > 0, id: qos ? o.id : 0, props };
    }
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP:
      return { type: o.type, id: o.id, code, props };
    case T.SUBSCRIBE:
      return { type: o.type, id: o.id, filters: (o.filters ?? []).map(h), opts: (o.opts ?? o.qoss ?? []).slice(), props };
    case T.UNSUBSCRIBE:
      return { type: o.type, id: o.id, filters: (o.filters ?? []).map(h), props };
    case T.SUBACK: case T.UNSUBACK:
      return { type: o.type, id: o.id, codes: Array.prototype.slice.call(o.codes ?? []), props };
    case T.DISCONNECT: case AUTH:
      return { type: o.type, code, props };
  }
  return { type: o.type };
}

/** A view with its user property pairs (packet and will) in mqtt-packet's order: grouped by name. */
export function grouped(v: View): View {
  const out = JSON.parse(JSON.stringify(v)) as View;
  const fix = (pr: View | undefined): void => {
    const l = pr && (pr["userProps"] as string[][] | undefined);
    if (!l) return;
    const names: string[] = [];
    for (const [k] of l) if (!names.includes(k!)) names.push(k!);
    // a JS object lists integer-like keys first, ascending, then the others in insertion order
    const index = (hex: string): number => {
      const t = Buffer.from(hex, "hex").toString("utf8");
      return /^(0|[1-9]\d{0,8})$/.test(t) ? Number(t) : -1;
    };
    const ints = names.filter((n) => index(n) >= 0).sort((a, b) => index(a) - index(b));
    const order = ints.concat(names.filter((n) => index(n) < 0));
    pr["userProps"] = order.flatMap((n) => l.filter((x) => x[0] == n));
  };
  fix(out["props"] as View | undefined);
  fix((out["will"] as View | null)?.["props"] as View | undefined);
  return out;
}

function mpStr(s: Bytes): string {
  return typeof s == "string" ? s : Buffer.from(s).toString("utf8");
}

/** mqtt-packet's properties object for ours, keys in identifier order. */
export function toMpProps(pr: Props | undefined): Record<string, unknown> | undefined {
  if (!pr) return undefined;
  const o = pr as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [name, mpName, kind] of PROPS) {
    const v = o[name];
    if (v === undefined || v === null) continue;
    if ((kind == "ids" || kind == "pairs") && !(v as unknown[]).length) continue;
    any = true;
    if (kind == "bool") out[mpName] = v === 1;
    else if (kind == "str") out[mpName] = mpStr(v as Bytes);
    else if (kind == "bin") out[mpName] = Buffer.from(bytesOf(v as Bytes));
    else if (kind == "ids") out[mpName] = (v as number[]).length == 1 ? (v as number[])[0] : (v as number[]).slice();
    else if (kind == "pairs") {
      const l = v as Bytes[];
      const u: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
      for (let i = 0; i < l.length; i += 2) {
        const k = mpStr(l[i]!);
        const val = mpStr(l[i + 1]!);
        const had = u[k];
        u[k] = had === undefined ? val : Array.isArray(had) ? had.concat([val]) : [had, val];
      }
      out[mpName] = u;
    } else out[mpName] = v;
  }
  return any ? out : undefined;
}

/** The equivalent mqtt-packet object, for `mp.generate(obj, { protocolVersion: 5 })`. */
export function toMp5(o: Packet5Input): mp.Packet {
  const cmd = CMD[o.type];
  const properties = toMpProps(o.props);
  const code = o.code ?? 0;
  const pkt: Record<string, unknown> = { cmd };
  if (properties) pkt.properties = properties;
  switch (o.type as number) {
    case T.CONNECT: {
      const w = o.will;
      Object.assign(pkt, { protocolId: "MQTT", protocolVersion: 5, clean: o.clean ?? true, keepalive: o.keepalive ?? 60, clientId: mpStr(o.clientId ?? "") });
      if (o.username != null) pkt.username = mpStr(o.username);
      if (o.password != null) pkt.password = Buffer.from(bytesOf(o.password));
      if (w) {
        const wp = toMpProps(w.props);
        pkt.will = { topic: mpStr(w.topic), payload: Buffer.from(bytesOf(w.payload)), qos: w.qos ?? 0, retain: !!w.retain, ...(wp ? { properties: wp } : {}) };
      }
      break;
    }
    case T.CONNACK:
      Object.assign(pkt, { sessionPresent: !!o.sessionPresent && !code, reasonCode: code });
      break;
    case T.PUBLISH: {
      const qos = o.qos ?? 0;
      Object.assign(pkt, { topic: Buffer.from(bytesOf(o.topic ?? "")), payload: Buffer.from(bytesOf(o.payload ?? "")), qos, retain: !!o.retain, dup: !!o.dup && qos > 0 });
      if (qos) pkt.messageId = o.id;
      break;
    }
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP:
      Object.assign(pkt, { messageId: o.id, reasonCode: code });
      break;
    case T.SUBSCRIBE:
      pkt.messageId = o.id;
      pkt.subscriptions = (o.filters ?? []).map((f, i) => {
        const b = (o.opts ?? o.qoss ?? [])[i]!;
        return { topic: mpStr(f), qos: b & 3, nl: (b & 4) != 0, rap: (b & 8) != 0, rh: b >> 4 & 3 };
      });
      break;
    case T.UNSUBSCRIBE:
      Object.assign(pkt, { messageId: o.id, unsubscriptions: (o.filters ?? []).map(mpStr) });
      break;
    case T.SUBACK: case T.UNSUBACK:
      Object.assign(pkt, { messageId: o.id, granted: Array.prototype.slice.call(o.codes ?? []) });
      break;
    case T.DISCONNECT: case AUTH:
      pkt.reasonCode = code;
      break;
  }
  return pkt as unknown as mp.Packet;
}

function mpBytes(s: unknown): string {
  return hexOf(typeof s == "string" ? Buffer.from(s, "utf8") : (s as Buffer));
}

/** View of mqtt-packet's properties object. */
export function mpPropsView(x: unknown): View {
  const out: View = {};
  if (!x) return out;
  const o = x as Record<string, unknown>;
  for (const [name, mpName, kind] of PROPS) {
    const v = o[mpName];
    if (v === undefined || v === null) continue;
    if (kind == "bool") out[name] = v ? 1 : 0;
    else if (kind == "str" || kind == "bin") out[name] = mpBytes(v);
    else if (kind == "ids") out[name] = Array.isArray(v) ? v.slice() : [v];
    else if (kind == "pairs") {
      const pairs: string[][] = [];
      for (const k of Object.keys(v as object)) {
        const val = (v as Record<string, unknown>)[k];
        for (const one of Array.isArray(val) ? val : [val]) pairs.push([mpBytes(k), mpBytes(String(one))]);
      }
      out[name] = pairs;
    } else out[name] = v;
  }
  return out;
}

interface MpAny {
  cmd: string; messageId?: number; clientId?: string; clean?: boolean; keepalive?: number; properties?: unknown;
  will?: { topic: string; payload: Buffer; qos: number; retain: boolean; properties?: unknown };
  username?: string; password?: Buffer; sessionPresent?: boolean; reasonCode?: number; topic?: string;
  payload?: Buffer; qos?: number; retain?: boolean; dup?: boolean;
  subscriptions?: { topic: string; qos: number; nl: boolean; rap: boolean; rh: number }[];
  unsubscriptions?: string[]; granted?: number[];
}

/** View of a packet mqtt-packet parsed at protocol level 5. */
export function mpView5(x: object): View {
  const p = x as MpAny;
  const type = CMD.indexOf(p.cmd);
  const props = mpPropsView(p.properties);
  switch (type) {
    case T.CONNECT: {
      const w = p.will;
      return {
        type, clientId: mpBytes(p.clientId ?? ""), clean: p.clean, keepalive: p.keepalive,
        will: w ? { topic: mpBytes(w.topic), payload: mpBytes(w.payload), qos: w.qos, retain: w.retain, props: mpPropsView(w.properties) } : null,
        username: p.username != null ? mpBytes(p.username) : null, password: p.password != null ? mpBytes(p.password) : null, props,
      };
    }
    case T.CONNACK:
      return { type, sessionPresent: p.sessionPresent, code: p.reasonCode, props };
    case T.PUBLISH:
      return { type, topic: mpBytes(p.topic ?? ""), payload: mpBytes(p.payload ?? Buffer.alloc(0)), qos: p.qos, retain: p.retain, dup: p.dup, id: p.qos ? p.messageId : 0, props };
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP:
      return { type, id: p.messageId, code: p.reasonCode, props };
    case T.SUBSCRIBE:
      return {
        type, id: p.messageId, filters: (p.subscriptions ?? []).map((s) => mpBytes(s.topic)),
        opts: (p.subscriptions ?? []).map((s) => s.qos | (s.nl ? 4 : 0) | (s.rap ? 8 : 0) | s.rh << 4), props,
      };
    case T.UNSUBSCRIBE:
      return { type, id: p.messageId, filters: (p.unsubscriptions ?? []).map(mpBytes), props };
    case T.SUBACK: case T.UNSUBACK:
      return { type, id: p.messageId, codes: p.granted, props };
    case T.DISCONNECT: case AUTH:
      return { type, code: p.reasonCode, props };
  }
  return { type };
}

/** Parses bytes with mqtt-packet at protocol level 5: the packets it emitted and the first error, if any. */
export function mpParse5(b: Uint8Array): { packets: View[]; error: Error | null } {
  const parser = mp.parser({ protocolVersion: 5 });
  const packets: View[] = [];
  let error: Error | null = null;
  parser.on("packet", (p: object) => { packets.push(mpView5(p)); });
  parser.on("error", (e: Error) => { if (!error) error = e; });
  try {
    parser.parse(Buffer.from(b.buffer, b.byteOffset, b.length));
  } catch (e) {
    // mqtt-packet throws on some malformed input (e.g. a string property running past the packet)
    if (!error) error = e as Error;
  }
  return { packets, error };
}

/** mqtt-packet's bytes for a Packet5Input at protocol level 5, as hex (throws when it refuses). */
export function mpGenerate5(o: Packet5Input): string {
  return mp.generate(toMp5(o), { protocolVersion: 5 }).toString("hex");
}

export interface Run5 {
  views: View[];
  err: Err;
  errType: number;
}

/** A decoder (`max`, `parsers`) reused across runs, as makeRunner in views.ts, with level-5 views. */
export function makeRunner5(max: number, parsers: ArrayLike<Parser | 0> = ALL5): (chunks: Uint8Array[]) => Run5 {
  let views: View[] = [];
  const d = new Decoder(max, parsers, (p) => { views.push(view5(p)); });
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
