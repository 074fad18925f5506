/**
 * The MQTT 5 client (issue 9, requirement 2): the 3.1.1 client of lib/mqtt/client.ts (state machine, outbox,
 * in-flight window, keepalive, reconnect) speaking protocol level 5. It is a subclass in its own module, so a
 * bundle that uses only the 3.1.1 Client carries none of it (requirement 4).
 *
 * What level 5 adds here:
 * - CONNECT with Session Expiry Interval (§3.1.2.11.2), Receive Maximum (the inbound QoS 2 window), Maximum
 *   Packet Size (`maxPacket`), Topic Alias Maximum (`aliasesIn`), user properties, and will properties (Will
 *   Delay Interval, Message Expiry...). `clean` is Clean Start (§3.1.2.4): it applies to the first connection;
 *   reconnects resume the session when it outlives the connection (Session Expiry Interval above 0).
 * - falling back to level 4 when the broker refuses level 5 with a 3.1.1 CONNACK 1 (§3.1.2.2, [MQTT-3.1.2-2]
 *   at level 4): the next connection is at level 4 and the client behaves as the 3.1.1 Client from then on;
 *   messages queued in the outbox are rewritten as level-4 PUBLISH packets, so none is lost.
 * - the CONNACK's limits honoured (§3.2.2.3): Receive Maximum caps the QoS 1/2 window [MQTT-3.3.4-9], Maximum
 *   Packet Size the packets sent [MQTT-3.1.2-24], Topic Alias Maximum the outbound aliases [MQTT-3.3.2-9],
 *   Maximum QoS and Retain Available the publishes accepted [MQTT-3.2.2-11] [MQTT-3.2.2-14], Server Keep
 *   Alive the keepalive [MQTT-3.2.2-21], Assigned Client Identifier the id used on reconnect.
 * - inbound Receive Maximum checked: more unreleased QoS 2 messages than advertised are counted (`rxOver`),
 *   or with `strictReceiveMax` the server is disconnected with 0x93 (§3.3.4; not the default: Mosquitto 2.0.11
 *   exceeds it); inbound topic aliases (a fixed table of `aliasesIn` topics, reset per
 *   connection [MQTT-3.3.2-7]; an alias over the maximum is 0x94 [MQTT-3.3.2-10], an unknown one 0x82).
 * - outbound topic aliases (a fixed table of `aliasesOut` topics, replaced round robin): used for QoS 0
 *   messages that go straight to the transport. Messages kept in the outbox (QoS 1/2, or queued) carry their
 *   full topic, since an alias means nothing on the next connection, where they may be resent [MQTT-3.3.2-7].
 * - properties on PUBLISH (`publish(..., props)`: message expiry, user properties, content type, response
 *   topic, correlation data), SUBSCRIBE (subscription options and identifier) and DISCONNECT.
 * - reason codes reported with their names (Reason): `error` (CONNACK refusal, DISCONNECT from the server),
 *   `ack` (a PUBACK/PUBREC/PUBCOMP reason other than Success), `suback`/`unsuback` (a refusal). Successes
 *   allocate nothing.
 * - AUTH (§4.12): the `auth` event hands over the packet; `auth(code, props)` answers.
 */
import { Err } from "../errors";
import { Clock, Transport } from "../hal/net";
import { Client, ClientOptions, Slot, St } from "../mqtt/client";
import { parseConnack } from "../mqtt/connect";
import { CLIENT } from "../mqtt/parsers";
import { checkTopic } from "../mqtt/topic";
import { Bytes, Packet, Parser, T } from "../mqtt/types";
import { utf8Text } from "../mqtt/utf8";
import { encodeConnect5, parseConnack5, Will5Fields } from "./connect";
import { encodePublish5, publish5Size } from "./publish";
import { encodeSubscribe5, encodeUnsubscribe5 } from "./subscribe";
import { encodeDisconnect5 } from "./disconnect";
import { encodeAuth5 } from "./auth";
import { reasonForErr, reasonName } from "./reason";
import { CLIENT5 } from "./parsers";
import { Packet5, ParsedProps, Props, T5 } from "./types";

