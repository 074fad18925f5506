/**
 * The level-5 golden table (test/fixtures/golden5.ts) in both directions, against this codec and against
 * mqtt-packet at `protocolVersion: 5`: encode == bytes, mqtt-packet generate == bytes (or, where a row's `mp`
 * says mqtt-packet writes another valid form, parse equality both ways: each implementation decodes the other's
 * bytes to the same fields), decode == fields, mqtt-packet parse == fields, size functions == encoded length.
 * Every row is decoded split at every offset, one byte at a time, and concatenated with the others. Then the
 * coverage of the table (every packet type, every property identifier, every reason code where it may appear),
 * the reason code table against mqtt-packet's, guard bytes around encode buffers, and encoder argument errors.
 */
import { describe, expect, test } from "vitest";
import { createRequire } from "node:module";
import { Err } from "../lib/errors";
import { Decoder } from "../lib/mqtt/decoder";
import { T } from "../lib/mqtt/types";
import { encodeAck5 } from "../lib/mqtt5/ack";
import { encodeAuth5 } from "../lib/mqtt5/auth";
import { encodeConnack5, encodeConnect5 } from "../lib/mqtt5/connect";
import { encodeDisconnect5 } from "../lib/mqtt5/disconnect";
import { encodePacket5, Packet5Input, packet5SizeOf } from "../lib/mqtt5/encode";
import { ALL5 } from "../lib/mqtt5/parsers";
import { MAX_VBI, propsSize } from "../lib/mqtt5/props";
import { encodePublish5 } from "../lib/mqtt5/publish";
import { reasonForErr, reasonName, reasonValid } from "../lib/mqtt5/reason";
import { encodeSuback5, encodeSubscribe5, encodeUnsuback5, encodeUnsubscribe5 } from "../lib/mqtt5/subscribe";
import { In, Packet5 } from "../lib/mqtt5/types";
import { GOLDEN5 } from "./fixtures/golden5";
import { fromHex, toHex } from "./fixtures/hex";
import { bytewise, splitAt, View } from "./helpers/views";
import { expected5, grouped, makeRunner5, mpGenerate5, mpParse5, PROPS, view5 } from "./helpers/views5";

/** mqtt-packet's constants (reason code tables), a module without type declarations. */
const mpConstants = createRequire(import.meta.url)("mqtt-packet/constants") as unknown;

const MAX = 65536;
const rows = GOLDEN5.map((g) => ({ ...g, bytes: fromHex(g.hex), want: expected5(g.packet) }));
const encodable = rows.filter((r) => !r.decodeOnly);
const run = makeRunner5(MAX);

function encodeHex(o: Packet5Input): string {
  const n = packet5SizeOf(o);
  expect(n).toBeGreaterThan(0);
  const b = new Uint8Array(n);
  expect(encodePacket5(b, 0, o)).toBe(b.length);
  return toHex(b);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) == JSON.stringify(b);
}

