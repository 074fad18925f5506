/**
 * The MQTT 3.1.1 client state machine, separate from the codec (STYLE.md rule 8), after coreMQTT: the caller
 * supplies transport and clock; memory is allocated once at construction and sized by options:
 *
 * - `tx_`: one packet being written (control packets, SUBSCRIBE, CONNECT);
 * - the outbox: a byte ring `ob_` holding encoded PUBLISH packets in order, indexed by a fixed ring of slots
 *   (`sid_` packet id, `sof_` offset, `sln_` length, `sst_` state). QoS 1/2 messages stay there until
 *   acknowledged, queued ones until sent, so nothing is lost across a reconnect and order is kept
 *   [MQTT-4.6.0-1]; resending sets DUP in place [MQTT-4.4.0-1]. A full outbox is reported (Err.NoMemory).
 * - `rx2_`: packet ids of inbound QoS 2 messages delivered but not yet released, so each is delivered to the
 *   application once [MQTT-4.3.3-2].
 *
 * Timing uses one timer armed for the next deadline (CONNACK wait, PINGREQ, PINGRESP wait, reconnect).
 */
import { Err } from "../errors";
import { Clock, Link, Transport } from "../hal/net";
import { Bytes, Packet, T } from "./types";
import { checkTopic } from "./topic";
import { encodeConnect, ConnectFields, WillFields } from "./connect";
import { encodePublish, publishSize } from "./publish";
import { encodeAck } from "./ack";
import { encodeSubscribe, encodeUnsubscribe } from "./subscribe";
import { encodeEmpty } from "./ping";
import { Decoder } from "./decoder";
import { CLIENT } from "./parsers";
import { utf8Text } from "./utf8";

export interface ClientOptions {
  host: string;
  port?: number;
  clientId: string;
  /** Clean session (default true). With false the broker keeps subscriptions and QoS 1/2 state. */
  clean?: boolean;
  /** Keepalive in seconds (default 60; 0 turns it off). */
  keepalive?: number;
  username?: string;
  password?: string;
  will?: WillFields;
  /** Largest packet sent or received, bytes (default 1024). */
  maxPacket?: number;
  /** Outbox bytes for queued and unacknowledged PUBLISH packets (default 2048). */
  outbox?: number;
  /** Outbox slots: messages queued or in flight at once (default 16). */
  slots?: number;
  /** QoS 1/2 messages sent and not yet acknowledged at once (default 8). */
  inflight?: number;
  /** Inbound QoS 2 ids remembered until their PUBREL (default 32; above Mosquitto's max_inflight_messages, 20). */
  inbound?: number;
  /** Queue QoS 0 messages while offline (default false: they are dropped and counted in `dropped`). */
  queueQos0?: boolean;
  /** Reconnect backoff: first and largest delay in ms (defaults 1000 and 60000); `reconnect: 0` turns it off. */
  reconnect?: number;
  reconnectMax?: number;
  /** How long to wait for CONNACK, ms (default 10000). */
  connectTimeout?: number;
  /** Random numbers in [0, 1) for backoff jitter (default Math.random). */
  random?: () => number;
}

/** Slot states (exported for the level-5 client, lib/mqtt5/client.ts; inlined: const enum). */
export const enum Slot {
  FREE = 0,
  QUEUED = 1, // encoded, not yet sent on this connection
  SENT = 2, // PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2)
  REL = 3, // PUBREL sent, waiting for PUBCOMP
}

/** Client states. */
export const enum St {
  IDLE = 0,
  OPENING = 1,
  CONNACK = 2,
  ONLINE = 3,
  WAITING = 4, // waiting to reconnect
}

type Handler = (a?: unknown, b?: unknown, c?: unknown) => void;

