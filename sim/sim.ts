/**
 * The site simulation behind `npm run sim` (issue 8): the project's broker (or an external one), N nodes that
 * each run the ESP32 node bundle exactly as flashed in a device sandbox (sim/sandbox.ts) with their own
 * simulated chips, WiFi and Storage, a consumer that counts what arrives, and the faults of a scenario.
 *
 * Bundles: one per sensor set, built by tools/build.mjs from a generated config; each node gets its name, topic
 * prefix and broker from a `node.json` in its Storage (the on-device override, as a deployed node would).
 *
 * Time: every device runs on one clock `speed` times faster than real time, starting at a fixed virtual date,
 * and the chips read the scenario at whole virtual seconds: the same seed gives the same readings.
 *
 * Delivery, per node (QoS is per node: node 5, 10, ... publish at QoS 0, the others at QoS 1), counted per boot
 * (a reading's `boot` and `seq`): `published` is the sequence numbers the node has used as far as the consumer
 * can tell (highest seen + 1, per boot), `received` the distinct ones that arrived, `lost` the numbers below the
 * highest seen that never arrived, `duplicated` the extra copies, `maxLatencyMs` the largest virtual delay from
 * reading to arrival. Readings still in a node's RAM when it reboots are gone without a trace (no Storage ring).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { Device, ScaledClock } from "./sandbox";
import { SimWifi } from "./hal/wifi";
import { SimStorage } from "./hal/storage";
import { SimI2c } from "./hal/i2c";
import { SimOneWire } from "./hal/onewire";
import { Scenario, type ScenarioOptions } from "./chips/scenario";
import { Sht3xChip } from "./chips/sht3x";
import { Bme280Chip } from "./chips/bme280";
import { Aht20Chip } from "./chips/aht20";
import { SimDs18b20 } from "./chips/ds18b20";
import { DhtChip } from "./chips/dht";
import { SimPin } from "./hal/pin";
import { SimClock } from "./hal/clock";
import { defaultConfig } from "./broker/config";
import { startBroker, type RunningBroker } from "./broker/main";
// @ts-expect-error: a plain .mjs module without declarations
import { buildFirmware } from "../tools/build.mjs";

/** The sensor sets nodes get, in turn. */
export const KINDS: { name: string; sensors: { type: string; name?: string }[] }[] = [
  { name: "bme280", sensors: [{ type: "bme280" }] },
  { name: "sht3x", sensors: [{ type: "sht3x" }] },
  { name: "aht20", sensors: [{ type: "aht20" }] },
  { name: "ds18b20", sensors: [{ type: "ds18b20" }] },
  { name: "dht22", sensors: [{ type: "dht22" }] },
  { name: "sht3x+bme280", sensors: [{ type: "sht3x", name: "in" }, { type: "bme280", name: "out" }] },
];

/** A fault at a virtual time (seconds from the start). */
export interface Fault {
  at: number;
  /** Virtual seconds it lasts (restart, drop, partition, latency, loss, sensor). */
  for: number;
  kind: "broker-restart" | "wifi-drop" | "partition" | "latency" | "loss" | "sensor-fail" | "reboot" | "consumer-drop" | "dashboard-drop";
  /** Node index (all but broker-restart), or for consumer-drop the shared consumer's. */
  node?: number;
}

