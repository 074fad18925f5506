/**
 * `npm run bench:broker`: our broker (sim/broker/main.ts's startBroker), aedes and Mosquitto (where installed),
 * side by side in one run, each in a process of its own, loaded by MQTT.js clients in this process.
 *
 *   npm run bench:broker [-- --quick] [-- --json] [-- --brokers ours,aedes,mosquitto] [-- --only fan] [-- --profile]
 *
 * Scenarios (64-byte payloads; every client connects and subscribes before a window opens):
 * - QoS 0 1-to-1, fan-out 1-to-10 (one topic, ten subscribers), fan-in 10-to-1 (ten topics, one subscriber on a
 *   `+` filter), QoS 1 1-to-1, QoS 2 1-to-1. Closed loop: at most `window` messages published and not yet
 *   received by every subscriber (64 at QoS 0; 20 at QoS 1/2, Mosquitto's default in-flight limit and within
 *   our broker's 32 inbound QoS 2 ids), refilled in bursts once half of it is free; a message not received
 *   within STALL_MS is written off and counted as lost.
 * - retained: 1,000 retained topics stored, then a new subscriber to `#`: time from its SUBSCRIBE until all
 *   arrive. The topics are emptied again afterwards (an empty retained payload), so the next round starts clean.
 * - idle: N connections that only CONNECT: memory per connection = growth of the broker process's RSS over them
 *   (after a full GC on the Node brokers), divided by N; for the Node brokers also V8 heap and ArrayBuffer
 *   growth. Run first, on a fresh process per broker; the Node ones with a fixed 1 MB young generation
 *   (IDLE_FLAGS), else V8 growing its young generation under the connect burst moves RSS by several MB either
 *   way from run to run. A bare Node `net` server that answers CONNECT (no broker) is measured beside them: the
 *   floor for any broker holding a net.Socket per connection.
 *
 * Each scenario is warmed up once per broker (not counted), then measured ROUNDS times with the brokers taking
 * turns; the round with the median CPU per message is reported and the others' CPU shown as a range.
 *
 * Figures per scenario and broker: delivered msgs/s (window from the first PUBLISH or the SUBSCRIBE to the last
 * message received), p99 latency (publish call to receipt, one clock: both ends are in this process), loss,
 * and broker CPU time per delivered message: user + system of the broker's process over the window (up to the
 * last acknowledgement), from process.cpuUsage() inside the Node brokers and /proc/<pid>/task/<tid>/schedstat
 * for Mosquitto. On two cores the load generator (MQTT.js, one event loop) often saturates before a broker
 * does, so CPU per message is the fair comparison; msgs/s shows where the loop is.
 *
 * `--profile` writes a V8 CPU profile per Node broker process to bench/out/prof/<broker>/ (`node --cpu-prof`).
 * `--brokers` and `--only` (a scenario key: q0, fanout, fanin, q1, q2, retained, idle) narrow a run.
 *
 * Writes bench/out/broker.json (every figure) and bench/out/broker.svg (a bar chart). Bounded: every loop has a
 * count and a time limit; only loopback; the brokers are processes started here and are stopped by pid.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import mqtt, { type MqttClient } from "mqtt";
import { Mosquitto, MOSQUITTO_BIN, MOSQUITTO_SKIP } from "../test/helpers/mosquitto";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HOST_FILE = path.join(HERE, "broker-host.ts");
const OUT_DIR = path.join(HERE, "out");
/**
 * broker-host.ts bundled (inside the repository, so that aedes and ws resolve from node_modules), and the file
 * that is run, which only imports it: sim/broker/main.ts starts its command line when its own module is the one
 * run. Both removed at the end.
 */
const HOST_BUNDLE = path.join(OUT_DIR, ".broker-host.mjs");
const HOST_RUN = path.join(OUT_DIR, ".broker-host-run.mjs");
const argv = process.argv.slice(2);
const flag = (f: string): boolean => argv.includes(f);
const opt = (f: string): string | undefined => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const QUICK = flag("--quick");
const JSON_OUT = flag("--json");
const PROFILE = flag("--profile");
const ONLY = opt("--only");
const WANT = (opt("--brokers") ?? "ours,aedes,mosquitto").split(",");

const PAYLOAD = 64;
const LIMIT_MS = 30000; // any one scenario
const STALL_MS = 1000; // no progress for this long: what is missing is lost
const STEP_MS = 10000; // any one connect, subscribe, usage query, stop
const IDLE_N = QUICK ? 250 : 1000;
const RETAINED_N = 1000;
const BATCH = 100; // connections opened at once
const START = performance.now();