export interface Client5Options extends ClientOptions {
  /** Protocol level: 5 (default) or 4 (the 3.1.1 client's behaviour). */
  level?: number;
  /**
   * Session Expiry Interval in seconds (§3.1.2.11.2): how long the broker keeps the session after the
   * connection ends. Default 0 with `clean` (the session ends with the connection), 0xFFFFFFFF (never expires)
   * with `clean: false`, which is what `clean: false` means at level 4.
   */
  sessionExpiry?: number;
  /** The will, with its properties (Will Delay Interval, Message Expiry Interval, ...: §3.1.3.2). */
  will?: Will5Fields;
  /** More CONNECT properties: user properties, Request Problem/Response Information, authentication. */
  props?: Props;
  /** Topic aliases accepted from the server (Topic Alias Maximum in CONNECT; default 8, 0 for none). */
  aliasesIn?: number;
  /** Topic aliases used towards the server, at most its Topic Alias Maximum (default 8, 0 for none). */
  aliasesOut?: number;
  /**
   * Disconnect (0x93) a server that has more unreleased QoS 2 messages outstanding than our Receive Maximum
   * (default false: they are counted in `rxOver` and the connection stays). Off by default because Mosquitto
   * 2.0.11 (Debian's) replenishes its send quota at our PUBREC and again at our PUBCOMP, so it exceeds any
   * Receive Maximum under a QoS 2 stream (measured in test/interop.mosquitto5.test.ts); a strict client would
   * drop the connection to it again and again.
   */
  strictReceiveMax?: boolean;
}

/** Subscription options of `subscribe` at level 5 (§3.8.3.1), and its properties. */
export interface Sub5Options {
  /** No Local: messages this client publishes are not sent back to it [MQTT-3.8.3-3]. */
  noLocal?: boolean;
  /** Retain As Published: forwarded messages keep their RETAIN flag (§3.8.3.1). */
  retainAsPublished?: boolean;
  /** Retain Handling: 0 retained messages at subscribe, 1 only for a new subscription, 2 never. */
  retainHandling?: number;
  /** Subscription Identifier, 1..268,435,455 (§3.8.2.1.2): the server returns it with matching messages. */
  id?: number;
  /** User properties of the SUBSCRIBE, flattened name/value pairs. */
  userProps?: Bytes[];
}

/** A reason code with its spec name (Table 2-6), and the Reason String when the server sent one. */
export interface Reason {
  code: number;
  name: string;
  text?: string;
  /** Server Reference (DISCONNECT 0x9C/0x9D, CONNACK): another server to use. */
  server?: string;
}

/** The CONNACK of the current connection, copied out of the packet (§3.2.2.3). */
export interface Connack5 {
  sessionPresent: boolean;
  /** Session Expiry Interval the server chose (absent: the client's). */
  sessionExpiry?: number;
  receiveMax: number;
  maxPacketSize?: number;
  topicAliasMax: number;
  maxQos: number;
  retainAvailable: boolean;
  assignedClientId?: string;
  serverKeepAlive?: number;
  responseInfo?: string;
  reasonString?: string;
  userProps: string[];
  wildcardAvailable: boolean;
  subIdAvailable: boolean;
  sharedAvailable: boolean;
}

/** The Err a CONNACK refusal is reported with (the Reason carries the exact code). */
function refusal(code: number): Err {
  if (code == 0x84) return Err.RefusedProtocol;
  if (code == 0x85) return Err.RefusedIdentifier;
  if (code == 0x86) return Err.RefusedCredentials;
  if (code == 0x87 || code == 0x8a || code == 0x8c) return Err.RefusedNotAuthorized;
  if (code == 0x81 || code == 0x82) return Err.Protocol;
  if (code == 0x95) return Err.TooLarge;
  return Err.RefusedUnavailable;
}

/** A string property as text, or undefined. */
function text(v: Uint8Array | undefined): string | undefined {
  return v ? utf8Text(v) : undefined;
}