export const SCENARIOS: { [name: string]: { about: string; faults: (nodes: number) => Fault[]; shared?: number; expiry?: number } } = {
  default: { about: "a broker restart at 30 s (down 15 s)", faults: () => [{ at: 30, for: 15, kind: "broker-restart" }] },
  calm: { about: "no faults", faults: () => [] },
  "broker-restart": { about: "the broker restarts at 20 s and 60 s (down 10 s each)",
    faults: () => [{ at: 20, for: 10, kind: "broker-restart" }, { at: 60, for: 10, kind: "broker-restart" }] },
  "wifi-drop": { about: "node 1 loses WiFi for 30 s at 20 s", faults: () => [{ at: 20, for: 30, kind: "wifi-drop", node: 0 }] },
  partition: { about: "node 2 is cut from the broker for 30 s at 20 s (WiFi up)",
    faults: (n) => [{ at: 20, for: 30, kind: "partition", node: Math.min(1, n - 1) }] },
  latency: { about: "node 3 gets 800 ms each way from 10 s for 40 s", faults: (n) => [{ at: 10, for: 40, kind: "latency", node: Math.min(2, n - 1) }] },
  loss: { about: "node 1: 20 % of the chunks need a retransmission (300 ms) from 10 s for 40 s",
    faults: () => [{ at: 10, for: 40, kind: "loss", node: 0 }] },
  "sensor-fail": { about: "node 2's I2C bus (its SHT3x) sticks for 30 s at 20 s", faults: (n) => [{ at: 20, for: 30, kind: "sensor-fail", node: Math.min(1, n - 1) }] },
  reboot: { about: "node 5 reboots at 30 s", faults: (n) => [{ at: 30, for: 0, kind: "reboot", node: Math.min(4, n - 1) }] },
  shared: { about: "3 consumers share the readings ($share/sim/site/+/state, QoS 1); consumer 3 leaves for 20 s at 20 s",
    faults: () => [{ at: 20, for: 20, kind: "consumer-drop", node: 2 }], shared: 3 },
  expiry: { about: "a relay republishes the readings at MQTT 5 with a 40 s Message Expiry to a dashboard whose persistent " +
    "session is away from 20 s for 80 s: the broker drops what is older than 40 s when it returns", faults: () => [{ at: 20, for: 80, kind: "dashboard-drop" }],
    expiry: 40 },
  all: { about: "every fault above, one after another",
    faults: (n) => [
      { at: 15, for: 10, kind: "broker-restart" }, { at: 30, for: 20, kind: "wifi-drop", node: 0 },
      { at: 30, for: 20, kind: "partition", node: Math.min(1, n - 1) }, { at: 30, for: 20, kind: "latency", node: Math.min(2, n - 1) },
      { at: 30, for: 20, kind: "sensor-fail", node: Math.min(1, n - 1) }, { at: 40, for: 0, kind: "reboot", node: Math.min(4, n - 1) },
      { at: 55, for: 20, kind: "loss", node: 0 },
    ] },
};

export interface SimOptions {
  nodes: number;
  /** Virtual seconds to run; 0: until stop(). */
  seconds: number;
  speed: number;
  seed: number;
  /** External broker, mqtt://HOST:PORT (loopback only); default: the project's broker on a free port. */
  broker?: string;
  scenario: string;
  /** Virtual ms between readings (default 5000). */
  intervalMs?: number;
  /** Give the project's broker a WebSocket listener too (the dashboard's). */
  web?: boolean;
  /** Every event (state, status, fault, device line, summary). */
  event?: (e: SimEvent) => void;
}

export type SimEvent = { t: number; type: string; node?: string; [k: string]: unknown };

export interface NodeStats {
  name: string;
  kind: string;
  qos: 0 | 1;
  online: boolean;
  last: { [k: string]: number };
  published: number;
  received: number;
  lost: number;
  duplicated: number;
  maxLatencyMs: number;
  queued: number;
  /** QoS 1 acknowledgments the node has had (its last diag). */
  acked: number;
  sensorErrors: number;
  reconnects: number;
  freeVars: number | null;
  restarts: number;
}

interface SimNode {
  i: number;
  stats: NodeStats;
  /** Per boot of the node: the sequence numbers seen, and the highest. */
  boots: Map<number, { seqs: Set<number>; max: number }>;
  code: string;
  wifi: SimWifi;
  storage: SimStorage;
  i2c: SimI2c;
  ow: SimOneWire;
  wire: { pin: SimPin; clock: SimClock } | null;
  dev: Device | null;
  lines: string[];
}