type BrokerName = "ours" | "aedes" | "mosquitto" | "net";
const LABEL: Record<BrokerName, string> = { ours: "ours", aedes: "aedes", mosquitto: "Mosquitto", net: "Node net, no MQTT" };
/** Node flags of the idle-connection processes: a young generation of fixed size, so RSS does not move with it. */
const IDLE_FLAGS = ["--min-semi-space-size=1", "--max-semi-space-size=1"];

interface Flow {
  key: string;
  name: string;
  qos: 0 | 1 | 2;
  pubs: number;
  subs: number;
  /** Messages per publisher. */
  n: number;
  window: number;
  topic: (tag: string, p: number) => string;
  filter: (tag: string) => string;
}

const K = QUICK ? 5 : 1;
/** Measured runs of each scenario; the median by CPU per message is reported, the others' CPU as a range. */
const ROUNDS = QUICK ? 1 : 3;
const FLOWS: Flow[] = [
  { key: "q0", name: "QoS 0 1-to-1", qos: 0, pubs: 1, subs: 1, n: 20000 / K, window: 64, topic: (t) => t + "/one", filter: (t) => t + "/one" },
  { key: "fanout", name: "QoS 0 fan-out 1-to-10", qos: 0, pubs: 1, subs: 10, n: 2000 / K, window: 64, topic: (t) => t + "/out", filter: (t) => t + "/out" },
  { key: "fanin", name: "QoS 0 fan-in 10-to-1 (+)", qos: 0, pubs: 10, subs: 1, n: 2000 / K, window: 64, topic: (t, p) => t + "/in/" + p, filter: (t) => t + "/in/+" },
  { key: "q1", name: "QoS 1 1-to-1", qos: 1, pubs: 1, subs: 1, n: 10000 / K, window: 20, topic: (t) => t + "/one", filter: (t) => t + "/one" },
  { key: "q2", name: "QoS 2 1-to-1", qos: 2, pubs: 1, subs: 1, n: 5000 / K, window: 20, topic: (t) => t + "/one", filter: (t) => t + "/one" },
];
const RETAINED_KEY = "retained";
const RETAINED_NAME = RETAINED_N.toLocaleString("en-US") + " retained to new # subscriber";
const IDLE_KEY = "idle";

const run = (key: string): boolean => !ONLY || key.includes(ONLY);

// ---------------------------------------------------------------- helpers

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(what + ": over " + ms + " ms")), ms); }),
  ]);
}

function p99(a: Float64Array): number {
  if (a.length == 0) return NaN;
  const s = Float64Array.from(a).sort();
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!;
}

// ---------------------------------------------------------------- brokers

interface Usage { cpuUs: number; rss: number; heapUsed?: number; external?: number; arrayBuffers?: number }

interface BrokerProc {
  name: BrokerName;
  version: string;
  port: number;
  pid: number;
  /** CPU and memory of the broker's process now. */
  usage(): Promise<Usage>;
  /** The same after a full GC (Node brokers) and a short pause. */
  settled(): Promise<Usage>;
  stop(): Promise<void>;
}

/** Every broker process started here, killed by pid if this process exits before stopping it. */
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) try { process.kill(c.pid, "SIGKILL"); } catch { /* gone */ }
});
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

function exited(c: ChildProcess, ms: number): Promise<boolean> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(true);
  return new Promise((r) => {
    const t = setTimeout(() => r(false), ms);
    c.once("exit", () => { clearTimeout(t); r(true); });
  });
}

