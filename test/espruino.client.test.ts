/**
 * The MQTT client on the real Espruino interpreter against a real Mosquitto (issue 4, requirement 8), when the
 * binaries are given (../shared/tools/espruino/build.sh makes them). Each interpreter is started directly (or
 * through qemu-i386), with standard input a pipe held open, and killed by its pid (test/helpers/espruino.ts).
 *
 * - ESPRUINO_BIN (64-bit Linux build): dist/test/mqtt-client.js connects, receives 30 messages it subscribed to
 *   (QoS 0, 1, 2 in turn), publishes 100 QoS 1 and 100 QoS 2 messages, which an MQTT.js subscriber counts (none
 *   lost, none twice at QoS 2), and `process.memory().usage` after the run equals its value after the first
 *   connect, exactly. Again with a 40-byte write bound (the transport's backpressure), and with a program
 *   written for Espruino's MQTT module running on dist/modules/MQTT.js stored under that module's name.
 * - ESPRUINO_BIN_ESP8266 (32-bit, 1,700 variables): dist/test/mqtt-reconnect.js, stored in the emulated flash
 *   and loaded from there (as a device runs a saved program; the bundle is too large to load from RAM there),
 *   connects through a loopback proxy that closes every connection once the broker's CONNACK has passed; after
 *   1,000 reconnects its usage must be back to the value it had after the first connect (give or take the
 *   interpreter's number representation, see the test).
 *
 * Without the variables the tests are skipped, saying so; without Mosquitto too.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUILD_HINT, bootFromFlash, built, Espruino, INTERPRETER_ERROR, scratch } from "./helpers/espruino";
import { freePort, Mosquitto, MOSQUITTO_SKIP } from "./helpers/mosquitto";

const BIN = process.env.ESPRUINO_BIN;
const BIN8266 = process.env.ESPRUINO_BIN_ESP8266;
const N = 100; // messages per QoS the device publishes
const RX = 30; // messages the device receives (QoS 0, 1, 2 in turn)
const CYCLES = 1000;

// ---------------------------------------------------------------- the other side

/** An MQTT.js client on the broker, collecting what arrives on `filter`. */
async function peer(port: number, filter: string): Promise<{ c: mqtt.MqttClient; got: { topic: string; payload: string }[] }> {
  const c = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: "peer-" + process.pid + "-" + Date.now(), reconnectPeriod: 0 });
  const got: { topic: string; payload: string }[] = [];
  c.on("message", (topic, payload) => { got.push({ topic, payload: payload.toString() }); });
  await c.subscribeAsync(filter, { qos: 2 });
  return { c, got };
}

/** An interpreter error, or an error line of the device program. */
const DEVICE_FAILED = /Uncaught|[Oo]ut of [Mm]emory|OUT OF MEMORY|ERROR|Execution Interrupted|New interpreter error|Segmentation fault/;

function expectLine(e: Espruino, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return e.expect(re, ms, DEVICE_FAILED);
}

/** How many times each payload arrived on `topic`. */
function counts(got: { topic: string; payload: string }[], topic: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of got) if (g.topic == topic) m.set(g.payload, (m.get(g.payload) ?? 0) + 1);
  return m;
}

/**
 * Runs a device program speaking the exchange of test/device/mqtt-client.ts (READY, BASE, RUN, END) and
 * returns what it and the peer saw.
 */