export class Client implements Link {
  /** QoS 0 messages dropped because the client was offline and `queueQos0` is off. */
  dropped = 0;
  /** Reconnects made. */
  reconnects = 0;
  protected fresh_ = true; // no CONNACK yet since connect() was called by the application
  protected st_ = St.IDLE;
  protected readonly o_: ClientOptions;
  protected readonly tr_: Transport;
  protected readonly ck_: Clock;
  protected readonly dec_: Decoder;
  protected readonly tx_: Uint8Array;
  protected readonly ob_: Uint8Array;
  protected readonly sid_: Uint16Array;
  protected readonly sof_: Uint32Array;
  protected readonly sln_: Uint32Array;
  protected readonly sst_: Uint8Array;
  protected readonly rx2_: Uint16Array;
  protected rxi_ = 0; // where the next inbound QoS 2 id goes in rx2_
  protected hd_ = 0; // first slot
  protected n_ = 0; // slots used
  protected end_ = 0; // outbox byte where the next packet goes
  protected fly_ = 0; // QoS 1/2 packets sent and unacknowledged
  protected id_ = 0; // last packet id given
  // filter, qos, filter, qos...: made again after a reconnect that lost the session; qos | 4 until the broker
  // has answered, so a request lost with a connection is made again even when the session was kept
  protected readonly subs_: (string | number)[] = [];
  protected readonly wait_: (string | number)[] = []; // id, filter, ...: SUBSCRIBE/UNSUBSCRIBE awaiting their ack
  protected readonly h_: { [e: string]: Handler } = {};
  protected tm_: unknown = 0;
  protected due_ = 0; // when the armed timer fires (ms)
  protected t0_ = 0; // when the connection attempt started, or when to try again (WAITING)
  protected last_ = 0; // when we last sent
  protected rx_ = 0; // when we last received
  protected ping_ = 0; // when an unanswered PINGREQ was sent, or 0
  protected try_ = 0; // reconnect attempts since the last CONNACK
  protected readonly tk_ = (): void => this.tick_();

  constructor(o: ClientOptions, transport: Transport, clock: Clock) {
    this.o_ = o;
    this.tr_ = transport;
    this.ck_ = clock;
    const max = o.maxPacket || 1024;
    const slots = o.slots || 16;
    this.tx_ = new Uint8Array(max);
    this.ob_ = new Uint8Array(o.outbox || 2048);
    this.sid_ = new Uint16Array(slots);
    this.sof_ = new Uint32Array(slots);
    this.sln_ = new Uint32Array(slots);
    this.sst_ = new Uint8Array(slots);
    this.rx2_ = new Uint16Array(o.inbound || 32);
    this.dec_ = new Decoder(max, CLIENT, (p) => this.packet_(p));
  }

  /**
   * Sets the handler of an event: connect(sessionPresent), message(topic string, payload view, packet), ack(id), offline, reconnect, close, error(err, packetType). */
  on(e: string, f: Handler): this {
    this.h_[e] = f;
    return this;
  }

  protected emit_(e: string, a?: unknown, b?: unknown, c?: unknown): void {
    const f = this.h_[e];
    if (f) f(a, b, c);
  }

  /** True while connected and accepted by the broker. */
  get connected(): boolean {
    return this.st_ == St.ONLINE;
  }

  /** QoS 1/2 messages not yet acknowledged plus messages queued: 0 when everything has been delivered. */
  get pending(): number {
    let k = 0;
    for (let i = 0; i < this.n_; i++) if (this.sst_[(this.hd_ + i) % this.sst_.length]) k++;
    return k;
  }

  /** Starts connecting (and reconnecting after losses, unless `reconnect` is 0). */
  connect(): void {
    if (this.st_ == St.IDLE || this.st_ == St.WAITING) {
      if (this.st_ == St.IDLE) this.fresh_ = true;
      this.st_ = St.OPENING;
      this.t0_ = this.ck_.now();
      this.arm_();
      this.tr_.open(this.o_.host, this.o_.port || 1883, this);
    }
  }

  /** Sends DISCONNECT (the will is then discarded by the broker) and closes; no reconnect follows. */
  end(): void {
    const s = this.st_;
    this.st_ = St.IDLE;
    this.arm_();
    if (s == St.ONLINE) this.send_(encodeEmpty(this.tx_, 0, T.DISCONNECT));
    if (s == St.WAITING) this.emit_("close");
    else if (s != St.IDLE) this.tr_.close();
  }

