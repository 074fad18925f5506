/**
 * For the broker robustness tests (test/broker.robust.test.ts):
 *
 * - fast-check arbitraries for hostile client byte streams: random bytes, and valid CONNECT / SUBSCRIBE /
 *   PUBLISH / ack sequences, as sent, or with bytes flipped, cut off, duplicated, deleted or inserted; each
 *   split at random offsets (`Hostile`);
 * - `Good`, a well-behaved client over the in-memory harness (broker-mem.ts): it completes every QoS 1/2 flow
 *   at once (PUBACK, PUBREC/PUBREL/PUBCOMP both ways), reads everything, and records the well-behaved messages
 *   it gets (told from the fuzz traffic by a marker in the payload), after the receiver's QoS 2 de-duplication
 *   on packet id, so a second copy of a QoS 2 message is the broker's fault.
 */
import fc from "fast-check";
import { encodePacket, packetSizeOf, type PacketInput } from "../../lib/mqtt/encode";
import { T } from "../../lib/mqtt/types";
import type { Broker } from "../../lib/broker/broker";
import { MemClient, type Got } from "./broker-mem";

// ---------------------------------------------------------------- hostile streams

/** Client ids from letters that no well-behaved id uses ("good-..." has g, o, d), so no takeover of theirs. */
const fuzzId = fc.string({ unit: fc.constantFrom("a", "b", "z", "0", "-", "é"), maxLength: 5 });
const level = fc.constantFrom("a", "b", "z0", "", "x y", "é", "good");
const fuzzTopic = fc.oneof(
  { weight: 4, arbitrary: fc.array(level, { minLength: 1, maxLength: 3 }).map((a) => a.join("/") || "a") },
  { weight: 1, arbitrary: fc.constantFrom("good/p0/q1", "good/p1/q2", "$SYS/broker/x", "a/b") },
);
const fuzzFilter = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("#", "+/#", "good/#", "+/+/+", "a/+", "$SYS/#", "+", "good/+/q2") },
  { weight: 2, arbitrary: fuzzTopic },
);
const qos = fc.constantFrom(0, 1, 2);
/** Small ids, so acks from the fuzz often name a message really in flight. */
const pid = fc.integer({ min: 1, max: 6 });
/** Mostly small; some near or over a 4 KiB maxPacket. */
const fuzzPayload = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 600 }) },
  { weight: 1, arbitrary: fc.integer({ min: 3900, max: 4300 }).map((n) => new Uint8Array(n).fill(0x66)) },
);

const connect: fc.Arbitrary<PacketInput> = fc.record({
  clientId: fuzzId, clean: fc.boolean(), keepalive: fc.integer({ min: 0, max: 20 }),
  will: fc.option(fc.record({ topic: fuzzTopic, payload: fuzzPayload, qos, retain: fc.boolean() }), { nil: undefined }),
  username: fc.option(fuzzId, { nil: undefined }),
}).map((r) => ({ type: T.CONNECT, ...r }));

/** What a client sends after CONNECT, plus a few things it must not send (a second CONNECT, server packets). */
const op: fc.Arbitrary<PacketInput> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ topic: fuzzTopic, payload: fuzzPayload, qos, retain: fc.boolean(), id: pid }).map((r) => ({ type: T.PUBLISH, ...r })) },
  { weight: 3, arbitrary: fc.record({ id: pid, subs: fc.array(fc.tuple(fuzzFilter, qos), { minLength: 1, maxLength: 3 }) })
    .map((r) => ({ type: T.SUBSCRIBE, id: r.id, filters: r.subs.map((s) => s[0]), qoss: r.subs.map((s) => s[1]) })) },
  { weight: 1, arbitrary: fc.record({ id: pid, filters: fc.array(fuzzFilter, { minLength: 1, maxLength: 2 }) }).map((r) => ({ type: T.UNSUBSCRIBE, ...r })) },
  { weight: 3, arbitrary: fc.record({ type: fc.constantFrom(T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP), id: pid }) },
  { weight: 1, arbitrary: fc.constantFrom<PacketInput>({ type: T.PINGREQ }, { type: T.DISCONNECT }) },
  { weight: 1, arbitrary: connect },
  { weight: 1, arbitrary: fc.constantFrom<PacketInput>({ type: T.CONNACK, code: 0 }, { type: T.SUBACK, id: 1, codes: [0] }, { type: T.PINGRESP }) },
);

