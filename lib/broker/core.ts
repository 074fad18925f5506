/**
 * The micro-broker's core (BrokerCore): MQTT 3.1.1 for the nodes around a gateway board, and `npm run broker` on Node. It shares
 * the codec with the client (lib/mqtt/); one dispatch (dispatch.ts) hands each packet to its handler
 * (handlers/*.ts); topic matching is match.ts, retained messages retain.ts, sessions session.ts, connections
 * peer.ts. Platform-neutral: the host gives it connections (`accept`), a clock and, optionally, authentication
 * (lib/broker/types.ts, `Auth`). What a small device broker does without, `$SYS` statistics (sys.ts) and
 * persistence (snapshot.ts), is added by the subclass Broker (broker.ts), which the Node host uses; a device
 * bundle that imports only this file carries neither (on the 1,700-variable ESP8266 shape their code and the
 * `$SYS` name table cost about 150 variables).
 *
 * Every limit is an option with the spec's answer when reached, logged and counted in `stats`:
 * clients and sessions (CONNACK 3), subscriptions per client and in total (SUBACK 0x80), retained messages and
 * bytes (not kept), queue per session (offline: dropped; online: the client is disconnected), packet size
 * (disconnect), the connection's outbound buffer (QoS 0 dropped, QoS 1/2 wait in the queue).
 */
import { Err } from "../errors";
import { Accept, Clock, Conn, Link } from "../hal/net";
import { encodeAck } from "../mqtt/ack";
import { encodeConnack } from "../mqtt/connect";
import { encodePublish } from "../mqtt/publish";
import { SERVER } from "../mqtt/parsers";
import { Packet, T } from "../mqtt/types";
import { utf8Text } from "../mqtt/utf8";
import { dispatch } from "./dispatch";
import { SubList, Subs } from "./match";
import { Host, Peer } from "./peer";
import { Retained } from "./retain";
import { Q_ID, Q_ST, QUEUED, REL, SENT, Session } from "./session";
import { BrokerOptions, Msg, St, Stats } from "./types";
import { AS_PUBLISHED, Extras, NO_LOCAL, delayWill5, detached5, willExtras, disconnect5, expired, forSession5, levelParsers, matchedId5, publish5, refuse5 } from "./v5";
import { reasonForErr } from "../mqtt5/reason";

/** An empty view, for packet fields no longer valid. */
const NONE = new Uint8Array(0);

/** How often the broker looks at timeouts, ms. */
const TICK = 500;

/**
 * A packet record with every field a server-side parser sets, made in one shape (rather than the decoder's
 * four fields grown by each parser), which keeps the record small on Node; one per broker (see in_).
 */
function newPacket(): Packet {
  return {
    type: 0 as T, flags: 0, length: 0, id: 0, topic: NONE, payload: NONE, qos: 0, retain: false, dup: false, level: 0,
    clean: false, keepalive: 0, clientId: NONE, will: false, willTopic: NONE, willPayload: NONE, willQos: 0,
    willRetain: false, username: null, password: null, filters: [], qoss: [],
  } as unknown as Packet; // (no sessionPresent, code, codes: only a client's parsers set them)
}

