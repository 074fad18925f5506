/**
 * The codec checks of the on-device self-test, one call per fixture row, for test/device/codec-selftest.ts
 * (the whole table in the bundle) and test/device/codec-stream.ts (rows streamed in over a socket, for the
 * 1,700-variable ESP8266 shape). Device code: Espruino subset, no Node APIs, no Buffer. Nothing is allocated
 * up front: each row gets its own buffers, sized to it, so memory is only what the current row needs.
 *
 * Each row prints `FAIL <name>: <first problem>`, `SKIP <name>: <reason>` or nothing; `summary()` prints
 * `selftest codec: K skipped` (when K > 0), `selftest codec: memory: ...` (the fewest free variables seen
 * while a row's buffers were held, and the total), and last `selftest codec: N passed, M failed`.
 */
import { Err } from "../../../lib/errors";
import { Decoder } from "../../../lib/mqtt/decoder";
import { encodePacket, PacketInput } from "../../../lib/mqtt/encode";
import { ALL } from "../../../lib/mqtt/parsers";
import { Bytes, Packet, T } from "../../../lib/mqtt/types";
import { utf8Length, writeUtf8 } from "../../../lib/mqtt/utf8";

// ---------------------------------------------------------------- hex (no Buffer on Espruino)

function nibble(c: number): number {
  return c < 58 ? c - 48 : (c | 32) - 87;
}

/**
 * Bytes of a hex string. Read in 64-character slices: on Espruino a long string is a chain of blocks and
 * charCodeAt(i) walks it from the start, so one charCodeAt per character over 40,000 would be quadratic.
 */
export function fromHex(h: string): Uint8Array {
  const b = new Uint8Array(h.length >> 1);
  for (let k = 0; k < h.length; k += 64) {
    const s = h.substr(k, 64);
    for (let j = 0; j + 1 < s.length; j += 2) b[(k + j) >> 1] = nibble(s.charCodeAt(j)) << 4 | nibble(s.charCodeAt(j + 1));
  }
  return b;
}

const DIGITS = "0123456789abcdef";

/** Hex of at most the first 24 bytes of `b`, for failure messages. */
function hexOf(b: Uint8Array): string {
  let r = "";
  for (let i = 0; i < b.length && i < 24; i++) r += DIGITS.charAt(b[i]! >> 4) + DIGITS.charAt(b[i]! & 15);
  return b.length > 24 ? r + "..(" + b.length + " bytes)" : r;
}

// ---------------------------------------------------------------- results

/** Not inlined: esbuild would fold `"\u20ac".charCodeAt(0)` to its Node value at build time. */
function first(s: string): number {
  return s.charCodeAt(0);
}

/**
 * Whether this interpreter's strings hold characters beyond U+00FF. Espruino's ESP32 and ESP8266 firmware
 * (no ESPR_UNICODE_SUPPORT) keep 8-bit strings: the lexer cuts "\u20ac" to one byte, 0xac, so a fixture string
 * with such characters is already wrong before the codec sees it (checked on 2v29). The Linux build has them.
 */
const WIDE = first("\u20ac") == 0x20ac;

/** Where result lines go: the console, or (codec-stream.ts) a socket. */
let out = function (line: string): void {
  console.log(line);
};

export function setOutput(f: (line: string) => void): void {
  out = f;
}

let passed = 0;
let failed = 0;
let skipped = 0;
let lowest = -1; // fewest free variables seen, with a row's buffers still held (after a GC)

/** Samples free memory at a row's peak (its buffers alive). */
function sample(): void {
  const f = process.memory().free;
  if (lowest < 0 || f < lowest) lowest = f;
}

let why = ""; // the row's first problem
let skip = ""; // why the row cannot be checked on this interpreter

/** Records the row's first problem. Messages that need building are built only on failure (`if (..) bad(..)`). */
function bad(what: string): void {
  if (!why) why = what;
}

function check(ok: boolean, what: string): void {
  if (!ok) bad(what);
}

function finish(name: string): void {
  if (why) { failed++; out("FAIL " + name + ": " + why); }
  else if (skip) { skipped++; out("SKIP " + name + ": " + skip); }
  else passed++;
  why = skip = "";
}

/** Prints the skip count and memory low-water mark (when any), then the summary line. */
export function summary(): void {
  if (skipped) out("selftest codec: " + skipped + " skipped");
  const m = process.memory();
  out("selftest codec: memory: fewest free " + lowest + " of " + m.total + " variables, now " + m.free);
  out("selftest codec: " + passed + " passed, " + failed + " failed");
}

// ---------------------------------------------------------------- field comparison

