/**
 * The golden byte table (test/fixtures/golden.ts) in both directions, against this codec and against
 * mqtt-packet (an independent implementation): encode == bytes, mqtt-packet generate == bytes, decode == fields,
 * mqtt-packet parse == fields, size functions == encoded length. Every row is also decoded split at every
 * offset, one byte at a time, and concatenated with the others. Then guard bytes around encode buffers and the
 * encoders' argument errors.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { encodeAck } from "../lib/mqtt/ack";
import { encodeConnack, encodeConnect } from "../lib/mqtt/connect";
import { Decoder } from "../lib/mqtt/decoder";
import { encodePacket, PacketInput, packetSizeOf } from "../lib/mqtt/encode";
import { ALL } from "../lib/mqtt/parsers";
import { encodePublish, publishSize } from "../lib/mqtt/publish";
import { encodeSuback, encodeSubscribe, encodeUnsubscribe } from "../lib/mqtt/subscribe";
import { MAX_REMAINING, T } from "../lib/mqtt/types";
import { GOLDEN } from "./fixtures/golden";
import { fromHex, pattern, toHex } from "./fixtures/hex";
import { bytewise, expected, makeRunner, mpGenerate, mpParse, splitAt, View } from "./helpers/views";

const MAX = 65536;
const rows = GOLDEN.map((g) => ({ name: g.name, hex: g.hex, packet: g.packet, bytes: fromHex(g.hex), want: expected(g.packet) }));
const run = makeRunner(MAX);


function encodeHex(o: PacketInput): string {
  const b = new Uint8Array(packetSizeOf(o));
  const n = encodePacket(b, 0, o);
  expect(n).toBe(b.length);
  return toHex(b);
}

describe("golden table coverage", () => {
  test("every one of the 14 packet types, and no reserved type", () => {
    const types = new Set(GOLDEN.map((g) => g.packet.type));
    expect([...types].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  test("every first byte a legal packet can have [MQTT-2.2.2-1] [MQTT-3.3.1-2]", () => {
    const firsts = new Set(GOLDEN.map((g) => g.hex.substr(0, 2)));
    // PUBLISH: QoS 0 without DUP, QoS 1 and 2 with and without DUP, each with and without retain
    for (const b of [0x30, 0x31, 0x32, 0x33, 0x3a, 0x3b, 0x34, 0x35, 0x3c, 0x3d]) expect(firsts).toContain(b.toString(16));
    for (const b of ["10", "20", "40", "50", "62", "70", "82", "90", "a2", "b0", "c0", "d0", "e0"]) expect(firsts).toContain(b);
  });

  test("every CONNECT flag combination, CONNACK code and SUBACK code", () => {
    const flags = new Set(GOLDEN.filter((g) => g.packet.type == T.CONNECT).map((g) => parseInt(g.hex.substr(g.hex.indexOf("4d515454") + 10, 2), 16)));
    for (const q of [0, 1, 2]) for (const r of [0, 32]) expect(flags).toContain(2 | 4 | q << 3 | r);
    for (const f of [0x00, 0x02, 0x82, 0xc2, 0xf4]) expect(flags).toContain(f);
    const acks = GOLDEN.filter((g) => g.packet.type == T.CONNACK).map((g) => g.hex.substr(4));
    expect(acks.sort()).toEqual(["0000", "0001", "0002", "0003", "0004", "0005", "0100"]);
    const codes = new Set(GOLDEN.flatMap((g) => Array.prototype.slice.call(g.packet.codes ?? []) as number[]));
    expect([...codes].sort((a, b) => a - b)).toEqual([0, 1, 2, 0x80]);
  });

  test("remaining lengths of 1, 2 and 3 bytes, ids 1 and 65535 for every acknowledgement", () => {
    const lens = new Set(rows.map((r) => (r.bytes[1]! < 128 ? 1 : r.bytes[2]! < 128 ? 2 : r.bytes[3]! < 128 ? 3 : 4)));
    expect([...lens].sort()).toEqual([1, 2, 3]);
    for (const t of [T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.UNSUBACK]) {
      const ids = GOLDEN.filter((g) => g.packet.type == t).map((g) => g.packet.id);
      expect(ids).toEqual([1, 65535]);
    }
  });
});

describe.each(rows)("golden: $name", (r) => {
  test("this codec encodes exactly the golden bytes", () => {
    expect(encodeHex(r.packet)).toBe(r.hex);
  });

  test("mqtt-packet generates exactly the golden bytes", () => {
    expect(mpGenerate(r.packet)).toBe(r.hex);
  });

  test("the size function equals the encoded length", () => {
    expect(packetSizeOf(r.packet)).toBe(r.bytes.length);
  });

  test("this codec decodes the golden bytes to the fixture's fields", () => {
    expect(run([r.bytes])).toEqual({ views: [r.want], err: Err.Ok, errType: 0 });
  });

  test("mqtt-packet parses the golden bytes to the same fields", () => {
    expect(mpParse(r.bytes)).toEqual({ packets: [r.want], error: null });
  });

  test("split into two chunks at every offset", () => {
    for (let cut = 1; cut < r.bytes.length; cut++) {
      const got = run(splitAt(r.bytes, [cut]));
      if (got.err || got.views.length != 1 || !same(got.views[0]!, r.want)) expect({ cut, got }).toEqual({ cut, got: { views: [r.want], err: 0, errType: 0 } });
    }
  });

  test("one byte at a time", () => {
    expect(run(bytewise(r.bytes)).views).toEqual([r.want]);
  });
});

function same(a: View, b: View): boolean {
  return JSON.stringify(a) == JSON.stringify(b);
}

describe("golden rows together", () => {
  const all = concat(rows.map((r) => r.bytes));
  const want = rows.map((r) => r.want);
  const small = rows.filter((r) => r.bytes.length < 300);
  const smallAll = concat(small.map((r) => r.bytes));
  const smallWant = small.map((r) => r.want);

  test("every row concatenated in one chunk", () => {
    expect(run([all])).toEqual({ views: want, err: Err.Ok, errType: 0 });
  });

  test("every row concatenated, one byte at a time", () => {
    expect(run(bytewise(all)).views).toEqual(want);
  });

  test("the small rows concatenated, split into two chunks at every offset", () => {
    for (let cut = 1; cut < smallAll.length; cut++) {
      const got = run(splitAt(smallAll, [cut]));
      if (got.err || !same({ v: got.views }, { v: smallWant })) expect({ cut, got: got.views }).toEqual({ cut, got: smallWant });
    }
  });

  test("every row concatenated, in 500 random chunkings", () => {
    let seed = 12345;
    for (let k = 0; k < 500; k++) {
      const cuts: number[] = [];
      for (let i = 1; i < all.length; i += 1 + (seed = (seed * 1103515245 + 12345) >>> 0) % (k < 250 ? 40 : 3000)) cuts.push(i);
      const got = run(splitAt(all, cuts));
      if (got.err || !same({ v: got.views }, { v: want })) expect({ k, cuts }).toBe("decoded the same");
    }
  });

  test("topic and payload are views into the input chunk (no copies) when a packet arrives whole", () => {
    const b = fromHex(GOLDEN.find((g) => g.name == "PUBLISH QoS 1")!.hex);
    let seen = 0;
    const d = new Decoder(MAX, ALL, (p) => {
      expect(p.payload.buffer).toBe(b.buffer);
      expect(p.topic.buffer).toBe(b.buffer);
      expect(p.payload.byteOffset).toBe(9);
      seen++;
    });
    expect(d.feed(b)).toBe(Err.Ok);
    expect(seen).toBe(1);
  });
});

function concat(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of list) { out.set(b, o); o += b.length; }
  return out;
}

describe("remaining length boundaries [MQTT-2.2.3], against mqtt-packet", () => {
  // remaining length = 3 (topic "t") + payload length
  test.each([0, 124, 125, 16380, 16381, 2097148, 2097149])("PUBLISH with a %i-byte payload", (n) => {
    const o: PacketInput = { type: T.PUBLISH, topic: "t", payload: pattern(n, 9), qos: 0 };
    const b = new Uint8Array(publishSize("t", o.payload!, 0));
    expect(encodePacket(b, 0, o)).toBe(b.length);
    expect(toHex(b)).toBe(mpGenerate(o));
    const rl = n + 3;
    expect(b.length).toBe(1 + (rl < 128 ? 1 : rl < 16384 ? 2 : rl < 2097152 ? 3 : 4) + rl);
    const big = makeRunner(b.length);
    expect(big([b]).views).toEqual([expected(o)]);
    expect(big(splitAt(b, [1, 2, 3, 4, 5, 1000])).views).toEqual([expected(o)]);
  });
});

// ---------------------------------------------------------------- guard bytes around encode buffers

const GUARD = 8;

/** A buffer of `n` bytes with GUARD sentinel bytes either side, all set to `fill`; `view` is the inner n. */
function guarded(n: number, fill: number): { all: Uint8Array; view: Uint8Array } {
  const all = new Uint8Array(GUARD + n + GUARD).fill(fill);
  return { all, view: all.subarray(GUARD, GUARD + n) };
}