export class BrokerCore implements Host {
  /**
   * The counters, indexed by St (lib/broker/types.ts); `stats` gives them by name. A typed array rather than an
   * object with 19 long-named fields: on Espruino that object took about 49 variables, this about 16.
   */
  readonly st_ = new Float64Array(St.N) as unknown as Record<St, number>;
  /** When start() was called (ms on the broker's clock). */
  started = 0;
  // limits, resolved once
  readonly maxClients_: number;
  readonly maxSessions_: number;
  readonly maxPacket_: number;
  readonly maxSubsPer_: number;
  readonly maxSubs_: number;
  readonly maxQueue_: number;
  readonly maxInflight_: number;
  readonly maxInbound_: number;
  readonly peers_: Peer[] = [];
  /** The subscription table: a SubList unless the constructor is given another (Broker gives a SubIndex). */
  readonly subs_: Subs<Session>;
  readonly ret_: Retained;
  /** Encode buffer for everything the broker sends (the transport copies what it is given). */
  readonly tx_: Uint8Array;
  readonly text_: (b: Uint8Array) => string;
  protected readonly ss_: { [k: string]: Session } = {}; // " " + client id (see retain.ts for the space)
  private mark_ = 0; // routing: a number per message, so a session matched by several filters gets one copy
  private hit_: (Session | null)[] = []; // routing scratch: the sessions matched, hit_[0..nHit_), emptied after
  private nHit_ = 0;
  private ids_ = 0; // assigned client ids
  private tm_: unknown = 0;
  private readonly visit_ = (s: Session, q: number): void => {
    if (!globalThis.NO_MQTT5 && q > 3) {
      // a level-5 subscription's options (v5.ts): No Local [MQTT-3.8.3-3], Retain As Published [MQTT-3.3.1-12],
      // Subscription Identifier [MQTT-3.3.4-3]
      if (q & NO_LOCAL && s == this.from5) return;
      if (q & AS_PUBLISHED) s.rap5 = this.mark_;
      matchedId5(s, q, this.mark_!);
      q &= 3;
    }
    if (s.mark_ != this.mark_) { s.mark_ = this.mark_; s.best_ = q; this.hit_[this.nHit_++] = s; }
    else if (q > s.best_) s.best_ = q;
  };
  private readonly tick_ = (): void => this.tick();
  /** The connection being decoded: one decoder callback and one packet record serve every connection. */
  cur_: Peer | null = null;
  /** MQTT 5 (v5.ts): the session a message being routed came from (No Local), and its PUBLISH's properties. */
  from5?: Session | null;
  x5?: Extras | null;
  /** MQTT 5: per-filter scratch of SUBSCRIBE (retained messages to skip) and UNSUBSCRIBE (reason codes). */
  s5?: number[];
  // the spec every connection's decoder shares (DecoderSpec, through Host): largest packet, parsers, callback,
  // packet record
  readonly max: number;
  readonly parsers_ = SERVER;
  readonly onPacket_ = (pk: Packet): void => {
    const p = this.cur_!;
    // closed (violation, refused CONNECT, DISCONNECT): the rest of the chunk is not processed [MQTT-3.1.4-5]
    if (p.dead_) return;
    p.last_ = this.clock.now();
    dispatch(this, p, pk);
    // the packet record outlives the call (the decoder reuses it): drop its views, so an idle connection does
    // not keep the last chunk it received alive
    pk.topic = pk.payload = pk.clientId = pk.willTopic = pk.willPayload = NONE;
    pk.username = pk.password = null;
    if (pk.filters) while (pk.filters.length) pk.filters.pop();
  };
  readonly packet: Packet = newPacket();
  /** Data that came while a packet was handled: connection, copy of the bytes, ... (see in_). */
  private later_: (Peer | Uint8Array)[] = [];

  constructor(readonly o: BrokerOptions, readonly clock: Clock, subs?: Subs<Session>) {
    this.subs_ = subs || new SubList<Session>();
    this.maxClients_ = o.maxClients || 64;
    this.maxSessions_ = o.maxSessions || 2 * this.maxClients_;
    this.max = this.maxPacket_ = o.maxPacket || 65536;
    this.maxSubsPer_ = o.maxSubsPerClient || 32;
    this.maxSubs_ = o.maxSubs || 1024;
    this.maxQueue_ = o.maxQueue || 100;
    this.maxInflight_ = o.maxInflight || 20;
    this.maxInbound_ = o.maxInbound || 32;
    this.ret_ = new Retained(o.maxRetained || 256, o.maxRetainedBytes || 65536);
    this.tx_ = new Uint8Array(this.maxPacket_ + 4);
    this.text_ = o.text || utf8Text;
    // levels 4 and 5 (v5.ts), except in the device build
    if (!globalThis.NO_MQTT5) (this as { parsers_: unknown }).parsers_ = levelParsers(this);
  }

  /** The host's callback for new connections (an `Accept`). */
  readonly accept: Accept = (c: Conn): Link => this.peer_(c, false);

  /** A bridge's local connection (lib/broker/bridge.ts): its session gets no copies of its own messages. */
  acceptBridge(c: Conn): Link {
    return this.peer_(c, true);
  }

