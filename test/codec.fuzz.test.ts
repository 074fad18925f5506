/**
 * Property tests and a decoder fuzz with fast-check.
 *
 * (a) Round trip: arbitrary valid packets of every type encode, then decode to the same fields, with this
 *     codec and with mqtt-packet; mqtt-packet also generates the same bytes.
 * (b) Decoder fuzz: random bytes and mutated valid packets (bit flips, truncation, insertion, deletion,
 *     remaining-length edits, splices), fed whole and in random chunkings, to decoders of several maximum sizes.
 *     The only outcomes are packets or a clean codec Err: no throw, no hang, the same outcome for every
 *     chunking, the decoder's buffer never replaced, the heap not ballooning. Every accepted packet re-encodes
 *     to exactly its input bytes (with a minimal remaining length) and mqtt-packet parses it to the same fields.
 *
 * Fixed seed (FUZZ_SEED, printed by fast-check on failure) and size (FUZZ_RUNS: decoder inputs, default 100,000).
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { errName } from "../lib/errname";
import { Decoder } from "../lib/mqtt/decoder";
import { encodePacket, PacketInput, packetSizeOf } from "../lib/mqtt/encode";
import { ALL } from "../lib/mqtt/parsers";
import { Packet, T } from "../lib/mqtt/types";
import { varSize } from "../lib/mqtt/wire";
import { GOLDEN } from "./fixtures/golden";
import { fromHex } from "./fixtures/hex";
import { INVALID } from "./fixtures/invalid";
import { expected, mpGenerate, mpParse, view, View } from "./helpers/views";

const SEED = Number(process.env.FUZZ_SEED ?? 0x6d717474);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100000);
const ROUND_TRIPS = Math.max(200, Math.round(RUNS / 50));
const started = Date.now();
let inputs = 0;
let accepted = 0;
const outcomes: Record<string, number> = {};

afterAll(() => {
  const errs = Object.entries(outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => k + " " + n).join(", ");
  console.log(`codec fuzz: ${inputs} decoder inputs (${accepted} packets accepted and re-encoded; ends: ${errs}), ` +
    `${ROUND_TRIPS} round trips per type, seed ${SEED}, ${Date.now() - started} ms`);
});

// ---------------------------------------------------------------- arbitraries for valid packets

const noWild = (s: string): string => s.replace(/[+#\0]/g, "_");
const char = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("a", "b", "z", "0", "/", " ", "-") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
const text = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: char, minLength: min, maxLength: max }).map(noWild);
const topicName = text(1, 24);
const level = fc.oneof(fc.constant("+"), text(0, 6).map((s) => s.replace(/\//g, "_")));
const filter = fc.tuple(fc.array(level, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([ls, hash]) => (hash ? ls.concat(["#"]) : ls).join("/"))
  .map((f) => (f == "" ? "a" : f));
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const payload = fc.oneof(
  { weight: 6, arbitrary: bytes(40) },
  { weight: 2, arbitrary: text(0, 20) },
  { weight: 2, arbitrary: bytes(400) },
  { weight: 1, arbitrary: fc.integer({ min: 16000, max: 17000 }).map((n) => new Uint8Array(n).fill(0x5a)) },
);
const qos = fc.constantFrom(0, 1, 2);
const id = fc.integer({ min: 1, max: 65535 });

const connectArb: fc.Arbitrary<PacketInput> = fc.record({
  clientId: text(0, 23), clean: fc.boolean(), keepalive: fc.integer({ min: 0, max: 65535 }),
  user: fc.option(fc.tuple(text(0, 12), fc.option(fc.oneof(bytes(12), text(0, 12)), { nil: undefined })), { nil: undefined }),
  will: fc.option(fc.record({ topic: topicName, payload: fc.oneof(bytes(20), text(0, 10)), qos, retain: fc.boolean() }), { nil: undefined }),
}).map((r) => ({
  type: T.CONNECT, clientId: r.clientId, clean: r.clean, keepalive: r.keepalive, will: r.will,
  username: r.user ? r.user[0] : undefined, password: r.user ? r.user[1] : undefined,
}));

const ARBS: [string, fc.Arbitrary<PacketInput>][] = [
  ["CONNECT", connectArb],
  ["CONNACK", fc.record({ sessionPresent: fc.boolean(), code: fc.integer({ min: 0, max: 5 }) }).map((r) => ({ type: T.CONNACK, ...r }))],
  ["PUBLISH", fc.record({ topic: topicName, payload, qos, retain: fc.boolean(), dup: fc.boolean(), id }).map((r) => ({ type: T.PUBLISH, ...r }))],
  ["PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK", fc.record({ type: fc.constantFrom(T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.UNSUBACK), id })],
  ["SUBSCRIBE", fc.record({ id, subs: fc.array(fc.tuple(filter, qos), { minLength: 1, maxLength: 6 }) })
    .map((r) => ({ type: T.SUBSCRIBE, id: r.id, filters: r.subs.map((s) => s[0]), qoss: r.subs.map((s) => s[1]) }))],
  ["SUBACK", fc.record({ id, codes: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 8 }) }).map((r) => ({ type: T.SUBACK, ...r }))],
  ["UNSUBSCRIBE", fc.record({ id, filters: fc.array(filter, { minLength: 1, maxLength: 6 }) }).map((r) => ({ type: T.UNSUBSCRIBE, ...r }))],
  ["PINGREQ/PINGRESP/DISCONNECT", fc.constantFrom(T.PINGREQ, T.PINGRESP, T.DISCONNECT).map((type) => ({ type }))],
];
const anyPacket = fc.oneof(...ARBS.map((a) => a[1]));


function encode(o: PacketInput): Uint8Array {
  const b = new Uint8Array(packetSizeOf(o));
  expect(encodePacket(b, 0, o)).toBe(b.length);
  return b;
}

// ---------------------------------------------------------------- (a) round trip

describe("round trip: encode, then decode with this codec and with mqtt-packet", () => {
  const views: View[] = [];
  const dec = new Decoder(20000, ALL, (p) => { views.push(view(p)); });

  test.each(ARBS)("%s", (_name, arb) => {
    fc.assert(fc.property(arb, (o) => {
      const b = encode(o);
      const want = expected(o);
      views.length = 0;
      dec.reset();
      expect(dec.feed(b)).toBe(Err.Ok);
      expect(views).toEqual([want]);
      expect(mpParse(b)).toEqual({ packets: [want], error: null });
      // mqtt-packet refuses to generate an empty client id without a clean session, a client-side rule
      // [MQTT-3.1.3-7] that this encoder leaves to the client
      if (!(o.type == T.CONNECT && o.clientId == "" && !o.clean)) expect(mpGenerate(o)).toBe(Buffer.from(b).toString("hex"));
    }), { seed: SEED, numRuns: ROUND_TRIPS });
  });
});

// ---------------------------------------------------------------- (b) decoder fuzz

const CODEC_ERRS = new Set<number>([
  Err.TooLarge, Err.RemainingLength, Err.PacketType, Err.HeaderFlags, Err.Qos, Err.ProtocolName, Err.ProtocolLevel,
  Err.ReservedFlag, Err.WillFlags, Err.PasswordNoUser, Err.Utf8, Err.TopicWildcard, Err.EmptyTopic, Err.FilterWildcard,
  Err.PacketId, Err.NoFilters, Err.Length, Err.ReturnCode, Err.DupQos0, Err.SessionPresent,
]);
const MAXES = [70000, 512, 64, 16, 2];
/** Which decoder maximum an input gets (an index into MAXES), mostly the large ones. */
const PICK = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4];