/** Our broker, aedes or the bare `net` floor in a child process (bench/broker-host.ts), spoken to over IPC. */
async function nodeBroker(name: "ours" | "aedes" | "net", forIdle: boolean): Promise<BrokerProc> {
  const extra = forIdle ? IDLE_FLAGS : PROFILE ? ["--cpu-prof", "--cpu-prof-dir", path.join(OUT_DIR, "prof", name)] : [];
  const c = spawn(process.execPath, ["--expose-gc", ...extra, HOST_RUN, name], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(c);
  const waiting = new Map<number, (m: Usage) => void>();
  let next = 0;
  const ready = new Promise<{ ready: number }>((res, rej) => {
    c.on("message", (m: { id?: number; ready?: number } & Usage) => {
      if (m.ready !== undefined) res(m as { ready: number });
      else if (m.id !== undefined) { waiting.get(m.id)?.(m); waiting.delete(m.id); }
    });
    c.once("exit", (code) => rej(new Error(name + " broker exited (" + code + ") before listening")));
  });
  const r = await deadline(ready, 30000, name + " start");
  const ask = (cmd: string): Promise<Usage> => deadline(new Promise<Usage>((res) => {
    const id = ++next;
    waiting.set(id, res);
    c.send({ id, cmd });
  }), STEP_MS, name + " " + cmd);
  return {
    name, version: VERSION[name], port: r.ready, pid: c.pid!,
    usage: () => ask("usage"),
    settled: () => ask("gc"),
    stop: async () => {
      try { await ask("stop"); } catch { /* killed below */ }
      if (!await exited(c, 5000) && c.pid) process.kill(c.pid, "SIGKILL");
      await exited(c, 2000);
      children.delete(c);
    },
  };
}

/** CPU time of every thread of `pid`, µs: schedstat's first field is ns on a CPU. Falls back to /proc/<pid>/stat ticks. */
const req = createRequire(import.meta.url);
const VERSION = {
  ours: (req("../package.json") as { version: string }).version,
  // aedes exports no ./package.json: the one beside its entry point
  aedes: (JSON.parse(readFileSync(path.join(path.dirname(req.resolve("aedes")), "package.json"), "utf8")) as { version: string }).version,
  net: process.version,
};

function procCpuUs(pid: number): number {
  try {
    let ns = 0;
    for (const t of readdirSync("/proc/" + pid + "/task")) ns += Number(readFileSync("/proc/" + pid + "/task/" + t + "/schedstat", "utf8").split(" ")[0]);
    return ns / 1000;
  } catch {
    const f = readFileSync("/proc/" + pid + "/stat", "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10000; // utime + stime, 100 ticks a second
  }
}

function procRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/" + pid + "/status", "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function mosquittoBroker(): Promise<BrokerProc> {
  const m = await Mosquitto.start({ persistence: false });
  const pid = m.pid!;
  const v = spawnSync(MOSQUITTO_BIN!, ["-h"], { encoding: "utf8", timeout: 5000 });
  const version = /version ([0-9.]+)/.exec(v.stdout + v.stderr)?.[1] ?? "?";
  const usage = async (): Promise<Usage> => ({ cpuUs: procCpuUs(pid), rss: procRss(pid) });
  return { name: "mosquitto", version, port: m.port, pid, usage, settled: async () => { await sleep(50); return usage(); }, stop: () => m.dispose() };
}

// ---------------------------------------------------------------- load generators

async function client(port: number, id: string): Promise<MqttClient> {
  const c = mqtt.connect({ host: "127.0.0.1", port, clientId: id, protocolVersion: 4, keepalive: 60, reconnectPeriod: 0, clean: true, connectTimeout: STEP_MS });
  try {
    await deadline(new Promise<void>((res, rej) => { c.once("connect", () => res()); c.once("error", rej); c.once("close", () => rej(new Error("closed"))); }), STEP_MS, "connect " + id);
  } catch (e) {
    c.end(true);
    throw e;
  }
  (c.stream as net.Socket).setNoDelay?.(true); // as the brokers do: latency, not segment count
  return c;
}

function subscribe(c: MqttClient, filter: string, qos: 0 | 1 | 2): Promise<void> {
  return deadline(new Promise<void>((res, rej) => {
    c.subscribe(filter, { qos }, (e, g) => (e ? rej(e) : g && g[0] && g[0].qos & 0x80 ? rej(new Error("SUBACK 0x80 for " + filter)) : res()));
  }), STEP_MS, "subscribe " + filter);
}

function end(cs: MqttClient[]): Promise<void> {
  return deadline(Promise.all(cs.map((c) => new Promise<void>((r) => c.end(false, {}, () => r())))).then(() => undefined), STEP_MS, "disconnect")
    .catch(() => { for (const c of cs) c.end(true); });
}

/** QoS 1 message and its PUBACK: everything the client sent before it has been handled by the broker. */
function fence(c: MqttClient, topic: string): Promise<void> {
  return deadline(new Promise<void>((res, rej) => c.publish(topic, "f", { qos: 1 }, (e) => (e ? rej(e) : res()))), STEP_MS, "fence");
}

function payload(seq: number, pub: number): Buffer {
  const b = Buffer.alloc(PAYLOAD, 0x61);
  b.writeDoubleLE(performance.now(), 0);
  b.writeUInt32LE(seq, 8);
  b.writeUInt16LE(pub, 12);
  return b;
}

// ---------------------------------------------------------------- scenarios

interface Row {
  expected: number;
  delivered: number;
  lost: number;
  dups: number;
  ms: number;
  rate: number;
  p99ms: number;
  cpuUs: number;
  cpuUsPerMsg: number;
  timedOut: boolean;
  /** CPU per message of every round (this row is the median one). */
  rounds?: number[];
}

function row(expected: number, delivered: number, dups: number, ms: number, lat: Float64Array, cpuUs: number, timedOut: boolean): Row {
  return {
    expected, delivered, lost: expected - delivered, dups, ms, rate: delivered / ms * 1000, p99ms: p99(lat), cpuUs,
    cpuUsPerMsg: delivered ? cpuUs / delivered : NaN, timedOut,
  };
}

/** A closed-loop flow: `pubs` publishers, `subs` subscribers each receiving every message. */
async function flow(b: BrokerProc, f: Flow, n: number, tag: string): Promise<Row> {
  const subs: MqttClient[] = [];
  const pubs: MqttClient[] = [];
  try {
    for (let i = 0; i < f.subs; i++) { const c = await client(b.port, tag + "-s" + i); subs.push(c); await subscribe(c, f.filter(tag), f.qos); }
    for (let i = 0; i < f.pubs; i++) pubs.push(await client(b.port, tag + "-p" + i));
    await sleep(50);
    const total = n * f.pubs;
    const expected = total * f.subs;
    const seen = subs.map(() => new Uint8Array(total));
    const lat = new Float64Array(expected);
    let sent = 0;
    let received = 0;
    let writtenOff = 0;
    let dups = 0;
    let acked = 0;
    let rr = 0;
    const u0 = await b.usage();
    const t0 = performance.now();
    let last = t0;
    let progress = t0;
    let timedOut = false;
    const bump = (): void => { acked++; };
    await new Promise<void>((done) => {
      // refilled in bursts once half the window is free, so every broker sees packets arriving in groups
      const pump = (): void => {
        if (sent * f.subs - received - writtenOff > f.window * f.subs / 2) return;
        while (sent < total && sent * f.subs - received - writtenOff < f.window * f.subs) {
          const p = rr++ % f.pubs;
          const seq = Math.floor(sent / f.pubs);
          pubs[p]!.publish(f.topic(tag, p), payload(seq, p), { qos: f.qos }, bump);
          sent++;
        }
      };
      const stop = (): void => { clearInterval(watch); done(); };
      subs.forEach((c, si) => c.on("message", (_t, m: Buffer) => {
        const now = performance.now();
        const i = m.readUInt16LE(12) * n + m.readUInt32LE(8);
        const s = seen[si]!;
        if (s[i]) { dups++; return; }
        s[i] = 1;
        lat[received++] = now - m.readDoubleLE(0);
        last = progress = now;
        if (received == expected) stop();
        else pump();
      }));
      const watch = setInterval(() => {
        const now = performance.now();
        if (now - t0 > LIMIT_MS) { timedOut = true; stop(); return; }
        if (now - progress < STALL_MS) return;
        if (sent >= total) { stop(); return; }
        writtenOff = sent * f.subs - received; // missing for a second: lost; carry on
        progress = now;
        pump();
      }, 50);
      pump();
    });
    // the broker's work for these messages ends with the last acknowledgement
    for (let i = 0; i < 200 && f.qos && acked < sent; i++) await sleep(10);
    const u1 = await b.usage();
    return row(expected, received, dups, last - t0, lat.subarray(0, received), u1.cpuUs - u0.cpuUs, timedOut);
  } finally {
    await end(subs.concat(pubs));
  }
}

/** RETAINED_N retained topics, then a new `#` subscriber: from its SUBSCRIBE until all have arrived. */
async function retained(b: BrokerProc, tag: string): Promise<Row> {
  const pub = await client(b.port, tag + "-rp");
  const cs = [pub];
  const topic = (i: number): string => "bench/retained/" + i;
  try {
    for (let i = 0; i < RETAINED_N; i++) pub.publish(topic(i), payload(i, 0), { qos: 0, retain: true });
    await fence(pub, "bench/fence");
    await sleep(100);
    const sub = await client(b.port, tag + "-rs");
    cs.push(sub);
    const seen = new Uint8Array(RETAINED_N);
    const lat = new Float64Array(RETAINED_N);
    let received = 0;
    let dups = 0;
    let timedOut = false;
    const u0 = await b.usage();
    const t0 = performance.now();
    let last = t0;
    await new Promise<void>((done) => {
      const stop = (): void => { clearInterval(watch); done(); };
      sub.on("message", (t, m: Buffer, pk) => {
        const now = performance.now();
        if (!pk.retain || !t.startsWith("bench/retained/") || m.length != PAYLOAD) return;
        const i = m.readUInt32LE(8);
        if (seen[i]) { dups++; return; }
        seen[i] = 1;
        lat[received++] = now - t0;
        last = now;
        if (received == RETAINED_N) stop();
      });
      const watch = setInterval(() => {
        const now = performance.now();
        if (now - t0 > LIMIT_MS) { timedOut = true; stop(); } else if (now - Math.max(last, t0) > STALL_MS) stop();
      }, 50);
      sub.subscribe("#", { qos: 0 });
    });
    const u1 = await b.usage();
    await end([sub]);
    cs.pop();
    // leave no retained messages behind: an empty retained payload deletes one [MQTT-3.3.1-10]
    for (let i = 0; i < RETAINED_N; i++) pub.publish(topic(i), Buffer.alloc(0), { qos: 0, retain: true });
    await fence(pub, "bench/fence");
    return row(RETAINED_N, received, dups, last - t0, lat.subarray(0, received), u1.cpuUs - u0.cpuUs, timedOut);
  } finally {
    await end(cs);
  }
}

interface IdleRow {
  n: number;
  connected: number;
  rssPerConn: number;
  heapPerConn: number | null;
  arrayBuffersPerConn: number | null;
  cpuUsPerConnect: number;
}

async function openMany(port: number, tag: string, n: number): Promise<MqttClient[]> {
  const cs: MqttClient[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const got = await Promise.allSettled(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => client(port, tag + "-" + (i + j))));
    for (const g of got) if (g.status == "fulfilled") cs.push(g.value);
  }
  return cs;
}

/** Memory per idle connection: the broker process's growth over IDLE_N connections that only CONNECT. */
async function idle(b: BrokerProc): Promise<IdleRow> {
  await end(await openMany(b.port, "warm", 50)); // code paths and socket machinery touched once
  await sleep(200);
  const m0 = await b.settled();
  const cs = await openMany(b.port, "idle", IDLE_N);
  try {
    const u = await b.usage();
    await sleep(300);
    const m1 = await b.settled();
    const n = cs.length;
    const per = (k: "heapUsed" | "arrayBuffers"): number | null => (m0[k] === undefined ? null : (m1[k]! - m0[k]!) / n);
    return { n: IDLE_N, connected: n, rssPerConn: (m1.rss - m0.rss) / n, heapPerConn: per("heapUsed"), arrayBuffersPerConn: per("arrayBuffers"), cpuUsPerConnect: (u.cpuUs - m0.cpuUs) / n };
  } finally {
    for (let i = 0; i < cs.length; i += BATCH) await end(cs.slice(i, i + BATCH));
  }
}

// ---------------------------------------------------------------- every broker, every scenario

interface BrokerResult { name: BrokerName; version: string; flows: { [key: string]: Row }; idle?: IdleRow }

const say = (s: string): void => { if (!JSON_OUT) process.stderr.write(s + "\n"); };

/**
 * Idle connections first, each broker in a fresh process of its own (Node ones with a fixed young generation);
 * then every scenario on one process per broker, the brokers taking turns round by round, so a slow spell of the
 * machine does not fall on one broker only.
 */
async function benchAll(starts: [BrokerName, (idle: boolean) => Promise<BrokerProc>][]): Promise<BrokerResult[]> {
  const rs: BrokerResult[] = [];
  const idles: BrokerResult[] = [];
  if (run(IDLE_KEY)) {
    for (const [name, start] of starts.concat([["net", (i) => nodeBroker("net", i)]])) {
      const b = await start(true);
      try {
        idles.push({ name, version: b.version, flows: {}, idle: await idle(b) });
      } finally {
        await b.stop();
      }
      say("  " + LABEL[name] + ": " + fmt(IDLE_N) + " idle connections done");
    }
  }
  const bs: BrokerProc[] = [];
  try {
    for (const [, start] of starts) bs.push(await start(false));
    for (const b of bs) rs.push({ name: b.name, version: b.version, flows: {}, idle: idles.find((i) => i.name == b.name)?.idle });
    let k = 0;
    const scenario = async (key: string, one: (b: BrokerProc, tag: string, warm: boolean) => Promise<Row>): Promise<void> => {
      for (const b of bs) await one(b, "w" + k++, true); // warm-up (JIT, buffers), not counted
      const rows: Row[][] = bs.map(() => []);
      for (let i = 0; i < ROUNDS; i++) for (let j = 0; j < bs.length; j++) rows[j]!.push(await one(bs[j]!, "m" + k++, false));
      rows.forEach((x, j) => { rs[j]!.flows[key] = median(x); });
      say("  " + (SCENARIOS.find((s) => s.key == key)?.name ?? key) + " done");
    };
    for (const f of FLOWS) {
      // the warm-up is as long in --quick
      if (run(f.key)) await scenario(f.key, (b, tag, warm) => flow(b, f, warm ? Math.ceil(f.n * K / 10) : f.n, tag));
    }
    if (run(RETAINED_KEY)) await scenario(RETAINED_KEY, (b, tag) => retained(b, tag));
  } finally {
    for (const b of bs) await b.stop();
  }
  const floor = idles.find((i) => i.name == "net");
  if (floor) rs.push(floor);
  return rs;
}

/** The round with the median CPU per message, carrying every round's figure. */
function median(rows: Row[]): Row {
  const s = rows.slice().sort((a, b) => (a.cpuUsPerMsg || 0) - (b.cpuUsPerMsg || 0));
  return { ...s[Math.floor((s.length - 1) / 2)]!, rounds: rows.map((x) => x.cpuUsPerMsg) };
}

// ---------------------------------------------------------------- report

const SCENARIOS = FLOWS.map((f) => ({ key: f.key, name: f.name })).concat([{ key: RETAINED_KEY, name: RETAINED_NAME }]);

function fmt(n: number | null | undefined, d = 0): string {
  return n == null || isNaN(n) ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
}

function spread(r: number[] | undefined): string {
  if (!r || r.length < 2) return "";
  return fmt(Math.min(...r), 1) + "-" + fmt(Math.max(...r), 1);
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a == null || b == null || isNaN(a) || isNaN(b) || b == 0 ? "" : (a / b).toFixed(2) + "x";
}

function table(head: string[], body: string[][], left: number): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < left ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  ")].concat(body.map(line));
}