export function encode(o: PacketInput): Uint8Array {
  const b = new Uint8Array(packetSizeOf(o));
  const n = encodePacket(b, 0, o);
  if (n != b.length) throw new Error("encode " + JSON.stringify(o) + ": " + n);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

/** A valid sequence: CONNECT (nearly always) then up to 8 packets. */
const valid = fc.tuple(fc.option(connect, { freq: 12, nil: null }), fc.array(op, { maxLength: 8 }))
  .map(([c, ops]) => concat((c ? [c] : []).concat(ops).map(encode)));

type Mutation =
  | { k: "flip"; at: number; x: number }
  | { k: "cut"; at: number }
  | { k: "dup"; at: number; len: number; to: number }
  | { k: "del"; at: number; len: number }
  | { k: "ins"; at: number; b: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("flip" as const), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("cut" as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("dup" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("del" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("ins" as const), at: fc.nat(), b: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
);

function mutate(b: Uint8Array, ms: Mutation[]): Uint8Array {
  for (const m of ms) {
    if (b.length == 0) break;
    const at = m.at % b.length;
    if (m.k == "flip") { b = b.slice(); b[at] = b[at]! ^ m.x; }
    else if (m.k == "cut") b = b.slice(0, at);
    else if (m.k == "dup") { const s = b.subarray(at, at + m.len); const to = m.to % (b.length + 1); b = concat([b.subarray(0, to), s, b.subarray(to)]); }
    else if (m.k == "del") b = concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else b = concat([b.subarray(0, at), m.b, b.subarray(at)]);
  }
  return b;
}

/** What one hostile connection sends, how it is cut into writes, and whether it drops off after the last one. */
export interface Hostile {
  kind: string;
  bytes: Uint8Array;
  chunks: Uint8Array[];
  /** After its last chunk: "down" (the network dies at once) or "open" (left open until the batch ends). */
  end: "down" | "open";
}

const stream: fc.Arbitrary<[string, Uint8Array]> = fc.oneof(
  { weight: 3, arbitrary: valid.map((b) => ["valid", b] as [string, Uint8Array]) },
  { weight: 6, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => ["mutated", mutate(b, ms)] as [string, Uint8Array]) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ["random", b] as [string, Uint8Array]) },
  { weight: 1, arbitrary: fc.tuple(connect, fc.uint8Array({ maxLength: 120 })).map(([c, r]) => ["connect+random", concat([encode(c), r])] as [string, Uint8Array]) },
);

/** `b` cut at the given offsets (taken modulo its length). */
function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (b.length ? c % b.length : 0)))].filter((c) => c > 0).sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let i = 0;
  for (const c of at) { out.push(b.slice(i, c)); i = c; }
  out.push(b.slice(i));
  return out;
}

export const hostile: fc.Arbitrary<Hostile> = fc.record({
  s: stream, cuts: fc.array(fc.nat(), { maxLength: 6 }), end: fc.constantFrom<"down" | "open">("down", "open"),
}).map((r) => ({ kind: r.s[0], bytes: r.s[1], chunks: split(r.s[1], r.cuts), end: r.end }));

// ---------------------------------------------------------------- well-behaved clients

/** Marks a well-behaved message's payload; the fuzz cannot make it (checked: a fuzz payload never starts so). */
export const MARK = "\u2713good|";

/** A well-behaved message: published by `pub` at `qos`, number `seq` of that publisher. */
export interface GoodMsg { pub: string; qos: number; seq: number; topic: string; payload: string }

export function goodMsg(pub: string, qos: number, seq: number): GoodMsg {
  return { pub, qos, seq, topic: "good/" + pub + "/q" + qos, payload: MARK + pub + "|" + qos + "|" + seq };
}

