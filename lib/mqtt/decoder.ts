/**
 * The resumable streaming decoder [MQTT-2]: feed it chunks of any size; it hands each complete packet to
 * `onPacket`, with `topic`/`payload` as views (no copies). A packet that arrives whole inside one chunk is
 * parsed in place; one that spans chunks is gathered into the decoder's own buffer, allocated once at
 * construction and never grown. The maximum packet size is checked as soon as the remaining length is
 * known, before any of the body is buffered.
 *
 * Which packet types are accepted is the `parsers` table (lib/mqtt/parsers.ts): a client accepts what a
 * server sends and a server what a client sends, so a bundle carries only the parsers it needs, and a packet
 * of another type is a protocol error (Err.PacketType) [MQTT-4.8.0-1].
 *
 * After any error the decoder refuses further input (it returns the same error) until `reset()`: the
 * connection must be closed [MQTT-4.8.0-1].
 */
import { Err } from "../errors";
import { Packet, Parser, T } from "./types";

const HEADER = 0;
const LENGTH = 1;
const BODY = 2;

export class Decoder {
  /** The first error, or Err.Ok. */
  error: Err = Err.Ok;
  /** The packet type being decoded when the error happened (0 when unknown). */
  errorType = 0;
  /** The one packet object handed to `onPacket`, reused for every packet. */
  readonly packet: Packet;
  private st = HEADER;
  private len = 0;
  private mul = 1;
  private got = 0;
  private readonly buf: Uint8Array;

  /**
   * @param max largest whole packet accepted, in bytes (fixed header included); at least 2.
   * @param parsers body parser per packet type (index 0..15); 0 where the type is not accepted.
   * @param onPacket called synchronously for every complete, valid packet.
   */
  constructor(readonly max: number, private readonly parsers: ArrayLike<Parser | 0>, private readonly onPacket: (p: Packet) => void) {
    this.buf = new Uint8Array(max > 2 ? max - 2 : 0);
    this.packet = { type: 0, flags: 0, length: 0, id: 0 } as unknown as Packet;
  }

  /** Forget any partial packet and any error, for a new connection. */
  reset(): void {
    this.st = HEADER;
    this.error = Err.Ok;
    this.errorType = 0;
  }

  /**
   * Stops decoding with `e` (used by the owner for a packet that is valid but not allowed now, e.g. a second
   * CONNECT [MQTT-3.1.0-2]); the rest of the current chunk is not decoded. Returns `e`.
   */
  fail(e: Err, type: number): Err {
    if (!this.error) { this.error = e; this.errorType = type; }
    return e;
  }

  /** Decodes a chunk. Returns Err.Ok, or the (first) error; after an error, input is refused. */
  feed(c: Uint8Array): Err {
    const n = c.length;
    let i = 0;
    while (i < n && !this.error) {
      if (this.st == HEADER) i = this.header(c, i);
      else if (this.st == LENGTH) i = this.length(c, i);
      else i = this.body(c, i);
    }
    return this.error;
  }

  /** First byte: type and flags; reserved types and wrong fixed flags [MQTT-2.2.1] [MQTT-2.2.2-1] [MQTT-2.2.2-2]. */
  private header(c: Uint8Array, i: number): number {
    const b = c[i]!;
    const t = b >> 4;
    const f = b & 15;
    const p = this.packet;
    p.type = t; p.flags = f;
    this.len = 0; this.mul = 1; this.st = LENGTH;
    if (!this.parsers[t]) this.fail(Err.PacketType, t);
    else if (t != T.PUBLISH && f != (t == T.PUBREL || t == T.SUBSCRIBE || t == T.UNSUBSCRIBE ? 2 : 0)) this.fail(Err.HeaderFlags, t);
    return i + 1;
  }

  /** Remaining length, 1 to 4 bytes [MQTT-2.2.3]; the size limit is checked here, before buffering. */
  private length(c: Uint8Array, i: number): number {
    const d = c[i++]!;
    const t = this.packet.type;
    this.len += (d & 127) * this.mul;
    if (d & 128) {
      this.mul *= 128;
      if (this.mul > 2097152) this.fail(Err.RemainingLength, t);
      return i;
    }
    const len = this.len;
    let hdr = 2;
    while (this.mul > 1) { hdr++; this.mul /= 128; }
    this.packet.length = len;
    if (hdr + len > this.max) { this.fail(Err.TooLarge, t); return i; }
    if (c.length - i >= len) {
      // the whole body is in this chunk: parse it in place
      this.st = HEADER;
      this.parse(c, i, i + len);
      return i + len;
    }
    this.st = BODY;
    this.got = 0;
    return i;
  }

  private body(c: Uint8Array, i: number): number {
    const k = Math.min(this.len - this.got, c.length - i);
    this.buf.set(c.subarray(i, i + k), this.got);
    this.got += k;
    if (this.got == this.len) {
      this.st = HEADER;
      this.parse(this.buf, 0, this.len);
    }
    return i + k;
  }

  private parse(b: Uint8Array, s: number, e: number): void {
    const p = this.packet;
    const r = (this.parsers[p.type] as Parser)(p, b, s, e);
    if (r) this.fail(r, p.type);
    else this.onPacket(p);
  }
}
