/**
 * A bridge from this broker to an upstream one (Mosquitto, EMQX), for a site that outgrows one board. It is two
 * of the project's own clients (lib/mqtt/client.ts):
 *
 * - `local_`, connected to this broker through an in-memory connection (Broker.acceptBridge). Its session gets
 *   no copies of what it publishes itself and sees the retain flag as published, so a message that came from
 *   upstream is not sent back up, and a retained message stays retained on the other side.
 * - `remote_`, connected upstream with a persistent session by default. Its outbox is the store-and-forward
 *   queue: QoS 1/2 messages for upstream wait there through an outage, up to `queue` messages (and
 *   `queueBytes`), and go out in order with DUP where they had been sent [MQTT-4.4.0-1]. A message that
 *   does not fit is counted in `stats.dropped` and logged, never silently lost.
 *
 * Topics, as in Mosquitto's `topic pattern [[[out|in|both] qos] local-prefix remote-prefix]`: `out` forwards
 * local messages matching localPrefix + pattern to remotePrefix + the rest, `in` the other way, `both` does
 * both. With `both`, an upstream broker speaking plain 3.1.1 sends our own message back to us (3.1.1 has no
 * "no local"); the bridge remembers the last `echo` messages it sent up (topic and payload) and drops such an
 * echo once. (The cost: an identical message published upstream by someone else at that moment is dropped
 * once too.)
 */
import { Err } from "../errors";
import { Clock, Conn, Link, Transport } from "../hal/net";
import { Client, ClientOptions } from "../mqtt/client";
import { Packet } from "../mqtt/types";
import type { BrokerCore as Broker } from "./core";
import { matches } from "./match";

export interface BridgeTopic {
  pattern: string;
  direction: "in" | "out" | "both";
  /** Largest QoS forwarded (default 1). */
  qos?: number;
  localPrefix?: string;
  remotePrefix?: string;
}

export interface BridgeOptions {
  /** The upstream connection (host, port, clientId, username, password, keepalive; clean defaults to false). */
  remote: ClientOptions;
  topics: BridgeTopic[];
  /** Messages held for upstream during an outage (default 100) and their bytes (default 100 x 512). */
  queue?: number;
  queueBytes?: number;
  /** Upstream messages remembered to drop their echo (default 32). */
  echo?: number;
  log?: (line: string) => void;
  /** Called each time the upstream connection is made (first connect and every reconnect). */
  up?: () => void;
}

export interface BridgeStats {
  out: number; // messages sent upstream (accepted into the queue)
  in: number; // messages received from upstream and published here
  dropped: number; // not forwarded: queue full, too large
  echoes: number; // our own messages coming back from upstream, dropped
}

/** One half of an in-memory connection: what `write` gets goes to the other half's link, on a later tick. */
class Half implements Conn {
  other_: Half | null = null;
  link_: Link | null = null;
  private q_: Uint8Array[] = [];
  private tm_: unknown = 0;
  private shut_ = false;

  constructor(private readonly ck_: Clock) {}

  write(b: Uint8Array, s: number, e: number): void {
    if (this.shut_) return;
    this.q_.push(new Uint8Array(b.subarray(s, e))); // (a typed array's slice() gives a plain Array on Espruino 2v29)
    if (!this.tm_) this.tm_ = this.ck_.after(0, () => this.flush_());
  }

  room(): number {
    return this.shut_ ? 0 : 65536;
  }

  close(): void {
    if (this.shut_) return;
    this.shut_ = true;
    const o = this.other_!;
    o.shut_ = true;
    this.ck_.after(0, () => { this.down_(); o.down_(); });
  }

  private down_(): void {
    const l = this.link_;
    this.link_ = null;
    if (l) l.down_();
  }

  /** Delivers what was written to the other side (later, never inside the writer's own call). */
  private flush_(): void {
    this.tm_ = 0;
    const l = this.other_!.link_;
    while (this.q_.length) {
      const d = this.q_.shift()!;
      if (l && !this.shut_) l.data_(d);
    }
  }
}

/**
 * The local client's transport: each open() is a new in-memory connection into the broker (also used by a
 * gateway for the client of its own sensors).
 */
export class LocalTransport implements Transport {
  private c_: Half | null = null;

  constructor(private readonly b_: Broker, private readonly ck_: Clock) {}

  open(host: string, port: number, link: Link): void {
    void host; void port;
    const mine = new Half(this.ck_);
    const theirs = new Half(this.ck_);
    mine.other_ = theirs;
    theirs.other_ = mine;
    mine.link_ = link;
    theirs.link_ = this.b_.acceptBridge(theirs);
    this.c_ = mine;
    this.ck_.after(0, () => link.up_());
  }

  write(b: Uint8Array, s: number, e: number): void {
    if (this.c_) this.c_.write(b, s, e);
  }

  room(): number {
    return this.c_ ? this.c_.room() : 0;
  }

  close(): void {
    if (this.c_) this.c_.close();
    this.c_ = null;
  }
}

