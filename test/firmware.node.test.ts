/**
 * The telemetry node end to end (issue 7, requirements 2, 4 and 10): the node bundle for the Linux board
 * (simulated SHT3x and BME280 linked in), built from a test config by tools/build.mjs, runs on Espruino's Linux
 * build against a real Mosquitto; `mosquitto_sub` records what a consumer sees.
 *
 * Checked: the retained availability "online" and the will "offline" once the interpreter is killed; one
 * retained Home Assistant discovery message per field with the documented keys; state JSON with the fields,
 * a timestamp and consecutive sequence numbers; diag with free variables; the command topic (publish-now and
 * interval, with replies); and store and forward across a broker restart: readings taken while Mosquitto is down
 * arrive afterwards, in order, with their original timestamps, and the sequence numbers have no gap.
 *
 * Needs ESPRUINO_BIN (the 64-bit Linux build) and Mosquitto with mosquitto_sub; says so plainly when either is
 * absent.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { BUILD_HINT, Espruino } from "./helpers/espruino";
import { Mosquitto, MOSQUITTO_SKIP } from "./helpers/mosquitto";
// @ts-expect-error: a plain .mjs module without declarations
import { buildFirmware } from "../tools/build.mjs";

const BIN = process.env.ESPRUINO_BIN;
const SUB = ["/usr/bin/mosquitto_sub", "/usr/local/bin/mosquitto_sub"].find((p) => existsSync(p));
const SKIP = !BIN ? "ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT
  : MOSQUITTO_SKIP ?? (!SUB ? "mosquitto_sub is not installed (Debian package mosquitto-clients)" : null);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Msg { topic: string; payload: string; t: number }

/** mosquitto_sub -v on the given filters; `got` fills as lines arrive (topic, space, payload). */
function subscriber(port: number, filters: string[]): { got: Msg[]; proc: ChildProcess; stop: () => void } {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-v", "-q", "1"];
  for (const f of filters) args.push("-t", f);
  const proc = spawn(SUB!, args, { stdio: ["ignore", "pipe", "pipe"] });
  const got: Msg[] = [];
  let part = "";
  proc.stdout!.on("data", (d: Buffer) => {
    part += d.toString("utf8");
    const lines = part.split("\n");
    part = lines.pop()!;
    for (const l of lines) {
      const i = l.indexOf(" ");
      got.push({ topic: i < 0 ? l : l.slice(0, i), payload: i < 0 ? "" : l.slice(i + 1), t: Date.now() });
    }
  });
  return { got, proc, stop: () => { if (proc.exitCode === null) proc.kill("SIGTERM"); } };
}

async function until(what: string, ok: () => boolean, ms: number, info: () => string = () => ""): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting for " + what + "\n" + info());
    await sleep(25);
  }
}

