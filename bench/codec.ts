/**
 * `npm run bench:codec`: encode and decode throughput and heap allocation per packet, this codec against
 * mqtt-packet (an independent implementation), on the same packets and the same byte chunks, in one run.
 *
 *   npm run bench:codec [-- --json] [-- --quick] [-- --only "encode PUBLISH"]
 *
 * Throughput: every case is warmed up, then run in batches until a time budget or an op count is reached,
 * in three alternating rounds; the best round is reported. Allocation: see ALLOC_METHOD below. The script
 * re-executes itself once under `node --expose-gc` with a fixed, large young generation so that the
 * allocation windows run without any garbage collection (checked, not assumed).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { PerformanceObserver, performance } from "node:perf_hooks";
import * as mp from "mqtt-packet";
import { encodeConnect, ConnectFields } from "../lib/mqtt/connect";
import { encodePublish } from "../lib/mqtt/publish";
import { encodeSubscribe } from "../lib/mqtt/subscribe";
import { Decoder } from "../lib/mqtt/decoder";
import { ALL } from "../lib/mqtt/parsers";
import { Packet } from "../lib/mqtt/types";

const SEMI_MB = 64;
const FLAGS = ["--expose-gc", "--min-semi-space-size=" + SEMI_MB, "--max-semi-space-size=" + SEMI_MB];
const ALLOC_METHOD =
  "heap B/op = growth of process.memoryUsage().heapUsed over N ops, after warm-up and gc(), taken as the " +
  "slope between windows of N and 5N ops (5N up to 250,000), the smallest of three such slopes: a fixed cost " +
  "per window (V8 recompiling the measuring loop after a full GC, ~40 kB) cancels out, what every op " +
  "allocates does not. Young generation fixed at " + SEMI_MB + " MB (node " + FLAGS.join(" ") + ") and N sized " +
  "so that no GC runs inside a window, checked with a PerformanceObserver on 'gc' entries (a window that saw " +
  "one is re-run with fewer ops; n/a if none was clean). ext B/op = the same for " +
  "process.memoryUsage().arrayBuffers (Buffer pool slabs, ArrayBuffer stores: outside the V8 heap). Node 20 " +
  "has no v8.getHeapStatistics().total_allocated_bytes. Below 1 B/op is noise: one object is at least 16 B.";

const g = globalThis as { gc?: () => void };
if (typeof g.gc != "function") {
  // re-run this script under the GC flags (tsx's loader flags are in execArgv and are kept)
  const r = spawnSync(process.execPath, FLAGS.concat(process.execArgv, process.argv.slice(1)), { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
const gc = g.gc as () => void;

const MP_VERSION = (createRequire(import.meta.url)("mqtt-packet/package.json") as { version: string }).version;
const JSON_OUT = process.argv.includes("--json");
const QUICK = process.argv.includes("--quick");
const TIME_MS = QUICK ? 60 : 150; // per case per round
const ROUNDS = QUICK ? 1 : 3;
const MAX_OPS = 5_000_000;
const ALLOC_N = 250_000; // largest window
const START = performance.now();

// ---------------------------------------------------------------- the packets (same values for both codecs)

function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255;
  return b;
}

const TOPIC = "sensors/esp32-kitchen/temperature";
const P64 = bytes(64);
const P1K = bytes(1024);
const CONNECT: ConnectFields = {
  clientId: "esp32-kitchen-0001", clean: true, keepalive: 60, username: "device", password: "s3cret-passw0rd",
  will: { topic: "status/esp32-kitchen-0001", payload: "offline", qos: 1, retain: true },
};
const MP_CONNECT: mp.IConnectPacket = {
  cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "esp32-kitchen-0001", clean: true,
  keepalive: 60, username: "device", password: Buffer.from("s3cret-passw0rd"),
  will: { topic: "status/esp32-kitchen-0001", payload: Buffer.from("offline"), qos: 1, retain: true },
};
const FILTERS = ["sensors/+/temperature", "cmd/esp32-kitchen-0001/#", "status/#"];
const QOSS = [1, 2, 0];
const MP_SUBSCRIBE: mp.ISubscribePacket = {
  cmd: "subscribe", messageId: 7,
  subscriptions: [{ topic: FILTERS[0]!, qos: 1 }, { topic: FILTERS[1]!, qos: 2 }, { topic: FILTERS[2]!, qos: 0 }],
};

function mpPublish(payload: Buffer, qos: 0 | 1): mp.IPublishPacket {
  return { cmd: "publish", topic: TOPIC, payload, qos, dup: false, retain: false, messageId: qos ? 1234 : undefined };
}

// ---------------------------------------------------------------- the operations

const OUT = new Uint8Array(2048); // our encode buffer: allocated once, as a client owns it
// every result is folded into SINK[0], so no call is dead code; an Int32Array slot, because a growing
// module-level number would itself allocate a 16-byte HeapNumber per op and be charged to the codecs
const SINK = new Int32Array(1);

type Op = () => void;

interface Case {
  name: string;
  ours: Op;
  /** mqtt-packet: generate() for encode (returns one contiguous Buffer, like ours), parse() for decode */
  theirs: Op;
  /** mqtt-packet writeToStream() into a reused no-op stream (encode only): its cheapest path, see notes */
  theirsStream?: Op;
  /** the packet's bytes (ours, checked equal to mqtt-packet's) */
  wire: Buffer;
}

