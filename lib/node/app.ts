/**
 * The telemetry node (issue 7, requirements 2-5): reads its sensors on an interval, filters the fields, and
 * publishes one JSON reading per publish to `<prefix>/<node>/state`; availability, Home Assistant discovery,
 * commands and diagnostics as config.ts, discovery.ts and commands.ts describe them. Platform-neutral: the
 * firmware (firmware/node/main.ts) hands it the client, the sensors and the board's few system calls.
 *
 * Every reading goes through the store-and-forward ring (ring.ts), online or not: it gets its sequence number
 * there and leaves the ring only once the client has taken it (QoS 0: written; QoS 1: in the client's outbox,
 * which resends it until acknowledged, across reconnects). So a reading taken while WiFi or the broker is down
 * waits in the ring, a full client outbox leaves it in the ring, and the order is the order of the readings.
 *
 * State payload: `{"tempC":21.5,"rhPct":48.25,"ts":1795465969000,"boot":3,"seq":17}`, the values the filters give
 * (the moving average where one is configured), two decimals (pressure one). `ts` is ms since 1970 when the
 * board's clock is set, else ms since boot with `"rel":1`. Sequence numbers: with the ring in RAM they start at
 * 0 at every boot, and `boot` (a counter in Storage, when the board has one) says which boot; with the ring in
 * Storage (queue.storage, battery mode) they go on across boots and there is no `boot`. A field whose sensor failed is left out; a reading in which
 * every sensor failed is not published (the failures show in diag).
 *
 * Filters decide when a reading is published: when any filtered field is due (changed beyond its delta,
 * heartbeat, the first reading); fields without a filter follow the filtered ones, and a node without filters
 * publishes every reading. A published reading carries every field that was read, so a consumer always has all.
 *
 * Battery mode: one reading, connect, publish everything queued at QoS 1, wait for every acknowledgment, publish
 * diag with the awake time, flush the ring to storage and sleep. A node that cannot publish within
 * `battery.awakeMaxMs` keeps its readings (storage) and sleeps anyway. The ring is in storage in battery mode
 * (deep sleep loses the RAM), its sequence counter saved at every reading, so numbers go on across wakes.
 */
import { Err } from "../errors";
import { errName } from "../errname";
import { Clock } from "../hal/net";
import { KvStorage } from "../hal/storage";
import { Wifi } from "../hal/wifi";
import { Sensor, Reading } from "../drivers/types";
import { Client, ClientOptions } from "../mqtt/client";
import { NodeConfig, nodeTopic, parseBrokerUrl, stateFields } from "./config";
import { DeviceInfo, discoveryMessage } from "./discovery";
import { Cmd, parseCommand, replyText, COMMAND_LEAF, REPLY_LEAF } from "./commands";
import { Filters, FilterSpec } from "./filters";
import { Ring, RingRecord } from "./ring";
import { joinWifi } from "./join";

/** What the node needs from its board (lib/hal/board.ts Platform, reduced). */
export interface NodeSystem {
  clock: Clock;
  wifi: Wifi | null;
  storage: KvStorage | null;
  freeVars(): number;
  wallMs(): number;
  timeSync(): void;
  identify(): void;
  restart(): void;
  sleep(ms: number): void;
  log(s: string): void;
}

/** Storage file that says a battery node has sent its discovery messages (holds the node name). */
const DISCOVERY_MARK = "hadisc";
/** Storage file with the number of starts (RAM ring only). */
const BOOT_FILE = "boot";

/** The client options of a node: will = retained "offline" on the status topic. */
export function clientOptions(c: NodeConfig, clientId: string): ClientOptions {
  const u = parseBrokerUrl(c.broker.url)!;
  const o: ClientOptions = {
    host: u.host,
    port: u.port,
    clientId: c.clientId || clientId,
    keepalive: 60,
    will: { topic: nodeTopic(c, "status"), payload: "offline", qos: 1, retain: true },
    maxPacket: 768,
    outbox: 1024,
    slots: 8,
    inbound: 4,
  };
  if (c.broker.username) o.username = c.broker.username;
  if (c.broker.password) o.password = c.broker.password;
  return o;
}

