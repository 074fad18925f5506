/**
 * Issue 6, requirement 5: one HAL conformance suite (test/device/hal/checks.ts), run here against the mocks of
 * sim/hal/ and, when ESPRUINO_BIN is set, against Espruino's own objects on its Linux build
 * (dist/test/hal-conformance.js: `require("Storage")`, a software `I2C`, a `OneWire`), so the mocks are held to
 * the behaviour of the real objects. Found that way: Storage.read() on Espruino gives a string mapped onto the
 * flash, which is gone once the file is erased (compare before erasing); names are cut to 28 characters; an
 * empty file cannot be written.
 */
import { rmSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SimI2c } from "../sim/hal/i2c";
import { SimStorage } from "../sim/hal/storage";
import { SimOneWire } from "../sim/hal/onewire";
import { SimDs18b20 } from "../sim/chips/ds18b20";
import { Scenario } from "../sim/chips/scenario";
import { VirtualClock } from "../sim/clock";
import { i2cChecks, oneWireChecks, storageChecks, type Check } from "./device/hal/checks";
import { BUILD_HINT, built, runFile, scratch } from "./helpers/espruino";

const BIN = process.env.ESPRUINO_BIN;

function each(name: string, cs: Check[]): void {
  describe(name, () => {
    for (const c of cs) test(c.name, () => { expect(c.run()).toBe(""); });
  });
}

each("SimStorage", storageChecks(new SimStorage(4096)));
each("SimI2c", i2cChecks(new SimI2c(), 0x76));
each("SimOneWire, empty", oneWireChecks(new SimOneWire()));
each("SimOneWire, two DS18B20s", (() => {
  const w = new SimOneWire();
  const clock = new VirtualClock();
  const scenario = new Scenario({ seed: 3 });
  w.attach(new SimDs18b20({ clock, scenario, serial: 1 }));
  w.attach(new SimDs18b20({ clock, scenario, serial: 2 }));
  return oneWireChecks(w);
})());

describe("SimStorage: beyond the shared checks", () => {
  test("a write that would overfill the capacity answers false and keeps the old file", () => {
    const s = new SimStorage(10);
    expect(s.write("a", "12345")).toBe(true);
    expect(s.write("b", "1234567")).toBe(false);
    expect(s.write("a", "1234567890")).toBe(true); // replacing frees the old bytes first
    expect(s.read("a")).toBe("1234567890");
  });
});

describe("the same checks on Espruino's own objects", () => {
  test(BIN ? "ESPRUINO_BIN: Storage, I2C and OneWire pass the HAL conformance checks"
    : "skipped: ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT, async (ctx) => {
    if (!BIN) { console.log("SKIPPED HAL conformance on Espruino: ESPRUINO_BIN is not set"); ctx.skip(); return; }
    const dir = scratch("hal");
    try {
      const run = await runFile(BIN, built("test/hal-conformance.js"), dir, 20_000);
      const lines = run.out.split("\n").map((l) => l.trim());
      const fails = lines.filter((l) => l.startsWith("FAIL"));
      expect(fails).toEqual([]);
      expect(lines.filter((l) => l.startsWith("PASS")).length).toBeGreaterThanOrEqual(9);
      expect(lines).toContain("DONE 0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