  private peer_(c: Conn, bridge: boolean): Peer {
    const p = new Peer(this, c, this.clock.now());
    if (this.peers_.length - this.st_[St.ClientsConnected] >= this.maxClients_) {
      // as many connections waiting for their CONNECT as there may be clients: each could make the broker
      // gather a CONNECT of up to maxPacket bytes, so no more until some have connected or timed out
      this.st_[St.RefusedClients]++;
      p.why_ = "too many connections waiting for CONNECT";
      this.log_("closed " + p.why_);
      p.dead_ = 1;
      c.close();
      return p;
    }
    if (bridge) p.bridge_ = 1;
    this.peers_.push(p);
    return p;
  }

  /** Starts the timer: CONNECT and keepalive timeouts (and, in Broker, $SYS statistics). */
  start(): void {
    this.started = this.clock.now();
    if (!this.tm_) this.tm_ = this.clock.after(TICK, this.tick_);
  }

  /** Stops the timer and closes every connection; no wills are sent (a shutdown is not a client failing). */
  close(): void {
    if (this.tm_) this.clock.cancel(this.tm_);
    this.tm_ = 0;
    const ps = this.peers_.slice();
    for (let i = 0; i < ps.length; i++) {
      ps[i]!.bye_ = 1;
      if (!globalThis.NO_MQTT5) ps[i]!.rc5 = 0x8b; // (Server shutting down, to a level-5 client)
      this.drop_(ps[i]!, "broker shutting down");
    }
  }

  /** Publishes from inside the broker (bridge, tools) as a client with every right would; returns Err.Ok or Err.TooLarge. */
  publish(topic: string, payload: Uint8Array, qos: number, retain: boolean): Err {
    if (payload.length + topic.length * 3 + 8 > this.maxPacket_) return Err.TooLarge;
    this.incoming_(topic, payload, qos, retain, null);
    return Err.Ok;
  }

  /** The session of `id`, or undefined. */
  session(id: string): Session | undefined {
    return this.ss_[" " + id];
  }

  /** The counters by name (a new object each time: read it, do not keep it for later values). */
  get stats(): Stats {
    const c = this.st_;
    return {
      clientsConnected: c[St.ClientsConnected], clientsTotal: c[St.ClientsTotal], clientsMaximum: c[St.ClientsMaximum],
      connects: c[St.Connects], msgsReceived: c[St.MsgsReceived], msgsSent: c[St.MsgsSent],
      bytesReceived: c[St.BytesReceived], bytesSent: c[St.BytesSent], msgsDropped: c[St.MsgsDropped],
      publishDenied: c[St.PublishDenied], subscribeDenied: c[St.SubscribeDenied], refusedClients: c[St.RefusedClients],
      refusedAuth: c[St.RefusedAuth], retainedDropped: c[St.RetainedDropped], oversize: c[St.Oversize],
      protocolErrors: c[St.ProtocolErrors], slowClients: c[St.SlowClients], keepaliveTimeouts: c[St.KeepaliveTimeouts],
      connectTimeouts: c[St.ConnectTimeouts],
    };
  }

  log_(line: string): void {
    if (this.o.log) this.o.log(line);
  }

  // ------------------------------------------------------------------ connections (Host)

  in_(p: Peer, d: Uint8Array): void {
    this.st_[St.BytesReceived] += d.length;
    // one packet record serves every connection (packet), so packets are decoded one at a time: data that comes
    // while a packet is handled (a connection that answers inside a write, on an in-memory transport) waits,
    // copied, and is decoded after it, in order
    if (this.cur_) { this.later_.push(p, new Uint8Array(d)); return; }
    try {
      this.feed_(p, d);
      while (this.later_.length) this.feed_(this.later_.shift() as Peer, this.later_.shift() as Uint8Array);
    } finally {
      this.cur_ = null;
    }
  }

  /** Decodes a chunk of `p`'s (onPacket_ gets its packets through cur_). */
  private feed_(p: Peer, d: Uint8Array): void {
    if (p.dead_) return;
    this.cur_ = p;
    const e = p.feed(d);
    if (e) this.bad_(p, e, p.errType_);
  }