/** `v` with `d` decimals (0..3), without toFixed's exponent forms and float tails. */
export function fixed(v: number, d: number): string {
  const m = d == 1 ? 10 : d == 2 ? 100 : d == 3 ? 1000 : 1;
  const n = Math.round(Math.abs(v) * m);
  let s = "" + Math.floor(n / m);
  if (d) {
    let f = "" + (n % m);
    while (f.length < d) f = "0" + f;
    s += "." + f;
  }
  return (v < 0 && n ? "-" : "") + s;
}

export class NodeApp {
  /** Readings published (taken by the client). */
  published = 0;
  /** QoS 1 acknowledgments the client received (readings, status, discovery). */
  acked = 0;
  /** Sensor reads that failed, and the last failure, `name:Err`. */
  sensorErrors = 0;
  lastError = "";
  private readonly c_: NodeConfig;
  private readonly cl_: Client;
  private readonly s_: Sensor[];
  private readonly sys_: NodeSystem;
  private readonly info_: DeviceInfo;
  private readonly keys_: string[];
  private readonly of_: number[]; // sensor index per key
  private readonly fld_: string[]; // driver field per key
  private readonly vals_: Float64Array;
  private readonly rec_: { [k: string]: number } = {};
  private readonly f_: Filters;
  private readonly boot_: string; // ',"boot":N' or ""
  private readonly fi_: number[]; // per key: its filter in f_, or -1 (the field follows the filtered ones)
  readonly ring: Ring;
  private readonly tState_: string;
  private readonly tSet_: string;
  private interval_: number;
  private tm_: unknown = 0;
  private dtm_: unknown = 0;
  private reading_ = false; // a round of sensor reads is under way
  private force_ = false; // publish the next reading whatever the filters say
  private mask_ = 0; // keys read in this round
  private step_ = -1; // connect sequence: -1 idle, 0 status, 1 subscribe, 2.. discovery
  private t0_: number;
  private done_ = false; // battery: sleeping

  constructor(config: NodeConfig, client: Client, sensors: Sensor[], sys: NodeSystem, info: DeviceInfo) {
    this.c_ = config;
    this.cl_ = client;
    this.s_ = sensors;
    this.sys_ = sys;
    this.info_ = info;
    this.t0_ = sys.clock.now();
    const f = stateFields(config.sensors);
    this.keys_ = [];
    this.of_ = [];
    this.fld_ = [];
    for (let i = 0; i < f.length; i++) {
      this.keys_.push(f[i]!.key);
      this.of_.push(f[i]!.sensor);
      this.fld_.push(f[i]!.field);
    }
    this.vals_ = new Float64Array(f.length);
    // with filters, only the filtered fields decide; without any, every reading is published
    const spec: FilterSpec = {};
    const names: string[] = [];
    for (let i = 0; i < config.filters.length; i++) {
      const x = config.filters[i]!;
      spec[x.field] = { average: x.average, delta: x.delta, minInterval: x.minIntervalMs, maxInterval: x.maxIntervalMs };
      names.push(x.field);
    }
    this.f_ = new Filters(names.length ? names : this.keys_, spec);
    this.fi_ = [];
    for (let k = 0; k < this.keys_.length; k++) this.fi_.push(this.f_.names.indexOf(this.keys_[k]!));
    // storage when configured, and always in battery mode: deep sleep loses the RAM, and with it the sequence
    const st = (config.queue.storage || config.battery) && sys.storage ? sys.storage : undefined;
    this.ring = new Ring({ fields: this.keys_, capacity: config.queue.size || 1, storage: st, file: "fwd", seqBlock: config.battery ? 1 : 64 });
    // a RAM ring numbers from 0 at every start: a boot counter in Storage tells the consumer which run a
    // number belongs to (gaps are found within one boot)
    this.boot_ = "";
    if (!st && sys.storage) {
      const b = (parseInt(sys.storage.read(BOOT_FILE) || "0", 10) || 0) + 1;
      sys.storage.write(BOOT_FILE, "" + b);
      this.boot_ = ",\"boot\":" + b;
    }
    this.tState_ = nodeTopic(config, "state");
    this.tSet_ = nodeTopic(config, COMMAND_LEAF);
    this.interval_ = config.intervalMs;
    const t = this;
    // the client says "connect" for the first CONNACK and "reconnect" for the later ones: the same sequence
    const up = (): void => { t.step_ = 0; t.pump_(); };
    client.on("connect", up);
    client.on("reconnect", up);
    client.on("ack", () => { t.acked++; t.pump_(); });
    client.on("drain", () => { t.pump_(); });
    client.on("message", (topic, payload) => { t.message_(topic as string, payload as Uint8Array); });
    client.on("error", (e, type) => { sys.log("mqtt error " + errName(e as Err) + " " + type); });
    client.on("offline", () => { t.step_ = -1; sys.log("mqtt offline"); });
  }

