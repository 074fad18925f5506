/**
 * The codec on the real Espruino interpreter (issue 3, requirement 9), when the binaries are given:
 *
 * - ESPRUINO_BIN (64-bit Linux build): runs dist/test/codec-selftest.js, which holds the golden and invalid
 *   tables, to its natural end; its summary must count every row as passed.
 * - ESPRUINO_BIN_ESP8266 (32-bit, 1,700 variables; started through qemu-i386 when the kernel cannot run it):
 *   the tables do not fit there, so dist/test/codec-stream.js is stored in the emulated flash and loaded, and
 *   the rows are sent to it one by one over a loopback socket. Rows over MAX_STREAMED bytes are not sent (the 20,000-byte PUBLISH
 *   alone is 1.7 times that memory); rows whose strings hold characters over U+00FF are skipped by the device
 *   (the ESP firmware has 8-bit strings); everything else must pass.
 *
 * Without the variables the tests are skipped, saying so. Binaries: ../shared/tools/espruino/build.sh.
 */
import { readFileSync, rmSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { GOLDEN } from "./fixtures/golden";
import { INVALID } from "./fixtures/invalid";
import { BUILD_HINT, bootFromFlash, built, Espruino, INTERPRETER_ERROR, runFile, scratch, Server, socketLines } from "./helpers/espruino";

const TOTAL = GOLDEN.length + INVALID.length;
const SUMMARY = /^selftest codec: (\d+) passed, (\d+) failed$/;
const SKIPS = /^selftest codec: (\d+) skipped$/;
/** Largest packet typed in on the ESP8266 shape. */
const MAX_STREAMED = 1024;
const UNICODE_SKIP = "a string with characters over U+00FF, which this interpreter's strings cannot hold";

// ---------------------------------------------------------------- results

interface Result { passed: number; failed: number; skipped: number; fails: string[]; skips: string[]; errors: string[]; memory: string }

function parse(lines: string[]): Result {
  const r: Result = { passed: -1, failed: -1, skipped: 0, fails: [], skips: [], errors: [], memory: "" };
  for (const l of lines) {
    const m = SUMMARY.exec(l);
    const s = SKIPS.exec(l);
    if (m) { r.passed = +m[1]!; r.failed = +m[2]!; }
    else if (s) r.skipped = +s[1]!;
    else if (l.startsWith("FAIL ")) r.fails.push(l);
    else if (l.startsWith("SKIP ")) r.skips.push(l);
    else if (l.startsWith("selftest codec: memory")) r.memory = l;
    else if (INTERPRETER_ERROR.test(l)) r.errors.push(l);
  }
  return r;
}

/** Skips with the reason in the report and on the console (the default reporter shows only the latter). */
function skip(ctx: { skip(note?: string): void }, why: string): void {
  console.log("SKIPPED codec on Espruino: " + why);
  ctx.skip(why);
}

// ---------------------------------------------------------------- streaming rows (codec-stream.ts)

/** JSON with every non-ASCII character as \uXXXX, so both builds parse it alike (the ESP ones cut it to 8 bits). */
function ascii(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? { h: Buffer.from(x.buffer, x.byteOffset, x.length).toString("hex") } : x))
    .replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** The messages for every row that fits, and the names of those that do not. */
function messages(): { lines: string[]; tooBig: string[] } {
  const lines: string[] = [];
  const tooBig: string[] = [];
  for (const v of INVALID) lines.push(ascii({ v: [v.name, v.hex, v.err, v.type, v.max ?? null] }));
  for (const g of GOLDEN) {
    if (g.hex.length / 2 > MAX_STREAMED) tooBig.push(g.name);
    else lines.push(ascii({ g: [g.name, g.hex, g.packet] }));
  }
  lines.push(ascii({ s: 1 }));
  return { lines, tooBig };
}

// ---------------------------------------------------------------- tests

const BIN = process.env.ESPRUINO_BIN;
const BIN8266 = process.env.ESPRUINO_BIN_ESP8266;