/** What one decoder did with one input. */
interface Outcome {
  views: View[];
  /** Each accepted packet re-encoded (hex). */
  again: string[];
  err: Err;
  type: number;
}

/** A decoder that re-encodes every packet it accepts, reused across inputs (reset between them). */
class Harness {
  readonly d: Decoder;
  readonly buf: Uint8Array;
  readonly packet: Packet;
  private out: Outcome = { views: [], again: [], err: Err.Ok, type: 0 };
  private readonly scratch = new Uint8Array(70010);

  constructor(max: number) {
    this.d = new Decoder(max, ALL, (p) => this.accept(p));
    this.buf = (this.d as unknown as { buf: Uint8Array }).buf;
    this.packet = this.d.packet;
  }

  private accept(p: Packet): void {
    expect(p).toBe(this.packet);
    this.out.views.push(view(p));
    const n = encodePacket(this.scratch, 0, inputOf(p));
    if (n < 0) throw new Error("accepted packet does not re-encode: " + errName(n) + " " + JSON.stringify(view(p)));
    this.out.again.push(Buffer.from(this.scratch.subarray(0, n)).toString("hex"));
  }

  run(chunks: Uint8Array[]): Outcome {
    this.d.reset();
    this.out = { views: [], again: [], err: Err.Ok, type: 0 };
    let err: Err = Err.Ok;
    for (const c of chunks) {
      const e = this.d.feed(c);
      if (e && !CODEC_ERRS.has(e)) throw new Error("not a codec error: " + e);
      if (err && e != err) throw new Error("decoder took input after " + errName(err) + ": " + errName(e));
      err = e;
    }
    this.out.err = err;
    this.out.type = this.d.errType_;
    if ((this.d as unknown as { buf: Uint8Array }).buf !== this.buf) throw new Error("decoder buffer replaced");
    return this.out;
  }
}

