/**
 * README's "Broker conformance (MQTT 3.1.1)" table stays true (tools/conformance.mjs): one row per statement of
 * MQTT 3.1.1 Plus Errata 01, every cited test exists and is named with the row's IDs, every row without a test
 * says why. The checker itself is shown catching each kind of mistake on small made-up tables.
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Tools {
  STATEMENTS: string[];
  checkConformance(root?: string, readme?: string | null): { problems: string[]; summary: string };
}

let tools: Tools;
beforeAll(async () => {
  // a plain ES module without type declarations: imported by URL and typed here
  tools = (await import(pathToFileURL(path.join(ROOT, "tools/conformance.mjs")).href)) as Tools;
});

/** A README whose marked section has the legend and `rows` (each "| ID | duty | tests | note |"). */
function readme(rows: string[]): string {
  return "intro\n<!-- conformance:start -->\n**C** `test/broker.conformance.test.ts`, **D** `test/codec.invalid.test.ts`\n\n" +
    "| Statement | The Server must | Tests | Note |\n| --- | --- | --- | --- |\n" + rows.join("\n") + "\n<!-- conformance:end -->\n";
}

/** Rows for every statement but those given, each marked client-only (so only the rows under test matter). */
function others(except: string[]): string[] {
  return tools.STATEMENTS.filter((s) => !except.includes(s)).map((s) => "| " + s + " | x | - | client-only |");
}

describe("tools/conformance.mjs", () => {
  test("README.md's table: every MQTT 3.1.1 statement has a row, every cited test exists and carries the row's IDs", () => {
    const r = tools.checkConformance(ROOT);
    expect(r.problems).toEqual([]);
    expect(r.summary).toMatch(/^141 statements: \d+ with tests, \d+ without/);
  });

  test("the statement list is Appendix B's: 141 IDs, the misprinted three as meant", () => {
    expect(tools.STATEMENTS).toHaveLength(141);
    expect(new Set(tools.STATEMENTS).size).toBe(141);
    for (const id of ["[MQTT-3.1.2-7]", "[MQTT-3.8.3-4]", "[MQTT-3.3.1-1]", "[MQTT-7.1.2-1]"]) expect(tools.STATEMENTS).toContain(id);
  });

  test("a good made-up table passes", () => {
    const rows = ["| [MQTT-3.1.2-24] | keepalive | C \"keepalive 1 s\" | |", "| [MQTT-3.3.1-4] | QoS 3 | C \"PUBLISH with QoS 3\"; D | |"];
    expect(tools.checkConformance(ROOT, readme(rows.concat(others(["[MQTT-3.1.2-24]", "[MQTT-3.3.1-4]"])))).problems).toEqual([]);
  });

  test.each([
    ["a missing statement", [], "no row for [MQTT-3.1.2-24]"],
    ["a statement twice", ["| [MQTT-3.1.2-24] | a | - | client-only |", "| [MQTT-3.1.2-24] | b | - | client-only |"], "already has a row"],
    ["an ID that is not a statement", ["| [MQTT-3.1.2-24] [MQTT-9.9.9-9] | a | - | client-only |"], "is not a statement of MQTT 3.1.1"],
    ["a quoted test that does not exist", ["| [MQTT-3.1.2-24] | a | C \"no such test\" | |"], "no test in test/broker.conformance.test.ts contains"],
    ["a test not named with the row's ID", ["| [MQTT-3.1.2-24] | a | C \"PUBLISH with QoS 3\" | |"], "is not named with [MQTT-3.1.2-24]"],
    ["an ID nowhere in a file cited without a quote", ["| [MQTT-3.1.2-24] | a | D | |"], "[MQTT-3.1.2-24] appears nowhere in test/codec.invalid.test.ts"],
    ["a letter missing from the legend", ["| [MQTT-3.1.2-24] | a | Z | |"], "no file for letter Z"],
    ["no test and no reason", ["| [MQTT-3.1.2-24] | a | - | |"], "no test and no reason given"],
    ["a tests cell that is not citations", ["| [MQTT-3.1.2-24] | a | see the keepalive test | |"], "the tests column must be citations"],
  ])("%s is reported", (_what, rows, want) => {
    const r = tools.checkConformance(ROOT, readme((rows as string[]).concat(others(["[MQTT-3.1.2-24]"]))));
    expect(r.problems.join("\n")).toContain(want);
  });

  test("a README without the marked section is reported", () => {
    expect(tools.checkConformance(ROOT, "no table here").problems).toEqual([expect.stringContaining("no <!-- conformance:start -->")]);
  });
});