function by(rs: BrokerResult[], n: BrokerName): BrokerResult | undefined {
  return rs.find((r) => r.name == n);
}

function report(rs: BrokerResult[]): string[] {
  const ours = by(rs, "ours");
  const aedes = by(rs, "aedes");
  const mosq = by(rs, "mosquitto");
  const out: string[] = [];
  const body: string[][] = [];
  for (const s of SCENARIOS) {
    for (const r of rs) {
      const x = r.flows[s.key];
      if (!x) continue;
      const me = r.name == "ours";
      const peer = (p: BrokerResult | undefined, k: "cpuUsPerMsg" | "rate"): string => (me && p ? ratio(x[k], p.flows[s.key]?.[k]) : "");
      body.push([
        r == rs.find((q) => q.flows[s.key]) ? s.name : "", LABEL[r.name],
        fmt(x.delivered) + "/" + fmt(x.expected), fmt(x.rate), peer(aedes, "rate"), peer(mosq, "rate"), fmt(x.p99ms, 2),
        fmt(x.lost) + (x.dups ? " (+" + x.dups + " dup)" : "") + (x.timedOut ? " (time limit)" : ""),
        fmt(x.cpuUsPerMsg, 1), spread(x.rounds), peer(aedes, "cpuUsPerMsg"), peer(mosq, "cpuUsPerMsg"),
      ]);
    }
  }
  out.push(...table(["scenario", "broker", "delivered", "msgs/s", "vs aedes", "vs Mosq.", "p99 ms", "lost", "CPU us/msg", "rounds", "vs aedes", "vs Mosq."], body, 2));
  out.push("(ratios: ours / peer; msgs/s above 1x is faster, CPU below 1x is cheaper; " + (ROUNDS > 1 ? "the median of " + ROUNDS + " rounds by CPU, rounds: min-max)" : "one round)"));
  const idleRows = rs.filter((r) => r.idle);
  if (idleRows.length) {
    out.push("");
    const kib = (v: number | null | undefined): string => (v == null ? "n/a" : fmt(v / 1024, 2));
    out.push(...table(["idle connections", "broker", "connected", "RSS KiB/conn", "vs aedes", "vs Mosq.", "V8 heap KiB/conn", "ArrayBuffer KiB/conn", "CPU us/CONNECT"],
      idleRows.map((r) => {
        const i = r.idle!;
        const me = r.name == "ours";
        return [
          r == idleRows[0] ? fmt(IDLE_N) + " CONNECTs" : "", LABEL[r.name], fmt(i.connected), kib(i.rssPerConn),
          me && aedes?.idle ? ratio(i.rssPerConn, aedes.idle.rssPerConn) : "", me && mosq?.idle ? ratio(i.rssPerConn, mosq.idle.rssPerConn) : "",
          kib(i.heapPerConn), kib(i.arrayBuffersPerConn), fmt(i.cpuUsPerConnect, 0),
        ];
      }), 2));
  }
  if (ours) out.push("", ...targets(rs, ours, aedes, mosq));
  return out;
}