describe.skipIf(SKIP)("the node firmware on Espruino's Linux build, against Mosquitto", () => {
  let broker: Mosquitto;
  let dir: string;
  const prefix = "fw" + process.pid;
  const node = "n1";
  const base = prefix + "/" + node + "/";

  beforeAll(async () => {
    broker = await Mosquitto.start({ persistence: true });
    dir = mkdtempSync(path.join(os.tmpdir(), "fw-node-"));
  });
  afterAll(async () => {
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("availability, discovery, state, diag, commands, will; store and forward across a broker restart", async () => {
    const cfgFile = path.join(dir, "node.json");
    writeFileSync(cfgFile, JSON.stringify({
      broker: { url: "mqtt://127.0.0.1:" + broker.port }, prefix, node,
      sensors: [{ type: "sht3x" }, { type: "bme280", name: "out" }],
      intervalMs: 1000, diagIntervalMs: 2000, qos: 1, queue: { size: 32 },
    }));
    const bundle = path.join(dir, "node.js");
    const built = await buildFirmware({ board: "linux", role: "node", config: cfgFile, out: bundle });
    expect(built.bytes).toBeGreaterThan(0);

    const sub = subscriber(broker.port, [base + "#", "homeassistant/sensor/" + node + "/#"]);
    const run = path.join(dir, "run");
    mkdirSync(run);
    const e = new Espruino(BIN!, [bundle], run);
    const info = (): string => "device:\n" + e.lines.slice(-20).join("\n") + "\nseen:\n" + sub.got.map((m) => m.topic + " " + m.payload).slice(-20).join("\n");
    try {
      await e.expect(/^boot linux node n1 /, 10_000);
      const states = (): Msg[] => sub.got.filter((m) => m.topic == base + "state");
      await until("status online, 5 discovery messages, 3 states and a diag", () =>
        sub.got.some((m) => m.topic == base + "status" && m.payload == "online") &&
        sub.got.filter((m) => m.topic.startsWith("homeassistant/")).length == 5 &&
        states().length >= 3 && sub.got.some((m) => m.topic == base + "diag"), 15_000, info);

      // discovery: one per field, the documented keys
      const disc = sub.got.filter((m) => m.topic.startsWith("homeassistant/"));
      expect(disc.map((m) => m.topic).sort()).toEqual(["out_pressurePa", "out_rhPct", "out_tempC", "sht3x_rhPct", "sht3x_tempC"]
        .map((k) => "homeassistant/sensor/" + node + "/" + k + "/config").sort());
      for (const m of disc) {
        const d = JSON.parse(m.payload);
        const key = m.topic.split("/")[3];
        expect(d).toMatchObject({
          unique_id: node + "_" + key, state_class: "measurement", state_topic: base + "state",
          value_template: "{{ value_json." + key + " }}", availability_topic: base + "status",
          payload_available: "online", payload_not_available: "offline",
          device: { identifiers: [node], model: "Espruino Linux build", manufacturer: "Espruino" },
        });
        expect(d.device_class).toBe(key!.endsWith("tempC") ? "temperature" : key!.endsWith("rhPct") ? "humidity" : "pressure");
        expect(d.unit_of_measurement).toBe(key!.endsWith("tempC") ? "°C" : key!.endsWith("rhPct") ? "%" : "Pa");
      }

      // state: every field, plausible values, wall-clock timestamps, consecutive sequence numbers
      for (const m of states()) {
        const s = JSON.parse(m.payload);
        expect(Object.keys(s).sort()).toEqual(["boot", "out_pressurePa", "out_rhPct", "out_tempC", "seq", "sht3x_rhPct", "sht3x_tempC", "ts"]);
        expect(s.boot).toBe(1); // a fresh Storage: the first start
        expect(s.sht3x_tempC).toBeGreaterThan(10);
        expect(s.sht3x_tempC).toBeLessThan(35);
        expect(s.out_pressurePa).toBeGreaterThan(90000);
        expect(Math.abs(s.ts - m.t)).toBeLessThan(5000);
        expect(s.rel).toBeUndefined();
      }
      const seqs = states().map((m) => JSON.parse(m.payload).seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
      const diag = JSON.parse(sub.got.find((m) => m.topic == base + "diag")!.payload);
      expect(diag.freeVars).toBeGreaterThan(0);
      expect(diag).toMatchObject({ reconnects: 0, dropped: 0, sensorErrors: 0 });

      // commands, with replies
      const cmd = await mqtt.connectAsync("mqtt://127.0.0.1:" + broker.port, { clientId: "cmd" + process.pid });
      await cmd.publishAsync(base + "set", JSON.stringify({ interval: 1500, id: "a1" }), { qos: 1 });
      await cmd.publishAsync(base + "set", "identify", { qos: 1 });
      await cmd.publishAsync(base + "set", "{\"interval\":5}", { qos: 1 });
      await until("three replies", () => sub.got.filter((m) => m.topic == base + "set/reply").length == 3, 5000, info);
      expect(sub.got.filter((m) => m.topic == base + "set/reply").map((m) => JSON.parse(m.payload))).toEqual([
        { ok: true, cmd: "interval", intervalMs: 1500, id: "a1" },
        { ok: true, cmd: "identify" },
        { ok: false, error: "interval: must be an integer from 1000 to 86400000 (ms)" },
      ]);
      await e.expect(/^IDENTIFY$/, 2000);
      await cmd.endAsync();

      // store and forward: the broker goes away for about 4 readings
      const before = states().length;
      const lastSeq = JSON.parse(states()[before - 1]!.payload).seq;
      const down = Date.now();
      await broker.stop();
      await sleep(6000);
      const up = Date.now();
      await broker.start();
      const sub2 = subscriber(broker.port, [base + "state"]);
      try {
        await until("the readings taken while the broker was down", () => sub2.got.filter((m) => JSON.parse(m.payload).ts > up).length >= 1, 20_000, info);
        const after = sub2.got.map((m) => JSON.parse(m.payload));
        // nothing lost across the outage: the sequence numbers go on from the last one seen before it
        const seen = after.map((s) => s.seq).filter((q) => q > lastSeq);
        expect(seen).toEqual(seen.map((_, i) => lastSeq + 1 + i));
        // readings from the outage kept their own timestamps
        const during = after.filter((s) => s.ts > down && s.ts < up);
        expect(during.length).toBeGreaterThanOrEqual(2);
      } finally {
        sub2.stop();
      }
    } finally {
      e.kill();
      await e.exit(5000);
    }
    // the will: killed without DISCONNECT, Mosquitto publishes the retained "offline"
    const sub3 = subscriber(broker.port, [base + "status"]);
    try {
      await until("status offline (the will)", () => sub3.got.some((m) => m.payload == "offline"), 10_000, info);
    } finally {
      sub3.stop();
      sub.stop();
    }
  }, 90_000);

  test("battery mode: wake, read, publish at QoS 1, diag with the awake time, sleep; a wake without broker keeps its reading for the next", async () => {
    const nb = "b1";
    const bb = prefix + "/" + nb + "/";
    const cfgFile = path.join(dir, "battery.json");
    writeFileSync(cfgFile, JSON.stringify({
      broker: { url: "mqtt://127.0.0.1:" + broker.port }, prefix, node: nb,
      sensors: [{ type: "aht20" }], battery: { sleepMs: 60000, awakeMaxMs: 3000 }, queue: { size: 8 },
    }));
    const bundle = path.join(dir, "battery.js");
    await buildFirmware({ board: "linux", role: "node", config: cfgFile, out: bundle });
    const run = path.join(dir, "battery-run"); // one Storage (file) for every wake, as one board's flash
    mkdirSync(run);
    const sub = subscriber(broker.port, [bb + "state", bb + "diag"]);
    const wake = async (): Promise<{ lines: string[]; code: number | null; ms: number }> => {
      const t0 = Date.now();
      const e = new Espruino(BIN!, [bundle], run);
      const x = await e.exit(15_000);
      expect(x.killed, e.lines.join("\n")).toBe(false);
      return { lines: e.lines, code: x.code, ms: Date.now() - t0 };
    };
    try {
      const w1 = await wake();
      expect(w1.lines.some((l) => /^SLEEP 60000$/.test(l)), w1.lines.join("\n")).toBe(true);
      await until("the first wake's state and diag", () => sub.got.filter((m) => m.topic == bb + "diag").length == 1, 5000);
      const s1 = sub.got.filter((m) => m.topic == bb + "state").map((m) => JSON.parse(m.payload));
      expect(s1.length).toBe(1);
      const d1 = JSON.parse(sub.got.find((m) => m.topic == bb + "diag")!.payload);
      expect(d1.awakeMs).toBeGreaterThan(0);
      expect(d1.awakeMs).toBeLessThan(3000);

      await broker.stop();
      const w2 = await wake(); // no broker: gives up after awakeMaxMs, the reading stays in Storage
      expect(w2.lines.some((l) => /^SLEEP 60000$/.test(l)), w2.lines.join("\n")).toBe(true);
      expect(w2.ms).toBeGreaterThan(2500);
      await broker.start();
      const sub2 = subscriber(broker.port, [bb + "state"]);
      try {
        const w3 = await wake();
        expect(w3.lines.some((l) => /^SLEEP 60000$/.test(l)), w3.lines.join("\n")).toBe(true);
        await until("the second and third wakes' readings", () => sub2.got.length >= 2, 5000);
        const s3 = sub2.got.map((m) => JSON.parse(m.payload));
        // in order, numbered on from the first wake, the second wake's reading with its own (earlier) time
        expect(s3.map((s) => s.seq)).toEqual([s1[0].seq + 1, s1[0].seq + 2]);
        expect(s3[0].ts).toBeLessThan(s3[1].ts);
        expect(s3[0].ts).toBeGreaterThan(s1[0].ts);
      } finally {
        sub2.stop();
      }
    } finally {
      sub.stop();
    }
  }, 90_000);

  test("a node.json in Storage overrides the built-in config; a bad one is reported and ignored", async () => {
    const cfgFile = path.join(dir, "ovr.json");
    writeFileSync(cfgFile, JSON.stringify({ broker: { url: "mqtt://127.0.0.1:" + broker.port }, prefix, node: "o1", sensors: [{ type: "sht3x" }] }));
    const bundle = path.join(dir, "ovr.js");
    await buildFirmware({ board: "linux", role: "node", config: cfgFile, out: bundle });
    const boot = async (override: string): Promise<string[]> => {
      const run = mkdtempSync(path.join(dir, "ovr-"));
      writeFileSync(path.join(run, "put.js"), "require('Storage').write('node.json', " + JSON.stringify(override) + ");\n");
      expect((await new Espruino(BIN!, ["put.js"], run).exit(5000)).killed).toBe(false);
      const e = new Espruino(BIN!, [bundle], run);
      try {
        await e.expect(/^boot linux node /, 10_000);
        return e.lines.filter((l) => /^(boot|node\.json)/.test(l));
      } finally {
        e.kill();
        await e.exit(5000);
      }
    };
    expect((await boot("{\"node\":\"o2\",\"intervalMs\":5000}")).some((l) => /^boot linux node o2 /.test(l))).toBe(true);
    const bad = await boot("{\"intervalMs\":5}");
    expect(bad[0]).toBe("node.json ignored: override intervalMs: must be an integer from 1000 to 86400000");
    expect(bad[1]).toMatch(/^boot linux node o1 /);
  }, 60_000);
});