/** A Scenario read at whole virtual seconds, so real-time jitter does not change the values. */
class Quantized extends Scenario {
  constructor(o: ScenarioOptions) { super(o); }
  override tempC(t: number): number { return super.tempC(Math.floor(t / 1000) * 1000); }
  override rhPct(t: number): number { return super.rhPct(Math.floor(t / 1000) * 1000); }
  override pressurePa(t: number): number { return super.pressurePa(Math.floor(t / 1000) * 1000); }
}

/** 2026-06-01T00:00:00Z: the virtual date every run starts at. */
export const SIM_EPOCH = Date.UTC(2026, 5, 1);
const PREFIX = "site";
const LOOPBACK_URL = /^mqtt:\/\/(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):(\d{1,5})$/;

export class Simulation {
  readonly clock: ScaledClock;
  readonly nodes: SimNode[] = [];
  brokerUrl = "";
  private running: RunningBroker | null = null;
  private brokerPort = 0;
  /** The broker's MQTT-over-WebSocket port (with `web`), for the dashboard. */
  wsPort = 0;
  private consumer: mqtt.MqttClient | null = null;
  /** The shared-subscription consumers (scenario `shared`), and the readings each received. */
  private sharers: (mqtt.MqttClient | null)[] = [];
  readonly shares: number[] = [];
  /**
   * Scenario `expiry`: a level-5 relay (as a gateway would be) republishes each reading from `site/<node>/state`
   * to `fresh/<node>/state` with a Message Expiry Interval [MQTT 5.0 §3.3.2.3.3], for a level-5 dashboard with a
   * persistent session (Session Expiry one hour). The node bundles speak 3.1.1, so the expiry is the relay's.
   * The broker runs on real time: the interval sent is the virtual one divided by the speed, at least 1 s, and
   * `expirySec` is what that comes to in virtual seconds.
   */
  readonly expiry = {
    expirySec: 0,
    /** Virtual ms of each reading the relay republished (acknowledged by the broker), by key node/boot/seq. */
    relayed: new Map<string, number>(),
    /** Readings the dashboard received: key and virtual ms of arrival. */
    got: [] as { key: string; at: number }[],
    /** Virtual ms when the dashboard left and came back (0 until then). */
    awayAt: 0,
    backAt: 0,
    /** The broker's dropped-message count when the dashboard left, and one second (real) after it came back. */
    droppedBefore: 0,
    droppedAfter: 0,
  };
  private relay: mqtt.MqttClient | null = null;
  private dash: mqtt.MqttClient | null = null;
  private dir = "";
  private timers: NodeJS.Timeout[] = [];
  private readonly o: SimOptions;
  private stopped = false;
  readonly faultLog: string[] = [];

  constructor(o: SimOptions) {
    if (!SCENARIOS[o.scenario]) throw new Error("unknown scenario \"" + o.scenario + "\" (" + Object.keys(SCENARIOS).join(", ") + ")");
    if (o.broker && !LOOPBACK_URL.test(o.broker)) throw new Error("--broker: must be mqtt://HOST:PORT on a loopback address (got " + o.broker + ")");
    this.o = o;
    this.clock = new ScaledClock(o.speed, SIM_EPOCH);
  }

  private emit(e: Omit<SimEvent, "t">): void {
    this.o.event?.({ t: Math.round(this.clock.now() - SIM_EPOCH), ...e } as SimEvent);
  }

  /** Virtual ms since the start. */
  get elapsed(): number { return this.clock.now() - SIM_EPOCH; }