const nullStream = { write(c: unknown): boolean { SINK[0]! += c ? 1 : 0; return true; } } as unknown as Parameters<typeof mp.writeToStream>[1];

function encodeCase(name: string, ours: () => number, mpPacket: mp.Packet): Case {
  const n = ours();
  if (n < 0) throw new Error(name + ": our encoder returned " + n);
  const wire = Buffer.from(OUT.subarray(0, n));
  const theirs = mp.generate(mpPacket);
  if (!theirs.equals(wire)) throw new Error(name + ": bytes differ from mqtt-packet\n ours " + wire.toString("hex") + "\n mp   " + theirs.toString("hex"));
  return {
    name: "encode " + name,
    ours: () => { SINK[0]! += ours(); },
    theirs: () => { SINK[0]! += mp.generate(mpPacket).length; },
    theirsStream: () => { SINK[0]! += mp.writeToStream(mpPacket, nullStream) ? 1 : 0; },
    wire,
  };
}

const dec = new Decoder(4096, ALL, (p: Packet) => { SINK[0]! += p.length; });
const mpParser = mp.parser({ protocolVersion: 4 });
mpParser.on("packet", (p: mp.Packet) => { SINK[0]! += p.length ?? 0; });
mpParser.on("error", (e: Error) => { throw e; });

function decodeCase(e: Case): Case {
  const chunk = e.wire;
  let before = SINK[0];
  dec.feed(chunk);
  if (dec.err_ || SINK[0] == before) throw new Error(e.name + ": our decoder failed with " + dec.err_);
  before = SINK[0];
  mpParser.parse(chunk);
  if (SINK[0] == before) throw new Error(e.name + ": mqtt-packet did not decode it");
  return {
    name: e.name.replace("encode", "decode"),
    ours: () => { dec.feed(chunk); },
    theirs: () => { mpParser.parse(chunk); },
    wire: chunk,
  };
}

const ENC: Case[] = [
  encodeCase("PUBLISH 64B q0", () => encodePublish(OUT, 0, TOPIC, P64, 0, false, false, 0), mpPublish(P64, 0)),
  encodeCase("PUBLISH 64B q1", () => encodePublish(OUT, 0, TOPIC, P64, 1, false, false, 1234), mpPublish(P64, 1)),
  encodeCase("PUBLISH 1KB q0", () => encodePublish(OUT, 0, TOPIC, P1K, 0, false, false, 0), mpPublish(P1K, 0)),
  encodeCase("PUBLISH 1KB q1", () => encodePublish(OUT, 0, TOPIC, P1K, 1, false, false, 1234), mpPublish(P1K, 1)),
  encodeCase("CONNECT will+user+pw", () => encodeConnect(OUT, 0, CONNECT), MP_CONNECT),
  encodeCase("SUBSCRIBE 3 filters", () => encodeSubscribe(OUT, 0, 7, FILTERS, QOSS), MP_SUBSCRIBE),
];
const ONLY = process.argv.indexOf("--only");
const CASES: Case[] = ENC.concat(ENC.map(decodeCase))
  .filter((c) => ONLY < 0 || c.name.includes(process.argv[ONLY + 1] ?? ""));

