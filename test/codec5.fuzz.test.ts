/**
 * Property tests and a decoder fuzz of the level-5 codec with fast-check, as codec.fuzz.test.ts does for level 4.
 *
 * (a) Round trip: arbitrary valid level-5 packets of every type, with arbitrary properties valid for the packet
 *     (and the will), encode, then decode to the same fields with this codec and with mqtt-packet
 *     (protocolVersion 5).
 * (b) Decoder fuzz: random bytes, mutated golden5 and invalid5 rows and mutated generated packets, whole and in
 *     random chunkings, into decoders with the level-5 tables (ALL5, CLIENT5, SERVER5) of several maximum sizes.
 *     The only outcomes are packets or a clean codec Err: no throw, the same outcome for every chunking. Every
 *     accepted packet re-encodes (the encoder takes the decoded record as it is) and decodes again to the same
 *     fields.
 *
 * Fixed seed (FUZZ_SEED) and size (FUZZ_RUNS: decoder inputs, default 30,000).
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { errName } from "../lib/errname";
import { Decoder } from "../lib/mqtt/decoder";
import { Packet, Parser, T } from "../lib/mqtt/types";
import { encodePacket5, Packet5Input, packet5SizeOf } from "../lib/mqtt5/encode";
import { ALL5, CLIENT5, SERVER5 } from "../lib/mqtt5/parsers";
import { MAX_VBI } from "../lib/mqtt5/props";
import { reasonValid } from "../lib/mqtt5/reason";
import { Packet5, Props } from "../lib/mqtt5/types";
import { GOLDEN5 } from "./fixtures/golden5";
import { fromHex } from "./fixtures/hex";
import { INVALID5 } from "./fixtures/invalid5";
import { View } from "./helpers/views";
import { expected5, grouped, mpParse5, view5 } from "./helpers/views5";

const SEED = Number(process.env.FUZZ_SEED ?? 0x6d717435);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30000);
const ROUND_TRIPS = Math.max(200, Math.round(RUNS / 60));
const started = Date.now();
let inputs = 0;
let accepted = 0;
const outcomes: Record<string, number> = {};

afterAll(() => {
  const errs = Object.entries(outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => k + " " + n).join(", ");
  console.log(`codec5 fuzz: ${inputs} decoder inputs (${accepted} packets accepted, re-encoded and decoded again; ends: ${errs}), ` +
    `${ROUND_TRIPS} round trips per type, seed ${SEED}, ${Date.now() - started} ms`);
});

// ---------------------------------------------------------------- arbitraries for valid packets

const AUTH = 15 as T;
const noWild = (s: string): string => s.replace(/[+#\0]/g, "_");
const char = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("a", "b", "z", "0", "/", " ", "-") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
const text = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: char, minLength: min, maxLength: max }).map(noWild);
const topicName = text(1, 16);
const level = fc.oneof(fc.constant("+"), text(0, 6).map((s) => s.replace(/\//g, "_")));
const filter = fc.tuple(fc.array(level, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([ls, hash]) => (hash ? ls.concat(["#"]) : ls).join("/"))
  .map((f) => (f == "" || f.startsWith("$share/") ? "a" : f));
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const qos = fc.constantFrom(0, 1, 2);
const id = fc.integer({ min: 1, max: 65535 });
const bit = fc.constantFrom(0, 1);
const u16 = fc.integer({ min: 0, max: 65535 });
const u32 = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(4294967295), fc.integer({ min: 0, max: 4294967295 }));
// values not empty: mqtt-packet's parser drops a repeated name's earlier value when that value is "" (it tests
// the value's truthiness to see whether the name was there); this codec keeps both (golden5 checks a repeat)
const pairs = fc.array(fc.tuple(fc.oneof(text(0, 6), fc.constantFrom("k", "trace")), text(1, 8)), { minLength: 1, maxLength: 4 }).map((l) => l.flat());
const subId = fc.oneof(fc.integer({ min: 1, max: 127 }), fc.integer({ min: 1, max: MAX_VBI }));

/** A value arbitrary per property. */
const VALUES: { [k: string]: fc.Arbitrary<unknown> } = {
  payloadFormat: bit, messageExpiry: u32, contentType: text(0, 12), responseTopic: topicName, correlationData: bytes(12),
  subIds: fc.array(subId, { minLength: 1, maxLength: 3 }), sessionExpiry: u32, assignedClientId: text(0, 12),
  serverKeepAlive: u16, authMethod: text(0, 10), authData: bytes(10), requestProblemInfo: bit, willDelay: u32,
  requestResponseInfo: bit, responseInfo: text(0, 8), serverReference: text(0, 8), reasonString: text(0, 16),
  receiveMax: fc.integer({ min: 1, max: 65535 }), topicAliasMax: u16, topicAlias: fc.integer({ min: 1, max: 65535 }),
  maxQos: bit, retainAvailable: bit, userProps: pairs, maxPacketSize: fc.integer({ min: 1, max: 4294967295 }),
  wildcardAvailable: bit, subIdAvailable: bit, sharedAvailable: bit,
};

