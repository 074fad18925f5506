/**
 * The gateway firmware on the real interpreter (issue 7, requirements 6 and 9): the gateway bundle for the Linux
 * board, built from a test config by tools/build.mjs, runs on the 32-bit 16,383-variable Espruino build (the
 * ESP32's memory: ESPRUINO_BIN_ESP32), stored in the emulated flash and booted from there as the board runs it,
 * with its bridge to a real Mosquitto and its own simulated SHT3x read by the node app inside it.
 *
 * Checked: 20 MQTT.js clients connect to it at once; each subscribes to its own topic and to a broadcast topic,
 * and publishes to the others at QoS 1 and to everyone at QoS 0; every message is delivered once. The diag line
 * with 20 clients connected gives the free variables (printed). The bridge carries a message each way
 * (gateway -> Mosquitto and Mosquitto -> gateway), the gateway's retained `online` reaches Mosquitto, and
 * Mosquitto publishes the bridge's will `offline` once the interpreter is killed; the gateway's own reading
 * reaches Mosquitto through the bridge. With `users`: anonymous clients get CONNACK 5, a wrong password or unknown user CONNACK 4, a
 * listed user logs in, and the bridge's local connection is not asked to log in.
 *
 * Needs ESPRUINO_BIN_ESP32 (../shared/tools/espruino/build.sh prints it) and Mosquitto; says so plainly when
 * either is absent. Loopback only; the interpreter and Mosquitto are the test's own and are ended by pid.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { BUILD_HINT, bootFromFlash, Espruino } from "./helpers/espruino";
import { freePort, Mosquitto, MOSQUITTO_SKIP } from "./helpers/mosquitto";
// @ts-expect-error: a plain .mjs module without declarations
import { buildFirmware } from "../tools/build.mjs";

const BIN = process.env.ESPRUINO_BIN_ESP32;
const SKIP = !BIN ? "ESPRUINO_BIN_ESP32 is not set (32-bit, 16,383-variable Espruino build); " + BUILD_HINT : MOSQUITTO_SKIP;
if (SKIP) console.warn("SKIPPED test/firmware.gateway.test.ts: " + SKIP);

const N = 20; // clients
const ROUNDS = 3; // QoS 1 messages each client sends to each of its two neighbours

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms: number, info: () => string): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error("timed out (" + ms + " ms) waiting for " + what + "\n" + info());
    await sleep(25);
  }
}

interface Got { topic: string; payload: string; qos: number; retain: boolean }

function connect(port: number, clientId: string, got: Got[]): Promise<mqtt.MqttClient> {
  const c = mqtt.connect({ host: "127.0.0.1", port, clientId, reconnectPeriod: 0, connectTimeout: 20_000, keepalive: 60 });
  c.on("message", (topic, payload, p) => { got.push({ topic, payload: payload.toString(), qos: p.qos, retain: p.retain }); });
  return new Promise((resolve, reject) => {
    c.once("connect", () => resolve(c));
    c.once("error", reject);
    c.once("close", () => reject(new Error(clientId + ": closed before CONNACK")));
  });
}

describe.skipIf(SKIP)("the gateway firmware on the 16,383-variable Espruino build, bridged to Mosquitto", () => {
  let upstream: Mosquitto;
  let dir: string;

  beforeAll(async () => {
    upstream = await Mosquitto.start({ persistence: false });
    dir = mkdtempSync(path.join(os.tmpdir(), "fw-gateway-"));
  });
  afterAll(async () => {
    await upstream?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // from RAM (the bundle is the interpreter's program file), and from flash as a board runs it (stored as
  // .bootcde in the emulated flash and started with load(): its code then takes no variables)
  // (from flash only: loaded from RAM, the program text of the 83 KB Linux-board bundle, which links in the node
  // app and simulated chips for the gateway's own sensors, does not leave room to run on this build)
  test.each(["flash"])(`${N} MQTT.js clients exchange QoS 0 and 1 messages through it, none lost; its bridge carries messages both ways and its status (loaded from %s)`, async (from) => {
    const gw = from == "RAM" ? "gw1" : "gw2";
    const port = await freePort();
    const cfgFile = path.join(dir, gw + ".json");
    writeFileSync(cfgFile, JSON.stringify({
      node: gw, prefix: "site", listen: { port }, limits: { clients: N }, diagIntervalMs: 2000,
      // own sensors only from flash: loaded from RAM, the bundle's text (83 KB) leaves too little beside them
      ...(from == "flash" ? { sensors: [{ type: "sht3x" }], intervalMs: 2000 } : {}),
      bridge: {
        url: "mqtt://127.0.0.1:" + upstream.port, clientId: gw + "-bridge", keepalive: 30,
        topics: [
          { pattern: "site/#", direction: "out", qos: 1 },
          { pattern: "up/#", direction: "out", qos: 1, remotePrefix: gw + "/" },
          { pattern: "cmd/#", direction: "in", qos: 1 },
        ],
      },
    }));
    const bundle = path.join(dir, gw + ".js");
    const built = await buildFirmware({ board: "linux", role: "gateway", config: cfgFile, out: bundle });
    const run = path.join(dir, "run-" + gw);
    mkdirSync(run);

    // upstream, before the gateway starts: the gateway's status and what its bridge sends up
    const upGot: Got[] = [];
    const upC = await connect(upstream.port, "upstream-watch", upGot);
    await upC.subscribeAsync(["site/" + gw + "/status", "site/" + gw + "/state", gw + "/up/#"], { qos: 1 });

    const e = new Espruino(BIN!, from == "RAM" ? [bundle] : [], run);
    const clients: mqtt.MqttClient[] = [];
    const got: Got[][] = [];
    const info = (): string => "gateway:\n" + e.lines.slice(-25).join("\n") + "\nupstream saw:\n" +
      upGot.map((m) => m.topic + " " + m.payload).join("\n");
    try {
      if (from == "flash") expect(await bootFromFlash(e, readFileSync(bundle, "latin1"), 60_000)).toBe(true);
      const boot = await e.expect(new RegExp("^boot linux gateway " + gw + " .* free=(\\d+)$"), 30_000);
      await e.expect(new RegExp("^bridge " + gw + "-bridge: connected to 127\\.0\\.0\\.1:"), 30_000);
      await until("the retained online status upstream", () =>
        upGot.some((m) => m.topic == "site/" + gw + "/status" && m.payload == "online"), 15_000, info);
      if (from == "flash") {
        // the gateway's own sensor (a simulated SHT3x on the Linux board), read by the node app inside it
        await until("the gateway's own reading upstream", () => upGot.some((m) => m.topic == "site/" + gw + "/state"), 15_000, info);
        const own = JSON.parse(upGot.find((m) => m.topic == "site/" + gw + "/state")!.payload);
        expect(own.tempC).toBeGreaterThan(10);
        expect(own.seq).toBe(0);
      }

      // 20 clients, connected one after another (as nodes come up), each subscribed to its own topic and "all"
      for (let i = 0; i < N; i++) {
        got.push([]);
        clients.push(await connect(port, "node" + i, got[i]!));
        await clients[i]!.subscribeAsync(["to/" + i, "all"], { qos: 1 });
      }
      // the nodes, the bridge's local connection and (from flash) the own sensors' one
      const diag = await e.expect(new RegExp("^diag free=(\\d+) clients=" + (N + 1 + (from == "flash" ? 1 : 0)) + " "), 20_000);
      const free20 = Number(diag[1]);

      // each client: QoS 1 to its two neighbours, ROUNDS times, and one QoS 0 message to everyone
      await Promise.all(clients.map(async (c, i) => {
        for (let k = 0; k < ROUNDS; k++) {
          await c.publishAsync("to/" + ((i + 1) % N), "from " + i + " #" + k, { qos: 1 });
          await c.publishAsync("to/" + ((i + N - 1) % N), "from " + i + " #" + k, { qos: 1 });
        }
      }));
      await clients[0]!.publishAsync("all", "hello all", { qos: 0 });
      const want = 2 * ROUNDS + 1;
      await until(`${want} messages at each of the ${N} clients`, () => got.every((g) => g.length >= want), 60_000,
        () => info() + "\nper client: " + got.map((g) => g.length).join(","));
      await sleep(500); // nothing more (no duplicates) arrives
      for (let i = 0; i < N; i++) {
        const mine = got[i]!.filter((m) => m.topic == "to/" + i);
        expect(mine.length).toBe(2 * ROUNDS);
        expect(new Set(mine.map((m) => m.payload)).size).toBe(2 * ROUNDS);
        expect(mine.every((m) => m.qos == 1 && !m.retain)).toBe(true);
        expect(got[i]!.filter((m) => m.topic == "all").map((m) => m.payload)).toEqual(["hello all"]);
      }

      // the bridge, gateway -> upstream: up/x goes out as <gw>/up/x
      await clients[3]!.publishAsync("up/temp", "21.5", { qos: 1 });
      await until("up/temp upstream as " + gw + "/up/temp", () => upGot.some((m) => m.topic == gw + "/up/temp" && m.payload == "21.5"), 15_000, info);
      // and upstream -> gateway: cmd/x comes in to a local subscriber (one of the 20: a 21st is refused, CONNACK 3)
      await clients[5]!.subscribeAsync("cmd/#", { qos: 1 });
      await upC.publishAsync("cmd/n3/set", "publish", { qos: 1 });
      await until("cmd/n3/set at a local subscriber", () => got[5]!.some((m) => m.topic == "cmd/n3/set" && m.payload == "publish"), 15_000, info);
      const extra = await connect(port, "node" + N, []).then((c) => { clients.push(c); return "accepted"; }, (err: Error) => err.message);
      expect(extra).toMatch(/Server unavailable/);

      const after = await e.expect(/^diag free=(\d+) /, 10_000);
      console.log(`gateway bundle (linux board) ${built.bytes} bytes, on ESPRUINO_BIN_ESP32 (16,383 variables, loaded from ${from}): ` +
        `free ${boot[1]} at boot, ${free20} with ${N} clients connected (and the bridge), ${after[1]} after the exchange`);
      expect(free20).toBeGreaterThan(1000);
      expect(e.lines.filter((l) => /Uncaught|OUT OF MEMORY|Out of Memory/i.test(l))).toEqual([]);

      // the gateway dies: Mosquitto publishes the bridge's will, the status offline
      e.kill();
      await e.exit(5_000);
      await until("the will: status offline upstream", () =>
        upGot.some((m) => m.topic == "site/" + gw + "/status" && m.payload == "offline"), 15_000, info);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await upC.endAsync(true);
      e.kill();
      await e.exit(5_000);
    }
  }, 240_000);
  test("users: anonymous and wrong passwords are refused, a listed user logs in; the bridge's local connection needs no login", async () => {
    const port = await freePort();
    const cfgFile = path.join(dir, "gw3.json");
    writeFileSync(cfgFile, JSON.stringify({
      node: "gw3", prefix: "site", listen: { port }, limits: { clients: 4 }, diagIntervalMs: 0,
      users: [{ username: "node1", password: "s3cret" }],
      bridge: { url: "mqtt://127.0.0.1:" + upstream.port, clientId: "gw3-bridge", topics: [{ pattern: "site/#", direction: "out" }] },
    }));
    const bundle = path.join(dir, "gw3.js");
    await buildFirmware({ board: "linux", role: "gateway", config: cfgFile, out: bundle });
    const run = path.join(dir, "run-gw3");
    mkdirSync(run);
    const upGot: Got[] = [];
    const upC = await connect(upstream.port, "upstream-watch3", upGot);
    await upC.subscribeAsync("site/gw3/#", { qos: 1 });
    const e = new Espruino(BIN!, [], run);
    const login = (o: { username?: string; password?: string }): Promise<string> => new Promise((resolve) => {
      const c = mqtt.connect({ host: "127.0.0.1", port, clientId: "login" + Math.random().toString(16).slice(2, 8), reconnectPeriod: 0, ...o });
      c.once("connect", () => { c.end(true); resolve("accepted"); });
      c.once("error", (err) => { c.end(true); resolve(err.message); });
    });
    try {
      expect(await bootFromFlash(e, readFileSync(bundle, "latin1"), 60_000)).toBe(true);
      await e.expect(/^boot linux gateway gw3 /, 30_000);
      await e.expect(/^bridge gw3-bridge: connected to /, 30_000);
      await until("online upstream through the bridge", () => upGot.some((m) => m.topic == "site/gw3/status" && m.payload == "online"), 15_000,
        () => e.lines.slice(-20).join("\n"));
      expect(await login({})).toMatch(/Not authorized/);
      expect(await login({ username: "node1", password: "wrong" })).toMatch(/Bad username or password/);
      expect(await login({ username: "nobody", password: "s3cret" })).toMatch(/Bad username or password/);
      expect(await login({ username: "node1", password: "s3cret" })).toBe("accepted");
    } finally {
      await upC.endAsync(true);
      e.kill();
      await e.exit(5_000);
    }
  }, 120_000);
});