  async start(): Promise<void> {
    const o = this.o;
    this.dir = mkdtempSync(path.join(os.tmpdir(), "espsim-"));
    if (o.broker) this.brokerUrl = o.broker;
    else {
      await this.startBroker();
      this.brokerUrl = "mqtt://127.0.0.1:" + this.brokerPort;
    }
    // the consumer: a persistent session, so a broker restart loses nothing queued for it
    this.consumer = await mqtt.connectAsync(this.brokerUrl, { clientId: "sim-consumer-" + process.pid, clean: false, reconnectPeriod: 200 });
    this.consumer.on("message", (topic, payload) => this.arrived(topic, payload.toString()));
    this.consumer.on("error", () => undefined);
    const shared = SCENARIOS[o.scenario]!.shared ?? 0;
    // with shared consumers, the readings go to them, one consumer each [MQTT 5.0 §4.8.2], and availability and
    // diagnostics to this one
    await this.consumer.subscribeAsync((shared ? [] : [PREFIX + "/+/state"]).concat([PREFIX + "/+/status", PREFIX + "/+/diag"]), { qos: 1 });
    for (let k = 0; k < shared; k++) {
      this.shares.push(0);
      this.sharers.push(await this.sharer(k));
    }
    const exp = SCENARIOS[o.scenario]!.expiry;
    if (exp) await this.startExpiry(exp);
    // one bundle per sensor set
    const codes: string[] = [];
    for (let k = 0; k < Math.min(o.nodes, KINDS.length); k++) {
      const cfg = path.join(this.dir, KINDS[k]!.name + ".json");
      writeFileSync(cfg, JSON.stringify({
        wifi: { ssid: "sim-site", password: "simsimsim" }, broker: { url: "mqtt://127.0.0.1:1883" }, prefix: PREFIX, node: "template",
        sensors: KINDS[k]!.sensors, intervalMs: o.intervalMs ?? 5000, diagIntervalMs: 15000, qos: 1, queue: { size: 256 },
      }));
      const b = await buildFirmware({ board: "esp32", role: "node", config: cfg, out: path.join(this.dir, "node-" + k + ".js") });
      codes.push(readFileSync(b.out, "latin1"));
    }
    // virtual time starts now, with every bundle built and the broker up
    this.clock.rewind();
    for (let i = 0; i < o.nodes; i++) this.nodes.push(this.makeNode(i, codes[i % KINDS.length]!));
    // boots spread over the first virtual seconds, as boards powered on one after another
    for (const n of this.nodes) this.at(n.i * 200, () => this.boot(n));
    for (const f of SCENARIOS[o.scenario]!.faults(o.nodes)) this.schedule(f);
  }

  /** Shared consumer `k`: a persistent session in the group "sim", so what is in flight to it when it leaves is not lost. */
  private async sharer(k: number): Promise<mqtt.MqttClient> {
    const c = await connectWith(this.brokerUrl, { clientId: "sim-share-" + process.pid + "-" + (k + 1), clean: false, reconnectPeriod: 200 },
      (topic, payload) => { if (!this.stopped) this.shares[k]!++; this.arrived(topic, payload.toString()); });
    await c.subscribeAsync("$share/sim/" + PREFIX + "/+/state", { qos: 1 });
    return c;
  }

  /** Scenario `expiry`: the relay and the dashboard (see `expiry`). */
  private async startExpiry(exp: number): Promise<void> {
    const sec = Math.max(1, Math.round(exp / this.o.speed));
    this.expiry.expirySec = sec * this.o.speed;
    const relay = this.relay = await mqtt.connectAsync(this.brokerUrl, { protocolVersion: 5, clientId: "sim-relay-" + process.pid, reconnectPeriod: 200 });
    relay.on("error", () => undefined);
    relay.on("message", (topic, payload) => {
      if (this.stopped) return;
      const key = readingKey(topic, payload.toString());
      if (!key) return;
      const at = this.elapsed;
      void relay.publishAsync("fresh/" + topic.split("/")[1] + "/state", payload, { qos: 1, properties: { messageExpiryInterval: sec } })
        .then(() => { this.expiry.relayed.set(key, at); }, () => undefined);
    });
    await relay.subscribeAsync(PREFIX + "/+/state", { qos: 1 });
    this.dash = await this.dashboard();
  }

