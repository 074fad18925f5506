/**
 * Malformed packets (test/fixtures/invalid.ts): each gives exactly its error and packet type, whole and split
 * at every offset; after an error the decoder refuses input until reset() [MQTT-4.8.0-1]; the client and server
 * parser tables refuse the packets their side never receives; the maximum packet size is enforced before the
 * body is buffered. Last, where mqtt-packet accepts what the spec forbids, the difference is written down.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { errName } from "../lib/errname";
import { Decoder } from "../lib/mqtt/decoder";
import { ALL, CLIENT, SERVER } from "../lib/mqtt/parsers";
import { Packet, Parser, T } from "../lib/mqtt/types";
import { GOLDEN } from "./fixtures/golden";
import { fromHex } from "./fixtures/hex";
import { INVALID } from "./fixtures/invalid";
import { bytewise, makeRunner, mpParse, splitAt } from "./helpers/views";

const MAX = 1024;
const rows = INVALID.map((r) => ({ name: r.name, err: r.err, type: r.type, max: r.max ?? MAX, bytes: fromHex(r.hex) }));
const VALID = fromHex("c000"); // PINGREQ

describe("invalid table", () => {
  test("names are unique and each starts with a spec ID", () => {
    expect(new Set(INVALID.map((r) => r.name)).size).toBe(INVALID.length);
    for (const r of INVALID) expect(r.name).toMatch(/^(\[MQTT-\d+(\.\d+)*(-\d+)?\]|§\d+(\.\d+)*) /);
  });

  test("every codec error of lib/errors.ts appears", () => {
    const errs = new Set(INVALID.map((r) => errName(r.err)));
    const codec = [
      "TooLarge", "RemainingLength", "PacketType", "HeaderFlags", "Qos", "ProtocolName", "ProtocolLevel", "ReservedFlag",
      "WillFlags", "PasswordNoUser", "Utf8", "TopicWildcard", "EmptyTopic", "FilterWildcard", "PacketId", "NoFilters",
      "Length", "ReturnCode", "DupQos0", "SessionPresent",
    ];
    expect([...errs].sort()).toEqual(codec.sort());
  });
});

describe.each(rows)("$name", (r) => {
  const want = { err: r.err, type: r.type, packets: 0 };

  function feedAll(chunks: Uint8Array[]): { err: Err; type: number; packets: number; d: Decoder; count: () => number } {
    let packets = 0;
    const d = new Decoder(r.max, ALL, () => { packets++; });
    let err: Err = Err.Ok;
    for (const c of chunks) err = d.feed(c);
    expect(d.err_).toBe(err);
    return { err, type: d.errType_, packets, d, count: () => packets };
  }

  test(`whole: ${errName(r.err)}, type ${r.type}`, () => {
    const got = feedAll([r.bytes]);
    expect({ err: got.err, type: got.type, packets: got.packets }).toEqual(want);
  });

  test("split into two chunks at every offset, and one byte at a time", () => {
    for (let cut = 1; cut < r.bytes.length; cut++) {
      const got = feedAll(splitAt(r.bytes, [cut]));
      expect({ cut, err: got.err, type: got.type, packets: got.packets }).toEqual({ cut, ...want });
    }
    const got = feedAll(bytewise(r.bytes));
    expect({ err: got.err, type: got.type, packets: got.packets }).toEqual(want);
  });

  test("[MQTT-4.8.0-1] after the error the decoder refuses even a valid packet, until reset()", () => {
    const got = feedAll([r.bytes]);
    expect(got.d.feed(VALID)).toBe(r.err);
    expect(got.d.feed(r.bytes)).toBe(r.err);
    expect({ err: got.d.err_, type: got.d.errType_, packets: got.count() }).toEqual(want);
    got.d.reset();
    expect(got.d.err_).toBe(Err.Ok);
    expect(got.d.errType_).toBe(0);
    if (r.max >= 2) {
      expect(got.d.feed(VALID)).toBe(Err.Ok);
      expect(got.count()).toBe(1);
    }
  });

  test("a valid packet before it is still delivered; the error stops the rest of the chunk", () => {
    if (r.max < 2) return;
    const b = new Uint8Array(2 + r.bytes.length + 2);
    b.set(VALID, 0); b.set(r.bytes, 2); b.set(VALID, 2 + r.bytes.length);
    const got = feedAll([b]);
    expect({ err: got.err, type: got.type, packets: got.packets }).toEqual({ ...want, packets: 1 });
  });
});

describe("errors after reset, and the owner's fail()", () => {
  test("reset() in the middle of a packet forgets it", () => {
    const got: number[] = [];
    const d = new Decoder(MAX, ALL, (p) => { got.push(p.type); });
    expect(d.feed(fromHex("3205000174"))).toBe(Err.Ok); // PUBLISH missing its last 2 bytes
    d.reset();
    expect(d.feed(fromHex("c000e000"))).toBe(Err.Ok);
    expect(got).toEqual([T.PINGREQ, T.DISCONNECT]);
  });

  test("[MQTT-3.1.0-2] fail() from the callback (a second CONNECT) stops the rest of the chunk", () => {
    let n = 0;
    const d: Decoder = new Decoder(MAX, ALL, () => { if (++n == 2) d.fail(Err.Protocol, T.CONNECT); });
    const c = GOLDEN[0]!.hex;
    expect(d.feed(fromHex(c + c + "c000"))).toBe(Err.Protocol);
    expect(n).toBe(2);
    expect(d.errType_).toBe(T.CONNECT);
    expect(d.fail(Err.Timeout, 0)).toBe(Err.Timeout);
    expect(d.err_).toBe(Err.Protocol); // the first error stays
  });
});

// ---------------------------------------------------------------- parser tables (§2.2.1, Table 2.1 direction of flow)

function goldenOf(t: T): Uint8Array {
  return fromHex(GOLDEN.find((g) => g.packet.type == t)!.hex);
}

function decodeOne(parsers: ArrayLike<Parser | 0>, b: Uint8Array): { err: Err; type: number; packets: number } {
  let packets = 0;
  const d = new Decoder(MAX, parsers, () => { packets++; });
  const err = d.feed(b);
  return { err, type: d.errType_, packets };
}

const SERVER_TO_CLIENT = [T.CONNACK, T.PUBLISH, T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.SUBACK, T.UNSUBACK, T.PINGRESP];
const CLIENT_TO_SERVER = [T.CONNECT, T.PUBLISH, T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.SUBSCRIBE, T.UNSUBSCRIBE, T.PINGREQ, T.DISCONNECT];

describe("parser tables", () => {
  const types = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as T[];

  test.each(types)("CLIENT table, packet type %i: accepted only if a server sends it", (t) => {
    const want = SERVER_TO_CLIENT.includes(t) ? { err: Err.Ok, type: 0, packets: 1 } : { err: Err.PacketType, type: t, packets: 0 };
    expect(decodeOne(CLIENT, goldenOf(t))).toEqual(want);
  });

  test.each(types)("SERVER table, packet type %i: accepted only if a client sends it", (t) => {
    const want = CLIENT_TO_SERVER.includes(t) ? { err: Err.Ok, type: 0, packets: 1 } : { err: Err.PacketType, type: t, packets: 0 };
    expect(decodeOne(SERVER, goldenOf(t))).toEqual(want);
  });

  test("a client refuses CONNECT, SUBSCRIBE and PINGREQ at the first byte", () => {
    for (const t of [T.CONNECT, T.SUBSCRIBE, T.PINGREQ]) expect(decodeOne(CLIENT, goldenOf(t).subarray(0, 1))).toEqual({ err: Err.PacketType, type: t, packets: 0 });
  });

  test("a server refuses CONNACK, SUBACK and PINGRESP at the first byte", () => {
    for (const t of [T.CONNACK, T.SUBACK, T.PINGRESP]) expect(decodeOne(SERVER, goldenOf(t).subarray(0, 1))).toEqual({ err: Err.PacketType, type: t, packets: 0 });
  });

  test("every table refuses the reserved types 0 and 15", () => {
    for (const tbl of [CLIENT, SERVER, ALL]) {
      expect(decodeOne(tbl, fromHex("00"))).toEqual({ err: Err.PacketType, type: 0, packets: 0 });
      expect(decodeOne(tbl, fromHex("f0"))).toEqual({ err: Err.PacketType, type: 15, packets: 0 });
    }
  });
});

// ---------------------------------------------------------------- maximum packet size, before buffering

describe("maximum packet size (§2.2.3), enforced before buffering", () => {
  test("a header announcing a huge body fails at once, without the body", () => {
    const d = new Decoder(4096, ALL, () => { throw new Error("no packet expected"); });
    expect(d.feed(fromHex("30"))).toBe(Err.Ok);
    expect(d.feed(fromHex("ffff"))).toBe(Err.Ok);
    expect(d.feed(fromHex("ff7f"))).toBe(Err.TooLarge);
    expect(d.errType_).toBe(T.PUBLISH);
  });

  test("the limit counts the whole packet: max fits, max + 1 does not", () => {
    const g = GOLDEN.find((x) => x.name.startsWith("PUBLISH 200-byte"))!;
    const b = fromHex(g.hex);
    const fit = makeRunner(b.length);
    expect(fit([b]).views.length).toBe(1);
    expect(fit(splitAt(b, [1, 2, 3, 100])).views.length).toBe(1);
    const over = makeRunner(b.length - 1);
    expect(over([b.subarray(0, 3)])).toEqual({ views: [], err: Err.TooLarge, errType: T.PUBLISH });
  });

  test("the decoder's buffer is allocated once, max - 2 bytes, and never replaced", () => {
    const d = new Decoder(300, ALL, () => {});
    const buf = (d as unknown as { buf: Uint8Array }).buf;
    expect(buf.length).toBe(298);
    const b = fromHex(GOLDEN.find((x) => x.name.startsWith("PUBLISH 200-byte"))!.hex);
    for (let cut = 1; cut < b.length; cut++) {
      expect(d.feed(b.subarray(0, cut))).toBe(Err.Ok);
      expect(d.feed(b.subarray(cut))).toBe(Err.Ok);
    }
    expect((d as unknown as { buf: Uint8Array }).buf).toBe(buf);
  });

  test("a decoder of max 2 takes the 2-byte packets", () => {
    const got: Packet["type"][] = [];
    const d = new Decoder(2, ALL, (p) => { got.push(p.type); });
    expect(d.feed(fromHex("c000d000e000"))).toBe(Err.Ok);
    expect(got).toEqual([T.PINGREQ, T.PINGRESP, T.DISCONNECT]);
    expect(d.feed(fromHex("4002"))).toBe(Err.TooLarge);
  });
});

describe("what 3.1.1 allows and a stricter decoder might refuse", () => {
  test("§2.2.3 a remaining length in more bytes than needed (c0 80 00) is accepted: only MQTT 5 forbids it [MQTT-1.5.5-1]", () => {
    const run = makeRunner(MAX);
    expect(run([fromHex("c08000")])).toEqual({ views: [{ type: T.PINGREQ }], err: Err.Ok, errType: 0 });
    expect(run([fromHex("40828000" + "0007")])).toEqual({ views: [{ type: T.PUBACK, id: 7 }], err: Err.Ok, errType: 0 });
  });

  test("[MQTT-3.1.3-7] [MQTT-3.1.3-8] an empty client id without a clean session decodes: the server answers CONNACK 2", () => {
    const run = makeRunner(MAX);
    const got = run([fromHex("100c00044d5154540400003c0000")]);
    expect(got.err).toBe(Err.Ok);
    expect(got.views[0]).toMatchObject({ type: T.CONNECT, clientId: "", clean: false });
  });
});

// ---------------------------------------------------------------- where mqtt-packet differs from the spec

/**
 * mqtt-packet 9 (parsing as protocol level 4) accepts these malformed packets, which the spec forbids; this
 * codec follows the spec and refuses them. Listed by the spec ID (or section) at the start of the row name.
 * The list is checked, so a change in either implementation shows up here.
 */