  /**
   * Publishes. Returns the packet id (QoS 1/2), 0 (QoS 0), or an error: Err.Argument (empty topic, wildcard
   * [MQTT-3.3.2-2], QoS not 0..2), Err.TooLarge (over maxPacket), Err.NoMemory (outbox full: not queued).
   * QoS 0 while offline is dropped and counted unless `queueQos0` is set. The `ack` event reports the id of
   * each QoS 1/2 message when its flow completes. The topic may be given as UTF-8 bytes (checked the same way,
   * [MQTT-4.7.3-1]): on Espruino a topic converted once and reused saves a walk over its characters.
   */
  publish(topic: Bytes, payload: Bytes, qos?: number, retain?: boolean): number {
    const q = qos || 0;
    if (!(q >= 0 && q < 3)) return Err.Argument;
    if (typeof topic == "string" ? !topic || topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0
      : checkTopic(topic, 0, topic.length)) return Err.Argument;
    if (!q && this.st_ == St.ONLINE && !this.n_) {
      // QoS 0 with nothing queued ahead of it: straight from tx_ to the transport when it has room
      const m = encodePublish(this.tx_, 0, topic, payload, 0, !!retain, false, 0);
      if (m < 0) return Err.TooLarge;
      if (this.tr_.room() >= m) { this.send_(m); return 0; }
    }
    const n = publishSize(topic, payload, q);
    if (n < 0 || n > this.tx_.length) return Err.TooLarge;
    if (!q && this.st_ != St.ONLINE && !this.o_.queueQos0) { this.dropped++; return 0; }
    const at = this.room_(n);
    if (at < 0) return Err.NoMemory;
    const id = q ? this.nextId_() : 0;
    encodePublish(this.ob_, at, topic, payload, q, !!retain, false, id);
    const k = (this.hd_ + this.n_++) % this.sst_.length;
    this.sid_[k] = id; this.sof_[k] = at; this.sln_[k] = n; this.sst_[k] = Slot.QUEUED;
    this.end_ = at + n;
    this.pump_();
    return id;
  }

  /**
   * Subscribes to `filter` at `qos`; the `suback` event reports (filter, granted QoS or Err.Protocol for a
   * refusal 0x80). Restored after a reconnect that lost the session. Returns Err.Ok or an error.
   */
  subscribe(filter: string, qos?: number): Err {
    const q = qos || 0;
    if (!validFilter(filter) || !(q >= 0 && q < 3)) return Err.Argument;
    let i = this.subs_.indexOf(filter);
    if (i < 0) i = this.subs_.push(filter, q) - 2;
    this.subs_[i + 1] = q | 4;
    return this.st_ == St.ONLINE ? this.sub_(filter, q) : Err.Ok;
  }

  /** Unsubscribes from `filter`; the `unsuback` event follows. */
  unsubscribe(filter: string): Err {
    const i = this.subs_.indexOf(filter);
    if (i >= 0) this.subs_.splice(i, 2);
    if (this.st_ != St.ONLINE) return Err.Ok;
    const id = this.nextId_();
    const n = encodeUnsubscribe(this.tx_, 0, id, [filter]);
    return this.ctl_(n, id, filter);
  }

  protected sub_(filter: string, q: number): Err {
    const id = this.nextId_();
    return this.ctl_(encodeSubscribe(this.tx_, 0, id, [filter], [q]), id, filter);
  }

  /** Sends a SUBSCRIBE/UNSUBSCRIBE held in tx_ and remembers its id and filter for the ack. */
  protected ctl_(n: number, id: number, filter: string): Err {
    if (n < 0) return n;
    this.wait_.push(id, filter);
    this.send_(n);
    return Err.Ok;
  }

  // ------------------------------------------------------------------ outbox

  /** Where a packet of `n` bytes can go in the outbox, or -1 (no slot or no room). */
  protected room_(n: number): number {
    const size = this.ob_.length;
    if (this.n_ == this.sst_.length) return -1;
    if (!this.n_) return n <= size ? (this.end_ = 0) : -1;
    const head = this.sof_[this.hd_]!;
    const end = this.end_;
    if (end > head) return end + n <= size ? end : n <= head ? 0 : -1;
    return end + n <= head ? end : -1;
  }