async function exchange(broker: Mosquitto, program: string, prefix: string) {
  const sub = await peer(broker.port, prefix + "out/#");
  const dir = scratch("client");
  const file = path.join(dir, "prog.js");
  writeFileSync(file, program);
  const e = new Espruino(BIN!, [file], dir);
  try {
    await expectLine(e, /^READY$/, 10_000);
    await sub.c.publishAsync(prefix + "in/sync", "sync", { qos: 0 });
    const base = +(await expectLine(e, /^BASE (\d+)$/, 10_000))[1]!;
    for (let i = 0; i < RX; i++) await sub.c.publishAsync(prefix + "in/m", "m" + i, { qos: (i % 3) as 0 | 1 | 2 });
    const run = await expectLine(e, /^RUN rx=(\d+) acked=(\d+)$/, 30_000);
    // the peer's subscription has every message once the device has its acks (the broker forwards first)
    for (let i = 0; i < 100 && sub.got.length < 2 * N; i++) await new Promise((r) => setTimeout(r, 20));
    await sub.c.publishAsync(prefix + "in/sync", "sync", { qos: 0 });
    const end = await expectLine(e, /^END (\d+) rx=(\d+) acked=(\d+) dropped=(\d+) failed=(\d+)$/, 10_000);
    await expectLine(e, /^CLOSED$/, 5_000);
    const exit = await e.exit(5_000);
    return { base, end: +end[1]!, rx: +run[1]!, acked: +run[2]!, failed: +end[5]!, got: sub.got, exit, lines: e.lines };
  } finally {
    e.kill();
    await sub.c.endAsync();
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkExchange(r: Awaited<ReturnType<typeof exchange>>, prefix: string): void {
  const q1 = counts(r.got, prefix + "out/1");
  const q2 = counts(r.got, prefix + "out/2");
  const want1 = Array.from({ length: N }, (_, i) => String(i));
  const want2 = Array.from({ length: N }, (_, i) => String(N + i));
  expect({ rx: r.rx, acked: r.acked, failed: r.failed }).toEqual({ rx: RX, acked: 2 * N, failed: 0 });
  expect([...q1.keys()].sort()).toEqual(want1.sort()); // QoS 1: every one arrived
  expect([...q2.keys()].sort()).toEqual(want2.sort()); // QoS 2: every one arrived ...
  expect([...q2.values()].every((n) => n == 1)).toBe(true); // ... exactly once
  expect(r.lines.filter((l) => INTERPRETER_ERROR.test(l))).toEqual([]);
  expect(r.exit.killed).toBe(false);
  expect(r.end).toBe(r.base); // nothing the run allocated is still held
}

// ---------------------------------------------------------------- a proxy that drops every connection

/**
 * A loopback TCP proxy to the broker that closes each connection (both sides) right after passing on the
 * broker's first bytes (the CONNACK): the broker dropping the client, once per connect.
 */
async function dropper(target: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const socks = new Set<net.Socket>();
  const srv = net.createServer((down) => {
    n++;
    socks.add(down);
    const up = net.connect({ host: "127.0.0.1", port: target });
    socks.add(up);
    const kill = (): void => { down.destroy(); up.destroy(); socks.delete(down); socks.delete(up); };
    down.on("data", (d) => up.write(d));
    up.on("data", (d) => { down.write(d, () => setImmediate(kill)); });
    down.on("error", kill);
    up.on("error", kill);
    down.on("close", kill);
    up.on("close", kill);
  });
  const port = await freePort();
  await new Promise<void>((r) => srv.listen(port, "127.0.0.1", r));
  return {
    port,
    connections: () => n,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); srv.close(() => r()); }),
  };
}

// ---------------------------------------------------------------- tests

/** The line put in front of a device program: console quiet, and its configuration. */
const CONFIG = (o: object): string => "echo(0);var CFG=" + JSON.stringify(o) + ";\n";