  /** The dashboard of scenario `expiry`: a level-5 persistent session on fresh/+/state. */
  private async dashboard(): Promise<mqtt.MqttClient> {
    const c = await connectWith(this.brokerUrl, {
      protocolVersion: 5, clientId: "sim-dash-" + process.pid, clean: false, reconnectPeriod: 200, properties: { sessionExpiryInterval: 3600 },
    }, (topic, payload) => {
      const key = readingKey(topic, payload.toString());
      if (key && !this.stopped) this.expiry.got.push({ key, at: this.elapsed });
    });
    await c.subscribeAsync("fresh/+/state", { qos: 1 });
    return c;
  }

  private async startBroker(): Promise<void> {
    const c = defaultConfig();
    c.port = this.brokerPort;
    if (this.o.web) c.wsPort = this.wsPort; // MQTT over WebSocket for the dashboard (0 the first time: a free port)
    c.limits.maxClients = Math.max(64, this.o.nodes * 2 + 8);
    c.persistence = { file: path.join(this.dir, "broker.json"), interval: 0 };
    this.running = await startBroker(c, { log: undefined });
    this.brokerPort = this.running.ports.mqtt;
    if (this.o.web) this.wsPort = this.running.ports.ws!;
  }

  private makeNode(i: number, code: string): SimNode {
    const kind = KINDS[i % KINDS.length]!;
    const name = "node" + (i + 1);
    const qos: 0 | 1 = i % 5 == 4 ? 0 : 1;
    const storage = new SimStorage(256 * 1024);
    storage.write("node.json", JSON.stringify({ node: name, prefix: PREFIX, broker: { url: this.brokerUrl }, qos, clientId: "sim-" + name }));
    const sc = new Quantized({ seed: this.o.seed * 1000 + i, startHour: 0, meanC: 19 + (i % 7), meanRh: 40 + (i % 5) * 5 });
    const i2c = new SimI2c();
    const ow = new SimOneWire();
    let wire: { pin: SimPin; clock: SimClock } | null = null;
    for (const s of kind.sensors) {
      if (s.type == "bme280") i2c.attach(new Bme280Chip({ clock: this.clock, scenario: sc, address: 0x76 }));
      if (s.type == "sht3x") i2c.attach(new Sht3xChip({ clock: this.clock, scenario: sc, address: 0x44 }));
      if (s.type == "aht20") i2c.attach(new Aht20Chip({ clock: this.clock, scenario: sc }));
      if (s.type == "ds18b20") ow.attach(new SimDs18b20({ clock: this.clock, scenario: sc, serial: i + 1 }));
      if (s.type == "dht22") {
        // the DHT's microsecond frame runs on the pin's own virtual clock (sim/sandbox.ts SiteBuses.pin)
        const pc = new SimClock(this.clock.now());
        const pin = new SimPin(pc);
        new DhtChip(pin, { type: 22, scenario: sc, seed: i + 1 });
        wire = { pin, clock: pc };
      }
    }
    const mac = "24:0a:c4:00:" + ((i >> 8) & 255).toString(16).padStart(2, "0") + ":" + (i & 255).toString(16).padStart(2, "0");
    const wifi = new SimWifi({ clock: this.clock, ssid: "sim-site", password: "simsimsim", joinMs: 1200, mac });
    const stats: NodeStats = { name, kind: kind.name, qos, online: false, last: {}, published: 0, received: 0, lost: 0, duplicated: 0,
      maxLatencyMs: 0, queued: 0, acked: 0, sensorErrors: 0, reconnects: 0, freeVars: null, restarts: 0 };
    return { i, stats, boots: new Map(), code, wifi, storage, i2c, ow, wire, dev: null, lines: [] };
  }