/** A PacketInput holding a decoded packet's fields (views are fine: it is encoded at once). */
function inputOf(p: Packet): PacketInput {
  switch (p.type) {
    case T.CONNECT:
      return {
        type: p.type, clientId: p.clientId, clean: p.clean, keepalive: p.keepalive, username: p.username ?? undefined,
        password: p.password ?? undefined, will: p.will ? { topic: p.willTopic, payload: p.willPayload, qos: p.willQos, retain: p.willRetain } : undefined,
      };
    case T.CONNACK: return { type: p.type, sessionPresent: p.sessionPresent, code: p.code };
    case T.PUBLISH: return { type: p.type, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, id: p.id };
    case T.SUBSCRIBE: return { type: p.type, id: p.id, filters: p.filters, qoss: p.qoss };
    case T.UNSUBSCRIBE: return { type: p.type, id: p.id, filters: p.filters };
    case T.SUBACK: return { type: p.type, id: p.id, codes: p.codes };
  }
  return { type: p.type, id: p.id };
}

/** The packets of `b` as framed by the fixed header alone, each rewritten with a minimal remaining length. */
function frames(b: Uint8Array): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    const first = b[i++]!;
    let len = 0;
    let mul = 1;
    let k = 0;
    for (; k < 4 && i < b.length; k++) {
      const d = b[i++]!;
      len += (d & 127) * mul;
      mul *= 128;
      if (!(d & 128)) break;
    }
    if (k == 4 || i + len > b.length) break;
    const head = new Uint8Array(1 + varSize(len));
    head[0] = first;
    for (let j = 1, n = len; j < head.length; j++, n = Math.floor(n / 128)) head[j] = (n % 128) | (j < head.length - 1 ? 128 : 0);
    out.push(Buffer.from(head).toString("hex") + Buffer.from(b.subarray(i, i + len)).toString("hex"));
    i += len;
  }
  return out;
}

const harnesses = MAXES.map((m) => [new Harness(m), new Harness(m)] as const);
const memStart = process.memoryUsage().heapUsed;

/** Feeds `input` whole and in the given chunking to two decoders of the chosen maximum, and checks everything. */
function check(input: Uint8Array, cuts: number[], maxIndex: number): void {
  inputs++;
  const pair = harnesses[PICK[maxIndex % PICK.length]!]!;
  const whole = pair[0].run([input]);
  const sorted = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let s = 0;
  for (const c of sorted) { chunks.push(input.subarray(s, c)); s = c; }
  chunks.push(input.subarray(s));
  const split = pair[1].run(chunks);
  if (JSON.stringify(whole) != JSON.stringify(split)) expect({ cuts: sorted, split }).toEqual({ cuts: sorted, split: whole });
  const end = errName(whole.err);
  outcomes[end] = (outcomes[end] ?? 0) + 1;
  accepted += whole.again.length;
  if (!whole.again.length) return;
  const fr = frames(input);
  for (let k = 0; k < whole.again.length; k++) {
    if (whole.again[k] != fr[k]) expect({ k, reencoded: whole.again[k] }).toEqual({ k, reencoded: fr[k] });
    const mp = mpParse(fromHex(fr[k]!));
    if (mp.error || JSON.stringify(mp.packets) != JSON.stringify([whole.views[k]])) {
      expect({ frame: fr[k], mqttPacket: mp }).toEqual({ frame: fr[k], mqttPacket: { packets: [whole.views[k]], error: null } });
    }
  }
}

/** The valid packets mutations start from: the small golden rows and the invalid rows (near misses). */
const POOL: Uint8Array[] = GOLDEN.filter((g) => g.hex.length < 1200).map((g) => fromHex(g.hex))
  .concat(INVALID.map((r) => fromHex(r.hex)));

type Mutation = [number, number, number];