/**
 * A CONNACK at level 4 or 5: a 2-byte body is a 3.1.1 CONNACK (a broker that does not speak level 5 answers
 * the CONNECT with one, code 1 [MQTT-3.1.2-2]), marked by `level` 4 in the record.
 */
function parseConnackAny(p: Packet, b: Uint8Array, s: number, e: number): number {
  if (e - s == 2 && b[s + 1]) { p.level = 4; return parseConnack(p, b, s, e); }
  p.level = 5;
  return parseConnack5(p as Packet5, b, s, e);
}

export class Client5 extends Client {
  /** The CONNACK of the current (or last) connection at level 5, or undefined. */
  connack?: Connack5;
  /** Protocol level in use: 5, or 4 after falling back (or when configured). */
  level: number;
  /** Inbound QoS 2 messages that arrived beyond our Receive Maximum (the server broke it; see strictReceiveMax). */
  rxOver = 0;
  protected u_: Client5Options; // the caller's options (o_ is a copy whose limits follow the CONNACK)
  protected ain_: (string | undefined)[]; // inbound topic aliases, index alias - 1
  protected aout_: string[]; // outbound topic aliases, index alias - 1
  protected an_ = 0; // next outbound alias slot to replace
  protected amax_ = 0; // outbound aliases usable on this connection
  protected pmax_ = 0; // the server's Maximum Packet Size (0: none)
  protected qmax_ = 2; // the server's Maximum QoS
  protected rok_ = true; // the server's Retain Available
  protected at_?: string; // the topic of the PUBLISH being delivered, when it came by alias
  protected fb_ = false; // fell back to level 4 on this connection: reconnect at once
  protected pa_: Props = {}; // the properties of a QoS 0 PUBLISH sent with an alias (reused)
  protected sp_: { [filter: string]: Sub5Options | number } = {}; // subscription options by filter

  constructor(o: Client5Options, transport: Transport, clock: Clock) {
    const c: { [k: string]: unknown } = {};
    for (const k in o) c[k] = (o as unknown as { [k: string]: unknown })[k];
    super(c as unknown as ClientOptions, transport, clock);
    this.u_ = o;
    this.level = o.level == 4 ? 4 : 5;
    this.ain_ = new Array(o.aliasesIn ?? 8);
    this.aout_ = new Array(o.aliasesOut ?? 8);
    if (this.level == 5) this.parsers_(P5);
  }

  /** Sets the decoder's parser table (the decoder is its own spec: see lib/mqtt/decoder.ts). */
  protected parsers_(t: ArrayLike<Parser | 0>): void {
    (this.dec_ as unknown as { parsers_: ArrayLike<Parser | 0> }).parsers_ = t;
  }

