/**
 * MQTT 5 in the broker (issue 9, requirement 3): level 4 and level 5 clients on one broker. The core
 * (core.ts and handlers/) calls into this module only behind `!globalThis.NO_MQTT5`, which the device build
 * defines as true (tools/build.mjs): there the calls and this module drop out at bundling, and the 3.1.1 device
 * bundles keep their size to the byte; on Node (no define) every broker speaks both levels.
 *
 * What a level-5 connection gets here:
 * - CONNECT: Clean Start and Session Expiry Interval instead of the clean-session flag (§3.1.2.4, §3.1.2.11.2);
 *   an empty client id is assigned one and told in CONNACK's Assigned Client Identifier [MQTT-3.2.2-16]; the
 *   client's Receive Maximum (in-flight QoS 1/2 to it [MQTT-3.3.4-9]) and Maximum Packet Size (nothing bigger is
 *   sent to it [MQTT-3.1.2-24]) are kept; CONNACK says what this broker takes (Receive Maximum, Maximum Packet
 *   Size, Topic Alias Maximum) and refuses with level-5 reason codes.
 * - PUBLISH in: Topic Alias (§3.3.2.3.4, at most TOPIC_ALIASES per connection); Message Expiry Interval (a message
 *   kept past it is not delivered: from queues and as retained); Payload Format Indicator, Content Type, Response
 *   Topic, Correlation Data and User Properties passed on unchanged [MQTT-3.3.2-15] [MQTT-3.3.2-16]
 *   [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]; the Message Expiry Interval passed on is what is left of it
 *   [MQTT-3.3.2-6].
 * - SUBSCRIBE: No Local [MQTT-3.8.3-3], Retain As Published [MQTT-3.3.1-12], Retain Handling 0/1/2
 *   [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]; SUBACK and UNSUBACK with reason codes; a Subscription
 *   Identifier is kept with the subscription (also across restarts, in the snapshot) and sent with every
 *   message it matches, several when several subscriptions of the session match, in one PUBLISH [MQTT-3.3.4-3]
 *   [MQTT-3.3.4-4], and with the retained messages the SUBSCRIBE brings.
 * - DISCONNECT: from the client with reason 0x04 still sends the will; a Session Expiry Interval in it replaces
 *   the CONNECT's (setting one after 0 at CONNECT is a Protocol Error, §3.14.2.2.2); the broker's own closes carry a
 *   reason code (Malformed Packet, Protocol Error, Packet too large, Session taken over, Keep Alive timeout,
 *   Receive Maximum exceeded, Topic Alias invalid, Quota exceeded).
 *
 * Level-4 subscribers get level-5 messages as 3.1.1 PUBLISHes (properties dropped), and expired messages are
 * not delivered to them either.
 */
import { Err } from "../errors";
import { Packet, T } from "../mqtt/types";
import { SERVER } from "../mqtt/parsers";
import { encodeConnack5 } from "../mqtt5/connect";
import { encodeDisconnect5 } from "../mqtt5/disconnect";
import { SERVER5, SERVER_ANY } from "../mqtt5/parsers";
import { encodePublish5 } from "../mqtt5/publish";
import { encodeSuback5, encodeUnsuback5 } from "../mqtt5/subscribe";
import { Packet5, ParsedProps, Props } from "../mqtt5/types";
import type { BrokerCore as Broker } from "./core";
import type { Peer } from "./peer";
import type { Session } from "./session";
import { Msg } from "./types";

/** Topic aliases a level-5 client may set towards the broker (CONNACK Topic Alias Maximum). */
export const TOPIC_ALIASES = 16;

/** Session Expiry Interval meaning "never" (§3.1.2.11.2). */
const NEVER = 0xffffffff;

/**
 * Subscription option bits kept with a level-5 subscription's QoS in the subscription table (QoS in bits 0-1),
 * and its Subscription Identifier from bit 8 up (the number is `qos | options + id * ID_UNIT`: the low byte,
 * which SUBSCRIBE's return codes keep, is never 0x80).
 */
export const NO_LOCAL = 4;
export const AS_PUBLISHED = 8;
export const ID_UNIT = 256;

