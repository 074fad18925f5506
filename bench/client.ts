/**
 * `npm run bench:client`: the MQTT client beside MQTT.js, in the same run, against the same local Mosquitto
 * (started here on a free loopback port; needs the Debian package `mosquitto`).
 *
 *   npm run bench:client [-- --json] [-- --quick]
 *
 * Part 1, end to end: messages per second at QoS 0, 1 and 2 (64-byte payloads, one topic) from connect to the
 * last acknowledgement (for QoS 0, to the PUBACK of a QoS 1 message sent after them, which the broker handles
 * in order), and heap bytes per message of the whole process over that window (socket buffers included, so
 * both clients pay Node's costs). Each client runs its natural way: ours publishes until its fixed outbox is
 * full and continues on the `ack` event; MQTT.js takes every message at once into its own queue.
 *
 * Part 2, the client alone: heap bytes per published message in steady state with a transport that takes
 * the bytes and returns acknowledgements from a pre-encoded buffer, so only the client's own publish path is
 * measured (the target: 0).
 *
 * Bounded: every loop has a count and a time limit; the broker is stopped by its pid at the end.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { PerformanceObserver } from "node:perf_hooks";
import mqtt from "mqtt";
import { Client } from "../lib/mqtt/client";
import { encodeAck } from "../lib/mqtt/ack";
import { encodeConnack } from "../lib/mqtt/connect";
import { T } from "../lib/mqtt/types";
import type { Link, Transport } from "../lib/hal/net";
import { NodeTransport } from "../sim/node-transport";
import { realClock } from "../sim/clock";
import { Mosquitto, MOSQUITTO_SKIP } from "../test/helpers/mosquitto";

const SEMI_MB = 64;
// --no-warnings: MQTT.js sets its socket's listener limit to 1,000 and adds one per queued publish
const FLAGS = ["--expose-gc", "--no-warnings", "--min-semi-space-size=" + SEMI_MB, "--max-semi-space-size=" + SEMI_MB];
const g = globalThis as { gc?: () => void };
if (typeof g.gc != "function") {
  const r = spawnSync(process.execPath, FLAGS.concat(process.execArgv, process.argv.slice(1)), { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
const gc = g.gc as () => void;

const MQTTJS_VERSION = (createRequire(import.meta.url)("mqtt/package.json") as { version: string }).version;
const JSON_OUT = process.argv.includes("--json");
const QUICK = process.argv.includes("--quick");
const N: { [q: number]: number } = QUICK ? { 0: 2000, 1: 1000, 2: 500 } : { 0: 20000, 1: 10000, 2: 5000 };
const LIMIT_MS = 15000;
const PAYLOAD = Buffer.alloc(64, 0x61);
const TOPIC = "bench/client";

let gcs = 0;
new PerformanceObserver((l) => { gcs += l.getEntries().length; }).observe({ entryTypes: ["gc"] });

interface Result { ms: number; heap: number; gcs: number }

function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(what + ": over " + LIMIT_MS + " ms")), LIMIT_MS); }),
  ]);
}

/** Our client: publish `n` at `qos`, as fast as its outbox allows. */
async function ours(port: number, qos: number, n: number): Promise<Result> {
  const c = new Client({ host: "127.0.0.1", port, clientId: "bench-ours-" + qos, keepalive: 60, slots: 64, outbox: 16384, inflight: 32, maxPacket: 1024 }, new NodeTransport(), realClock);
  await deadline(new Promise<void>((res, rej) => { c.on("connect", () => res()); c.on("error", (e) => rej(new Error("error " + e))); c.connect(); }), "connect");
  gc();
  const g0 = gcs;
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await deadline(new Promise<void>((res) => {
    let sent = 0;
    let fence = -1;
    const pump = (): void => {
      while (sent < n) {
        const r = c.publish(TOPIC, PAYLOAD, qos);
        if (r < 0) return; // outbox full: continue on the next ack
        sent++;
      }
      if (fence < 0) fence = c.publish(TOPIC, PAYLOAD, 1); // everything before it has reached the broker
    };
    c.on("ack", (id) => { if (id === fence) res(); else pump(); });
    c.on("drain", pump);
    pump();
  }), "ours qos " + qos);
  const ms = performance.now() - t0;
  const heap = process.memoryUsage().heapUsed - h0;
  const r = { ms, heap, gcs: gcs - g0 };
  c.end();
  return r;
}

/** MQTT.js: publish `n` at `qos` into its queue, wait for every callback, then a QoS 1 fence. */
async function theirs(port: number, qos: 0 | 1 | 2, n: number): Promise<Result> {
  const c = mqtt.connect({ host: "127.0.0.1", port, clientId: "bench-mqttjs-" + qos, protocolVersion: 4, keepalive: 60, reconnectPeriod: 0 });
  await deadline(new Promise<void>((res, rej) => { c.once("connect", () => res()); c.once("error", rej); }), "mqtt.js connect");
  gc();
  const g0 = gcs;
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await deadline(new Promise<void>((res, rej) => {
    let done = 0;
    const cb = (e?: Error): void => { if (e) rej(e); else if (++done == n) c.publish(TOPIC, PAYLOAD, { qos: 1 }, (e2) => (e2 ? rej(e2) : res())); };
    for (let i = 0; i < n; i++) c.publish(TOPIC, PAYLOAD, { qos }, cb);
  }), "mqtt.js qos " + qos);
  const ms = performance.now() - t0;
  const heap = process.memoryUsage().heapUsed - h0;
  const r = { ms, heap, gcs: gcs - g0 };
  await new Promise<void>((res) => c.end(false, {}, () => res()));
  return r;
}