  /**
   * Publishes, with level-5 properties (`props`: messageExpiry, userProps, contentType, responseTopic,
   * correlationData, payloadFormat). Returns as the 3.1.1 publish does; also Err.Argument for a QoS above the
   * server's Maximum QoS or RETAIN where it has none [MQTT-3.2.2-11] [MQTT-3.2.2-14], Err.TooLarge over the
   * server's Maximum Packet Size, Err.Argument for a Topic Alias (the client chooses them), and a property
   * error (see props.ts) for a property PUBLISH may not carry.
   */
  override publish(topic: Bytes, payload: Bytes, qos?: number, retain?: boolean, props?: Props): number {
    if (this.level == 4) return super.publish(topic, payload, qos, retain);
    const q = qos || 0;
    if (!(q >= 0 && q < 3)) return Err.Argument;
    if (typeof topic == "string" ? !topic || topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0
      : checkTopic(topic, 0, topic.length)) return Err.Argument;
    // the client manages topic aliases: one chosen by the caller could be resent on a connection where it
    // means nothing [MQTT-3.3.2-7]
    if (q > this.qmax_ || retain && !this.rok_ || props && props.topicAlias) return Err.Argument;
    const max = this.pmax_ && this.pmax_ < this.tx_.length ? this.pmax_ : this.tx_.length;
    if (!q && this.st_ == St.ONLINE && !this.n_) {
      // QoS 0 straight to the transport, with a topic alias when the table has (or can take) the topic
      let a = 0;
      let known = false;
      let pr = props;
      if (this.amax_ && typeof topic == "string") {
        const i = this.aout_.indexOf(topic);
        known = i >= 0 && i < this.amax_;
        a = known ? i + 1 : this.an_ % this.amax_ + 1;
        pr = this.pa_;
        if (props) { pr = {}; for (const k in props) (pr as { [k: string]: unknown })[k] = (props as { [k: string]: unknown })[k]; }
        pr.topicAlias = a;
      }
      const m = encodePublish5(this.tx_, 0, known ? "" : topic, payload, 0, !!retain, false, 0, pr);
      if (m < 0 && m != Err.NoMemory && m != Err.TooLarge) return m;
      if (m < 0 || m > max) return Err.TooLarge;
      if (this.tr_.room() >= m) {
        if (a && !known) { this.aout_[a - 1] = topic as string; this.an_ = a; }
        this.send_(m);
        return 0;
      }
    }
    const n = publish5Size(topic, payload, q, props);
    if (n < 0 && n != Err.TooLarge) return n;
    if (n < 0 || n > max) return Err.TooLarge;
    if (!q && this.st_ != St.ONLINE && !this.o_.queueQos0) { this.dropped++; return 0; }
    const at = this.room_(n);
    if (at < 0) return Err.NoMemory;
    const id = q ? this.nextId_() : 0;
    encodePublish5(this.ob_, at, topic, payload, q, !!retain, false, id, props);
    const k = (this.hd_ + this.n_++) % this.sst_.length;
    this.sid_[k] = id; this.sof_[k] = at; this.sln_[k] = n; this.sst_[k] = Slot.QUEUED;
    this.end_ = at + n;
    this.pump_();
    return id;
  }

  /**
   * Subscribes, with level-5 options (No Local, Retain As Published, Retain Handling, a Subscription
   * Identifier, user properties), kept for the resubscribe after a lost session. `suback` reports
   * (filter, granted QoS, or Err.Protocol with the Reason of a refusal).
   */
  override subscribe(filter: string, qos?: number, opts?: Sub5Options): Err {
    if (opts) {
      const h = opts.retainHandling || 0;
      if (!(h >= 0 && h < 3) || opts.id !== undefined && !(opts.id > 0 && opts.id < 268435456)) return Err.Argument;
      this.sp_[filter] = opts;
    } else delete this.sp_[filter];
    return super.subscribe(filter, qos);
  }

  override unsubscribe(filter: string): Err {
    if (this.level == 4) return super.unsubscribe(filter);
    delete this.sp_[filter];
    const i = this.subs_.indexOf(filter);
    if (i >= 0) this.subs_.splice(i, 2);
    if (this.st_ != St.ONLINE) return Err.Ok;
    const id = this.nextId_();
    return this.ctl_(encodeUnsubscribe5(this.tx_, 0, id, [filter]), id, filter);
  }

  protected override sub_(filter: string, q: number): Err {
    if (this.level == 4) return super.sub_(filter, q);
    const o = this.sp_[filter] as Sub5Options | undefined;
    let pr: Props | undefined;
    if (o) {
      q |= (o.noLocal ? 4 : 0) | (o.retainAsPublished ? 8 : 0) | (o.retainHandling || 0) << 4;
      if (o.id || o.userProps) pr = { subIds: o.id ? [o.id] : undefined, userProps: o.userProps };
    }
    const id = this.nextId_();
    return this.ctl_(encodeSubscribe5(this.tx_, 0, id, [filter], [q], pr), id, filter);
  }

  /**
   * Sends DISCONNECT and closes; no reconnect follows. At level 5 with a reason `code` (0x04: the broker
   * publishes the will, §3.14.2.1) and properties (a new Session Expiry Interval, a Reason String, user
   * properties [MQTT-3.14.2-2]).
   */
  override end(code?: number, props?: Props): void {
    if (this.level == 4 || this.st_ != St.ONLINE || !code && !props) return super.end();
    this.st_ = St.IDLE;
    this.arm_();
    this.send_(encodeDisconnect5(this.tx_, 0, code || 0, props));
    this.tr_.close();
  }