// ---------------------------------------------------------------- measuring

/** ops/s of `op`: batches of `batch` calls until TIME_MS or MAX_OPS. */
function throughput(op: Op): number {
  let n = 0;
  let batch = 64;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < TIME_MS && n < MAX_OPS) {
    for (let i = 0; i < batch; i++) op();
    n += batch;
    if (batch < 4096) batch *= 2;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

function warm(op: Op): void {
  for (let i = 0; i < 20_000; i++) op();
}

// GC windows: every gc entry is checked against the allocation windows once measuring is done
const gcStarts: number[] = [];
const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcStarts.push(e.startTime); });
obs.observe({ entryTypes: ["gc"] });

interface Window { heap: number; ext: number; n: number; }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One allocation window of `n` ops after a full GC; null when a GC ran inside it. */
async function allocWindow(op: Op, n: number): Promise<Window | null> {
  gc(); gc();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) op();
  const t1 = performance.now();
  const m1 = process.memoryUsage();
  await sleep(20); // let the observer deliver gc entries
  if (gcStarts.some((s) => s >= t0 && s <= t1)) return null;
  return { heap: m1.heapUsed - m0.heapUsed, ext: m1.arrayBuffers - m0.arrayBuffers, n };
}

/**
 * Bytes per op (heap and external) of `op`: the slope between a window of n1 ops and one of n2 = 5 x n1,
 * (bytes(n2) - bytes(n1)) / (n2 - n1). A fixed cost per window (V8 compiles the measuring loop again after
 * each full GC: about 40 kB whatever N is) cancels out; only what grows with the op count remains. n2 is
 * sized from a probe so a window stays well inside the young generation; a window that saw a GC is retried
 * with a quarter of the ops. The smallest of three such slopes is reported: a window sometimes carries an extra
 * re-optimisation (up to ~100 kB, i.e. 0.5 B/op at 200,000 ops), while a real allocation, at least one
 * 16-byte object per op, shows in every slope. null when no clean pair was found.
 */
async function slope(op: Op, n1: number, n2: number): Promise<{ heap: number; ext: number } | null> {
  const w1 = await allocWindow(op, n1);
  const w2 = await allocWindow(op, n2);
  if (!w1 || !w2) return null;
  const per = (k: "heap" | "ext"): number => Math.max(0, Math.round((w2[k] - w1[k]) / (n2 - n1) * 10) / 10);
  return { heap: per("heap"), ext: per("ext") };
}

async function allocPerOp(op: Op): Promise<{ heap: number; ext: number } | null> {
  const probe = await allocWindow(op, 2000);
  const est = probe ? (probe.heap + probe.ext) / 2000 : 8000;
  let n2 = Math.max(2500, Math.min(ALLOC_N, Math.floor(24e6 / Math.max(est, 1))));
  for (; n2 >= 1250; n2 >>= 2) {
    const n1 = Math.floor(n2 / 5);
    let best: { heap: number; ext: number } | null = null;
    for (let k = 0; k < 3; k++) {
      const a = await slope(op, n1, n2);
      if (!a) { best = null; break; }
      best = best ? { heap: Math.min(a.heap, best.heap), ext: Math.min(a.ext, best.ext) } : a;
    }
    if (best) return best;
  }
  return null;
}

const noop: Op = () => { SINK[0]!++; };

