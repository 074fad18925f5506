/**
 * The HAL conformance suite (issue 6, requirement 5): checks that an object behaves as lib/hal/ says, written
 * once in the Espruino subset so that the same checks run against the mocks of sim/hal/ (test/hal.conformance.test.ts,
 * on Node) and against Espruino's own objects (dist/test/hal-conformance.js on Espruino's Linux build, where
 * `require("Storage")`, `I2C` and `OneWire` exist). Each check returns "" when it holds, else what went wrong.
 */
import { I2cBus } from "../../../lib/hal/i2c";
import { OneWireBus } from "../../../lib/hal/onewire";
import { KvStorage } from "../../../lib/hal/storage";

export interface Check {
  name: string;
  run: () => string;
}

function bin(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(i & 255);
  return s;
}

export function storageChecks(s: KvStorage): Check[] {
  return [
    { name: "Storage: a file written is read back whole, binary bytes 0-255 included", run: function () {
      const d = bin(256);
      if (!s.write("halcheck1", d)) return "write returned false";
      const r = s.read("halcheck1");
      // compared before erase: on Espruino read() gives a string mapped onto the flash, gone once erased
      const why = r === d ? "" : "read back " + (typeof r != "string" ? String(r) : r.length + " chars, not the same");
      s.erase("halcheck1");
      return why;
    } },
    { name: "Storage: a missing file reads as undefined; erase removes; erasing a missing file is harmless", run: function () {
      if (s.read("halcheck-none") !== undefined) return "missing file not undefined";
      s.write("halcheck2", "x");
      s.erase("halcheck2");
      s.erase("halcheck2");
      return s.read("halcheck2") === undefined ? "" : "erased file still there";
    } },
    { name: "Storage: list(re) names the files matching", run: function () {
      s.write("halcheck3a", "1");
      s.write("halcheck3b", "2");
      const l = s.list(/^halcheck3/);
      s.erase("halcheck3a");
      s.erase("halcheck3b");
      return l.length == 2 && l.indexOf("halcheck3a") >= 0 && l.indexOf("halcheck3b") >= 0 ? "" : "list gave " + JSON.stringify(l);
    } },
    { name: "Storage: names longer than 28 characters are cut to 28", run: function () {
      const long = "halcheck4-abcdefghijklmnopqrstuvwxyz";
      s.write(long, "v");
      const why = s.read(long.substring(0, 28)) === "v" ? "" : "not readable by the 28-character name";
      s.erase(long);
      return why;
    } },
    { name: "Storage: an empty file cannot be written (throws)", run: function () {
      try { s.write("halcheck5", ""); } catch (e) { return ""; }
      s.erase("halcheck5");
      return "no exception";
    } },
  ];
}

/** `absent`: an address with no device on this bus. */
export function i2cChecks(b: I2cBus, absent: number): Check[] {
  return [
    { name: "I2C: writeTo an address nobody acknowledges throws", run: function () {
      try { b.writeTo(absent, 0); } catch (e) { return ""; }
      return "no exception";
    } },
    { name: "I2C: readFrom an address nobody acknowledges throws", run: function () {
      try { b.readFrom(absent, 1); } catch (e) { return ""; }
      return "no exception";
    } },
  ];
}

export function oneWireChecks(w: OneWireBus): Check[] {
  return [
    { name: "OneWire: reset() gives a boolean", run: function () {
      return typeof w.reset() == "boolean" ? "" : "not a boolean";
    } },
    { name: "OneWire: search() gives ROMs as 16 hex digits", run: function () {
      const r = w.search();
      if (!(r instanceof Array)) return "not an array";
      for (let i = 0; i < r.length; i++) if (!/^[0-9a-f]{16}$/.test(r[i]!)) return "bad ROM " + r[i];
      return "";
    } },
  ];
}

/** Runs checks; returns the failures as lines "FAIL name: why" and prints every result with `out`. */
export function runChecks(cs: Check[], out: (line: string) => void): number {
  let failed = 0;
  for (let i = 0; i < cs.length; i++) {
    let why: string;
    try { why = cs[i]!.run(); } catch (e) { why = "threw " + e; }
    if (why) failed++;
    out((why ? "FAIL " : "PASS ") + cs[i]!.name + (why ? ": " + why : ""));
  }
  return failed;
}