/** Optional properties among `names` (Table 2-4). */
function props(names: string[], subIdsOne = false): fc.Arbitrary<Props> {
  const model: { [k: string]: fc.Arbitrary<unknown> } = {};
  for (const n of names) model[n] = n == "subIds" && subIdsOne ? subId.map((v) => [v]) : VALUES[n]!;
  return fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Props>;
}

const REASON_ONLY = ["reasonString", "userProps"];
const IN: { [t: number]: string[] } = {
  [T.CONNECT]: ["sessionExpiry", "receiveMax", "maxPacketSize", "topicAliasMax", "requestResponseInfo", "requestProblemInfo", "userProps", "authMethod", "authData"],
  [T.CONNACK]: ["sessionExpiry", "receiveMax", "maxQos", "retainAvailable", "maxPacketSize", "assignedClientId", "topicAliasMax", "reasonString", "userProps",
    "wildcardAvailable", "subIdAvailable", "sharedAvailable", "serverKeepAlive", "responseInfo", "serverReference", "authMethod", "authData"],
  [T.PUBLISH]: ["payloadFormat", "messageExpiry", "topicAlias", "responseTopic", "correlationData", "userProps", "subIds", "contentType"],
  [T.DISCONNECT]: ["sessionExpiry", "reasonString", "userProps", "serverReference"],
  [AUTH]: ["authMethod", "authData", "reasonString", "userProps"],
};
const WILL = ["willDelay", "payloadFormat", "messageExpiry", "contentType", "responseTopic", "correlationData", "userProps"];

function codesOf(t: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < 256; c++) if (reasonValid(t, c)) out.push(c);
  return out;
}
const code = (t: number): fc.Arbitrary<number> => fc.constantFrom(...codesOf(t));

const connectArb: fc.Arbitrary<Packet5Input> = fc.record({
  clientId: text(0, 23), clean: fc.boolean(), keepalive: u16, username: fc.option(text(0, 12), { nil: undefined }),
  password: fc.option(fc.oneof(bytes(12), text(0, 12)), { nil: undefined }), props: props(IN[T.CONNECT]!),
  will: fc.option(fc.record({ topic: topicName, payload: fc.oneof(bytes(20), text(0, 10)), qos, retain: fc.boolean(), props: props(WILL) }), { nil: undefined }),
}).map((r) => ({ type: T.CONNECT, ...r }));

const publishArb: fc.Arbitrary<Packet5Input> = fc.record({
  topic: topicName, payload: fc.oneof(bytes(40), text(0, 20), bytes(400)), qos, retain: fc.boolean(), dup: fc.boolean(), id,
  props: props(IN[T.PUBLISH]!), alias: fc.boolean(),
}).map((r) => ({
  type: T.PUBLISH, topic: r.alias && r.props.topicAlias ? "" : r.topic, payload: r.payload, qos: r.qos, retain: r.retain, dup: r.dup, id: r.id, props: r.props,
}));

const optsArb = fc.record({ q: qos, nl: fc.boolean(), rap: fc.boolean(), rh: fc.constantFrom(0, 1, 2) }).map((o) => o.q | (o.nl ? 4 : 0) | (o.rap ? 8 : 0) | o.rh << 4);

