/**
 * The simulator's device sandbox (sim/sandbox.ts; issue 8 requirement 2, issue 7 requirement 10): the ESP32
 * node bundle, exactly as flashed, runs in a Node vm context with only Espruino's globals, its I2C bus carrying
 * a simulated BME280, its WiFi a SimWifi, against a real Mosquitto. A bundle that uses Map fails as on the device.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { Device, ScaledClock } from "../sim/sandbox";
import { SimWifi } from "../sim/hal/wifi";
import { SimStorage } from "../sim/hal/storage";
import { SimI2c } from "../sim/hal/i2c";
import { Bme280Chip } from "../sim/chips/bme280";
import { Scenario } from "../sim/chips/scenario";
import { Mosquitto, MOSQUITTO_SKIP } from "./helpers/mosquitto";
// @ts-expect-error: a plain .mjs module without declarations
import { buildFirmware } from "../tools/build.mjs";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms: number, info: () => string = () => ""): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting for " + what + "\n" + info());
    await sleep(20);
  }
}

describe("the device sandbox", () => {
  const quiet = { clock: new ScaledClock(1), wifi: null, storage: new SimStorage(4096), buses: {}, out: () => undefined };

  test("a bundle that uses Map fails as it would on Espruino", () => {
    const d = new Device({ ...quiet, name: "m", code: "var m = new Map(); m.set(1, 2);" });
    expect(() => d.start()).toThrow(/Map is not defined/);
    for (const g of ["Set", "Symbol", "WeakMap", "Proxy", "Reflect", "TextEncoder"]) {
      expect(() => new Device({ ...quiet, name: g, code: "new " + g + "()" }).start()).toThrow(new RegExp(g + " is not defined"));
    }
  });

  test("Espruino's globals are there: sockets refuse anything but loopback; binary strings in and out", async () => {
    const lines: string[] = [];
    const d = new Device({ ...quiet, name: "g", out: (l) => lines.push(l),
      code: "var s = require('net').connect({host: '10.1.2.3', port: 1883}, function () { console.log('UP'); });" +
        "s.on('error', function (e) { console.log('ERROR ' + (this === s)); }); s.on('close', function () { console.log('CLOSE'); });" +
        "console.log(E.toString(E.toUint8Array('\\x00\\xff')).length, typeof getTime(), D21 !== undefined);" });
    d.start();
    await until("close", () => lines.includes("CLOSE"), 2000);
    expect(lines).toEqual(["2 number true", "ERROR true", "CLOSE"]);
    d.stop();
  });
});

describe.skipIf(MOSQUITTO_SKIP)("the ESP32 node bundle in the sandbox, against Mosquitto", () => {
  let broker: Mosquitto;
  let dir: string;
  beforeAll(async () => {
    broker = await Mosquitto.start({ persistence: false });
    dir = mkdtempSync(path.join(os.tmpdir(), "sim-node-"));
  });
  afterAll(async () => {
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("joins WiFi, publishes state, availability and discovery; a WiFi outage loses no reading", async () => {
    const prefix = "sb" + process.pid;
    const base = prefix + "/s1/";
    const cfg = path.join(dir, "esp32.json");
    writeFileSync(cfg, JSON.stringify({
      wifi: { ssid: "site", password: "secret123" }, broker: { url: "mqtt://127.0.0.1:" + broker.port },
      prefix, node: "s1", sensors: [{ type: "bme280" }], intervalMs: 1000, qos: 1, queue: { size: 64 },
    }));
    const built = await buildFirmware({ board: "esp32", role: "node", config: cfg, out: path.join(dir, "node.js") });
    const code = (await import("node:fs")).readFileSync(built.out, "latin1");

    const clock = new ScaledClock(10);
    const wifi = new SimWifi({ clock, ssid: "site", password: "secret123", joinMs: 1500, mac: "24:0a:c4:12:34:56" });
    const i2c = new SimI2c();
    i2c.attach(new Bme280Chip({ clock, scenario: new Scenario({ seed: 3 }), address: 0x76 }));
    const lines: string[] = [];
    const dev = new Device({ name: "s1", code, clock, wifi, storage: new SimStorage(64 * 1024), out: (l) => lines.push(l),
      buses: { i2c: (sda, scl) => { expect([sda, scl]).toEqual([21, 22]); return i2c; } } });

    const sub = await mqtt.connectAsync("mqtt://127.0.0.1:" + broker.port, { clientId: "sbsub" + process.pid });
    const got: { topic: string; payload: string }[] = [];
    sub.on("message", (topic, p) => got.push({ topic, payload: p.toString() }));
    await sub.subscribeAsync([base + "#", "homeassistant/sensor/s1/#"], { qos: 1 });
    const info = (): string => lines.slice(-15).join("\n") + "\n--\n" + got.slice(-10).map((m) => m.topic + " " + m.payload).join("\n");
    const states = (): { seq: number; ts: number; tempC: number }[] => got.filter((m) => m.topic == base + "state").map((m) => JSON.parse(m.payload));
    try {
      dev.start();
      await until("online, discovery and 3 readings", () => got.some((m) => m.topic == base + "status" && m.payload == "online") &&
        got.filter((m) => m.topic.startsWith("homeassistant/")).length == 3 && states().length >= 3, 10_000, info);
      expect(lines[0]).toMatch(/^boot esp32 node s1 /);
      expect(lines).toContain("wifi: up");
      // the client id defaults to the chip id, from the MAC
      expect(broker.log()).toMatch(/ as esp32-123456 /);
      expect(states()[0]!.tempC).toBeGreaterThan(10);

      // WiFi drops for about 5 virtual seconds: the socket goes with it, readings queue in the ring
      const n0 = states().length;
      dev.partition(true);
      wifi.drop();
      await sleep(500);
      dev.partition(false);
      wifi.restore();
      await until("readings after the outage", () => states().length >= n0 + 8, 15_000, info);
      const seqs = states().map((s) => s.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i)); // none lost, none twice, in order
      const ts = states().map((s) => s.ts);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
      expect(lines).toContain("wifi: lost");
    } finally {
      dev.stop();
      await sub.endAsync();
    }
  }, 60_000);
});
