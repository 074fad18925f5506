/**
 * The one error enum (lib/errors.ts, STYLE.md rule 5) and its names (lib/errname.ts): errName covers every Err
 * member and no other value. The enum is a `const enum`, which cannot be iterated, so its source is parsed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import * as errors from "../lib/errors";
import { errName } from "../lib/errname";

function read(rel: string): string {
  return readFileSync(new URL(rel, import.meta.url), "utf8");
}

/** [name, value] of every member of `export const enum Err { ... }` in lib/errors.ts. */
function members(): [string, number][] {
  const src = read("../lib/errors.ts");
  const body = /export const enum Err \{([\s\S]*?)\n\}/.exec(src)![1]!.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
  const out: [string, number][] = [];
  for (const part of body.split(",")) {
    const m = /^\s*([A-Za-z]\w*)\s*=\s*(-?\d+)\s*$/.exec(part);
    if (m) out.push([m[1]!, Number(m[2])]);
    else expect(part.trim()).toBe(""); // every member has an explicit number
  }
  return out;
}

/** The numeric keys of the NAMES table in lib/errname.ts. */
function namedValues(): number[] {
  const src = read("../lib/errname.ts");
  return [...src.matchAll(/^\s*"(-?\d+)":\s*"\w+",$/gm)].map((m) => Number(m[1]));
}

const ALL = members();

describe("Err (lib/errors.ts)", () => {
  test("was parsed: Ok, NoMemory and the codec errors are there", () => {
    expect(ALL.length).toBeGreaterThan(30);
    expect(ALL).toContainEqual(["Ok", 0]);
    expect(ALL).toContainEqual(["NoMemory", -1]);
    expect(ALL).toContainEqual(["Utf8", -30]);
  });

  test("Ok is 0 and every error is negative, so `n < 0` means `n` is an Err", () => {
    for (const [name, v] of ALL) expect([name, v === 0 ? name === "Ok" : v < 0]).toEqual([name, true]);
  });

  test("names and values are unique", () => {
    expect(new Set(ALL.map((m) => m[0])).size).toBe(ALL.length);
    expect(new Set(ALL.map((m) => m[1])).size).toBe(ALL.length);
  });

  test("the runtime enum object (tests are not bundled, so the const enum exists) matches the source", () => {
    const rt = (errors as unknown as Record<string, Record<string, number>>)["Err"]!;
    for (const [name, v] of ALL) expect([name, rt[name]]).toEqual([name, v]);
  });

  test("CONNACK refusals are -(40 + return code) (§3.2.2.3, Table 3.1)", () => {
    const refusals = ["RefusedProtocol", "RefusedIdentifier", "RefusedUnavailable", "RefusedCredentials", "RefusedNotAuthorized"];
    refusals.forEach((name, i) => expect(ALL).toContainEqual([name, -(40 + i + 1)]));
  });
});

describe("errName (lib/errname.ts)", () => {
  test.each(ALL)("errName(Err.%s) is its name", (name, v) => {
    expect(errName(v)).toBe(name);
  });

  test("the name table holds exactly the Err values, no others", () => {
    expect(namedValues().sort((a, b) => a - b)).toEqual(ALL.map((m) => m[1]).sort((a, b) => a - b));
  });

  test("any other number is shown as Err(<n>)", () => {
    const known = new Set(ALL.map((m) => m[1]));
    for (let v = -200; v <= 200; v++) if (!known.has(v)) expect(errName(v)).toBe("Err(" + v + ")");
    expect(errName(0.5)).toBe("Err(0.5)");
  });
});