  /** Frees finished slots at the head of the outbox. */
  protected trim_(): void {
    while (this.n_ && !this.sst_[this.hd_]) {
      this.hd_ = (this.hd_ + 1) % this.sst_.length;
      this.n_--;
    }
  }

  /** A packet id not used by any message or request in flight [MQTT-2.3.1-2]. */
  protected nextId_(): number {
    for (;;) {
      const id = this.id_ = this.id_ % 65535 + 1;
      if (this.slot_(id, -1) < 0 && this.wait_.indexOf(id) < 0) return id;
    }
  }

  /** The slot holding packet `id` in state `st` (any non-free state when -1), or -1. */
  protected slot_(id: number, st: number): number {
    const len = this.sst_.length;
    for (let i = 0; i < this.n_; i++) {
      const k = (this.hd_ + i) % len;
      if (this.sid_[k] == id && (st < 0 ? this.sst_[k] : this.sst_[k] == st)) return k;
    }
    return -1;
  }

  /**
   * Sends what the window and the transport allow, in order: first resends (after a reconnect), then queued
   * messages. QoS 0 slots are freed once written.
   */
  protected pump_(): void {
    const len = this.sst_.length;
    const max = this.o_.inflight || 8;
    for (let i = 0; i < this.n_ && this.st_ == St.ONLINE; i++) {
      const k = (this.hd_ + i) % len;
      if (this.sst_[k] != Slot.QUEUED) continue;
      const qos = this.ob_[this.sof_[k]!]! >> 1 & 3;
      if (qos && this.fly_ >= max) break;
      if (this.tr_.room() < this.sln_[k]!) break;
      this.tr_.write(this.ob_, this.sof_[k]!, this.sof_[k]! + this.sln_[k]!);
      this.last_ = this.ck_.now();
      this.sst_[k] = qos ? Slot.SENT : Slot.FREE;
      if (qos) { this.fly_++; this.dup_(k, 8); } // DUP for any resend [MQTT-3.3.1-1]
    }
    this.trim_();
  }

  /** Sets (8) or clears (0) the DUP flag of the PUBLISH in slot `k`. */
  protected dup_(k: number, on: number): void {
    const o = this.sof_[k]!;
    this.ob_[o] = this.ob_[o]! & ~8 | on;
  }

  protected send_(n: number): void {
    if (n > 0) {
      this.tr_.write(this.tx_, 0, n);
      this.last_ = this.ck_.now();
    }
  }

  // ------------------------------------------------------------------ transport events (Link)

  up_(): void {
    if (this.st_ != St.OPENING) return;
    const o = this.o_;
    this.dec_.reset();
    this.st_ = St.CONNACK;
    this.ping_ = 0;
    const f: ConnectFields = { clientId: o.clientId, clean: o.clean, keepalive: o.keepalive, username: o.username, password: o.password, will: o.will };
    const n = encodeConnect(this.tx_, 0, f);
    if (n < 0) return this.fail_(n, T.CONNECT);
    this.send_(n);
  }

  data_(d: Uint8Array): void {
    const e = this.dec_.feed(d);
    if (e && this.st_ != St.IDLE) this.fail_(e, this.dec_.errType_);
  }

  down_(): void {
    const s = this.st_;
    this.fly_ = 0;
    // requests without their ack are made again on the next connection (their filters keep the flag 4)
    this.wait_.splice(0, this.wait_.length); // (assigning an array's `length` throws on Espruino)
    // what was sent goes again, in order, on the next connection
    for (let i = 0; i < this.n_; i++) {
      const k = (this.hd_ + i) % this.sst_.length;
      if (this.sst_[k] == Slot.SENT) this.sst_[k] = Slot.QUEUED;
    }
    if (s == St.ONLINE) this.emit_("offline");
    const r = this.o_.reconnect ?? 1000;
    if (s == St.IDLE || !r) {
      this.st_ = St.IDLE;
      this.arm_();
      return this.emit_("close");
    }
    this.st_ = St.WAITING;
    const max = this.o_.reconnectMax || 60000;
    let wait = r;
    for (let i = 0; i < this.try_ && wait < max; i++) wait *= 2;
    this.try_++;
    wait = Math.min(wait, max);
    // jitter over the upper half, so that nodes cut off together do not come back together
    this.t0_ = this.ck_.now() + wait / 2 + (this.o_.random || Math.random)() * wait / 2;
    this.arm_();
  }