  gone_(p: Peer): void {
    const i = this.peers_.indexOf(p);
    if (i >= 0) this.peers_.splice(i, 1);
    const s = p.s_;
    if (!s || s.peer_ != p) return;
    p.s_ = null;
    const will = p.bye_ ? null : s.will_;
    s.detach_();
    if (!globalThis.NO_MQTT5 && p.v5) detached5(this, s);
    this.st_[St.ClientsConnected]--;
    this.log_("disconnect " + s.id + (p.why_ ? " (" + p.why_ + ")" : p.bye_ ? "" : " (connection lost)"));
    if (s.clean) this.forget_(s); // [MQTT-3.1.2-6]
    // the will: published when the connection ends without DISCONNECT [MQTT-3.1.2-8], with its QoS and retain
    // (MQTT 5: after its Will Delay Interval, unless the session ends first: v5.ts)
    if (will && (globalThis.NO_MQTT5 || delayWill5(this, s, will))) {
      if (!globalThis.NO_MQTT5) this.x5 = willExtras(this, will);
      this.incoming_(will.tp_, will.pl_, will.qos_, !!will.rt_, null);
      if (!globalThis.NO_MQTT5) this.x5 = null;
    }
  }

  /** Closes a connection for a protocol error [MQTT-4.8.0-1]; a CONNECT at another level gets CONNACK 1 first [MQTT-3.1.2-2]. */
  bad_(p: Peer, e: number, type: number): void {
    if (e == Err.ProtocolLevel && type == T.CONNECT && !p.s_) return this.refuse_(p, 1, "unacceptable protocol level");
    if (!globalThis.NO_MQTT5 && p.v5 && p.s_) p.rc5 = reasonForErr(e);
    if (e == Err.TooLarge) this.st_[St.Oversize]++;
    else this.st_[St.ProtocolErrors]++;
    this.drop_(p, "protocol error " + e + " in packet type " + type);
  }

  /** Ends a connection; its will goes out unless `bye_` is set. */
  drop_(p: Peer, why: string): void {
    if (p.dead_) return;
    p.why_ = why;
    if (!p.s_) this.log_("closed " + why);
    if (!globalThis.NO_MQTT5 && p.v5) disconnect5(this, p);
    p.close_();
  }

  /** CONNACK with a refusal code, then close [MQTT-3.2.2-5]. */
  refuse_(p: Peer, code: number, why: string): void {
    if (!globalThis.NO_MQTT5 && p.v5) refuse5(this, p, code);
    else this.send_(p, encodeConnack(this.tx_, 0, false, code));
    this.log_("refused (" + code + ") " + why);
    this.drop_(p, why);
  }

  send_(p: Peer, n: number): void {
    if (n <= 0 || p.dead_) return;
    if (p.c_.room() < n) {
      // it keeps sending and does not read what it is owed (acks, PINGRESP, SUBACK): closed, not buffered
      // without bound
      this.st_[St.SlowClients]++;
      return this.drop_(p, "outbound buffer full: client not reading");
    }
    p.c_.write(this.tx_, 0, n);
    this.st_[St.BytesSent] += n;
  }

  ack_(p: Peer, type: T, id: number): void {
    this.send_(p, encodeAck(this.tx_, 0, type, id));
  }

  // ------------------------------------------------------------------ sessions

  /** A new session, or null over maxSessions. */
  open_(id: string, clean: boolean): Session | null {
    if (this.st_[St.ClientsTotal] >= this.maxSessions_) return null;
    const s = new Session(id, clean);
    this.ss_[" " + id] = s;
    this.st_[St.ClientsTotal]++;
    return s;
  }

  /** Forgets a session and its subscriptions. */
  forget_(s: Session): void {
    for (let i = 0; i < s.filters_.length; i++) this.subs_.remove(s.filters_[i]!, s);
    if (this.ss_[" " + s.id] == s) { delete this.ss_[" " + s.id]; this.st_[St.ClientsTotal]--; }
  }

  /** A client id for a client that gave none [MQTT-3.1.3-6]. */
  newId_(): string {
    let id;
    do id = "auto-" + Math.floor(this.clock.now() % 1000000) + "-" + ++this.ids_; while (this.ss_[" " + id]);
    return id;
  }