/** The targets, reported (not asserted). */
function targets(rs: BrokerResult[], ours: BrokerResult, aedes: BrokerResult | undefined, mosq: BrokerResult | undefined): string[] {
  const out = ["Targets (issue 5): less CPU per message than aedes in every scenario; memory per idle connection nearer Mosquitto's than aedes'."];
  if (aedes) {
    for (const s of SCENARIOS) {
      const a = ours.flows[s.key];
      const b = aedes.flows[s.key];
      if (!a || !b) continue;
      const met = a.cpuUsPerMsg < b.cpuUsPerMsg;
      out.push("  " + (met ? "met   " : "MISSED") + " " + s.name + ": " + fmt(a.cpuUsPerMsg, 1) + " us/msg vs aedes " + fmt(b.cpuUsPerMsg, 1) + " (" + ratio(a.cpuUsPerMsg, b.cpuUsPerMsg) + ")");
    }
  }
  if (ours.idle && aedes?.idle && mosq?.idle) {
    const o = ours.idle.rssPerConn;
    const m = mosq.idle.rssPerConn;
    const a = aedes.idle.rssPerConn;
    const met = Math.abs(o - m) < Math.abs(o - a);
    const floor = by(rs, "net")?.idle?.rssPerConn;
    out.push("  " + (met ? "met   " : "MISSED") + " idle memory nearer Mosquitto's than aedes': " + fmt(o / 1024, 2) + " KiB/conn vs Mosquitto " + fmt(m / 1024, 2) +
      ", aedes " + fmt(a / 1024, 2) + " (" + fmt(Math.abs(o - m) / 1024, 2) + " KiB from Mosquitto's, " + fmt(Math.abs(o - a) / 1024, 2) + " from aedes')");
    out.push("  " + (o < 1024 ? "met   " : "MISSED") + " idle memory under 1 KiB: " + fmt(o / 1024, 2) + " KiB/conn" +
      (floor !== undefined ? " (a bare Node net server: " + fmt(floor / 1024, 2) + ")" : ""));
  }
  return out;
}