describe("golden5 table coverage", () => {
  test("every packet type of MQTT 5, AUTH included, and no reserved type", () => {
    const types = new Set(GOLDEN5.map((g) => g.packet.type as number));
    expect([...types].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  test("every property identifier of Table 2-4 appears, decoded, in a packet it may appear in", () => {
    const seen = new Set<string>();
    const note = (pr: unknown): void => { for (const k of Object.keys((pr ?? {}) as object)) seen.add(k); };
    for (const r of rows) {
      const v = run([r.bytes]).views[0]!;
      note(v["props"]);
      note((v["will"] as View | null)?.["props"]);
    }
    expect([...seen].sort()).toEqual(PROPS.map((p) => p[0] as string).sort());
    expect(PROPS.length).toBe(27);
  });

  test("every reason code of SUBACK and UNSUBACK, and short and long forms of every acknowledgement, DISCONNECT and AUTH", () => {
    const codes = (t: number): number[] => [...new Set(GOLDEN5.filter((g) => g.packet.type == t).flatMap((g) => Array.prototype.slice.call(g.packet.codes ?? []) as number[]))].sort((a, b) => a - b);
    expect(codes(T.SUBACK)).toEqual([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);
    expect(codes(T.UNSUBACK)).toEqual([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);
    for (const t of [T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP]) {
      const lens = new Set(rows.filter((r) => r.packet.type == t).map((r) => r.bytes[1]! < 4 ? r.bytes[1] : 4));
      expect([t, [...lens].sort()]).toEqual([t, [2, 3, 4]]);
    }
    for (const t of [T.DISCONNECT, 15]) {
      const lens = new Set(rows.filter((r) => r.packet.type == t).map((r) => Math.min(r.bytes[1]!, 2)));
      expect([t, [...lens].sort()]).toEqual([t, [0, 1, 2]]);
    }
  });

  test("remaining lengths of 1 and 2 bytes", () => {
    const lens = new Set(rows.map((r) => (r.bytes[1]! < 128 ? 1 : 2)));
    expect([...lens].sort()).toEqual([1, 2]);
  });
});

describe.each(rows)("golden5: $name", (r) => {
  test("this codec decodes the bytes to the fixture's fields", () => {
    expect(run([r.bytes])).toEqual({ views: [r.want], err: Err.Ok, errType: 0 });
  });

  test("mqtt-packet (protocolVersion 5) parses the bytes to the same fields", () => {
    const got = mpParse5(r.bytes);
    if (r.name.startsWith("AUTH with an empty body")) {
      expect(got.error).not.toBe(null); // mqtt-packet refuses it (see the row's mp)
      return;
    }
    expect(got).toEqual({ packets: [grouped(r.want)], error: null });
  });

  test("split into two chunks at every offset, and one byte at a time", () => {
    for (let cut = 1; cut < r.bytes.length; cut++) {
      const got = run(splitAt(r.bytes, [cut]));
      if (got.err || got.views.length != 1 || !same(got.views[0], r.want)) expect({ cut, got }).toEqual({ cut, got: { views: [r.want], err: 0, errType: 0 } });
    }
    expect(run(bytewise(r.bytes)).views).toEqual([r.want]);
  });

  if (r.decodeOnly) return;

  test("this codec encodes exactly the bytes, and the size function agrees", () => {
    expect(encodeHex(r.packet)).toBe(r.hex);
    expect(packet5SizeOf(r.packet)).toBe(r.bytes.length);
  });

  if (!r.mp) {
    test("mqtt-packet generates exactly the same bytes", () => {
      expect(mpGenerate5(r.packet)).toBe(r.hex);
    });
  } else if (r.mpRefuses) {
    test(`mqtt-packet refuses to generate it (${r.mp})`, () => {
      expect(() => mpGenerate5(r.packet)).toThrow();
    });
  } else {
    test(`mqtt-packet writes another valid form (${r.mp}): each decodes the other's bytes to the same fields`, () => {
      const theirs = mpGenerate5(r.packet);
      expect(theirs).not.toBe(r.hex);
      expect(run([fromHex(theirs)]).views.map(grouped)).toEqual([grouped(r.want)]);
      expect(mpParse5(r.bytes)).toEqual({ packets: [grouped(r.want)], error: null });
    });
  }
});

describe("golden5 rows together", () => {
  const all = concat(rows.map((r) => r.bytes));
  const want = rows.map((r) => r.want);

  test("every row concatenated in one chunk", () => {
    expect(run([all])).toEqual({ views: want, err: Err.Ok, errType: 0 });
  });

  test("every row concatenated, one byte at a time", () => {
    expect(run(bytewise(all)).views).toEqual(want);
  });

  test("every row concatenated, split into two chunks at every offset", () => {
    for (let cut = 1; cut < all.length; cut++) {
      const got = run(splitAt(all, [cut]));
      if (got.err || !same(got.views, want)) expect({ cut, got: got.views }).toEqual({ cut, got: want });
    }
  });

  test("every row concatenated, in 300 random chunkings", () => {
    let seed = 54321;
    for (let k = 0; k < 300; k++) {
      const cuts: number[] = [];
      for (let i = 1; i < all.length; i += 1 + (seed = (seed * 1103515245 + 12345) >>> 0) % (k < 150 ? 20 : 400)) cuts.push(i);
      const got = run(splitAt(all, cuts));
      if (got.err || !same(got.views, want)) expect({ k, cuts }).toBe("decoded the same");
    }
  });

  test("property strings, topic and payload are views into the input chunk (no copies)", () => {
    const b = fromHex(GOLDEN5.find((g) => g.name.startsWith("PUBLISH QoS 1 with every"))!.hex);
    let seen = 0;
    const d = new Decoder(MAX, ALL5, (x) => {
      const p = x as Packet5;
      for (const v of [p.topic, p.payload, p.props.contentType!, p.props.correlationData!, p.props.userProps[0]!]) expect(v.buffer).toBe(b.buffer);
      seen++;
    });
    expect(d.feed(b)).toBe(Err.Ok);
    expect(seen).toBe(1);
  });

  test("the packet record's property record and lists are made once and reused; absent properties are cleared", () => {
    const views: View[] = [];
    const records: unknown[] = [];
    const d = new Decoder(MAX, ALL5, (x) => {
      const p = x as Packet5;
      records.push(p.props, p.props.userProps, p.props.subIds);
      views.push(view5(p));
    });
    const full = GOLDEN5.find((g) => g.name.startsWith("PUBLISH QoS 1 with every"))!;
    const bare = GOLDEN5.find((g) => g.name == "PUBLISH QoS 0, no properties")!;
    expect(d.feed(fromHex(full.hex + bare.hex + full.hex))).toBe(Err.Ok);
    expect(views).toEqual([expected5(full.packet), expected5(bare.packet), expected5(full.packet)]);
    expect(records[3]).toBe(records[0]);
    expect(records[4]).toBe(records[1]);
    expect(records[8]).toBe(records[2]);
  });
});

function concat(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of list) { out.set(b, o); o += b.length; }
  return out;
}

// ---------------------------------------------------------------- reason codes (Table 2-6)

describe("reason codes (§2.4, Table 2-6)", () => {
  const mpc = mpConstants as unknown as Record<string, Record<number, string>>;
  const tables: [string, number[], Record<number, string>][] = [
    ["[MQTT-3.4.2-1] PUBACK", [T.PUBACK], mpc["MQTT5_PUBACK_PUBREC_CODES"]!],
    ["[MQTT-3.5.2-1] PUBREC", [T.PUBREC], mpc["MQTT5_PUBACK_PUBREC_CODES"]!],
    ["[MQTT-3.6.2-1] [MQTT-3.7.2-1] PUBREL, PUBCOMP", [T.PUBREL, T.PUBCOMP], mpc["MQTT5_PUBREL_PUBCOMP_CODES"]!],
    ["[MQTT-3.9.3-2] SUBACK", [T.SUBACK], mpc["MQTT5_SUBACK_CODES"]!],
    ["[MQTT-3.11.3-2] UNSUBACK", [T.UNSUBACK], mpc["MQTT5_UNSUBACK_CODES"]!],
    ["[MQTT-3.14.2-1] DISCONNECT", [T.DISCONNECT], mpc["MQTT5_DISCONNECT_CODES"]!],
    ["[MQTT-3.15.2-1] AUTH", [15], mpc["MQTT5_AUTH_CODES"]!],
  ];

  test.each(tables)("%s: exactly the codes of mqtt-packet's table, with the same names", (_n, types, table) => {
    for (const t of types) {
      const ours: number[] = [];
      for (let c = 0; c < 256; c++) if (reasonValid(t, c)) ours.push(c);
      expect(ours).toEqual(Object.keys(table).map(Number).sort((a, b) => a - b));
      for (const c of ours) expect(reasonName(c, t).toLowerCase()).toBe(table[c]!.toLowerCase());
    }
  });

  test("[MQTT-3.2.2-8] CONNACK: the 22 Connect Reason Codes of §3.2.2.2", () => {
    const ours: number[] = [];
    for (let c = 0; c < 256; c++) if (reasonValid(T.CONNACK, c)) ours.push(c);
    expect(ours).toEqual([0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f]);
  });

  test("no reason code in CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, PINGRESP", () => {
    for (const t of [T.CONNECT, T.PUBLISH, T.SUBSCRIBE, T.UNSUBSCRIBE, T.PINGREQ, T.PINGRESP]) for (let c = 0; c < 256; c++) expect(reasonValid(t, c)).toBe(false);
  });

  test("names: 0 by packet, unknown codes", () => {
    expect(reasonName(0)).toBe("Success");
    expect(reasonName(0, T.DISCONNECT)).toBe("Normal disconnection");
    expect(reasonName(0, T.SUBACK)).toBe("Granted QoS 0");
    expect(reasonName(0x9c)).toBe("Use another server");
    expect(reasonName(0x03)).toBe("Reason(3)");
  });

  test("§4.13 the reason code for a decoder error: Malformed Packet, Protocol Error, Packet too large, Unsupported Protocol Version", () => {
    expect(reasonForErr(Err.Length)).toBe(0x81);
    expect(reasonForErr(Err.ReservedFlag)).toBe(0x81);
    expect(reasonForErr(Err.Protocol)).toBe(0x82);
    expect(reasonForErr(Err.Range)).toBe(0x82);
    expect(reasonForErr(Err.TooLarge)).toBe(0x95);
    expect(reasonForErr(Err.ProtocolLevel)).toBe(0x84);
  });
});

// ---------------------------------------------------------------- guard bytes around encode buffers

const GUARD = 8;

function guarded(n: number, fill: number): { all: Uint8Array; view: Uint8Array } {
  const all = new Uint8Array(GUARD + n + GUARD).fill(fill);
  return { all, view: all.subarray(GUARD, GUARD + n) };
}

function untouched(b: Uint8Array, fill: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] != fill) return false;
  return true;
}

describe.each(encodable)("guard bytes: $name", (r) => {
  const n = r.bytes.length;
  test("exactly the size: writes the packet and nothing else; one byte short or at a bad offset: Err.NoMemory, nothing written", () => {
    for (const fill of [0xa5, 0x00]) {
      const g = guarded(n, fill);
      expect(encodePacket5(g.view, 0, r.packet)).toBe(n);
      expect(toHex(g.view)).toBe(r.hex);
      expect(untouched(g.all, fill, 0, GUARD) && untouched(g.all, fill, GUARD + n, g.all.length)).toBe(true);
    }
    for (const [size, off] of [[n - 1, 0], [5 + n - 1, 5], [n, n], [n, -1], [0, 0]] as [number, number][]) {
      const g = guarded(size, 0x5a);
      expect(encodePacket5(g.view, off, r.packet)).toBe(Err.NoMemory);
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

  test("§2.2.2.2 a property not valid for the packet: Err.ReservedFlag", () => {
    check(encodeConnect5(b, 0, { clientId: "c", props: { topicAlias: 1 } }), Err.ReservedFlag);
    check(encodeConnect5(b, 0, { clientId: "c", props: { willDelay: 1 } }), Err.ReservedFlag);
    check(encodeConnect5(b, 0, { clientId: "c", will: { topic: "w", payload: "", props: { sessionExpiry: 1 } } }), Err.ReservedFlag);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { reasonString: "r" }), Err.ReservedFlag);
    check(encodeAck5(b, 0, T.PUBACK, 1, 0, { sessionExpiry: 1 }), Err.ReservedFlag);
    check(encodeConnack5(b, 0, false, 0, { topicAlias: 1 }), Err.ReservedFlag);
    check(encodeDisconnect5(b, 0, 0, { authMethod: "x" }), Err.ReservedFlag);
    check(encodeAuth5(b, 0, 0x18, { sessionExpiry: 1 }), Err.ReservedFlag);
    check(encodeUnsubscribe5(b, 0, 1, ["a"], { subIds: [1] }), Err.ReservedFlag);
  });

  test("property values the spec does not allow: Err.Range", () => {
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { payloadFormat: 2 }), Err.Range);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { topicAlias: 0 }), Err.Range); // [MQTT-3.3.2-8]
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { topicAlias: 65536 }), Err.Range);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { messageExpiry: 4294967296 }), Err.Range);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { messageExpiry: 1.5 }), Err.Range);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { subIds: [0] }), Err.Range);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { subIds: [MAX_VBI + 1] }), Err.Range);
    check(encodeConnack5(b, 0, false, 0, { maxQos: 2 }), Err.Range);
    check(encodeConnack5(b, 0, false, 0, { receiveMax: 0 }), Err.Range);
    check(encodeConnect5(b, 0, { clientId: "c", props: { maxPacketSize: 0 } }), Err.Range);
    check(encodeConnect5(b, 0, { clientId: "c", props: { requestProblemInfo: 2 } }), Err.Range);
    check(encodeConnect5(b, 0, { clientId: "c", props: { sessionExpiry: NaN } }), Err.Range);
  });

  test("§3.8.2.1.2 two Subscription Identifiers in a SUBSCRIBE: Err.Protocol", () => {
    check(encodeSubscribe5(b, 0, 1, ["a"], [0], { subIds: [1, 2] }), Err.Protocol);
  });

  test("user properties with an odd count, a string property that is not bytes: Err.Argument", () => {
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { userProps: ["a"] }), Err.Argument);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { contentType: 5 as unknown as string }), Err.Argument);
  });

  test("reason codes a packet may not carry: Err.ReturnCode", () => {
    check(encodeConnack5(b, 0, false, 0x05), Err.ReturnCode); // [MQTT-3.2.2-8]
    check(encodeAck5(b, 0, T.PUBACK, 1, 0x92), Err.ReturnCode); // [MQTT-3.4.2-1]
    check(encodeAck5(b, 0, T.PUBREL, 1, 0x10), Err.ReturnCode); // [MQTT-3.6.2-1]
    check(encodeSuback5(b, 0, 1, [0, 0x11]), Err.ReturnCode); // [MQTT-3.9.3-2]
    check(encodeUnsuback5(b, 0, 1, [0x01]), Err.ReturnCode); // [MQTT-3.11.3-2]
    check(encodeDisconnect5(b, 0, 0x18), Err.ReturnCode); // [MQTT-3.14.2-1]
    check(encodeAuth5(b, 0, 0x04), Err.ReturnCode); // [MQTT-3.15.2-1]
  });

  test("subscription options: QoS 3 Err.Qos, reserved bits Err.ReservedFlag [MQTT-3.8.3-5], Retain Handling 3 Err.Range", () => {
    check(encodeSubscribe5(b, 0, 1, ["a"], [3]), Err.Qos);
    check(encodeSubscribe5(b, 0, 1, ["a", "b"], [0]), Err.Qos);
    check(encodeSubscribe5(b, 0, 1, ["a"], [0x40]), Err.ReservedFlag);
    check(encodeSubscribe5(b, 0, 1, ["a"], [0x80]), Err.ReservedFlag);
    check(encodeSubscribe5(b, 0, 1, ["a"], [0x30]), Err.Range);
  });

  test("packet identifiers, filters, QoS, will QoS, keepalive, packet type", () => {
    check(encodeAck5(b, 0, T.PUBACK, 0, 0), Err.PacketId);
    check(encodeAck5(b, 0, T.SUBACK, 1, 0), Err.PacketType);
    check(encodePublish5(b, 0, "t", "", 1, false, false, 0), Err.PacketId);
    check(encodePublish5(b, 0, "t", "", 3, false, false, 1), Err.Qos);
    check(encodeSubscribe5(b, 0, 1, [], []), Err.NoFilters);
    check(encodeUnsubscribe5(b, 0, 0, ["a"]), Err.PacketId);
    check(encodeSuback5(b, 0, 1, []), Err.NoFilters);
    check(encodeConnect5(b, 0, { clientId: "c", will: { topic: "w", payload: "", qos: 3 } }), Err.WillFlags);
    check(encodeConnect5(b, 0, { clientId: "c", keepalive: 65536 }), Err.Argument);
    check(encodePacket5(b, 0, { type: 0 as T }), Err.PacketType);
  });

  test("a string property over 65,535 bytes: Err.TooLarge", () => {
    const long = new Uint8Array(65536);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { correlationData: long }), Err.TooLarge);
    check(encodePublish5(b, 0, "t", "", 0, false, false, 0, { userProps: ["a", long] }), Err.TooLarge);
  });

  test("propsSize: Property Length included; a packet without properties has Property Length 0 [MQTT-2.2.2-1]", () => {
    expect(propsSize(undefined, In.PUBLISH)).toBe(1);
    expect(propsSize({}, In.PUBLISH)).toBe(1);
    expect(propsSize({ userProps: [], subIds: [] }, In.CONNACK)).toBe(1);
    expect(propsSize({ topicAlias: 1 }, In.PUBLISH)).toBe(4);
    expect(propsSize({ topicAlias: 1 }, In.CONNECT)).toBe(Err.ReservedFlag);
  });
});