/** A character over U+00FF in UTF-8 `v`: a lead byte 0xc4..0xf4. */
function wide(v: Uint8Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i]! >= 0xc4 && v[i]! <= 0xf4) return true;
  return false;
}

/** Absent (undefined or null), compared strictly: see below. */
function none(v: unknown): boolean {
  return typeof v == "undefined" || v === null; // esbuild's minifier folds `v === undefined || v === null` to `v == null`
}

/**
 * `v` (a view from the decoder) holds exactly `want`. No loose `==`/`!=` on byte values (nor `??`, should a
 * build lower it to `!= null`): Espruino turns a Uint8Array into its "1,2,3" string for a loose comparison
 * (20 ms for 5,000 bytes; the 20,000-byte row ran the ESP32 shape out of memory that way).
 */
function sameBytes(v: Uint8Array | null | undefined, want: Bytes | null | undefined): boolean {
  if (none(v) || none(want)) return none(v) && none(want);
  if (!v || typeof want == "undefined" || want === null) return false; // (narrowing only: decided above)
  let w: Uint8Array;
  if (typeof want == "string") {
    if (!WIDE && wide(v)) { skip = "a string with characters over U+00FF, which this interpreter's strings cannot hold"; return true; }
    w = new Uint8Array(utf8Length(want));
    writeUtf8(w, 0, want);
  } else w = want;
  if (w.length != v.length) return false;
  for (let i = 0; i < w.length; i++) if (w[i] != v[i]) return false;
  return true;
}

/** `v`, or "" when it is absent. */
function or(v: Bytes | undefined): Bytes {
  return v === undefined ? "" : v;
}

function sameList(got: ArrayLike<number> | undefined, want: ArrayLike<number> | undefined): boolean {
  if (!got || !want || got.length != want.length) return false;
  for (let i = 0; i < want.length; i++) if (got[i] != want[i]) return false;
  return true;
}

function checkConnect(p: Packet, o: PacketInput): void {
  const w = o.will;
  check(sameBytes(p.clientId, or(o.clientId)), "clientId");
  check(p.clean == (o.clean ?? true) && p.keepalive == (o.keepalive ?? 60), "clean/keepalive");
  check(p.will == !!w, "will flag");
  if (w) {
    check(sameBytes(p.willTopic, w.topic) && sameBytes(p.willPayload, w.payload), "will topic/payload");
    check(p.willQos == (w.qos ?? 0) && p.willRetain == !!w.retain, "will qos/retain");
  }
  check(sameBytes(p.username, o.username) && sameBytes(p.password, o.password), "username/password");
}

function checkPublish(p: Packet, o: PacketInput): void {
  const q = o.qos ?? 0;
  check(sameBytes(p.topic, or(o.topic)) && sameBytes(p.payload, or(o.payload)), "topic/payload");
  check(p.qos == q && p.retain == !!o.retain && p.dup == !!o.dup && p.id == (q ? o.id : 0), "qos/retain/dup/id");
}

function checkFilters(p: Packet, o: PacketInput): void {
  const f = o.filters || [];
  if (p.filters.length != f.length) bad("filter count " + p.filters.length);
  for (let i = 0; i < f.length && i < p.filters.length; i++) if (!sameBytes(p.filters[i], f[i])) bad("filter " + i);
  if (o.type == T.SUBSCRIBE) check(sameList(p.qoss, o.qoss), "requested qos");
}

/** Compares a decoded packet with the row's input (inside onPacket: the views are valid only there). */
function checkPacket(p: Packet, o: PacketInput): void {
  if (p.type != o.type) { bad("decoded type " + p.type); return; }
  const t = o.type;
  if (t == T.CONNECT) checkConnect(p, o);
  else if (t == T.CONNACK) check(p.sessionPresent == !!o.sessionPresent && p.code == (o.code ?? 0), "connack");
  else if (t == T.PUBLISH) checkPublish(p, o);
  else if (t == T.SUBSCRIBE || t == T.UNSUBSCRIBE) { check(p.id == o.id, "id"); checkFilters(p, o); }
  else if (t == T.SUBACK) check(p.id == o.id && sameList(p.codes, o.codes), "suback");
  else if (t != T.PINGREQ && t != T.PINGRESP && t != T.DISCONNECT) check(p.id == o.id, "id");
}

// ---------------------------------------------------------------- feeding

let allCuts = true;

/**
 * Fewer split points (after the first byte and in the middle only), for slow small shapes: every decode costs
 * about 10 ms on the ESP8266 shape under qemu, and the Linux build runs the full set on the same code.
 */
export function fewCuts(): void {
  allCuts = false;
}