// ---------------------------------------------------------------- chart (hand-written SVG, no dependency)

const COLOR: Record<BrokerName, string> = { ours: "#2b6cb0", aedes: "#dd6b20", mosquitto: "#38a169", net: "#999999" };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A round number at or above v for the axis (1, 2, 2.5, 5 x 10^k). */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

function short(v: number): string {
  if (v == 0) return "0";
  return v >= 10000 ? (v / 1000).toFixed(0) + "k" : v >= 1000 ? (v / 1000).toFixed(1) + "k" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function panel(y0: number, w: number, title: string, cats: string[], series: { name: BrokerName; values: (number | null)[] }[]): string[] {
  const h = 190;
  const left = 60;
  const top = y0 + 28;
  const plotW = w - left - 20;
  // headroom above the tallest bar for its label
  const max = niceMax(1.08 * Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v != null && !isNaN(v)))));
  const s: string[] = [`<text x="${left}" y="${y0 + 16}" font-size="14" font-weight="bold">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const y = top + h - h * i / 4;
    s.push(`<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#ddd"/>`);
    s.push(`<text x="${left - 6}" y="${y + 4}" font-size="10" text-anchor="end">${esc(short(max * i / 4))}</text>`);
  }
  const gw = plotW / cats.length;
  const bw = gw * 0.8 / series.length;
  cats.forEach((c, ci) => {
    series.forEach((se, si) => {
      const v = se.values[ci];
      if (v == null || isNaN(v)) return;
      const bh = h * v / max;
      const x = left + gw * ci + gw * 0.1 + bw * si;
      s.push(`<rect x="${x.toFixed(1)}" y="${(top + h - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLOR[se.name]}"><title>${esc(LABEL[se.name] + ", " + c + ": " + fmt(v, 2))}</title></rect>`);
      s.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(top + h - bh - 3).toFixed(1)}" font-size="9" text-anchor="middle">${esc(short(v))}</text>`);
    });
    s.push(`<text x="${(left + gw * ci + gw / 2).toFixed(1)}" y="${top + h + 14}" font-size="10" text-anchor="middle">${esc(c)}</text>`);
  });
  s.push(`<line x1="${left}" y1="${top + h}" x2="${left + plotW}" y2="${top + h}" stroke="#333"/>`);
  return s;
}