/** The properties of a message passed on to level-5 subscribers, copied out of the packet. */
export interface MsgProps {
  payloadFormat?: number;
  contentType?: Uint8Array;
  responseTopic?: Uint8Array;
  correlationData?: Uint8Array;
  userProps?: Uint8Array[];
}

const copy = (u: Uint8Array | undefined): Uint8Array | undefined => u ? new Uint8Array(u) : undefined;

/**
 * The parser table of a broker that takes both levels: for the connection being decoded (`b.cur_`), its
 * level's parser; before CONNECT, a CONNECT of either level (parseConnectAny).
 */
export function levelParsers(b: Broker): (((p: Packet, d: Uint8Array, s: number, e: number) => number) | 0)[] {
  const t: (((p: Packet, d: Uint8Array, s: number, e: number) => number) | 0)[] = [];
  for (let i = 0; i < 16; i++) t.push(pick(b, i));
  return t;
}

/** The parser of packet type `i` for the connection being decoded (see levelParsers). */
function pick(b: Broker, i: number): ((p: Packet, d: Uint8Array, s: number, e: number) => number) | 0 {
  const v4 = SERVER[i] || 0;
  const v5 = SERVER5[i] || 0;
  const any = SERVER_ANY[i] || 0;
  if (!v4 && !v5) return 0;
  return (p, d, s, e) => {
    const c = b.cur_;
    const f = i == T.CONNECT && (!c || !c.s_) ? any : c && c.v5 ? v5 : v4;
    return f ? f(p, d, s, e) : Err.PacketType;
  };
}

/** Level-5 CONNECT: what the session and connection take from its properties; the assigned id, if one was. */
export function connect5(b: Broker, p: Peer, s: Session, pk: Packet5, present: boolean): void {
  const pr = pk.props;
  p.v5 = 1;
  p.rm5 = pr.receiveMax || 65535;
  p.mp5 = pr.maxPacketSize || 0;
  const sx = pr.sessionExpiry || 0;
  s.sx5 = sx;
  s.clean = sx ? 0 : 1; // a session that ends with its connection is what a clean session was at level 4
  delete s.exAt5;
  const w = s.will_;
  if (w && pk.will) {
    const wp = pk.willProps;
    w.pr5 = msgProps(wp);
    if (wp.messageExpiry !== undefined) w.ex5 = wp.messageExpiry; // (seconds, made absolute when it is sent)
    if (wp.willDelay) w.dl5 = wp.willDelay;
  }
  const c: Props = { receiveMax: b.maxInbound_, maxPacketSize: b.maxPacket_, topicAliasMax: TOPIC_ALIASES };
  if (!pk.clientId.length) c.assignedClientId = s.id; // the id the broker gave [MQTT-3.2.2-16]
  b.send_(p, encodeConnack5(b.tx_, 0, present, 0, c));
}

/** A level-5 CONNACK refusal, the level-4 code turned into its reason code. */
export function refuse5(b: Broker, p: Peer, code: number): void {
  b.send_(p, encodeConnack5(b.tx_, 0, false, [0, 0x84, 0x85, 0x88, 0x86, 0x87][code] || 0x80));
}

/** A level-5 PUBLISH in: the topic (alias resolved), or "" after closing the connection; the message's extras into `m`. */
export function topic5(b: Broker, p: Peer, pk: Packet5): string {
  const a = pk.props.topicAlias;
  let topic = pk.topic.length ? b.text_(pk.topic) : "";
  if (a !== undefined) {
    if (a < 1 || a > TOPIC_ALIASES) { close5(b, p, 0x94, "topic alias " + a + " out of range"); return ""; }
    const ta = p.ta5 || (p.ta5 = []);
    if (topic) ta[a] = topic;
    else topic = ta[a] || "";
  }
  if (!topic) close5(b, p, 0x82, "PUBLISH without a topic or a known alias");
  return topic;
}

/** What a level-5 PUBLISH or will adds to the message made of it: the properties passed on, the expiry time. */
export interface Extras {
  pr5?: MsgProps;
  ex5?: number;
}