export class Bridge {
  readonly stats: BridgeStats = { out: 0, in: 0, dropped: 0, echoes: 0 };
  readonly local_: Client;
  readonly remote_: Client;
  private readonly echo_: string[] = [];
  private echoAt_ = 0;

  constructor(readonly b_: Broker, readonly o_: BridgeOptions, remote: Transport, clock: Clock) {
    const q = o_.queue || 100;
    const r = o_.remote;
    this.remote_ = new Client({
      host: r.host, port: r.port, clientId: r.clientId, clean: r.clean === true, keepalive: r.keepalive,
      username: r.username, password: r.password, will: r.will, maxPacket: r.maxPacket || b_.maxPacket_,
      slots: q, outbox: o_.queueBytes || q * 512, inflight: r.inflight, reconnect: r.reconnect,
      reconnectMax: r.reconnectMax, random: r.random,
    }, remote, clock);
    this.local_ = new Client({
      host: "local", clientId: "$bridge/" + r.clientId, keepalive: 0, maxPacket: b_.maxPacket_, slots: q,
      outbox: o_.queueBytes || q * 512, reconnect: 100,
    }, new LocalTransport(b_, clock), clock);
    const ts = o_.topics;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const qos = t.qos ?? 1;
      if (t.direction != "in") this.local_.subscribe((t.localPrefix || "") + t.pattern, qos);
      if (t.direction != "out") this.remote_.subscribe((t.remotePrefix || "") + t.pattern, qos);
    }
    this.local_.on("message", (topic, payload, p) => this.up_(topic as string, payload as Uint8Array, p as Packet));
    this.remote_.on("message", (topic, payload, p) => this.down_(topic as string, payload as Uint8Array, p as Packet));
    this.remote_.on("connect", () => this.online_("connected to " + r.host + ":" + (r.port || 1883)));
    this.remote_.on("reconnect", () => this.online_("reconnected"));
    this.remote_.on("offline", () => this.log_("bridge " + r.clientId + ": upstream lost, queueing"));
    this.remote_.on("error", (e) => this.log_("bridge " + r.clientId + ": error " + e));
  }

  start(): void {
    this.local_.connect();
    this.remote_.connect();
  }

  stop(): void {
    this.remote_.end();
    this.local_.end();
  }

  /** Messages waiting for upstream (queued or unacknowledged). */
  get pending(): number {
    return this.remote_.pending;
  }

  private online_(what: string): void {
    this.log_("bridge " + this.o_.remote.clientId + ": " + what);
    if (this.o_.up) this.o_.up();
  }

  private log_(l: string): void {
    if (this.o_.log) this.o_.log(l);
  }

  /** A local message for upstream. */
  private up_(topic: string, payload: Uint8Array, p: Packet): void {
    const ts = this.o_.topics;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const lp = t.localPrefix || "";
      if (t.direction == "in" || !matches(lp + t.pattern, topic)) continue;
      const rt = (t.remotePrefix || "") + topic.slice(lp.length);
      const q = p.qos < (t.qos ?? 1) ? p.qos : t.qos ?? 1;
      const r = this.remote_.publish(rt, payload, q, p.retain);
      if (r < 0) return this.drop_(rt, r);
      this.stats.out++;
      if (t.direction == "both") this.remember_(rt, payload);
      return;
    }
  }

  /** An upstream message for here. */
  private down_(topic: string, payload: Uint8Array, p: Packet): void {
    if (this.echoed_(topic, payload)) { this.stats.echoes++; return; }
    const ts = this.o_.topics;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const rp = t.remotePrefix || "";
      if (t.direction == "out" || !matches(rp + t.pattern, topic)) continue;
      const lt = (t.localPrefix || "") + topic.slice(rp.length);
      const q = p.qos < (t.qos ?? 1) ? p.qos : t.qos ?? 1;
      const r = this.local_.publish(lt, payload, q, p.retain);
      if (r < 0) return this.drop_(lt, r);
      this.stats.in++;
      return;
    }
  }

  private drop_(topic: string, e: number): void {
    this.stats.dropped++;
    this.log_("bridge: message on " + topic + " not forwarded: " + (e == Err.NoMemory ? "queue full" : "error " + e));
  }

  private key_(topic: string, payload: Uint8Array): string {
    let h = 0;
    for (let i = 0; i < payload.length; i++) h = h * 31 + payload[i]! | 0;
    return topic + " " + payload.length + " " + h;
  }

  private remember_(topic: string, payload: Uint8Array): void {
    const n = this.o_.echo || 32;
    this.echo_[this.echoAt_] = this.key_(topic, payload);
    this.echoAt_ = (this.echoAt_ + 1) % n;
  }

  private echoed_(topic: string, payload: Uint8Array): boolean {
    if (!this.echo_.length) return false;
    const i = this.echo_.indexOf(this.key_(topic, payload));
    if (i < 0) return false;
    this.echo_[i] = "";
    return true;
  }
}
