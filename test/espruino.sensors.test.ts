/**
 * Issue 6, requirement 7: every sensor driver runs on Espruino against the simulated chips, in one bundle
 * (dist/test/sensors.js, from test/device/sensors.ts): the site of test/device/sensors/site.ts, a BME280, an
 * SHT3x and an AHT20 on a SimI2c, three DS18B20s on a SimOneWire, a DHT22 and a DHT11 on SimPins, one Scenario
 * with a fixed seed, virtual time (sim/hal/clock.ts).
 *
 * - On Node, always: the same function (`runSite`) gives its readings, each within the sensor's resolution of
 *   the scenario's value (checked inside runSite), and every fault gives its error, then a good read.
 * - ESPRUINO_BIN (64-bit Linux build): the bundle runs to its natural end and prints exactly the lines the Node
 *   run gives (same seed, same virtual time: the readings are equal, not merely close), then DONE 0.
 * - ESPRUINO_BIN_ESP32 (32-bit, 16,383 variables), when given: the same, loaded from RAM.
 * The 1,700-variable ESP8266 shape is not tried: the bundle is about 35 kB, several times that memory.
 *
 * Without the variables those tests are skipped, saying so. Binaries: ../shared/tools/espruino/build.sh.
 */
import { rmSync, statSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { ROUNDS, runSite } from "./device/sensors/site";
import { BUILD_HINT, built, INTERPRETER_ERROR, runFile, scratch } from "./helpers/espruino";

/** Every sensor of the site, as the lines name them. */
const SENSORS = ["bme280", "sht3x", "aht20", "dht22", "dht11", "ds18b20#0", "ds18b20#1", "ds18b20#2"];

/** Each injected fault and the error the driver must give (lib/errors.ts), written here independently of the site. */
const FAULTS = [
  "bme280 noAck -> NoDevice",
  "bme280 stuckBusy -> Timeout",
  "bme280 i2cStuck -> NoDevice",
  "sht3x corruptCrc -> Checksum",
  "sht3x noAck -> NoDevice",
  "sht3x neverCompletes -> Timeout",
  "aht20 corruptCrc -> Checksum",
  "aht20 busyStuck -> Timeout",
  "aht20 unplugAfter1 -> Bus",
  "dht22 badChecksum -> Checksum",
  "dht22 unplugged -> NoDevice",
  "dht11 truncateAfter20 -> Timeout",
  "dht11 stuckLow -> Bus",
  "ds18b20#0 badCrc -> Checksum",
  "ds18b20#0 unplugAfter0 -> NoDevice",
  "ds18b20#0 stuck85 -> Range",
];

/** The fields each sensor reports, in the order its READING line gives them. */
function fieldsOf(sensor: string): string[] {
  if (sensor == "bme280") return ["tempC", "rhPct", "pressurePa"];
  return sensor.startsWith("ds18b20") ? ["tempC"] : ["tempC", "rhPct"];
}

const READING = /^READING (\S+) (.*)$/;

/** What the site's lines must show, whichever interpreter printed them. */
function checkLines(lines: string[]): void {
  expect(lines.filter((l) => l.startsWith("FAIL") || l.startsWith("ERROR"))).toEqual([]);
  expect(lines).toContain("DONE 0");
  const find = lines.find((l) => l.startsWith("FIND ds18b20 "));
  expect(find).toMatch(/^FIND ds18b20 3 28[0-9a-f]{14},28[0-9a-f]{14},28[0-9a-f]{14}$/);

  // every driver printed its readings: the rounds, then one after each of its faults
  for (const s of SENSORS) {
    const rs = lines.map((l) => READING.exec(l)).filter((m) => m && m[1] == s).map((m) => m![2]!);
    const faults = FAULTS.filter((f) => f.startsWith(s + " ")).length;
    expect(rs.length, s + " readings").toBe(ROUNDS + faults);
    const re = new RegExp("^" + fieldsOf(s).map((f) => f + "=-?\\d+(\\.\\d+)?").join(" ") + "$");
    for (const r of rs) expect(r, s).toMatch(re);
  }

  // every fault gave the expected error, and the next line is a good read of the same sensor
  const fl = lines.filter((l) => l.startsWith("FAULT "));
  expect(fl).toEqual(FAULTS.map((f) => "FAULT " + f));
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith("FAULT ")) continue;
    const sensor = lines[i]!.split(" ")[1]!;
    expect(READING.exec(lines[i + 1] ?? "")?.[1], "a good read after " + lines[i]).toBe(sensor);
  }
}

/** The site's own lines (READING, FIND, FAULT, FAIL, ERROR, DONE), without the memory figures. */
function siteLines(lines: string[]): string[] {
  return lines.filter((l) => /^(READING|FIND|FAULT|FAIL|ERROR|DONE) /.test(l));
}

/** The same program on Node: runSite's lines and DONE. */
function onNode(): string[] {
  const out: string[] = [];
  const n = runSite((l) => out.push(l));
  out.push("DONE " + n);
  return out;
}

describe("the sensor site on Node (the reference for the interpreter runs)", () => {
  test("every driver reads its chip within the sensor's resolution; every fault gives its error, then a good read", () => {
    checkLines(onNode());
  });

  test("the run is deterministic: the same seed gives the same lines", () => {
    expect(onNode()).toEqual(onNode());
  });
});

/** Skips with the reason in the report and on the console (the default reporter shows only the latter). */
function skip(ctx: { skip(note?: string): void }, why: string): void {
  console.log("SKIPPED sensors on Espruino: " + why);
  ctx.skip(why);
}

const SHAPES: [string, string | undefined, string][] = [
  ["ESPRUINO_BIN", process.env.ESPRUINO_BIN, "64-bit Espruino Linux build"],
  ["ESPRUINO_BIN_ESP32", process.env.ESPRUINO_BIN_ESP32, "32-bit, 16,383-variable Espruino build"],
];

describe("every driver on Espruino against the simulated chips (dist/test/sensors.js)", () => {
  for (const [name, bin, shape] of SHAPES) {
    test(bin ? `${name} (${shape}): prints the readings the Node run computes, every fault's error, DONE 0`
      : `skipped: ${name} is not set (${shape}); ` + BUILD_HINT, async (ctx) => {
      if (!bin) { skip(ctx, `${name} is not set (${shape}); ` + BUILD_HINT); return; }
      const file = built("test/sensors.js");
      const dir = scratch("sensors");
      try {
        const run = await runFile(bin, file, dir, 60_000);
        const lines = run.out.split("\n").map((l) => l.trim());
        expect(lines.filter((l) => INTERPRETER_ERROR.test(l)), run.out).toEqual([]);
        expect(run.killed, "ended by the time limit").toBe(false);
        checkLines(lines);
        expect(siteLines(lines)).toEqual(onNode());
        const peak = lines.find((l) => /^PEAK \d+$/.test(l));
        const mem = lines.find((l) => /^MEM \d+$/.test(l));
        expect(peak).toBeDefined();
        expect(mem).toBeDefined();
        console.log(`${name}: dist/test/sensors.js ${statSync(file).size} bytes; ${peak!.replace("PEAK", "highest usage after a read")}, ` +
          `${mem!.replace("MEM", "usage at the end")} variables`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  }
});