  /** Sends AUTH with `code` (0x18 Continue authentication, 0x19 Re-authenticate) and its properties (§3.15). */
  auth(code: number, props?: Props): Err {
    if (this.level == 4 || this.st_ != St.ONLINE && this.st_ != St.CONNACK) return Err.Closed;
    const n = encodeAuth5(this.tx_, 0, code, props);
    if (n > 0) this.send_(n);
    return n < 0 ? n : Err.Ok;
  }

  // ------------------------------------------------------------------ connection

  override up_(): void {
    if (this.level == 4) return super.up_();
    if (this.st_ != St.OPENING) return;
    const o = this.u_;
    const w = this.o_;
    this.dec_.reset();
    this.st_ = St.CONNACK;
    this.ping_ = 0;
    this.connack = undefined;
    // this connection's limits start from the caller's; the CONNACK may lower them
    w.keepalive = o.keepalive; w.inflight = o.inflight;
    this.pmax_ = 0; this.qmax_ = 2; this.rok_ = true; this.amax_ = 0; this.an_ = 0;
    this.ain_.fill(undefined); this.aout_.fill("");
    const exp = o.sessionExpiry ?? (o.clean === false ? 0xffffffff : 0);
    const pr: Props = {};
    if (o.props) for (const k in o.props) (pr as { [k: string]: unknown })[k] = (o.props as { [k: string]: unknown })[k];
    if (exp) pr.sessionExpiry = exp;
    if (this.rx2_.length < 65535) pr.receiveMax = this.rx2_.length;
    pr.maxPacketSize = o.maxPacket || 1024;
    if (this.ain_.length) pr.topicAliasMax = this.ain_.length;
    // Clean Start on the first connection as asked; later ones resume the session if it outlives them
    const clean = o.clean !== false && (this.fresh_ || !exp);
    const n = encodeConnect5(this.tx_, 0, {
      clientId: w.clientId, clean: clean, keepalive: o.keepalive, username: o.username, password: o.password,
      will: o.will, props: pr,
    });
    if (n < 0) return this.fail_(n, T.CONNECT);
    this.send_(n);
  }

  override data_(d: Uint8Array): void {
    if (this.level == 4) return super.data_(d);
    const e = this.dec_.feed(d);
    if (e && this.st_ != St.IDLE) this.bad_(reasonForErr(e), e, this.dec_.errType_);
  }

  override down_(): void {
    super.down_();
    if (this.fb_ && this.st_ == St.WAITING) {
      // fell back to level 4: connect again now, not after the backoff
      this.fb_ = false;
      this.try_ = 0;
      this.t0_ = this.ck_.now();
      this.arm_();
    }
  }

  /**
   * Ends the connection for a protocol error of the server's: DISCONNECT with `code` first (§4.13.2), then
   * the error event with that Reason, then close (and reconnect).
   */
  protected bad_(code: number, e: Err, type: number): void {
    if (this.st_ == St.ONLINE) this.send_(encodeDisconnect5(this.tx_, 0, code));
    this.emit_("error", e, type, reason(code, T.DISCONNECT));
    if (this.st_ != St.IDLE && this.st_ != St.WAITING) this.tr_.close();
  }

  // ------------------------------------------------------------------ packets from the server