  /** Starts: loads stored readings, joins WiFi (when the board has it), connects, and starts reading. */
  start(): void {
    if (this.ring.load() < 0) this.sys_.log("ring: storage load failed");
    if (this.c_.battery) this.read_();
    else this.schedule_(0);
    if (this.c_.diagIntervalMs && !this.c_.battery) this.diagLater_();
    if (this.c_.battery) this.sys_.clock.after(this.c_.battery.awakeMaxMs, () => this.sleep_());
    this.net_();
  }

  private net_(): void {
    const sys = this.sys_;
    const cl = this.cl_;
    const wifi = !!(sys.wifi && this.c_.wifi);
    // SNTP only after joining WiFi: a board whose network is up already (Linux) has its clock set
    joinWifi(sys.wifi, this.c_.wifi, sys.clock, sys.log, () => { if (wifi) sys.timeSync(); cl.connect(); });
  }

  private schedule_(ms: number): void {
    this.sys_.clock.cancel(this.tm_);
    this.tm_ = this.sys_.clock.after(ms, () => { this.tm_ = 0; this.read_(); this.schedule_(this.interval_); });
  }

  /** One round: every sensor in turn, then the filters, then the ring. */
  private read_(): void {
    if (this.reading_) return;
    this.reading_ = true;
    this.mask_ = 0;
    this.next_(0);
  }

  private next_(i: number): void {
    if (i >= this.s_.length) { this.reading_ = false; this.readDone_(); return; }
    const t = this;
    this.s_[i]!.read((err, r) => {
      if (err) {
        t.sensorErrors++;
        t.lastError = t.c_.sensors[i]!.name + ":" + errName(err);
      } else t.take_(i, r!);
      t.next_(i + 1);
    });
  }

  private take_(i: number, r: Reading): void {
    const src = r as unknown as { [f: string]: number | undefined };
    for (let k = 0; k < this.keys_.length; k++) {
      if (this.of_[k] != i) continue;
      const v = src[this.fld_[k]!];
      if (typeof v == "number") { this.vals_[k] = v; this.mask_ |= 1 << k; }
    }
  }

  private readDone_(): void {
    const rec = this.rec_;
    let any = false;
    for (let k = 0; k < this.keys_.length; k++) {
      const key = this.keys_[k]!;
      if (this.mask_ & (1 << k)) { rec[key] = this.vals_[k]!; any = true; } else if (rec[key] !== undefined) delete rec[key];
    }
    if (!any) { this.pump_(); return; }
    const now = this.sys_.clock.now();
    const due = this.f_.offer(rec, now);
    if (!due && !this.force_ && !this.c_.battery) return;
    this.force_ = false;
    // every field read, as filtered
    for (let k = 0; k < this.keys_.length; k++) {
      const key = this.keys_[k]!;
      const f = this.fi_[k]!;
      if (rec[key] !== undefined && f >= 0) rec[key] = this.f_.filters[f]!.current;
    }
    const wall = this.sys_.wallMs();
    this.ring.push(rec, wall >= 0 ? wall : now - this.t0_, wall < 0);
    this.pump_();
  }

  /** The JSON of a ring record. */
  private json_(r: RingRecord): string {
    let s = "{";
    for (let k = 0; k < r.fields.length; k++) {
      if (!r.has(k)) continue;
      const f = this.fld_[k]!;
      s += "\"" + r.fields[k] + "\":" + fixed(r.values[k]!, f == "pressurePa" ? 1 : 2) + ",";
    }
    return s + "\"ts\":" + fixed(r.ts, 0) + (r.relative ? ",\"rel\":1" : "") + this.boot_ + ",\"seq\":" + r.seq + "}";
  }