  /** Session present on CONNECT: PUBRELs and unacknowledged PUBLISHes again, in order, with DUP [MQTT-4.4.0-1]. */
  resume_(s: Session): void {
    const p = s.peer_ as Peer;
    const qn = s.qn_;
    for (let i = 0; i < qn.length; i++) {
      if ((qn[i]! >> Q_ST & 3) == REL) { s.fly_++; this.ack_(p, T.PUBREL, qn[i]! >> Q_ID); }
    }
    this.pump_(s);
  }

  // ------------------------------------------------------------------ messages

  /** A message from a client, a will or the broker itself: retained when asked, then routed. */
  incoming_(topic: string, payload: Uint8Array, qos: number, retain: boolean, from: Session | null): void {
    let m: Msg | null = null;
    if (retain) {
      m = { tp_: topic, pl_: new Uint8Array(payload), qos_: qos };
      if (!globalThis.NO_MQTT5 && this.x5) { m.pr5 = this.x5.pr5; m.ex5 = this.x5.ex5; }
      if (!this.ret_.set(m)) {
        this.st_[St.RetainedDropped]++;
        this.log_("retained message on " + topic + " not kept: limit of " + this.ret_.count + " messages / " + this.ret_.bytes + " bytes");
      }
    }
    this.route_(topic, payload, qos, m, from);
  }

  /**
   * Delivers to every session with a matching subscription, once per session at the highest matching QoS,
   * downgraded to the message's [MQTT-3.3.5-1], without the retain flag [MQTT-3.3.1-9]. The payload is copied
   * once, only when someone gets it. A bridge's session does not get back what it published itself (no
   * local), and gets the retain flag as published, so a retained message stays retained upstream (`m`, when
   * given, is the retained message).
   */
  private route_(topic: string, payload: Uint8Array, qos: number, m: Msg | null, from: Session | null): void {
    this.mark_++;
    this.nHit_ = 0;
    if (!globalThis.NO_MQTT5) this.from5 = from;
    this.subs_.match(topic, this.visit_);
    if (!globalThis.NO_MQTT5) this.from5 = null;
    const n = this.nHit_;
    const a = this.o.auth;
    const r = !!m;
    for (let i = 0; i < n; i++) {
      const s = this.hit_[i]!;
      this.hit_[i] = null; // so that a session forgotten later is not kept alive by this array
      if (s == from && s.bridge_ || a && !a.canRead(s.id, s.user_ || null, topic)) continue;
      if (!m) {
        m = { tp_: topic, pl_: new Uint8Array(payload), qos_: qos };
        if (!globalThis.NO_MQTT5 && this.x5) { m.pr5 = this.x5.pr5; m.ex5 = this.x5.ex5; }
      }
      this.deliver_(s, !globalThis.NO_MQTT5 ? forSession5(s, m, this.mark_!) : m, s.best_ < qos ? s.best_ : qos,
        !globalThis.NO_MQTT5 && s.rap5 === this.mark_ ? r : !!s.bridge_ && r);
    }
  }

  /**
   * One message to one session at QoS `q`. QoS 0 goes out now if the connection has room, else it is dropped
   * and counted (and logged, once per run of drops); QoS 1/2 join the session's queue (sent as the in-flight
   * window allows). A queue at its limit drops the message (counted): offline, logged once per run of drops;
   * while the client is connected, its connection is ended: it is not reading.
   */
  deliver_(s: Session, m: Msg, q: number, retain: boolean): void {
    const p = s.peer_ as Peer | null;
    // MQTT 5: a message past its Message Expiry Interval is not delivered (v5.ts)
    if (!globalThis.NO_MQTT5 && expired(this, m)) { this.st_[St.MsgsDropped]++; return; }
    if (!q) {
      if (p && !p.dead_) {
        const n = !globalThis.NO_MQTT5 && p.v5 ? publish5(this, p, m, 0, retain, false, 0)
          : encodePublish(this.tx_, 0, m.tp_, m.pl_, 0, retain, false, 0);
        if (n > 0 && p.c_.room() >= n) { this.send_(p, n); this.st_[St.MsgsSent]++; s.full_ = 0; return; }
        return this.dropped_(s, "QoS 0, outbound buffer full");
      }
      this.st_[St.MsgsDropped]++; // QoS 0 for a session offline: not kept (counted, not logged)
      return;
    }
    if (s.qm_.length >= this.maxQueue_) {
      if (!p || p.dead_) return this.dropped_(s, "queue full (" + this.maxQueue_ + " messages)");
      this.st_[St.MsgsDropped]++;
      this.st_[St.SlowClients]++;
      if (!globalThis.NO_MQTT5) p.rc5 = 0x97; // (Quota exceeded, to a level-5 client)
      this.drop_(p, "queue full (" + this.maxQueue_ + " messages): client not reading");
      return;
    }
    s.push_(m, retain ? q | 4 : q);
    s.full_ = 0;
    if (p) this.pump_(s);
  }