/**
 * Split points for the packet `b`: after the first byte, after the second (and inside a remaining length of
 * several bytes), the middle, before the last byte.
 */
function cuts(b: Uint8Array): number[] {
  const n = b.length;
  const r: number[] = [];
  const c = !allCuts ? [1, n >> 1] : n > 1 && b[1]! >= 128 ? [1, 2, 3, 4, n >> 1, n - 1] : [1, 2, n >> 1, n - 1];
  for (let i = 0; i < c.length; i++) if (c[i]! > 0 && c[i]! < n && r.indexOf(c[i]!) < 0) r.push(c[i]!);
  return r;
}

let want: PacketInput | null = null; // the golden row being decoded
let got = 0; // packets delivered

function onPacket(p: Packet): void {
  got++;
  if (want) checkPacket(p, want);
}

/** Feeds `b` whole (cut 0) or in two parts at `cut`; returns the decoder's error. */
function feed(d: Decoder, b: Uint8Array, cut: number): Err {
  got = 0;
  d.reset();
  if (cut && d.feed(b.subarray(0, cut))) return d.err_;
  return d.feed(cut ? b.subarray(cut) : b);
}

// ---------------------------------------------------------------- rows

const GUARD = 0xa5;

/**
 * Encodes `o` between guard bytes and compares with the row's `hex` (read in slices, see fromHex), after a
 * one-byte-short buffer is refused. Returns the encoded bytes, or null when they are not the row's.
 */
function checkEncode(o: PacketInput, hex: string): Uint8Array | null {
  const n = hex.length >> 1;
  const buf = new Uint8Array(n + 2);
  buf[0] = buf[1] = buf[n + 1] = GUARD;
  // at offset 1 of an n-byte buffer: one byte short, so Err.NoMemory and nothing written
  check(encodePacket(buf.subarray(0, n), 1, o) == Err.NoMemory && buf[1] == GUARD, "one byte short: not NoMemory, or written");
  const r = encodePacket(buf, 1, o);
  if (r != n) bad("encode returned " + r + ", want " + n);
  check(buf[0] == GUARD && buf[n + 1] == GUARD, "guard byte overwritten");
  const wire = buf.subarray(1, n + 1);
  for (let k = 0; k < hex.length && !why; k += 64) {
    const s = hex.substr(k, 64);
    for (let j = 0; j + 1 < s.length; j += 2) {
      if (wire[(k + j) >> 1] == (nibble(s.charCodeAt(j)) << 4 | nibble(s.charCodeAt(j + 1)))) continue;
      bad("encoded " + hexOf(wire) + " differs at byte " + ((k + j) >> 1));
      break;
    }
  }
  return why ? null : wire;
}

/**
 * A golden row: encoded (bytes compared with `hex`), then decoded whole and split (fields compared with `o`).
 * The decoder reads our own encoding when it is right, so a 20,000-byte row needs two buffers, not three.
 * On an interpreter without wide strings a row whose strings hold characters over U+00FF is skipped (seen
 * in the golden bytes, as the fixture's strings are already cut): decoding is still checked.
 */
export function golden(name: string, hex: string, o: PacketInput): void {
  const ours = checkEncode(o, hex);
  const encWhy = why;
  why = "";
  const wire = ours || fromHex(hex);
  const d = new Decoder(wire.length, ALL, onPacket);
  const c = cuts(wire);
  want = o;
  for (let i = -1; i < c.length; i++) {
    const cut = i < 0 ? 0 : c[i]!;
    const e = feed(d, wire, cut);
    if (e != Err.Ok || got != 1) bad("decode (cut " + cut + "): error " + e + " type " + d.errType_ + ", " + got + " packets");
  }
  want = null;
  sample();
  if (encWhy && !skip) why = encWhy;
  finish(name);
}

let plain: Decoder | null = null; // the invalid rows' decoder with the default maximum, reset() before each feed

/** An invalid row: exactly error `err` for packet type `type`, no packet, whole and split. */
export function invalid(name: string, hex: string, err: Err, type: number, max: number | undefined): void {
  const b = fromHex(hex);
  const d = max === undefined ? plain || (plain = new Decoder(1024, ALL, onPacket)) : new Decoder(max, ALL, onPacket);
  const c = cuts(b);
  for (let k = -1; k < c.length; k++) {
    const cut = k < 0 ? 0 : c[k]!;
    const e = feed(d, b, cut);
    if (e != err || d.err_ != err || d.errType_ != type || got) {
      bad("cut " + cut + ": error " + e + " type " + d.errType_ + ", " + got + " packets; want error " + err + " type " + type);
    }
  }
  sample();
  finish(name);
}