/** Applies one mutation [kind, position, value] to `b`. */
function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const [kind, pos, v] = m;
  const p = b.length ? pos % b.length : 0;
  const out = (n: number): Uint8Array => new Uint8Array(Math.max(0, n));
  switch (kind) {
    case 0: { const c = b.slice(); if (c.length) c[p] = c[p]! ^ 1 << (v & 7); return c; } // bit flip
    case 1: return b.slice(0, p); // truncation
    case 2: { const c = out(b.length + 1); c.set(b.subarray(0, p)); c[p] = v & 255; c.set(b.subarray(p), p + 1); return c; } // insertion
    case 3: { const c = out(b.length - 1); c.set(b.subarray(0, p)); c.set(b.subarray(p + 1), p); return c; } // deletion
    case 4: { const c = b.slice(); if (c.length > 1) c[1] = v & 255; return c; } // remaining length byte
    case 5: { const c = b.slice(); if (c.length > 1) c[1] = Math.max(0, c[1]! + (v % 7) - 3) & 255; return c; } // length off by a few
    case 6: { const c = b.slice(); if (c.length) c[0] = (c[0]! & 0xf0) | (v & 15); return c; } // fixed-header flags
    case 7: { const c = b.slice(); if (c.length) c[p] = v & 255; return c; } // byte overwrite
    default: { const c = out(b.length * 2); c.set(b); c.set(b, b.length); return c; } // doubled
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.tuple(fc.nat(8), fc.nat(4096), fc.nat(65535));

describe("decoder fuzz: only packets or a clean Err", () => {
  const randomRuns = Math.round(RUNS * 0.3);
  const mutatedRuns = RUNS - randomRuns - Math.round(RUNS * 0.25);
  const generatedRuns = RUNS - randomRuns - mutatedRuns;

  test(`${randomRuns} random byte strings, biased to plausible headers`, () => {
    const header = fc.oneof(fc.nat(255), fc.constantFrom(0x10, 0x20, 0x30, 0x32, 0x34, 0x3b, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0, 0xd0, 0xe0));
    const input = fc.tuple(header, fc.nat(40), fc.uint8Array({ maxLength: 48 }))
      .map(([h, l, rest]) => { const b = new Uint8Array(2 + rest.length); b[0] = h; b[1] = l; b.set(rest, 2); return b; });
    const arb = fc.oneof(input, fc.uint8Array({ maxLength: 64 }));
    fc.assert(fc.property(arb, fc.array(fc.nat(200), { maxLength: 5 }), fc.nat(20), (b, cuts, m) => check(b, cuts, m)),
      { seed: SEED, numRuns: randomRuns });
  }, 60000);

  test(`${mutatedRuns} mutated valid and near-valid packets`, () => {
    const arb = fc.tuple(fc.nat(POOL.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.option(fc.nat(POOL.length - 1), { nil: undefined }));
    fc.assert(fc.property(arb, fc.array(fc.nat(1200), { maxLength: 5 }), fc.nat(20), ([base, muts, glue], cuts, m) => {
      let b = POOL[base]!;
      if (glue !== undefined) { const c = new Uint8Array(b.length + POOL[glue]!.length); c.set(b); c.set(POOL[glue]!, b.length); b = c; }
      for (const mu of muts) b = mutate(b, mu);
      check(b, cuts, m);
    }), { seed: SEED + 1, numRuns: mutatedRuns });
  }, 60000);

  test(`${generatedRuns} generated valid packets, mutated or not`, () => {
    const arb = fc.tuple(anyPacket, fc.array(mutation, { maxLength: 2 }));
    fc.assert(fc.property(arb, fc.array(fc.nat(20000), { maxLength: 5 }), fc.nat(20), ([o, muts], cuts, m) => {
      let b = encode(o);
      for (const mu of muts) b = mutate(b, mu);
      check(b, cuts, m);
    }), { seed: SEED + 2, numRuns: generatedRuns });
  }, 60000);

  test("at least FUZZ_RUNS inputs ran, the decoders' buffers were never replaced, the heap did not balloon", () => {
    expect(inputs).toBeGreaterThanOrEqual(RUNS);
    for (const [a, b] of harnesses) {
      expect((a.d as unknown as { buf: Uint8Array }).buf).toBe(a.buf);
      expect(b.d.packet).toBe(b.packet);
      expect(a.buf.length).toBe(Math.max(0, a.d.max - 2));
    }
    const grownMb = (process.memoryUsage().heapUsed - memStart) / 1048576;
    expect(grownMb).toBeLessThan(200);
  });
});
