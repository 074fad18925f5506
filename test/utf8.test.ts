/**
 * lib/mqtt/utf8.ts against Node's own UTF-8 (Buffer, TextEncoder, TextDecoder): lengths, encoding (lone
 * surrogates become U+FFFD), the well-formedness check [MQTT-1.5.3-1] [MQTT-1.5.3-2] and decoding.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { checkUtf8, utf8Decode, utf8Length, writeUtf8 } from "../lib/mqtt/utf8";
import { fromHex } from "./fixtures/hex";

const SEED = Number(process.env.FUZZ_SEED ?? 20240601);
const enc = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/** The reference check: well-formed UTF-8 (TextDecoder fatal accepts it) with no U+0000. */
function reference(b: Uint8Array): Err {
  try { fatal.decode(b); } catch { return Err.Utf8; }
  return b.includes(0) ? Err.Utf8 : Err.Ok;
}

/** Lone surrogates (String.prototype.isWellFormed is ES2024, past this project's lib setting). */
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function toWellFormed(s: string): string {
  return s.replace(LONE, "\ufffd");
}

function encode(s: string): Uint8Array {
  const b = new Uint8Array(utf8Length(s));
  expect(writeUtf8(b, 0, s)).toBe(b.length);
  return b;
}

const SAMPLES: [string, string][] = [
  ["empty", ""],
  ["ASCII", "sensors/kitchen/temp 21.5"],
  ["2-byte characters", "\u00e9t\u00e9 \u00b0C \u00ff\u0080\u07ff"],
  ["3-byte characters", "\u6e29\u5ea6 \u20ac \u0800\uffff\ufffd\ue000\ud7ff"],
  ["4-byte characters", "\ud83d\ude00\ud83c\udf21\ud800\udc00\udbff\udfff"],
  ["mixed", "a\u00e9\u20ac\ud83d\ude00z"],
  ["lone high surrogate", "a\ud800b"],
  ["lone low surrogate", "a\udc00b"],
  ["high surrogate at the end", "ab\ud83d"],
  ["two high surrogates then a low one", "\ud800\ud800\udc00"],
  ["reversed pair", "\ude00\ud83d"],
];

describe("utf8Length and writeUtf8", () => {
  test.each(SAMPLES)("%s: same length and bytes as TextEncoder (lone surrogates become U+FFFD)", (_name, s) => {
    expect(utf8Length(s)).toBe(Buffer.byteLength(s, "utf8"));
    expect(Buffer.from(encode(s)).toString("hex")).toBe(Buffer.from(enc.encode(s)).toString("hex"));
  });

  test("a lone surrogate is written as U+FFFD (ef bf bd)", () => {
    expect(Buffer.from(encode("\ud800")).toString("hex")).toBe("efbfbd");
    expect(Buffer.from(encode("\udfff")).toString("hex")).toBe("efbfbd");
  });

  test("writes at an offset and nothing past the string", () => {
    const s = "x\u00e9\u20ac\ud83d\ude00";
    const b = new Uint8Array(20).fill(0xa5);
    expect(writeUtf8(b, 3, s)).toBe(3 + 10);
    expect(Buffer.from(b).toString("hex")).toBe("a5a5a5" + Buffer.from(s).toString("hex") + "a5a5a5a5a5a5a5");
  });

  test("property: any UTF-16 string, lone surrogates included, matches TextEncoder", () => {
    const unit = fc.oneof(fc.nat(0xffff), fc.integer({ min: 0xd800, max: 0xdfff }), fc.nat(0x7f)).map((c) => String.fromCharCode(c));
    fc.assert(fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, "utf8"));
      expect(Buffer.from(encode(s)).equals(Buffer.from(enc.encode(s)))).toBe(true);
    }), { seed: SEED, numRuns: 3000 });
  });
});