  /** The transport has room again: send what waits, then tell a publisher that got Err.NoMemory ('drain'). */
  drain_(): void {
    this.pump_();
    this.emit_("drain");
  }

  /** Ends the connection because of `e` (protocol error, timeout, refusal): error event, close, reconnect. */
  protected fail_(e: Err, type: number): void {
    this.emit_("error", e, type);
    if (this.st_ != St.IDLE && this.st_ != St.WAITING) this.tr_.close();
  }

  // ------------------------------------------------------------------ packets from the server

  protected packet_(p: Packet): void {
    const t = p.type;
    this.rx_ = this.ck_.now();
    if (this.st_ == St.CONNACK) {
      // the first packet from the server is CONNACK [MQTT-3.2.0-1]
      if (t != T.CONNACK) { this.dec_.fail(Err.Protocol, t); return; }
      return this.connack_(p);
    }
    if (t == T.PUBLISH) return this.publish_(p);
    if (t == T.PUBACK || t == T.PUBCOMP) return this.done_(p.id, t == T.PUBACK ? Slot.SENT : Slot.REL);
    if (t == T.PUBREC) {
      const k = this.slot_(p.id, Slot.SENT);
      if (k >= 0) this.sst_[k] = Slot.REL;
      this.send_(encodeAck(this.tx_, 0, T.PUBREL, p.id));
      return;
    }
    if (t == T.PUBREL) {
      const i = this.rx2_.indexOf(p.id);
      if (i >= 0) this.rx2_[i] = 0;
      this.send_(encodeAck(this.tx_, 0, T.PUBCOMP, p.id));
      return;
    }
    if (t == T.PINGRESP) { this.ping_ = 0; return; }
    if (t == T.SUBACK || t == T.UNSUBACK) return this.ctlAck_(p);
    this.dec_.fail(Err.Protocol, t); // a second CONNACK
  }

  protected connack_(p: Packet): void {
    if (p.code) return this.fail_(-40 - p.code, T.CONNACK);
    this.st_ = St.ONLINE;
    this.arm_();
    this.try_ = 0;
    const len = this.sst_.length;
    if (!p.sessionPresent) {
      // the broker has no session: every unfinished message goes again as a new one, also those whose PUBREL
      // was under way: Mosquitto releases QoS 2 only on PUBREL, so dropping them would lose them there (a broker
      // that delivers on PUBLISH, like aedes, may then see one twice: at least once); subscriptions are made again
      this.rx2_.fill(0);
      for (let i = 0; i < this.n_; i++) {
        const k = (this.hd_ + i) % len;
        if (this.sst_[k]) { this.sst_[k] = Slot.QUEUED; this.dup_(k, 0); }
      }
    }
    for (let i = 0; i < this.subs_.length; i += 2) {
      const q = this.subs_[i + 1] as number;
      if (!p.sessionPresent || q & 4) this.sub_(this.subs_[i] as string, q & 3);
    }
    if (p.sessionPresent) {
      // resume: PUBRELs first, then unacknowledged PUBLISHes with DUP, in order [MQTT-4.4.0-1] [MQTT-4.6.0-1]
      for (let i = 0; i < this.n_; i++) {
        const k = (this.hd_ + i) % len;
        if (this.sst_[k] == Slot.REL) { this.fly_++; this.send_(encodeAck(this.tx_, 0, T.PUBREL, this.sid_[k]!)); }
      }
    }
    // 'connect' for the first CONNACK after connect(), 'reconnect' for those after a lost connection
    const first = this.fresh_;
    this.fresh_ = false;
    if (!first) this.reconnects++;
    this.emit_(first ? "connect" : "reconnect", p.sessionPresent);
    this.pump_();
  }