  /** A message not delivered to `s`: counted, and logged once until the session takes a message again. */
  private dropped_(s: Session, why: string): void {
    this.st_[St.MsgsDropped]++;
    if (s.full_) return;
    s.full_ = 1;
    this.log_("messages to " + s.id + " dropped: " + why);
  }

  /** Sends queued QoS 1/2 messages in order while the in-flight window and the connection allow. */
  pump_(s: Session): void {
    const p = s.peer_ as Peer | null;
    if (!p || p.dead_) return;
    const qn = s.qn_;
    // (MQTT 5: and the client's Receive Maximum [MQTT-3.3.4-9])
    for (let i = 0; i < qn.length && s.fly_ < this.maxInflight_ && (globalThis.NO_MQTT5 || !p.rm5 || s.fly_ < p.rm5); i++) {
      const e = qn[i]!;
      if ((e >> Q_ST & 3) != QUEUED) continue;
      const m = s.qm_[i]!;
      const q = e & 7;
      let id = e >> Q_ID;
      const dup = id != 0; // sent on an earlier connection [MQTT-3.3.1-1]
      // MQTT 5: expired while it waited (one already sent goes on)
      if (!globalThis.NO_MQTT5 && !dup && expired(this, m)) { s.remove_(i--); this.st_[St.MsgsDropped]++; continue; }
      if (!dup) id = s.nextId_();
      const n = !globalThis.NO_MQTT5 && p.v5 ? publish5(this, p, m, q & 3, (q & 4) != 0, dup, id)
        : encodePublish(this.tx_, 0, m.tp_, m.pl_, q & 3, (q & 4) != 0, dup, id);
      if (n < 0) { s.remove_(i--); this.st_[St.MsgsDropped]++; continue; }
      // room for this PUBLISH and for the acknowledgments the flows in flight still owe the client (send_ ends a
      // connection whose acks do not fit: on Espruino room only comes back at 'drain', after their PUBRECs)
      if (p.c_.room() < n + 4 * (s.fly_ + 1)) break;
      this.send_(p, n);
      this.st_[St.MsgsSent]++;
      qn[i] = id << Q_ID | SENT << Q_ST | q;
      s.fly_++;
    }
  }

  // ------------------------------------------------------------------ time

  tick(): void {
    const now = this.clock.now();
    const ps = this.peers_;
    const ct = this.o.connectTimeout || 10000;
    for (let i = ps.length - 1; i >= 0; i--) {
      const p = ps[i]!;
      if (p.dead_) continue;
      if (!p.s_) {
        // CONNECT must come first, and soon: a silent socket is closed
        if (now - p.last_ >= ct) { this.st_[St.ConnectTimeouts]++; this.drop_(p, "no CONNECT within " + ct + " ms"); }
      } else if (p.ka_ && now - p.last_ >= p.ka_ * 1.5) {
        // nothing within one and a half keepalive periods: the client is gone, its will goes out [MQTT-3.1.2-24]
        this.st_[St.KeepaliveTimeouts]++;
        if (!globalThis.NO_MQTT5) p.rc5 = 0x8d; // (Keep Alive timeout, to a level-5 client)
        this.drop_(p, "keepalive timeout");
      }
    }
    this.tm_ = this.clock.after(TICK, this.tick_);
  }
}