describe("checkUtf8 [MQTT-1.5.3-1] [MQTT-1.5.3-2]", () => {
  const GOOD = ["", "61", "c2a9", "dfbf", "e0a080", "e282ac", "ed9fbf", "ee8080", "efbfbf", "f0908080", "f09f9880", "f48fbfbf", "7f"];
  const BAD = [
    "00", "6100", "c080", "c1bf", "c0af", "e080af", "e09fbf", "f08080af", "f08fbfbf", "eda080", "edbfbf", "eda0bdedb880",
    "e282", "c2", "f09f98", "e228a1", "80", "bf", "c220", "f4908080", "f5808080", "f7bfbfbf", "f888808080", "f9808080",
    "fa808080", "fb808080", "fc808080", "fd808080", "fe", "ff", "c2c2",
  ];

  test.each(GOOD)("well-formed %s: Ok", (h) => {
    expect(checkUtf8(fromHex(h), 0, h.length / 2)).toBe(Err.Ok);
    expect(reference(fromHex(h))).toBe(Err.Ok);
  });

  test.each(BAD)("ill-formed or U+0000 %s: Err.Utf8", (h) => {
    expect(checkUtf8(fromHex(h), 0, h.length / 2)).toBe(Err.Utf8);
    expect(reference(fromHex(h))).toBe(Err.Utf8);
  });

  test("checks only b[s..e)", () => {
    const b = fromHex("ff61e282acff");
    expect(checkUtf8(b, 1, 5)).toBe(Err.Ok);
    expect(checkUtf8(b, 1, 4)).toBe(Err.Utf8); // truncated at e
    expect(checkUtf8(b, 0, 5)).toBe(Err.Utf8);
    expect(checkUtf8(b, 3, 3)).toBe(Err.Ok);
  });

  test("every 1- and 2-byte input, and every lead byte with each continuation pattern, agrees with TextDecoder", () => {
    for (let a = 0; a < 256; a++) {
      expect([a, checkUtf8(new Uint8Array([a]), 0, 1)]).toEqual([a, reference(new Uint8Array([a]))]);
      for (let c = 0; c < 256; c++) {
        const b = new Uint8Array([a, c]);
        if (checkUtf8(b, 0, 2) != reference(b)) expect([a, c]).toBe("agreeing");
      }
    }
    for (let a = 0xe0; a < 256; a++) {
      for (const c of [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0]) {
        for (const d of [0x80, 0xbf, 0x41]) {
          for (const b of [new Uint8Array([a, c, d]), new Uint8Array([a, c, d, 0x80]), new Uint8Array([a, c, d, 0xbf, 0x41])]) {
            if (checkUtf8(b, 0, b.length) != reference(b)) expect(Buffer.from(b).toString("hex")).toBe("agreeing");
          }
        }
      }
    }
  });

  test("property: random bytes, biased to multi-byte sequences, agree with TextDecoder", () => {
    const byte = fc.oneof(fc.nat(255), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xff }), fc.integer({ min: 0x20, max: 0x7e }));
    fc.assert(fc.property(fc.array(byte, { maxLength: 12 }).map((a) => new Uint8Array(a)), (b) => {
      expect(checkUtf8(b, 0, b.length)).toBe(reference(b));
    }), { seed: SEED, numRuns: 20000 });
  });

  test("property: anything writeUtf8 writes passes, unless it holds U+0000", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 30 }), (s) => {
      const b = encode(s);
      expect(checkUtf8(b, 0, b.length)).toBe(s.includes("\0") ? Err.Utf8 : Err.Ok);
    }), { seed: SEED, numRuns: 3000 });
  });
});

describe("utf8Decode", () => {
  test.each(SAMPLES)("%s: round trip through writeUtf8 equals TextDecoder", (_name, s) => {
    const b = encode(s);
    expect(utf8Decode(b)).toBe(lenient.decode(b));
    expect(utf8Decode(b)).toBe(toWellFormed(s));
  });

  test("lone surrogates come back as U+FFFD", () => {
    expect(utf8Decode(encode("a\ud800b\udc00"))).toBe("a\ufffdb\ufffd");
  });

  test.each([
    ["e282", "\ufffd"], ["61e28262", "a\ufffdb"], ["eda080", "\ufffd\ufffd\ufffd"], ["f4908080", "\ufffd\ufffd\ufffd\ufffd"],
    ["c0af", "\ufffd\ufffd"], ["f09f98", "\ufffd"], ["80", "\ufffd"], ["fc808080", "\ufffd\ufffd\ufffd\ufffd"],
    ["e228a1", "\ufffd(\ufffd"], ["f09f9880", "\ud83d\ude00"],
  ])("ill-formed %s becomes U+FFFD as TextDecoder does", (h, want) => {
    expect(utf8Decode(fromHex(h))).toBe(want);
    expect(lenient.decode(fromHex(h))).toBe(want);
  });

  test("property: any bytes decode as TextDecoder decodes them, never to a lone surrogate", () => {
    const byte = fc.oneof(fc.nat(255), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xf7 }));
    fc.assert(fc.property(fc.array(byte, { maxLength: 16 }).map((a) => new Uint8Array(a)), (b) => {
      const s = utf8Decode(b);
      expect(s).toBe(lenient.decode(b));
      expect(toWellFormed(s)).toBe(s);
    }), { seed: SEED, numRuns: 20000 });
  });
});