function untouched(b: Uint8Array, fill: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] != fill) return false;
  return true;
}

describe.each(rows)("guard bytes: $name", (r) => {
  const n = r.bytes.length;
  test.each([0xa5, 0x00, 0xff])("exactly the size (guard byte %i): writes the packet and nothing else", (fill) => {
    const g = guarded(n, fill);
    expect(encodePacket(g.view, 0, r.packet)).toBe(n);
    expect(toHex(g.view)).toBe(r.hex);
    expect(untouched(g.all, fill, 0, GUARD) && untouched(g.all, fill, GUARD + n, g.all.length)).toBe(true);
  });

  test.each([0xa5, 0x00])("one byte short (guard byte %i): Err.NoMemory and nothing written", (fill) => {
    const g = guarded(n - 1, fill);
    expect(encodePacket(g.view, 0, r.packet)).toBe(Err.NoMemory);
    expect(untouched(g.all, fill, 0, g.all.length)).toBe(true);
  });

  test("at an offset: writes from there, leaves the bytes before and after alone", () => {
    const off = 5;
    const g = guarded(off + n, 0x5a);
    expect(encodePacket(g.view, off, r.packet)).toBe(n);
    expect(toHex(g.view.subarray(off))).toBe(r.hex);
    expect(untouched(g.all, 0x5a, 0, GUARD + off) && untouched(g.all, 0x5a, GUARD + off + n, g.all.length)).toBe(true);
  });

  test("at an offset, one byte short, past the end, or negative: Err.NoMemory and nothing written", () => {
    for (const [size, off] of [[5 + n - 1, 5], [n, n], [n + 3, n + 4], [n, -1], [0, 0]] as [number, number][]) {
      const g = guarded(size, 0x5a);
      expect(encodePacket(g.view, off, r.packet)).toBe(Err.NoMemory);
      expect(untouched(g.all, 0x5a, 0, g.all.length)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------- encoder argument errors

describe("encoder argument errors: an Err and nothing written", () => {
  const big = guarded(70000, 0xa5);
  const b = big.view;

  function check(n: number, err: Err): void {
    expect(n).toBe(err);
    expect(untouched(big.all, 0xa5, 0, big.all.length)).toBe(true);
  }

  test("[MQTT-3.3.1-4] PUBLISH QoS 3 (and -1, NaN): Err.Qos", () => {
    for (const q of [3, -1, NaN, 4]) check(encodePublish(b, 0, "t", "x", q, false, false, 1), Err.Qos);
  });

  test("[MQTT-2.3.1-1] packet id 0 or over 65535 where one is required: Err.PacketId", () => {
    for (const id of [0, 65536, -1, NaN]) {
      check(encodePublish(b, 0, "t", "x", 1, false, false, id), Err.PacketId);
      check(encodePublish(b, 0, "t", "x", 2, false, false, id), Err.PacketId);
      for (const t of [T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.UNSUBACK]) check(encodeAck(b, 0, t, id), Err.PacketId);
      check(encodeSubscribe(b, 0, id, ["a"], [0]), Err.PacketId);
      check(encodeUnsubscribe(b, 0, id, ["a"]), Err.PacketId);
      check(encodeSuback(b, 0, id, [0]), Err.PacketId);
    }
  });

  test("PUBLISH QoS 0 needs no packet id", () => {
    const g = guarded(8, 0);
    expect(encodePublish(g.view, 0, "t", "x", 0, false, true, 0)).toBe(6);
    expect(toHex(g.view.subarray(0, 6))).toBe("3004000174" + "78");
  });

  test("[MQTT-3.8.3-3] [MQTT-3.10.3-2] SUBSCRIBE, UNSUBSCRIBE, SUBACK without filters or codes: Err.NoFilters", () => {
    check(encodeSubscribe(b, 0, 1, [], []), Err.NoFilters);
    check(encodeUnsubscribe(b, 0, 1, []), Err.NoFilters);
    check(encodeSuback(b, 0, 1, []), Err.NoFilters);
  });

  test("[MQTT-3.9.3-2] SUBACK codes other than 0, 1, 2, 0x80, and CONNACK codes over 5 (Table 3.1): Err.ReturnCode", () => {
    for (const c of [3, 0x7f, 0x81, 255, -1, NaN]) check(encodeSuback(b, 0, 1, [0, c]), Err.ReturnCode);
    for (const c of [6, 255, -1, NaN]) check(encodeConnack(b, 0, false, c), Err.ReturnCode);
  });

  test("[MQTT-3.8.3-4] SUBSCRIBE requested QoS 3, or a filter without a QoS: Err.Qos", () => {
    check(encodeSubscribe(b, 0, 1, ["a", "b"], [0, 3]), Err.Qos);
    check(encodeSubscribe(b, 0, 1, ["a", "b"], [0]), Err.Qos);
  });

  test("[MQTT-3.1.2-22] CONNECT password without user name: Err.PasswordNoUser", () => {
    check(encodeConnect(b, 0, { clientId: "c", password: "p" }), Err.PasswordNoUser);
  });

  test("[MQTT-3.1.2-14] CONNECT will QoS 3: Err.WillFlags", () => {
    check(encodeConnect(b, 0, { clientId: "c", will: { topic: "w", payload: "", qos: 3 } }), Err.WillFlags);
  });

  test("CONNECT keepalive outside 0..65535: Err.Argument", () => {
    for (const ka of [65536, -1, NaN]) check(encodeConnect(b, 0, { clientId: "c", keepalive: ka }), Err.Argument);
  });

  test("unknown packet type: Err.PacketType", () => {
    check(encodePacket(b, 0, { type: 0 as T }), Err.PacketType);
    check(encodePacket(b, 0, { type: 15 as T }), Err.PacketType);
  });

  // [MQTT-1.5.3]: a string is at most 65,535 bytes, counted as UTF-8 (not string.length)
  const long = "\u00e9".repeat(32768); // 65,536 bytes, 32,768 UTF-16 units
  const longest = "\u00e9".repeat(32767) + "x"; // 65,535 bytes
  const bytes = new Uint8Array(65536);
  const strings: [string, (s: string | Uint8Array) => number][] = [
    ["CONNECT client id", (s) => encodeConnect(b, 0, { clientId: s })],
    ["CONNECT will topic", (s) => encodeConnect(b, 0, { clientId: "c", will: { topic: s, payload: "" } })],
    ["CONNECT will payload", (s) => encodeConnect(b, 0, { clientId: "c", will: { topic: "w", payload: s } })],
    ["CONNECT user name", (s) => encodeConnect(b, 0, { clientId: "c", username: s })],
    ["CONNECT password", (s) => encodeConnect(b, 0, { clientId: "c", username: "u", password: s })],
    ["PUBLISH topic", (s) => encodePublish(b, 0, s, "", 0, false, false, 0)],
    ["SUBSCRIBE filter", (s) => encodeSubscribe(b, 0, 1, ["a", s], [0, 1])],
    ["UNSUBSCRIBE filter", (s) => encodeUnsubscribe(b, 0, 1, [s, "a"])],
  ];

  test.each(strings)("%s over 65,535 bytes: Err.TooLarge; 65,535 bytes fits", (_name, enc) => {
    check(enc(long), Err.TooLarge);
    check(enc(bytes), Err.TooLarge);
    const n = enc(longest);
    expect(n).toBeGreaterThan(65535);
    big.all.fill(0xa5);
  });

  test("PUBLISH larger than 268,435,455 remaining bytes [MQTT-2.2.3]: Err.TooLarge from the size and the encoder", () => {
    const fits = { length: MAX_REMAINING - 3 } as unknown as Uint8Array;
    const over = { length: MAX_REMAINING - 2 } as unknown as Uint8Array;
    expect(publishSize("t", fits, 0)).toBe(MAX_REMAINING + 5);
    expect(publishSize("t", over, 0)).toBe(Err.TooLarge);
    check(encodePublish(b, 0, "t", over, 0, false, false, 0), Err.TooLarge);
    check(encodePublish(b, 0, "t", fits, 0, false, false, 0), Err.NoMemory);
  });
});
