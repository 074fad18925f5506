/**
 * The node firmware's memory on the real interpreter (issue 7, requirement 9), run from (emulated) flash as a
 * flashed board runs it: the Linux-board node bundle with one SHT3x (the ESP8266 example config's shape, with
 * the simulated chip instead of a real bus), publishing to Mosquitto every second with diag every 3 s.
 *
 * - ESPRUINO_BIN_ESP32 (32-bit, 16,383 variables): publishes for 45 s; the free variables its diag reports stay
 *   within a few variables of each other after the first messages (no leak per reading). Figures printed.
 * - ESPRUINO_BIN_ESP8266 (1,700 variables): KNOWN FAILURE, requirement 9 not met: the bundle runs out of memory
 *   while loading (about 3,800 variables in use on the ESP32 shape). Written as `test.fails`, so it turns red
 *   the day it fits.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { BUILD_HINT, bootFromFlash, Espruino } from "./helpers/espruino";
import { Mosquitto, MOSQUITTO_SKIP } from "./helpers/mosquitto";
// @ts-expect-error: a plain .mjs module without declarations
import { buildFirmware } from "../tools/build.mjs";

const BIN32 = process.env.ESPRUINO_BIN_ESP32;
const BIN8266 = process.env.ESPRUINO_BIN_ESP8266;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(MOSQUITTO_SKIP)("the node firmware's memory on the interpreter, from flash", () => {
  let broker: Mosquitto;
  let dir: string;
  let code = "";
  beforeAll(async () => {
    broker = await Mosquitto.start({ persistence: false });
    dir = mkdtempSync(path.join(os.tmpdir(), "fw-mem-"));
    const cfg = path.join(dir, "node.json");
    writeFileSync(cfg, JSON.stringify({ broker: { url: "mqtt://127.0.0.1:" + broker.port }, prefix: "mem" + process.pid, node: "m",
      sensors: [{ type: "sht3x" }], intervalMs: 1000, diagIntervalMs: 3000, queue: { size: 16 } }));
    code = readFileSync((await buildFirmware({ board: "linux", role: "node", config: cfg, out: path.join(dir, "node.js") })).out, "latin1");
  });
  afterAll(async () => {
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Boots the bundle from flash on `bin` and collects state and diag for `ms`. */
  async function run(bin: string, ms: number): Promise<{ states: number; free: number[]; lines: string[] }> {
    const sub = await mqtt.connectAsync("mqtt://127.0.0.1:" + broker.port, { clientId: "memsub" + process.pid + Math.random() });
    let states = 0;
    const free: number[] = [];
    sub.on("message", (t, p) => {
      if (t.endsWith("/state")) states++;
      else free.push(JSON.parse(p.toString()).freeVars);
    });
    await sub.subscribeAsync(["mem" + process.pid + "/m/state", "mem" + process.pid + "/m/diag"]);
    const e = new Espruino(bin, [], mkdtempSync(path.join(dir, "run-")));
    try {
      await bootFromFlash(e, code, 20_000);
      const t0 = Date.now();
      while (Date.now() - t0 < ms && e.lines.every((l) => !/OUT OF MEMORY|Uncaught/.test(l))) await sleep(100);
      return { states, free, lines: e.lines };
    } finally {
      e.kill();
      await e.exit(5000);
      await sub.endAsync();
    }
  }

  test.skipIf(!BIN32)(BIN32 ? "ESPRUINO_BIN_ESP32 (16,383 variables): 45 s of readings, free variables stable"
    : "skipped: ESPRUINO_BIN_ESP32 is not set; " + BUILD_HINT, async () => {
    const r = await run(BIN32!, 45_000);
    expect(r.lines.filter((l) => /OUT OF MEMORY|Uncaught|New interpreter error/.test(l))).toEqual([]);
    expect(r.states).toBeGreaterThanOrEqual(40);
    expect(r.free.length).toBeGreaterThanOrEqual(13);
    const steady = r.free.slice(2);
    console.log(`ESPRUINO_BIN_ESP32 node firmware from flash: ${code.length} bytes, ${r.states} readings in 45 s, free variables ` +
      `${r.free.join(" ")} (of 16,383: ${16383 - Math.min(...steady)} in use at most)`);
    expect(Math.max(...steady) - Math.min(...steady)).toBeLessThanOrEqual(12);
  }, 90_000);

  test.skipIf(!BIN8266).fails(BIN8266 ? "KNOWN FAILURE, issue 7 requirement 9 not met: ESPRUINO_BIN_ESP8266 (1,700 variables): boots and publishes"
    : "skipped: ESPRUINO_BIN_ESP8266 is not set; " + BUILD_HINT, async () => {
    const r = await run(BIN8266!, 15_000);
    console.log("ESPRUINO_BIN_ESP8266 node firmware from flash: " + (r.lines.find((l) => /OUT OF MEMORY/.test(l)) ?? "no out-of-memory") +
      `, ${r.states} readings`);
    expect(r.states).toBeGreaterThan(0);
  }, 60_000);
});