describe("codec on the real Espruino interpreter", () => {
  test(BIN ? "ESPRUINO_BIN: codec-selftest passes every golden and invalid row"
    : "skipped: ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT, async (ctx) => {
    if (!BIN) { skip(ctx, "ESPRUINO_BIN is not set (the 64-bit Espruino Linux binary): " + BUILD_HINT); return; }
    const file = built("test/codec-selftest.js");
    const dir = scratch("codec");
    try {
      const run = await runFile(BIN, file, dir, 20_000);
      const r = parse(run.out.split("\n"));
      expect({ killed: run.killed, errors: r.errors, fails: r.fails }).toEqual({ killed: false, errors: [], fails: [] });
      expect({ passed: r.passed, failed: r.failed, skipped: r.skipped }).toEqual({ passed: TOTAL, failed: 0, skipped: 0 });
      console.log("ESPRUINO_BIN: " + r.memory);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test(BIN8266 ? "ESPRUINO_BIN_ESP8266 (1,700 variables): every row that fits, sent over a socket, passes"
    : "skipped: ESPRUINO_BIN_ESP8266 is not set (32-bit, 1,700-variable Espruino build); " + BUILD_HINT, async (ctx) => {
    if (!BIN8266) { skip(ctx, "ESPRUINO_BIN_ESP8266 is not set (a 32-bit, 1,700-variable Espruino build): " + BUILD_HINT); return; }
    const code = readFileSync(built("test/codec-stream.js"), "latin1");
    const m = messages();
    const lines = await stream(BIN8266, code, m.lines);
    const r = parse(lines);
    expect({ errors: r.errors, fails: r.fails }).toEqual({ errors: [], fails: [] });
    // skipped exactly the rows with a string the 8-bit strings of the ESP firmware cannot hold
    const skipped = r.skips.map((l) => l.slice(5, l.length - UNICODE_SKIP.length - 2));
    expect(r.skips.every((l) => l.endsWith(": " + UNICODE_SKIP))).toBe(true);
    expect(skipped).toEqual(GOLDEN.filter((g) => wide(g.packet) && g.hex.length / 2 <= MAX_STREAMED).map((g) => g.name));
    expect({ failed: r.failed, skipped: r.skipped, all: r.passed + r.skipped + m.tooBig.length })
      .toEqual({ failed: 0, skipped: skipped.length, all: TOTAL });
    expect(m.tooBig.length).toBeLessThanOrEqual(1);
    console.log("ESPRUINO_BIN_ESP8266: " + r.passed + " passed, " + r.skipped + " skipped (8-bit strings), " + m.tooBig.length +
      " not sent (over " + MAX_STREAMED + " bytes: " + m.tooBig.join(", ") + "); " + r.memory);
  }, 60_000); // about 15 s; the margin is for a loaded machine (qemu)
});

/** Whether a fixture value holds a string with a character over U+00FF. */
function wide(v: unknown): boolean {
  if (typeof v == "string") return /[^\u0000-\u00ff]/.test(v);
  if (v instanceof Uint8Array || !v || typeof v != "object") return false;
  return Object.values(v).some(wide);
}

/**
 * Boots codec-stream.js from flash on `bin`, sends it `messages` one at a time (each answered by lines ending
 * with "#"), and returns every answer line and then the interpreter's own console output. One retry when the
 * boot fails (the console line that starts it can be garbled, see test/helpers/espruino.ts).
 */
async function stream(bin: string, code: string, messages: string[]): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const dir = scratch("codec");
    const server = new Server();
    const e = new Espruino(bin, [], dir);
    const lines: string[] = [];
    let booted = false;
    try {
      if (!await bootFromFlash(e, code, 5_000, server)) throw new Error("the interpreter did not store codec-stream.js in 5000 ms");
      const s = await server.next(5_000);
      booted = true;
      const answers = socketLines(s, "the self-test's socket");
      for (const l of messages) {
        s.write(l + "\n");
        lines.push(...await answers.waitFor((a) => a == "#", 5_000));
      }
      s.destroy();
      return lines.concat(e.out.all);
    } catch (err) {
      if (!booted && attempt < 2) continue;
      throw new Error(String(err) + "\ninterpreter output:\n" + e.out.tail());
    } finally {
      e.kill();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