  protected publish_(p: Packet): void {
    if (p.qos == 2) {
      const r = this.rx2_;
      if (r.indexOf(p.id) < 0) {
        // remembered in a ring: when it is full the oldest id is forgotten (it was most likely released
        // with a PUBREL that never came, e.g. lost in a broker restart); only a resend of that one after a
        // reconnect could then be delivered twice, whereas refusing the new one would stall the broker, which
        // resends only after a reconnect [MQTT-4.4.0-1]
        r[this.rxi_] = p.id;
        this.rxi_ = (this.rxi_ + 1) % r.length;
        this.deliver_(p);
      }
      this.send_(encodeAck(this.tx_, 0, T.PUBREC, p.id));
      return;
    }
    this.deliver_(p);
    if (p.qos) this.send_(encodeAck(this.tx_, 0, T.PUBACK, p.id));
  }

  protected deliver_(p: Packet): void {
    this.emit_("message", utf8Text(p.topic), p.payload, p); // the decoder checked the topic [MQTT-3.3.2-1]
  }

  /** PUBACK (st SENT) or PUBCOMP (st REL) for `id`: that message is done. */
  protected done_(id: number, st: number): void {
    const k = this.slot_(id, st);
    if (k < 0) return;
    this.sst_[k] = Slot.FREE;
    this.fly_--;
    this.trim_();
    this.emit_("ack", id);
    this.pump_();
  }

  protected ctlAck_(p: Packet): void {
    const w = this.wait_;
    const i = w.indexOf(p.id);
    if (i < 0) return;
    const filter = w[i + 1]!;
    w.splice(i, 2);
    if (p.type == T.UNSUBACK) return this.emit_("unsuback", filter);
    const c = p.codes[0]!;
    const k = this.subs_.indexOf(filter);
    if (k >= 0) this.subs_[k + 1] = (this.subs_[k + 1] as number) & 3;
    this.emit_("suback", filter, c == 0x80 ? Err.Protocol : c);
  }

  // ------------------------------------------------------------------ time

  /**
   * The next deadline (ms), or 0: reconnect time; CONNACK wait; when ONLINE with keepalive `ka`, a PINGREQ
   * when nothing was sent for `ka` [MQTT-3.1.2-23] or nothing received for `ka`/2, and a dead link when the
   * PINGRESP is `ka`/2 late. A link that stalls is so declared within `ka` of its last packet.
   */
  protected next_(): number {
    const s = this.st_;
    const ka = (this.o_.keepalive ?? 60) * 1000;
    if (s == St.WAITING) return this.t0_;
    if (s == St.OPENING || s == St.CONNACK) return this.t0_ + (this.o_.connectTimeout || 10000);
    if (s != St.ONLINE || !ka) return 0;
    return this.ping_ ? this.ping_ + ka / 2 : Math.min(this.last_ + ka, this.rx_ + ka / 2);
  }

  /**
   * Keeps the one timer armed for the next deadline. A timer already set for an earlier time is left alone
   * (it re-arms itself when it fires early), so sending does not create timers.
   */
  protected arm_(): void {
    const d = this.next_();
    if (this.tm_ && d && this.due_ <= d) return;
    if (this.tm_) this.ck_.cancel(this.tm_);
    this.tm_ = 0;
    if (!d) return;
    this.due_ = d;
    this.tm_ = this.ck_.after(Math.max(d - this.ck_.now(), 0), this.tk_);
  }

  protected tick_(): void {
    this.tm_ = 0;
    const s = this.st_;
    const now = this.ck_.now();
    if (this.next_() > now) return this.arm_();
    if (s == St.WAITING) return this.connect();
    if (s != St.ONLINE || this.ping_) return this.fail_(Err.Timeout, s == St.ONLINE ? T.PINGRESP : T.CONNACK);
    this.send_(encodeEmpty(this.tx_, 0, T.PINGREQ));
    this.ping_ = now;
    this.arm_();
  }
}

/** A topic filter a SUBSCRIBE may carry [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]. */
function validFilter(f: string): boolean {
  if (!f) return false;
  const l = f.split("/");
  for (let i = 0; i < l.length; i++) {
    const s = l[i]!;
    if (s.length > 1 && (s.indexOf("+") >= 0 || s.indexOf("#") >= 0)) return false;
    if (s == "#" && i < l.length - 1) return false;
  }
  return true;
}
