/**
 * utf8Text (lib/mqtt/utf8.ts), the short decoder the client uses for topic names the decoder has already
 * checked [MQTT-3.3.2-1]: on every well-formed input it gives what utf8Decode (and TextDecoder) give.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkUtf8, utf8Decode, utf8Length, utf8Text, writeUtf8 } from "../lib/mqtt/utf8";

const SEED = Number(process.env.FUZZ_SEED ?? 20240601);

function encode(s: string): Uint8Array {
  const b = new Uint8Array(utf8Length(s));
  writeUtf8(b, 0, s);
  return b;
}

describe("utf8Text: well-formed UTF-8 to a string", () => {
  test.each([
    ["empty", ""], ["ASCII", "sensors/kitchen/temp 21.5"], ["2-byte", "\u00e9t\u00e9 \u00b0C \u0080\u07ff"],
    ["3-byte", "\u6e29\u5ea6 \u20ac \u0800\uffff\ue000\ud7ff"], ["4-byte", "\ud83d\ude00\ud800\udc00\udbff\udfff"],
  ])("[MQTT-3.3.2-1] %s agrees with utf8Decode and TextDecoder", (_name, s) => {
    const b = encode(s);
    expect(utf8Text(b)).toBe(s);
    expect(utf8Text(b)).toBe(utf8Decode(b));
  });

  test("property: any string's UTF-8 (lone surrogates as U+FFFD) decodes as utf8Decode decodes it", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
      const b = encode(s);
      expect(checkUtf8(b, 0, b.length) == 0 || b.includes(0)).toBe(true);
      expect(utf8Text(b)).toBe(utf8Decode(b));
      expect(utf8Text(b)).toBe(new TextDecoder().decode(b));
    }), { seed: SEED, numRuns: 2000 });
  });
});