const ARBS: [string, fc.Arbitrary<Packet5Input>][] = [
  ["CONNECT", connectArb],
  ["CONNACK", fc.record({ sessionPresent: fc.boolean(), code: code(T.CONNACK), props: props(IN[T.CONNACK]!) }).map((r) => ({ type: T.CONNACK, ...r }))],
  ["PUBLISH", publishArb],
  ...[T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP].map((t): [string, fc.Arbitrary<Packet5Input>] =>
    ["type " + t, fc.record({ id, code: code(t), props: fc.option(props(REASON_ONLY), { nil: undefined }) }).map((r) => ({ type: t, ...r }))]),
  ["SUBSCRIBE", fc.record({ id, subs: fc.array(fc.tuple(filter, optsArb), { minLength: 1, maxLength: 5 }), props: props(["subIds", "userProps"], true) })
    .map((r) => ({ type: T.SUBSCRIBE, id: r.id, filters: r.subs.map((s) => s[0]), opts: r.subs.map((s) => s[1]), props: r.props }))],
  ...[T.SUBACK, T.UNSUBACK].map((t): [string, fc.Arbitrary<Packet5Input>] =>
    ["type " + t, fc.record({ id, codes: fc.array(code(t), { minLength: 1, maxLength: 8 }), props: props(REASON_ONLY) }).map((r) => ({ type: t, ...r }))]),
  ["UNSUBSCRIBE", fc.record({ id, filters: fc.array(filter, { minLength: 1, maxLength: 5 }), props: props(["userProps"]) }).map((r) => ({ type: T.UNSUBSCRIBE, ...r }))],
  ["PINGREQ/PINGRESP", fc.constantFrom(T.PINGREQ, T.PINGRESP).map((type) => ({ type }))],
  ["DISCONNECT", fc.record({ code: code(T.DISCONNECT), props: props(IN[T.DISCONNECT]!) }).map((r) => ({ type: T.DISCONNECT, ...r }))],
  ["AUTH", fc.record({ code: code(15), props: props(IN[AUTH]!) }).map((r) => ({ type: AUTH, ...r }))],
];
const anyPacket = fc.oneof(...ARBS.map((a) => a[1]));

function encode(o: Packet5Input): Uint8Array {
  const n = packet5SizeOf(o);
  if (n < 0) throw new Error("size: " + errName(n) + " " + JSON.stringify(o));
  const b = new Uint8Array(n);
  expect(encodePacket5(b, 0, o)).toBe(b.length);
  return b;
}

// ---------------------------------------------------------------- (a) round trip

describe("round trip: encode, then decode with this codec and with mqtt-packet (protocolVersion 5)", () => {
  const views: View[] = [];
  const dec = new Decoder(20000, ALL5, (p) => { views.push(view5(p)); });

  test.each(ARBS)("%s", (_name, arb) => {
    fc.assert(fc.property(arb, (o) => {
      const b = encode(o);
      const want = expected5(o);
      views.length = 0;
      dec.reset();
      expect(dec.feed(b)).toBe(Err.Ok);
      expect(views).toEqual([want]);
      expect(mpParse5(b)).toEqual({ packets: [grouped(want)], error: null });
    }), { seed: SEED, numRuns: ROUND_TRIPS });
  });
});

// ---------------------------------------------------------------- (b) decoder fuzz

const CODEC_ERRS = new Set<number>([
  Err.TooLarge, Err.RemainingLength, Err.PacketType, Err.HeaderFlags, Err.Qos, Err.ProtocolName, Err.ProtocolLevel,
  Err.ReservedFlag, Err.WillFlags, Err.Utf8, Err.TopicWildcard, Err.EmptyTopic, Err.FilterWildcard, Err.PacketId,
  Err.NoFilters, Err.Length, Err.ReturnCode, Err.DupQos0, Err.SessionPresent, Err.Protocol, Err.Range,
]);
const TABLES: ArrayLike<Parser | 0>[] = [ALL5, CLIENT5, SERVER5];
const MAXES = [70000, 512, 48, 2];