/** A well-behaved client on the in-memory harness. */
export class Good {
  readonly m: MemClient;
  /** Our QoS 1/2 publishes not yet complete: packet id -> the acknowledgment expected next. */
  readonly waiting = new Map<number, number>();
  /** Inbound QoS 2 packet ids delivered and waiting for their PUBREL. */
  readonly held = new Set<number>();
  /** Well-behaved messages received (after the QoS 2 de-duplication): payload -> times and QoS. */
  readonly got = new Map<string, { n: number; qos: number }>();
  /** Per topic, the sequence numbers of the well-behaved messages in the order they came. */
  readonly order = new Map<string, number[]>();
  /** Messages from the fuzz traffic received. */
  other = 0;
  /** Whatever the protocol says should not happen. */
  readonly problems: string[] = [];
  connack = -1;
  readonly subacks: number[][] = [];
  private lastId = 0;

  constructor(broker: Broker, readonly id: string, clean: boolean, readonly filters: [string, number][] = []) {
    this.m = new MemClient(broker);
    this.m.connect(id, { clean });
    if (filters.length) this.m.send({ type: T.SUBSCRIBE, id: 1, filters: filters.map((f) => f[0]), qoss: filters.map((f) => f[1]) });
  }

  publish(g: GoodMsg): void {
    let id = this.lastId;
    do id = id % 65535 + 1; while (this.waiting.has(id));
    this.lastId = id;
    this.waiting.set(id, g.qos == 1 ? T.PUBACK : T.PUBREC);
    this.m.send({ type: T.PUBLISH, topic: g.topic, payload: g.payload, qos: g.qos, id });
  }

  /** Reads everything the broker sent and answers it; false when there was nothing. */
  step(): boolean {
    this.m.read();
    const gs = this.m.take();
    for (const g of gs) this.on(g);
    return gs.length > 0;
  }

  private on(g: Got): void {
    switch (g.type) {
      case T.CONNACK: this.connack = g.code!; return;
      case T.SUBACK: this.subacks.push(g.codes!); return;
      case T.PUBLISH: return this.onPublish(g);
      case T.PUBACK: case T.PUBCOMP: return this.acked(g.id, g.type);
      case T.PUBREC:
        this.acked(g.id, T.PUBREC);
        this.waiting.set(g.id, T.PUBCOMP);
        return this.m.send({ type: T.PUBREL, id: g.id });
      case T.PUBREL:
        if (!this.held.delete(g.id)) this.problems.push("PUBREL for id " + g.id + " not held");
        return this.m.send({ type: T.PUBCOMP, id: g.id });
      case T.UNSUBACK: case T.PINGRESP: return;
    }
    this.problems.push("unexpected packet type " + g.type);
  }

  private acked(id: number, type: number): void {
    if (this.waiting.get(id) !== type) this.problems.push("ack type " + type + " for id " + id + ", waiting for " + this.waiting.get(id));
    this.waiting.delete(id);
  }

  private onPublish(g: Got): void {
    if (g.qos == 2) {
      const again = this.held.has(g.id); // the receiver's side of exactly once: a resend before PUBREL
      this.held.add(g.id);
      this.m.send({ type: T.PUBREC, id: g.id });
      if (again) return;
    } else if (g.qos == 1) {
      this.m.send({ type: T.PUBACK, id: g.id });
    }
    const p = g.payload!;
    if (!p.startsWith(MARK)) { this.other++; return; }
    const r = this.got.get(p);
    if (r) r.n++;
    else this.got.set(p, { n: 1, qos: g.qos! });
    const seq = Number(p.split("|")[3]);
    const o = this.order.get(g.topic!);
    if (o) o.push(seq);
    else this.order.set(g.topic!, [seq]);
  }
}

/** Lets the well-behaved clients read and answer until nothing more comes. */
export function pumpGood(goods: Good[]): void {
  for (let i = 0; i < 100000; i++) {
    let any = false;
    for (const g of goods) if (!g.m.closed && g.step()) any = true;
    if (!any) return;
  }
  throw new Error("well-behaved clients never quiet");
}