  /**
   * Moves things to the client while it takes them: after a connect, status, subscription and discovery
   * messages first, then the ring in order. Called on connect, ack, drain and every new reading.
   */
  private pump_(): void {
    const cl = this.cl_;
    if (!cl.connected || this.done_) return;
    const c = this.c_;
    const t = this;
    while (this.step_ >= 0) {
      let r = 0;
      const s = this.step_;
      if (s == 0) r = cl.publish(nodeTopic(c, "status"), "online", 1, true);
      else if (s == 1) r = c.battery ? 0 : cl.subscribe(this.tSet_, 1);
      else {
        // discovery is retained: a battery node sends it once (marked in Storage), not at every wake
        const st = this.sys_.storage;
        const mark = c.battery && st ? DISCOVERY_MARK : "";
        if ((mark && st!.read(mark) === c.node) ||
          !discoveryMessage(c, this.info_, s - 2, (topic, payload) => { r = cl.publish(topic, payload, 1, true); })) {
          if (mark) st!.write(mark, c.node);
          this.step_ = -1;
          break;
        }
      }
      if (r == Err.NoMemory) return; // again on the next ack or drain
      if (r < 0) t.sys_.log("publish error " + errName(r));
      this.step_++;
    }
    for (;;) {
      const rec = this.ring.peek();
      if (!rec) break;
      const r = cl.publish(this.tState_, this.json_(rec), c.qos, c.retain);
      if (r == Err.NoMemory) break;
      if (r < 0) this.sys_.log("publish error " + errName(r)); // cannot be sent at all: not kept
      else this.published++;
      this.ring.shift();
    }
    if (c.battery && !this.reading_ && this.ring.length == 0 && cl.pending == 0 && this.step_ == -1) this.batteryDone_();
  }

  private diag_(extra: string): string {
    const w = this.sys_.wifi;
    let rssi = "";
    if (w) {
      const d = w.getDetails();
      if (d && typeof d.rssi == "number") rssi = ",\"rssi\":" + d.rssi;
    }
    return "{\"freeVars\":" + this.sys_.freeVars() + rssi + ",\"uptimeS\":" + fixed((this.sys_.clock.now() - this.t0_) / 1000, 0) +
      ",\"reconnects\":" + this.cl_.reconnects + ",\"queued\":" + this.ring.length + ",\"dropped\":" + (this.ring.dropped + this.cl_.dropped) +
      ",\"published\":" + this.published + ",\"acked\":" + this.acked + ",\"sensorErrors\":" + this.sensorErrors +
      (this.lastError ? ",\"lastError\":\"" + this.lastError + "\"" : "") + extra + "}";
  }

  private diagLater_(): void {
    this.dtm_ = this.sys_.clock.after(this.c_.diagIntervalMs, () => {
      if (this.cl_.connected) this.cl_.publish(nodeTopic(this.c_, "diag"), this.diag_(""), 0, false);
      this.diagLater_();
    });
  }

  private message_(topic: string, payload: Uint8Array): void {
    if (topic != this.tSet_) return;
    const cmd = parseCommand(payload);
    const c = this.c_;
    if (cmd.cmd == Cmd.Interval) {
      this.interval_ = cmd.intervalMs;
      this.schedule_(cmd.intervalMs);
    } else if (cmd.cmd == Cmd.Publish) {
      this.force_ = true;
      this.read_();
    } else if (cmd.cmd == Cmd.Identify) this.sys_.identify();
    this.cl_.publish(nodeTopic(c, REPLY_LEAF), replyText(cmd), 0, false);
    if (cmd.cmd == Cmd.Restart) {
      this.ring.flush();
      const sys = this.sys_;
      sys.clock.after(500, () => { sys.restart(); });
    }
  }

  private batteryDone_(): void {
    if (this.done_) return;
    const awake = this.sys_.clock.now() - this.t0_;
    const r = this.cl_.publish(nodeTopic(this.c_, "diag"), this.diag_(",\"awakeMs\":" + fixed(awake, 0)), 1, false);
    this.done_ = true;
    if (r < 0) return this.sleep_();
    const t = this;
    this.cl_.on("ack", () => { t.sleep_(); });
  }

  /** Battery mode: readings to storage, disconnect, deep sleep. */
  private sleep_(): void {
    if (this.tm_ === -1) return;
    this.tm_ = -1;
    this.done_ = true;
    this.ring.flush();
    this.sys_.log("sleep " + this.c_.battery!.sleepMs + " ms, awake " + fixed(this.sys_.clock.now() - this.t0_, 0) + " ms");
    this.cl_.end();
    const sys = this.sys_;
    const ms = this.c_.battery!.sleepMs;
    sys.clock.after(100, () => { sys.sleep(ms); });
  }
}