/** The input a decoded record gives the encoder: the record's own fields (views and the parsed property records). */
function inputOf(x: Packet): Packet5Input {
  const p = x as Packet5;
  switch (p.type as number) {
    case T.CONNECT:
      return {
        type: p.type, clientId: p.clientId, clean: p.clean, keepalive: p.keepalive, username: p.username ?? undefined,
        password: p.password ?? undefined, props: p.props,
        will: p.will ? { topic: p.willTopic, payload: p.willPayload, qos: p.willQos, retain: p.willRetain, props: p.willProps } : undefined,
      };
    case T.CONNACK: return { type: p.type, sessionPresent: p.sessionPresent, code: p.code, props: p.props };
    case T.PUBLISH: return { type: p.type, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, id: p.id, props: p.props };
    case T.SUBSCRIBE: return { type: p.type, id: p.id, filters: p.filters, opts: p.opts, props: p.props };
    case T.UNSUBSCRIBE: return { type: p.type, id: p.id, filters: p.filters, props: p.props };
    case T.SUBACK: case T.UNSUBACK: return { type: p.type, id: p.id, codes: p.codes, props: p.props };
    case T.PINGREQ: case T.PINGRESP: return { type: p.type };
  }
  return { type: p.type, id: p.id, code: p.code, props: p.props };
}

interface Outcome {
  views: View[];
  err: Err;
  type: number;
}

/** A decoder that re-encodes each packet it accepts and decodes that again, reused across inputs. */
class Harness {
  readonly d: Decoder;
  private out: Outcome = { views: [], err: Err.Ok, type: 0 };
  private readonly scratch = new Uint8Array(70010);
  private readonly again: Decoder;
  private againView: View | null = null;

  constructor(max: number, parsers: ArrayLike<Parser | 0>) {
    this.d = new Decoder(max, parsers, (p) => this.accept(p));
    this.again = new Decoder(70010, ALL5, (p) => { this.againView = view5(p); });
  }

  private accept(p: Packet): void {
    const v = view5(p);
    this.out.views.push(v);
    const n = encodePacket5(this.scratch, 0, inputOf(p));
    if (n < 0) throw new Error("accepted packet does not re-encode: " + errName(n) + " " + JSON.stringify(v));
    this.again.reset();
    this.againView = null;
    const e = this.again.feed(this.scratch.subarray(0, n));
    if (e || JSON.stringify(this.againView) != JSON.stringify(v)) {
      throw new Error("re-encoded packet decodes otherwise: " + errName(e) + " " + JSON.stringify(this.againView) + " vs " + JSON.stringify(v));
    }
  }

  run(chunks: Uint8Array[]): Outcome {
    this.d.reset();
    this.out = { views: [], err: Err.Ok, type: 0 };
    let err: Err = Err.Ok;
    for (const c of chunks) {
      const e = this.d.feed(c);
      if (e && !CODEC_ERRS.has(e)) throw new Error("not a codec error: " + e);
      if (err && e != err) throw new Error("decoder took input after " + errName(err) + ": " + errName(e));
      err = e;
    }
    this.out.err = err;
    this.out.type = this.d.errType_;
    return this.out;
  }
}

const harnesses = MAXES.map((m) => TABLES.map((t) => [new Harness(m, t), new Harness(m, t)] as const));

/** Feeds `input` whole and in the given chunking to two decoders (table and maximum from `m`), and compares. */
function check(input: Uint8Array, cuts: number[], m: number): void {
  inputs++;
  const pair = harnesses[m % MAXES.length]![(m >> 2) % TABLES.length]!;
  const whole = pair[0].run([input]);
  const sorted = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let s = 0;
  for (const c of sorted) { chunks.push(input.subarray(s, c)); s = c; }
  chunks.push(input.subarray(s));
  const split = pair[1].run(chunks);
  if (JSON.stringify(whole) != JSON.stringify(split)) expect({ split }).toEqual({ split: whole });
  accepted += whole.views.length;
  const k = whole.err ? errName(whole.err) : "Ok";
  outcomes[k] = (outcomes[k] ?? 0) + 1;
}

const POOL: Uint8Array[] = GOLDEN5.filter((g) => g.hex.length < 1200).map((g) => fromHex(g.hex)).concat(INVALID5.map((r) => fromHex(r.hex)));

type Mutation = [number, number, number];