  protected override packet_(p: Packet): void {
    if (this.level == 4) return super.packet_(p);
    const q = p as Packet5;
    const t = p.type as number;
    if (t == T.CONNACK && this.st_ == St.CONNACK && p.level == 4) return this.connack4_(p);
    if (t == T5.AUTH) { this.rx_ = this.ck_.now(); return this.emit_("auth", q.code, q.props, reason(q.code, t, q.props)); }
    if (t == T.DISCONNECT) {
      // the server ends the connection, with its reason (§3.14): report it; the connection closes after
      this.emit_("error", Err.Closed, T.DISCONNECT, reason(q.code, t, q.props));
      if (this.st_ != St.IDLE && this.st_ != St.WAITING) this.tr_.close();
      return;
    }
    if (t == T.PUBLISH && this.st_ == St.ONLINE) {
      const a = q.props.topicAlias;
      this.at_ = undefined;
      if (a !== undefined) {
        if (a > this.ain_.length) return this.bad_(0x94, Err.Range, t); // [MQTT-3.3.2-10]
        if (p.topic.length) this.ain_[a - 1] = utf8Text(p.topic);
        else if (!this.ain_[a - 1]) return this.bad_(0x82, Err.Protocol, t); // an alias never set (§3.3.2.3.4)
        this.at_ = this.ain_[a - 1];
      }
      if (p.qos == 2 && this.rx2_.indexOf(p.id) < 0) {
        let k = 0;
        for (let i = 0; i < this.rx2_.length; i++) if (this.rx2_[i]) k++;
        if (k >= this.rx2_.length) {
          // more unreleased QoS 2 messages than our Receive Maximum (§3.3.4): counted, and with `strictReceiveMax`
          // the server is disconnected with 0x93; otherwise the oldest id is forgotten as at level 4
          this.rxOver++;
          if (this.u_.strictReceiveMax) return this.bad_(0x93, Err.Protocol, t);
        } else if (this.rx2_[this.rxi_]) this.rxi_ = this.rx2_.indexOf(0); // a free entry, not the oldest
      }
    }
    if (t == T.PUBACK || t == T.PUBREC || t == T.PUBCOMP) {
      // a failed PUBREC ends the QoS 2 flow: no PUBREL (§4.3.3); any reason but Success is reported with the ack
      if (q.code) { this.rx_ = this.ck_.now(); return this.done5_(p.id, t == T.PUBCOMP ? Slot.REL : Slot.SENT, q); }
    }
    super.packet_(p);
  }

  /** A 3.1.1 CONNACK: code 1 means the broker does not speak level 5: fall back to level 4. */
  protected connack4_(p: Packet): void {
    if (p.code != 1) return super.packet_(p); // a level-4 refusal, reported as the 3.1.1 client does
    this.level = 4;
    this.fb_ = true;
    this.parsers_(CLIENT);
    this.to4_();
    this.emit_("level", 4);
    this.tr_.close();
  }

  protected override connack_(p: Packet): void {
    const q = p as Packet5;
    if (this.level == 4 || p.level == 4) return super.connack_(p);
    const pr = q.props;
    if (p.code >= 0x80) return this.fail5_(refusal(p.code), T.CONNACK, reason(p.code, T.CONNACK, pr));
    const w = this.o_;
    const o = this.u_;
    const rm = pr.receiveMax ?? 65535;
    if (rm < (o.inflight || 8)) w.inflight = rm;
    if (pr.serverKeepAlive !== undefined) w.keepalive = pr.serverKeepAlive;
    if (pr.assignedClientId) w.clientId = utf8Text(pr.assignedClientId);
    this.pmax_ = pr.maxPacketSize || 0;
    this.qmax_ = pr.maxQos ?? 2;
    this.rok_ = pr.retainAvailable !== 0;
    this.amax_ = Math.min(pr.topicAliasMax || 0, this.aout_.length);
    this.connack = {
      sessionPresent: p.sessionPresent, sessionExpiry: pr.sessionExpiry, receiveMax: rm, maxPacketSize: pr.maxPacketSize,
      topicAliasMax: pr.topicAliasMax || 0, maxQos: this.qmax_, retainAvailable: this.rok_,
      assignedClientId: text(pr.assignedClientId), serverKeepAlive: pr.serverKeepAlive, responseInfo: text(pr.responseInfo),
      reasonString: text(pr.reasonString), userProps: pr.userProps.map(utf8Text),
      wildcardAvailable: pr.wildcardAvailable !== 0, subIdAvailable: pr.subIdAvailable !== 0, sharedAvailable: pr.sharedAvailable !== 0,
    };
    super.connack_(p);
  }

