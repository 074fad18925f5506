/**
 * Issue 9, requirement 4: the MQTT 3.1.1 device bundles do not grow with MQTT 5 (or anything else) unnoticed.
 * dist/sizes.json (written by `npm run build`, which `npm test` runs first) against tools/sizes.recorded.json,
 * with the check `npm run size` makes; and the check itself, on made-up sizes.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
// @ts-expect-error: a plain .mjs module without declarations
import { checkRecorded as check } from "../tools/size.mjs";

const checkRecorded = check as (s: Record<string, { bytes: number }>) => { grown: [string, number, number | null][]; shrunk: [string, number, number][] };

const ROOT = path.resolve(__dirname, "..");
const SIZES = path.join(ROOT, "dist/sizes.json");

describe("recorded device bundle sizes (tools/sizes.recorded.json)", () => {
  test("no recorded bundle is larger than recorded; the 3.1.1 client module is there", () => {
    expect(existsSync(SIZES), "dist/sizes.json: run npm run build first").toBe(true);
    const sizes = JSON.parse(readFileSync(SIZES, "utf8"));
    const { grown } = checkRecorded(sizes);
    expect(grown).toEqual([]);
    expect(sizes["modules/mqtt-client.js"].bytes).toBeGreaterThan(1000);
  });

  test("the check reports a bundle one byte larger, and a missing one", () => {
    const rec = JSON.parse(readFileSync(path.join(ROOT, "tools/sizes.recorded.json"), "utf8")).bytes as Record<string, number>;
    const sizes: Record<string, { bytes: number }> = {};
    for (const [b, n] of Object.entries(rec)) sizes[b] = { bytes: n };
    sizes["modules/mqtt-client.js"]!.bytes += 1;
    delete sizes["modules/broker.js"];
    const { grown, shrunk } = checkRecorded(sizes);
    expect(grown).toEqual([["modules/mqtt-client.js", rec["modules/mqtt-client.js"], rec["modules/mqtt-client.js"]! + 1], ["modules/broker.js", rec["modules/broker.js"], null]]);
    expect(shrunk).toEqual([]);
  });
});