function chart(rs: BrokerResult[], subtitle: string): string {
  const w = 980;
  const cats = SCENARIOS.filter((s) => rs.some((r) => r.flows[s.key]));
  const names = cats.map((c) => c.name.replace(" to new # subscriber", " to new #").replace(" (+)", ""));
  const series = (k: "cpuUsPerMsg" | "rate"): { name: BrokerName; values: (number | null)[] }[] =>
    rs.filter((r) => cats.some((c) => r.flows[c.key])).map((r) => ({ name: r.name, values: cats.map((c) => r.flows[c.key]?.[k] ?? null) }));
  const parts: string[] = [];
  let y = 50;
  if (cats.length) {
    parts.push(...panel(y, w, "Broker CPU time per delivered message, µs (lower is better)", names, series("cpuUsPerMsg")));
    y += 250;
    parts.push(...panel(y, w, "Delivered messages per second (load generator: MQTT.js, one process)", names, series("rate")));
    y += 250;
  }
  const idleRs = rs.filter((r) => r.idle);
  if (idleRs.length) {
    parts.push(...panel(y, 420, "Memory per idle connection, KiB of broker RSS (lower is better)", [fmt(IDLE_N) + " connections"],
      idleRs.map((r) => ({ name: r.name, values: [r.idle!.rssPerConn / 1024] }))));
    y += 250;
  }
  const legend = rs.map((r, i) => `<rect x="${60 + i * 190}" y="30" width="12" height="12" fill="${COLOR[r.name]}"/><text x="${78 + i * 190}" y="40" font-size="12">${esc(LABEL[r.name] + " " + r.version)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${y}" viewBox="0 0 ${w} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="60" y="18" font-size="12" fill="#555">${esc(subtitle)}</text>`,
    ...legend, ...parts, `</svg>`,
  ].join("\n") + "\n";
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const starts: [BrokerName, (idle: boolean) => Promise<BrokerProc>][] = [["ours", (i) => nodeBroker("ours", i)], ["aedes", (i) => nodeBroker("aedes", i)]];
  if (MOSQUITTO_SKIP) { if (WANT.includes("mosquitto") && !JSON_OUT) console.error("Mosquitto skipped: " + MOSQUITTO_SKIP); } else starts.push(["mosquitto", mosquittoBroker]);
  mkdirSync(OUT_DIR, { recursive: true });
  await build({ entryPoints: [HOST_FILE], outfile: HOST_BUNDLE, bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", logLevel: "error" });
  writeFileSync(HOST_RUN, "import \"./" + path.basename(HOST_BUNDLE) + "\";\n");
  let rs: BrokerResult[];
  try {
    rs = await benchAll(starts.filter(([n]) => WANT.includes(n)));
  } finally {
    rmSync(HOST_BUNDLE, { force: true });
    rmSync(HOST_RUN, { force: true });
  }
  const cpu = os.cpus();
  const about = "node " + process.version + ", MQTT.js " + (req("mqtt/package.json") as { version: string }).version +
    ", " + cpu.length + " x " + (cpu[0]?.model.trim() ?? "?") + (QUICK ? ", --quick" : "");
  const subtitle = "npm run bench:broker: " + rs.filter((r) => r.name != "net").map((r) => LABEL[r.name] + " " + r.version).join(", ") + "; " + about;
  const json = { date: new Date().toISOString(), about, quick: QUICK, payloadBytes: PAYLOAD, idleConnections: IDLE_N, scenarios: SCENARIOS, brokers: rs };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, "broker.json"), JSON.stringify(json, null, 2) + "\n");
  writeFileSync(path.join(OUT_DIR, "broker.svg"), chart(rs, subtitle));
  if (JSON_OUT) { console.log(JSON.stringify(json, null, 2)); return; }
  console.log("\nMQTT broker benchmark: " + subtitle);
  console.log(((performance.now() - START) / 1000).toFixed(1) + " s; " + PAYLOAD + "-byte payloads; closed loop (QoS 0: 64 messages in flight, QoS 1/2: 20); each broker in its own process; " + ROUNDS + " round(s) per scenario\n");
  for (const l of report(rs)) console.log(l);
  console.log("\nwrote " + path.relative(process.cwd(), path.join(OUT_DIR, "broker.json")) + " and " + path.relative(process.cwd(), path.join(OUT_DIR, "broker.svg")));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