  private boot(n: SimNode): void {
    if (this.stopped) return;
    n.wifi.connected = false;
    const dev = new Device({
      name: n.stats.name, code: n.code, clock: this.clock, wifi: n.wifi, storage: n.storage,
      buses: { i2c: () => n.i2c, onewire: () => n.ow, pin: () => n.wire },
      out: (l) => {
        n.lines.push(l);
        if (n.lines.length > 50) n.lines.shift();
        this.emit({ type: "line", node: n.stats.name, line: l });
      },
      ended: (why) => {
        this.emit({ type: "ended", node: n.stats.name, why });
        if (why == "restart") this.at(1000, () => this.boot(n));
      },
    });
    n.dev = dev;
    try {
      dev.start();
    } catch (e) {
      n.lines.push("boot failed: " + (e as Error).message);
      this.emit({ type: "line", node: n.stats.name, line: "boot failed: " + (e as Error).message });
    }
  }

  private arrived(topic: string, payload: string): void {
    if (this.stopped) return; // (the wills of the nodes just stopped)
    const parts = topic.split("/");
    const n = this.nodes.find((x) => x.stats.name == parts[1]);
    if (!n) return;
    const s = n.stats;
    if (parts[2] == "status") {
      s.online = payload == "online";
      this.emit({ type: "status", node: s.name, status: payload });
      return;
    }
    let j: { [k: string]: number };
    try { j = JSON.parse(payload); } catch { return; }
    if (parts[2] == "diag") {
      s.queued = j.queued ?? 0;
      s.acked = j.acked ?? 0;
      s.sensorErrors = j.sensorErrors ?? 0;
      s.reconnects = j.reconnects ?? 0;
      s.freeVars = j.freeVars ?? null;
      return;
    }
    // numbers start at 0 at every boot: counted per boot
    const boot = j.boot ?? 0;
    const seq = j.seq!;
    let b = n.boots.get(boot);
    if (!b) n.boots.set(boot, b = { seqs: new Set(), max: -1 });
    if (b.seqs.has(seq)) s.duplicated++;
    else { b.seqs.add(seq); s.received++; }
    if (seq > b.max) b.max = seq;
    let pub = 0;
    for (const x of n.boots.values()) pub += x.max + 1;
    s.published = pub;
    s.lost = s.published - s.received;
    s.maxLatencyMs = Math.max(s.maxLatencyMs, Math.round(this.clock.now() - j.ts!));
    const last: { [k: string]: number } = {};
    for (const k of Object.keys(j)) if (k != "seq" && k != "ts" && k != "rel") last[k] = j[k]!;
    s.last = last;
    this.emit({ type: "state", node: s.name, seq, reading: last, ts: j.ts });
  }

  /** Runs `fn` after `ms` virtual milliseconds. */
  private at(ms: number, fn: () => void): void {
    const t = setTimeout(() => { if (!this.stopped) fn(); }, ms / this.o.speed);
    this.timers.push(t);
  }