/** The Extras of a level-5 PUBLISH. */
export function extras5(b: Broker, pr: ParsedProps): Extras {
  return { pr5: msgProps(pr), ex5: pr.messageExpiry !== undefined ? b.clock.now() + pr.messageExpiry * 1000 : undefined };
}

/** The Extras of a will when it is published (its Message Expiry Interval counts from then). */
export function willExtras(b: Broker, w: Msg): Extras | null {
  if (!w.pr5 && w.ex5 === undefined) return null;
  return { pr5: w.pr5, ex5: w.ex5 !== undefined ? b.clock.now() + w.ex5 * 1000 : undefined };
}

function msgProps(pr: ParsedProps): MsgProps | undefined {
  if (!pr.seen_) return undefined;
  const o: MsgProps = {};
  if (pr.payloadFormat !== undefined) o.payloadFormat = pr.payloadFormat;
  if (pr.contentType) o.contentType = copy(pr.contentType);
  if (pr.responseTopic) o.responseTopic = copy(pr.responseTopic);
  if (pr.correlationData) o.correlationData = copy(pr.correlationData);
  if (pr.userProps.length) o.userProps = pr.userProps.map((u) => new Uint8Array(u));
  return o;
}

/** Has `m` expired? (then it is not delivered) */
export function expired(b: Broker, m: Msg): boolean {
  return m.ex5 !== undefined && b.clock.now() >= m.ex5;
}

/**
 * A level-5 PUBLISH of `m` to `p` into the broker's buffer: its size, or an Err: Err.TooLarge when it is bigger
 * than the client's Maximum Packet Size (not sent: dropped for this client, counted [MQTT-3.1.2-25]).
 */
export function publish5(b: Broker, p: Peer, m: Msg, q: number, retain: boolean, dup: boolean, id: number): number {
  let pr: Props | undefined = m.pr5;
  if (m.ex5 !== undefined || m.si5) {
    pr = Object.assign({}, m.pr5 || {}) as Props;
    if (m.ex5 !== undefined) pr.messageExpiry = Math.max(0, Math.ceil((m.ex5 - b.clock.now()) / 1000)); // what is left [MQTT-3.3.2-6]
    if (m.si5) pr.subIds = m.si5; // [MQTT-3.3.4-3]
  }
  const n = encodePublish5(b.tx_, 0, m.tp_, m.pl_, q, retain, dup, id, pr);
  return n > 0 && p.mp5 && n > p.mp5 ? Err.TooLarge : n;
}

/**
 * A level-5 SUBSCRIBE's filter `i`: its Subscription Options kept with the QoS (No Local, Retain As
 * Published), and whether Retain Handling skips the retained messages (in b.s5).
 */
export function options5(b: Broker, s: Session, f: string, pk: Packet5, i: number): number {
  const o = pk.opts[i]!;
  const rh = o >> 4 & 3;
  b.s5!.push(rh == 2 || rh == 1 && s.filters_.indexOf(f) >= 0 ? 1 : 0);
  // the SUBSCRIBE's Subscription Identifier goes with each of its filters (§3.8.2.1.2)
  return (pk.qoss[i]! | o & (NO_LOCAL | AS_PUBLISHED)) + (pk.props.subIds[0] || 0) * ID_UNIT;
}

/** Routing, a level-5 subscription matched for `s`: its Subscription Identifier (if any) joins the message's. */
export function matchedId5(s: Session, q: number, mark: number): void {
  const id = Math.floor(q / ID_UNIT);
  if (!id) return;
  if (s.idm5 !== mark) { s.idm5 = mark; s.ids5 = []; }
  s.ids5!.push(id);
}

/** `m` for `s`: a copy with the Subscription Identifiers of `s`'s matching subscriptions, or `m` when none. */
export function forSession5(s: Session, m: Msg, mark: number): Msg {
  return s.idm5 === mark ? withIds(m, s.ids5!) : m;
}

/** A per-session copy of `m` (payload shared) that goes out with Subscription Identifiers `ids` [MQTT-3.3.4-3]. */
export function withIds(m: Msg, ids: number[]): Msg {
  const c = Object.assign({}, m) as Msg;
  c.si5 = ids.slice().sort((a, z) => a - z);
  return c;
}