describe("MQTT client on the real Espruino interpreter, against Mosquitto", () => {
  let broker: Mosquitto | null = null;
  beforeAll(async () => {
    if ((BIN || BIN8266) && !MOSQUITTO_SKIP) broker = await Mosquitto.start({ persistence: false });
  });
  afterAll(async () => { if (broker) await broker.dispose(); });

  const skip = (ctx: { skip: (why: string) => void }, bin: string | undefined, name: string): boolean => {
    if (!bin) { ctx.skip(name + " is not set: " + BUILD_HINT); return true; }
    if (MOSQUITTO_SKIP) { ctx.skip(MOSQUITTO_SKIP); return true; }
    return false;
  };

  test(BIN ? "ESPRUINO_BIN: typed client: 100 QoS 1 + 100 QoS 2 published, none lost, subscribed messages received, usage unchanged"
    : "skipped: ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT, async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    const prefix = "dev" + process.pid + "/";
    const code = readFileSync(built("test/mqtt-client.js"), "latin1");
    const cfg = { host: "127.0.0.1", port: broker!.port, id: "esp-typed-" + process.pid, prefix, n: N, rx: RX };
    const r = await exchange(broker!, CONFIG(cfg) + code, prefix);
    checkExchange(r, prefix);
    console.log(`ESPRUINO_BIN typed client: usage after the first connect ${r.base}, after ${2 * N} publishes and ${RX} ` +
      `received messages ${r.end}`);
  }, 60_000);

  test(BIN ? "ESPRUINO_BIN: typed client with a 40-byte write bound (backpressure through 'drain'): the same"
    : "skipped: ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT, async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    const prefix = "bp" + process.pid + "/";
    const code = readFileSync(built("test/mqtt-client.js"), "latin1");
    const cfg = { host: "127.0.0.1", port: broker!.port, id: "esp-bp-" + process.pid, prefix, n: N, rx: RX, writeLimit: 40 };
    const r = await exchange(broker!, CONFIG(cfg) + code, prefix);
    checkExchange(r, prefix);
    console.log(`ESPRUINO_BIN typed client, 40-byte write bound: usage ${r.base} -> ${r.end}`);
  }, 60_000);

  test(BIN ? "ESPRUINO_BIN: the level-5 client (Client5) against Mosquitto at MQTT 5, with message expiry and user properties: the same"
    : "skipped: ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT, async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    const prefix = "v5" + process.pid + "/";
    const code = readFileSync(built("test/mqtt5-client.js"), "latin1");
    const cfg = { host: "127.0.0.1", port: broker!.port, id: "esp-v5-" + process.pid, prefix, n: N, rx: RX };
    const r = await exchange(broker!, CONFIG(cfg) + code, prefix);
    checkExchange(r, prefix);
    expect(r.lines.filter((l) => /^LEVEL|ACK REASON|CLIENT ERROR/.test(l))).toEqual([]); // stayed at level 5, every ack a success
    // Mosquitto logged a level-5 CONNECT from the device (its log names the protocol: "p5")
    expect(broker!.log()).toMatch(new RegExp("New client connected from .* as esp-v5-" + process.pid + " \\(p5,"));
    console.log(`ESPRUINO_BIN level-5 client: usage ${r.base} -> ${r.end}`);
  }, 60_000);

  test(BIN ? "ESPRUINO_BIN: a program written for Espruino's MQTT module, with dist/modules/MQTT.js as \"MQTT\": the same"
    : "skipped: ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT, async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    const prefix = "cmp" + process.pid + "/";
    const module = readFileSync(built("modules/MQTT.js"), "latin1");
    const code = readFileSync(built("test/mqtt-compat.js"), "latin1");
    const cfg = { host: "127.0.0.1", port: broker!.port, id: "esp-compat-" + process.pid, prefix, n: N, rx: RX };
    const r = await exchange(broker!, CONFIG(cfg) + "Modules.addCached(\"MQTT\"," + JSON.stringify(module) + ");\n" + code, prefix);
    checkExchange(r, prefix);
    console.log(`ESPRUINO_BIN compatibility module: usage ${r.base} -> ${r.end}`);
  }, 60_000);

  test(BIN8266 ? `ESPRUINO_BIN_ESP8266 (1,700 variables, from flash): ${CYCLES} dropped connections and reconnects, usage back to the first connect's`
    : "skipped: ESPRUINO_BIN_ESP8266 is not set (32-bit, 1,700-variable Espruino build); " + BUILD_HINT, async (ctx) => {
    if (skip(ctx, BIN8266, "ESPRUINO_BIN_ESP8266")) return;
    const proxy = await dropper(broker!.port);
    const code = readFileSync(built("test/mqtt-reconnect.js"), "latin1");
    const cfg = { host: "127.0.0.1", port: proxy.port, id: "esp-rc-" + process.pid, cycles: CYCLES };
    const dir = scratch("client");
    const e = new Espruino(BIN8266!, [], dir);
    try {
      await bootFromFlash(e, CONFIG(cfg) + code, 20_000);
      const first = +(await expectLine(e, /^FIRST (\d+)$/, 20_000))[1]!;
      const cycles: number[] = [];
      for (let k = 100; k <= CYCLES; k += 100) cycles.push(+(await expectLine(e, new RegExp("^CYCLE " + k + " (\\d+)$"), 30_000))[1]!);
      const end = await expectLine(e, /^END (\d+) first=(\d+) min=(\d+) max=(\d+) free=(\d+)$/, 10_000);
      await expectLine(e, /^CLOSED$/, 5_000);
      expect(proxy.connections()).toBe(CYCLES + 1);
      expect(e.lines.filter((l) => DEVICE_FAILED.test(l))).toEqual([]);
      // Equal, give or take two variables that are the interpreter's number representation, not memory held
      // by the client (seen with trace()): an integer property or timer field takes a variable of its own on
      // this build once it is past about ±1,000 (timer ids grow with every setTimeout, so the client's timer
      // handle crosses that once, after some 350 cycles), and the measuring timer's own lateness is one such
      // field. Anything kept per cycle would show as hundreds or thousands.
      const [e1, min, max] = [+end[1]!, +end[3]!, +end[4]!];
      expect(Math.abs(e1 - first), `usage ${first} at the first connect, ${e1} after ${CYCLES} reconnects`).toBeLessThanOrEqual(2);
      expect(max - min, `usage between ${min} and ${max} over the cycles`).toBeLessThanOrEqual(2);
      console.log(`ESPRUINO_BIN_ESP8266: usage at the first connect ${first} (free ${end[5]}), every 100 cycles ` +
        `${cycles.join(" ")}, after ${CYCLES} reconnects ${end[1]} (lowest ${end[3]}, highest ${end[4]})`);
    } finally {
      e.kill();
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