  private schedule(f: Fault): void {
    const n = f.node !== undefined ? this.nodes[f.node] : undefined;
    const say = (what: string): void => {
      const line = "t=" + Math.round(this.elapsed / 1000) + "s " + what;
      this.faultLog.push(line);
      this.emit({ type: "fault", what, node: n?.stats.name });
    };
    this.at(f.at * 1000, () => {
      if (f.kind == "broker-restart") {
        if (!this.running) { say("broker restart skipped: external broker"); return; }
        say("broker stops for " + f.for + " s");
        void this.running.stop().then(() => {
          this.running = null;
          this.at(f.for * 1000, () => { void this.startBroker().then(() => say("broker is back")); });
        });
      } else if (n && f.kind == "wifi-drop") {
        say(n.stats.name + " loses WiFi for " + f.for + " s");
        n.dev?.partition(true);
        n.wifi.drop();
        this.at(f.for * 1000, () => { n.dev?.partition(false); n.wifi.restore(); say(n.stats.name + " WiFi is back"); });
      } else if (n && f.kind == "partition") {
        say(n.stats.name + " is cut from the broker for " + f.for + " s");
        n.dev?.partition(true);
        this.at(f.for * 1000, () => { n.dev?.partition(false); say(n.stats.name + " reaches the broker again"); });
      } else if (n && (f.kind == "latency" || f.kind == "loss")) {
        say(n.stats.name + (f.kind == "latency" ? " gets 800 ms latency" : " loses 20 % of its packets") + " for " + f.for + " s");
        if (n.dev) { if (f.kind == "latency") n.dev.faults.latencyMs = 800; else n.dev.faults.loss = 0.2; }
        this.at(f.for * 1000, () => { if (n.dev) { n.dev.faults.latencyMs = 0; n.dev.faults.loss = 0; } say(n.stats.name + " network normal"); });
      } else if (n && f.kind == "sensor-fail") {
        say(n.stats.name + "'s sensor bus sticks for " + f.for + " s");
        n.i2c.stuck = true;
        this.at(f.for * 1000, () => { n.i2c.stuck = false; say(n.stats.name + "'s sensor bus is free"); });
      } else if (f.kind == "consumer-drop" && this.sharers[f.node ?? 0]) {
        const k = f.node ?? 0;
        say("shared consumer " + (k + 1) + " leaves for " + f.for + " s");
        const c = this.sharers[k]!;
        this.sharers[k] = null;
        void c.endAsync(true).then(() => this.at(f.for * 1000, () => {
          void this.sharer(k).then((c2) => { this.sharers[k] = c2; say("shared consumer " + (k + 1) + " is back"); });
        }));
      } else if (f.kind == "dashboard-drop" && this.dash) {
        say("dashboard leaves for " + f.for + " s (its session stays; readings expire after " + this.expiry.expirySec + " s)");
        const c = this.dash;
        this.dash = null;
        this.expiry.awayAt = this.elapsed;
        this.expiry.droppedBefore = this.running?.broker.stats.msgsDropped ?? 0;
        void c.endAsync(true).then(() => this.at(f.for * 1000, () => {
          this.expiry.backAt = this.elapsed;
          void this.dashboard().then((c2) => {
            this.dash = c2;
            say("dashboard is back");
            setTimeout(() => { this.expiry.droppedAfter = this.running?.broker.stats.msgsDropped ?? 0; }, 1000);
          });
        }));
      } else if (n && f.kind == "reboot") {
        say(n.stats.name + " reboots");
        n.stats.restarts++;
        n.dev?.stop();
        this.at(1500, () => this.boot(n));
      }
    });
  }

  /** Per node delivery, for the summary. */
  summary(): NodeStats[] {
    return this.nodes.map((n) => ({ ...n.stats }));
  }

  /** Stops everything this simulation started; lets queued readings drain for up to `drainMs` real ms first. */
  async stop(drainMs = 0): Promise<NodeStats[]> {
    if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const n of this.nodes) n.dev?.stop();
    const s = this.summary();
    await this.consumer?.endAsync().catch(() => undefined);
    await Promise.all(this.sharers.concat([this.relay, this.dash]).map((c) => c?.endAsync().catch(() => undefined)));
    this.emit({ type: "summary", nodes: s }); // the last event
    await this.running?.stop().catch(() => undefined);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    return s;
  }
}

/** node/boot/seq of a reading on `<prefix>/<node>/state`, or "" when the payload is not one. */
function readingKey(topic: string, payload: string): string {
  try {
    const j = JSON.parse(payload) as { boot?: number; seq?: number };
    return typeof j.seq == "number" ? topic.split("/")[1] + "/" + (j.boot ?? 0) + "/" + j.seq : "";
  } catch {
    return "";
  }
}

/**
 * An MQTT.js client with its message handler set before it connects: a resumed session's messages come right
 * behind the CONNACK, before connectAsync's promise would let a handler be added.
 */
async function connectWith(url: string, o: mqtt.IClientOptions, onMessage: (topic: string, payload: Buffer) => void): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, o);
  c.on("error", () => undefined);
  c.on("message", onMessage);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { c.end(true); reject(new Error("could not connect to " + url)); }, 10_000);
    c.once("connect", () => { clearTimeout(t); resolve(); });
  });
  return c;
}