function mutate(b: Uint8Array, mu: Mutation): Uint8Array {
  const kind = mu[0];
  const v = mu[2];
  const p = b.length ? mu[1] % b.length : 0;
  const out = (n: number): Uint8Array => new Uint8Array(Math.max(0, n));
  switch (kind) {
    case 0: { const c = b.slice(); if (c.length) c[p] = c[p]! ^ 1 << (v & 7); return c; }
    case 1: return b.slice(0, p);
    case 2: { const c = out(b.length + 1); c.set(b.subarray(0, p)); c[p] = v & 255; c.set(b.subarray(p), p + 1); return c; }
    case 3: { const c = out(b.length - 1); c.set(b.subarray(0, p)); c.set(b.subarray(p + 1), p); return c; }
    case 4: { const c = b.slice(); if (c.length > 1) c[1] = Math.max(0, c[1]! + (v % 7) - 3) & 255; return c; }
    case 5: { const c = b.slice(); if (c.length) c[p] = [0x00, 0x01, 0x0b, 0x23, 0x26, 0x7f, 0x80, 0xff][v & 7]!; return c; } // property ids, VBI bytes
    case 6: { const c = b.slice(); if (c.length) c[0] = (c[0]! & 0xf0) | (v & 15); return c; }
    case 7: { const c = b.slice(); if (c.length) c[p] = v & 255; return c; }
    default: { const c = out(b.length * 2); c.set(b); c.set(b, b.length); return c; }
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.tuple(fc.nat(8), fc.nat(4096), fc.nat(65535));

describe("decoder fuzz with the level-5 tables: only packets or a clean Err", () => {
  const randomRuns = Math.round(RUNS * 0.3);
  const generatedRuns = Math.round(RUNS * 0.25);
  const mutatedRuns = RUNS - randomRuns - generatedRuns;

  test(`${randomRuns} random byte strings, biased to plausible headers`, () => {
    const header = fc.oneof(fc.nat(255), fc.constantFrom(0x10, 0x20, 0x30, 0x32, 0x34, 0x3b, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0));
    const input = fc.tuple(header, fc.nat(40), fc.uint8Array({ maxLength: 48 }))
      .map(([h, l, rest]) => { const b = new Uint8Array(2 + rest.length); b[0] = h; b[1] = l; b.set(rest, 2); return b; });
    const arb = fc.oneof(input, fc.uint8Array({ maxLength: 64 }));
    fc.assert(fc.property(arb, fc.array(fc.nat(200), { maxLength: 5 }), fc.nat(47), (b, cuts, m) => check(b, cuts, m)),
      { seed: SEED, numRuns: randomRuns });
  }, 120000);

  test(`${mutatedRuns} mutated golden5 and invalid5 rows`, () => {
    const arb = fc.tuple(fc.nat(POOL.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.option(fc.nat(POOL.length - 1), { nil: undefined }));
    fc.assert(fc.property(arb, fc.array(fc.nat(1200), { maxLength: 5 }), fc.nat(47), ([base, muts, glue], cuts, m) => {
      let b = POOL[base]!;
      if (glue !== undefined) { const c = new Uint8Array(b.length + POOL[glue]!.length); c.set(b); c.set(POOL[glue]!, b.length); b = c; }
      for (const mu of muts) b = mutate(b, mu);
      check(b, cuts, m);
    }), { seed: SEED + 1, numRuns: mutatedRuns });
  }, 120000);

  test(`${generatedRuns} generated valid packets, mutated or not`, () => {
    fc.assert(fc.property(fc.tuple(anyPacket, fc.array(mutation, { maxLength: 2 })), fc.array(fc.nat(2000), { maxLength: 5 }), fc.nat(47), ([o, muts], cuts, m) => {
      let b = encode(o);
      for (const mu of muts) b = mutate(b, mu);
      check(b, cuts, m);
    }), { seed: SEED + 2, numRuns: generatedRuns });
  }, 120000);

  test("FUZZ_RUNS inputs ran, and both accepted packets and each kind of level-5 error were seen", () => {
    expect(inputs).toBeGreaterThanOrEqual(RUNS);
    expect(accepted).toBeGreaterThan(RUNS / 20);
    for (const e of ["Protocol", "Range", "ReservedFlag", "ReturnCode", "Length"]) expect(outcomes[e] ?? 0).toBeGreaterThan(0);
  });
});