/**
 * SUBACK at level 5: each granted QoS without the options kept with it; a refusal (0x80 at level 4) says why:
 * Not authorized (the ACL) or Quota exceeded (a limit).
 */
export function suback5(b: Broker, p: Peer, s: Session, id: number, codes: Uint8Array, fs: string[]): void {
  const a = b.o.auth;
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] != 0x80) codes[i] = codes[i]! & 3;
    else codes[i] = a && !a.canSubscribe(s.id, s.user_ || null, fs[i]!) ? 0x87 : 0x97;
  }
  b.send_(p, encodeSuback5(b.tx_, 0, id, codes));
}

/** UNSUBACK at level 5: 0 for each filter removed, 0x11 (No subscription existed) for the others. */
export function unsuback5(b: Broker, p: Peer, id: number, codes: number[]): void {
  b.send_(p, encodeUnsuback5(b.tx_, 0, id, codes));
}

/** The broker closes a level-5 connection: DISCONNECT with `rc` first (§3.14), then the close. */
export function close5(b: Broker, p: Peer, rc: number, why: string): void {
  if (p.dead_) return;
  p.rc5 = rc;
  b.drop_(p, why);
}

/**
 * Sends the DISCONNECT of a connection the broker is closing (from drop_), once, and only if the connection has
 * room for it: a client that stopped reading is closed without it (send_ would end the connection again, from
 * inside this one's end).
 */
export function disconnect5(b: Broker, p: Peer): void {
  const rc = p.rc5;
  if (rc === undefined) return;
  delete p.rc5;
  const n = encodeDisconnect5(b.tx_, 0, rc);
  if (n > 0 && p.c_.room() >= n) b.send_(p, n);
}

/** DISCONNECT from a level-5 client: 0x04 keeps the will; a new Session Expiry Interval, not from 0 (Protocol Error). */
export function onDisconnect5(b: Broker, p: Peer, pk: Packet5): void {
  const s = p.s_!;
  const sx = pk.props.sessionExpiry;
  if (sx !== undefined) {
    if (!s.sx5 && sx) return close5(b, p, 0x82, "session expiry set at DISCONNECT after 0 at CONNECT");
    s.sx5 = sx;
    s.clean = sx ? 0 : 1;
  }
  if (pk.code != 0x04) p.bye_ = 1;
  b.drop_(p, "");
}

/** When a level-5 session's connection ends: the time it expires, unless it never does (Broker.tick forgets it then). */
export function detached5(b: Broker, s: Session): void {
  if (s.sx5 && s.sx5 != NEVER) s.exAt5 = b.clock.now() + s.sx5 * 1000;
}

/**
 * The will of a connection that ended without DISCONNECT: false when it is to wait for its Will Delay Interval
 * (§3.1.3.2.2), which then starts; it goes out when the interval has passed or the session ends, whichever is
 * first (Broker.tick, or now for a session that ends with its connection), unless a new connection for the
 * client id comes first, Clean Start or not [MQTT-3.1.2-8] [MQTT-3.1.3-9].
 */
export function delayWill5(b: Broker, s: Session, w: Msg): boolean {
  if (!w.dl5 || s.clean) return true;
  s.wl5 = w;
  s.wAt5 = b.clock.now() + w.dl5 * 1000;
  return false;
}

/** A new connection for the session's client id: a will still waiting is not sent [MQTT-3.1.2-8] [MQTT-3.1.3-9]. */
export function cancelWill5(s: Session): void {
  if (s.wl5) { delete s.wl5; delete s.wAt5; }
}

/** Publishes the will `w` (its properties and Message Expiry Interval from now). */
export function publishWill5(b: Broker, w: Msg): void {
  b.x5 = willExtras(b, w);
  b.incoming_(w.tp_, w.pl_, w.qos_, !!w.rt_, null);
  b.x5 = null;
}

/**
 * Broker.tick: wills whose delay has passed go out, and so do those of sessions that expire now (`ending`:
 * the session is about to be forgotten).
 */
export function dueWill5(b: Broker, s: Session, now: number, ending: boolean): void {
  const w = s.wl5;
  if (!w || s.peer_ || !ending && now < s.wAt5!) return;
  cancelWill5(s);
  publishWill5(b, w);
}