/**
 * A transport that takes bytes and answers like a broker from pre-encoded acknowledgements: the client's own
 * publish path, with nothing else allocating.
 */
class AckingSink implements Transport {
  link: Link | null = null;
  qos = 0;
  private readonly ack = new Uint8Array(4);
  private readonly ack2 = new Uint8Array(4);
  private readonly connack = new Uint8Array(4);
  constructor() { encodeConnack(this.connack, 0, false, 0); }
  open(_h: string, _p: number, link: Link): void { this.link = link; link.up_(); link.data_(this.connack); }
  write(b: Uint8Array, s: number): void {
    const t = b[s]! >> 4;
    if (t == T.PUBLISH && this.qos) {
      const id = this.idOf(b, s);
      encodeAck(this.ack, 0, this.qos == 1 ? T.PUBACK : T.PUBREC, id);
      this.link!.data_(this.ack);
    } else if (t == T.PUBREL) {
      encodeAck(this.ack2, 0, T.PUBCOMP, b[s + 2]! << 8 | b[s + 3]!);
      this.link!.data_(this.ack2);
    }
  }
  private idOf(b: Uint8Array, s: number): number {
    let p = s + 1;
    while (b[p]! & 128) p++;
    p++;
    p += 2 + (b[p]! << 8 | b[p + 1]!);
    return b[p]! << 8 | b[p + 1]!;
  }
  room(): number { return 1 << 20; }
  close(): void { this.link!.down_(); }
}

function alone(qos: number): { perMsg: number; gcs: number; n: number } {
  const sink = new AckingSink();
  sink.qos = qos;
  const timers = { now: () => 0, after: () => 0, cancel: () => undefined };
  const c = new Client({ host: "sink", clientId: "alone", keepalive: 0, slots: 16, outbox: 4096, inflight: 8 }, sink, timers);
  c.connect();
  const run = (k: number): void => { for (let i = 0; i < k; i++) c.publish(TOPIC, PAYLOAD, qos); };
  run(20000); // warm up (JIT)
  const slope: number[] = [];
  for (let round = 0; round < 3; round++) {
    const w = (k: number): number => { gc(); const g0 = gcs; const h = process.memoryUsage().heapUsed; run(k); const d = process.memoryUsage().heapUsed - h; return gcs == g0 ? d : NaN; };
    const a = w(20000);
    const b = w(100000);
    slope.push((b - a) / 80000);
  }
  const ok = slope.filter((v) => !isNaN(v));
  return { perMsg: ok.length ? Math.max(0, Math.min(...ok)) : NaN, gcs, n: 100000 };
}

function fmt(n: number, d = 0): string {
  return isNaN(n) ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
}

async function main(): Promise<void> {
  const rows: { qos: number; oursRate: number; theirRate: number; oursHeap: number; theirHeap: number; oursGc: number; theirGc: number }[] = [];
  if (MOSQUITTO_SKIP) {
    console.log("part 1 skipped: " + MOSQUITTO_SKIP);
  } else {
    const m = await Mosquitto.start({ persistence: false });
    try {
      for (const q of [0, 1, 2] as const) {
        const n = N[q]!;
        await ours(m.port, q, Math.min(n, 500)); // warm up both
        await theirs(m.port, q, Math.min(n, 500));
        const a = await ours(m.port, q, n);
        const b = await theirs(m.port, q, n);
        rows.push({ qos: q, oursRate: n / a.ms * 1000, theirRate: n / b.ms * 1000, oursHeap: a.heap / n, theirHeap: b.heap / n, oursGc: a.gcs, theirGc: b.gcs });
      }
    } finally {
      await m.dispose();
    }
  }
  const solo = [0, 1, 2].map((q) => ({ qos: q, ...alone(q) }));
  if (JSON_OUT) { console.log(JSON.stringify({ endToEnd: rows, clientAlone: solo })); return; }
  console.log("MQTT client vs MQTT.js " + MQTTJS_VERSION + ", Mosquitto on loopback, 64 B payloads");
  console.log("qos   n       ours msg/s   MQTT.js msg/s   ratio   ours heap B/msg   MQTT.js heap B/msg   (GCs in window: ours/MQTT.js)");
  for (const r of rows) {
    console.log(
      String(r.qos).padEnd(6) + fmt(N[r.qos]!).padEnd(8) + fmt(r.oursRate).padStart(11) + fmt(r.theirRate).padStart(16) +
      (fmt(r.oursRate / r.theirRate, 2) + "x").padStart(8) + fmt(r.oursHeap).padStart(18) + fmt(r.theirHeap).padStart(21) +
      ("   " + r.oursGc + "/" + r.theirGc),
    );
  }
  console.log("(heap B/msg end to end is heapUsed growth over the window, sockets included; a window in which GC ran reads low)");
  console.log("\nThe client alone (transport answering from pre-encoded acks), steady state, heap bytes per published message:");
  for (const s of solo) console.log("  QoS " + s.qos + ": " + fmt(s.perMsg, 2) + " B/msg (slope between 20,000 and 100,000 messages, no GC in the windows)");
}

main().catch((e) => { console.error(e); process.exit(1); });