  /** Reports `e` with its Reason and closes (a refused CONNACK at level 5). */
  protected fail5_(e: Err, type: number, r: Reason): void {
    this.emit_("error", e, type, r);
    if (this.st_ != St.IDLE && this.st_ != St.WAITING) this.tr_.close();
  }

  protected override deliver_(p: Packet): void {
    if (this.level == 4 || this.at_ === undefined) return super.deliver_(p);
    this.emit_("message", this.at_, p.payload, p);
  }

  /** An acknowledgment with a reason other than Success: that message is done, reported with the Reason. */
  protected done5_(id: number, st: number, p: Packet5): void {
    const k = this.slot_(id, st);
    if (k < 0) return;
    this.sst_[k] = Slot.FREE;
    this.fly_--;
    this.trim_();
    this.emit_("ack", id, reason(p.code, p.type, p.props));
    this.pump_();
  }

  protected override ctlAck_(p: Packet): void {
    if (this.level == 4) return super.ctlAck_(p);
    const w = this.wait_;
    const i = w.indexOf(p.id);
    if (i < 0) return;
    const filter = w[i + 1]!;
    w.splice(i, 2);
    const c = p.codes[0]!;
    const q = p as Packet5;
    const r = c >= 0x80 || p.type == T.UNSUBACK && c ? reason(c, p.type, q.props) : undefined;
    if (p.type == T.UNSUBACK) return this.emit_("unsuback", filter, r);
    const k = this.subs_.indexOf(filter);
    if (k >= 0) this.subs_[k + 1] = (this.subs_[k + 1] as number) & 3;
    this.emit_("suback", filter, c >= 0x80 ? Err.Protocol : c, r);
  }

  /**
   * Rewrites the outbox's level-5 PUBLISH packets as level-4 ones in place (after falling back): the property
   * block goes, and the remaining length shrinks (its encoding can only get shorter). Nothing is lost.
   */
  protected to4_(): void {
    const b = this.ob_;
    for (let i = 0; i < this.n_; i++) {
      const k = (this.hd_ + i) % this.sst_.length;
      if (!this.sst_[k]) continue;
      const s = this.sof_[k]!;
      let j = s + 1;
      let len = 0;
      for (let m = 1; ; m *= 128) { const c = b[j++]!; len += (c & 127) * m; if (c < 128) break; }
      const v = j + 2 + (b[j]! << 8 | b[j + 1]!) + ((b[s]! >> 1 & 3) ? 2 : 0); // where the properties start
      let pl = 0;
      let x = v;
      for (let m = 1; ; m *= 128) { const c = b[x++]!; pl += (c & 127) * m; if (c < 128) break; }
      const cut = x - v + pl; // property length field and properties
      const nl = len - cut;
      // new header: first byte, remaining length nl; then the topic and id (b[j..v)), then the payload
      const hdr: number[] = [b[s]!];
      let r = nl;
      do { let c = r % 128; r = Math.floor(r / 128); if (r) c |= 128; hdr.push(c); } while (r);
      // (every byte moves left, so copying forwards is safe; Espruino has no copyWithin)
      let d = s + hdr.length;
      for (let y = j; y < v; y++) b[d++] = b[y]!;
      for (let y = x + pl; y < s + this.sln_[k]!; y++) b[d++] = b[y]!;
      for (let h = 0; h < hdr.length; h++) b[s + h] = hdr[h]!;
      this.sln_[k] = hdr.length + nl;
    }
  }
}

/** The parser table of the level-5 client: CLIENT5 with a CONNACK parser that also takes a 3.1.1 CONNACK. */
const P5: (Parser | 0)[] = CLIENT5.slice();
P5[T.CONNACK] = parseConnackAny;

/** The Reason of `code` in a packet of `type`, with its Reason String and Server Reference. */
function reason(code: number, type: number, pr?: ParsedProps): Reason {
  const r: Reason = { code: code, name: reasonName(code, type) };
  if (pr && pr.reasonString) r.text = utf8Text(pr.reasonString);
  if (pr && pr.serverReference) r.server = utf8Text(pr.serverReference);
  return r;
}