interface Row {
  op: string;
  oursOps: number;
  theirsOps: number;
  ratio: number;
  oursHeapB: number | null;
  theirsHeapB: number | null;
  oursExtB: number | null;
  theirsExtB: number | null;
  theirsPath: string;
}

async function main(): Promise<void> {
  for (const c of CASES) {
    warm(c.ours); warm(c.theirs);
    if (c.theirsStream) warm(c.theirsStream);
  }
  warm(noop);
  // throughput, in alternating rounds, best of ROUNDS
  const best = new Map<Op, number>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of CASES) {
      const ops: Op[] = c.theirsStream ? [c.ours, c.theirs, c.theirsStream] : [c.ours, c.theirs];
      for (const op of ops) best.set(op, Math.max(best.get(op) ?? 0, throughput(op)));
    }
  }
  // allocation
  const alloc = new Map<Op, { heap: number; ext: number } | null>();
  for (const c of CASES) {
    alloc.set(c.ours, await allocPerOp(c.ours));
    alloc.set(c.theirs, await allocPerOp(c.theirs));
    if (c.theirsStream) alloc.set(c.theirsStream, await allocPerOp(c.theirsStream));
  }
  obs.disconnect();
  const heapOf = (op: Op): number | null => alloc.get(op)?.heap ?? null;
  const extOf = (op: Op): number | null => alloc.get(op)?.ext ?? null;

  const rows: Row[] = [];
  for (const c of CASES) {
    const variants: [string, Op][] = [["generate", c.theirs]];
    if (c.theirsStream) variants.push(["writeToStream", c.theirsStream]);
    if (!c.theirsStream) variants[0]![0] = "parse";
    for (const v of variants) {
      const o = best.get(c.ours)!;
      const t = best.get(v[1])!;
      rows.push({
        op: c.name, oursOps: o, theirsOps: t, ratio: o / t, theirsPath: v[0],
        oursHeapB: heapOf(c.ours), theirsHeapB: heapOf(v[1]), oursExtB: extOf(c.ours), theirsExtB: extOf(v[1]),
      });
    }
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ node: process.version, mqttPacket: MP_VERSION, allocMethod: ALLOC_METHOD, rows }, null, 2));
  } else print(rows);
}

function fmtOps(n: number): string {
  return n >= 1e6 ? (n / 1e6).toFixed(2) + " M" : (n / 1e3).toFixed(0) + " k";
}

function fmtB(n: number | null): string {
  return n == null ? "n/a" : String(n);
}

function print(rows: Row[]): void {
  const head = ["op", "mqtt-packet path", "ours ops/s", "mqtt-packet ops/s", "ratio", "ours B/op", "mqtt-packet B/op", "ours ext B/op", "mqtt-packet ext B/op"];
  const body = rows.map((r) => [
    r.op, r.theirsPath, fmtOps(r.oursOps), fmtOps(r.theirsOps), r.ratio.toFixed(2) + "x",
    fmtB(r.oursHeapB), fmtB(r.theirsHeapB), fmtB(r.oursExtB), fmtB(r.theirsExtB),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  console.log("MQTT codec benchmark: node " + process.version + ", mqtt-packet " + MP_VERSION + ", " + ROUNDS + " rounds x " +
    TIME_MS + " ms per case, best round, " + ((performance.now() - START) / 1000).toFixed(1) + " s");
  console.log(line(head));
  console.log(w.map((n) => "-".repeat(n)).join("  "));
  for (const b of body) console.log(line(b));
  console.log("");
  console.log("ratio = ours / mqtt-packet ops/s (> 1: ours is faster).");
  console.log("Allocation: " + ALLOC_METHOD);
  console.log("Paths: ours encodes into one reused Uint8Array (the API); mqtt-packet generate() returns a new " +
    "contiguous Buffer (the same bytes), writeToStream() hands several chunks to a reused no-op stream (its " +
    "cheapest path: a real socket would still copy or encode them, e.g. string topics). Decode: both are fed " +
    "the same chunk holding one packet; ours hands out topic/payload as views, mqtt-packet builds a new packet " +
    "object with a string topic.");
}

await main();