const MQTT_PACKET_ACCEPTS = [
  "[MQTT-1.5.3-1]", // ill-formed UTF-8 in strings: decoded with U+FFFD replacements
  "[MQTT-1.5.3-2]", // U+0000 in strings
  "[MQTT-2.3.1-1]", // packet identifier 0
  "[MQTT-3.1.2-2]", // protocol level 3 (MQTT 3.1, also under the name "MQTT"); level 5 it parses as MQTT 5
  "[MQTT-3.1.2-11]", // will fields present with the will flag 0 (read as trailing bytes, ignored)
  "[MQTT-3.1.2-14]", // will QoS 3
  "[MQTT-3.1.2-18]", // a user name or password present without its flag (trailing bytes)
  "[MQTT-3.1.2-20]",
  "[MQTT-3.1.2-22]", // password without user name
  "[MQTT-3.2.2-4]", // session present with a non-zero return code
  "[MQTT-3.3.1-2]", // DUP on QoS 0
  "[MQTT-3.3.2-2]", // wildcards in a PUBLISH topic or will topic
  "[MQTT-3.8.3-3]", // SUBSCRIBE without filters
  "[MQTT-3.10.3-2]", // UNSUBSCRIBE without filters
  "[MQTT-4.7.1-2]", // misplaced '#'
  "[MQTT-4.7.1-3]", // misplaced '+'
  "[MQTT-4.7.3-1]", // empty topic or filter
  "§2.2.3", // no maximum packet size
  "§3.1.3", // trailing bytes after the CONNECT payload
  "§3.2.1", // CONNACK of the wrong length
  "§3.2.2.3", // CONNACK return code over 5
  "§3.3.2.2", // PUBLISH QoS 1 or 2 without a whole packet identifier
  "§3.4.1", // acknowledgements of the wrong length
  "§3.5.1",
  "§3.6.1",
  "§3.7.1",
  "§3.9.2", // SUBACK too short for its packet identifier
  "§3.9.3", // SUBACK without return codes
  "§3.12.1", // PINGREQ, PINGRESP, DISCONNECT with a body
  "§3.13.1",
  "§3.14.1",
];

describe("mqtt-packet compared", () => {
  test("the spec rules mqtt-packet does not enforce are exactly the documented ones", () => {
    const accepted = new Set<string>();
    for (const r of INVALID) {
      const got = mpParse(fromHex(r.hex));
      if (!got.error) accepted.add(r.name.split(" ")[0]!);
    }
    expect([...accepted].sort()).toEqual([...MQTT_PACKET_ACCEPTS].sort());
  });
});
