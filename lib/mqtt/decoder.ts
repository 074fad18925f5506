/**
 * The resumable streaming decoder [MQTT-2]: feed it chunks of any size; it hands each complete packet to
 * `onPacket`, with `topic`/`payload` as views (no copies). A packet that arrives whole inside one chunk is
 * parsed in place; one that spans chunks is gathered into the decoder's own buffer, allocated once at
 * construction and never grown (a lazy decoder, for a broker's many connections, allocates it when a packet
 * first spans chunks, sized to that packet, and replaces it only by a bigger one, up to the maximum). The
 * maximum packet size is checked as soon as the remaining length is known, before any of the body is buffered.
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

/** The buffer of a decoder of max 2 (never written to). */
const EMPTY = new Uint8Array(0);

/**
 * What a decoder needs that does not change from packet to packet, and that many decoders may share (a broker's
 * connections share their broker's: see lib/broker/peer.ts). A decoder made without one is its own.
 */
export interface DecoderSpec {
  /** Largest whole packet accepted, in bytes (fixed header included); at least 2. */
  readonly max: number;
  /** Body parser per packet type (index 0..15); 0 where the type is not accepted. */
  readonly parsers_: ArrayLike<Parser | 0>;
  /** Called synchronously for every complete, valid packet. */
  readonly onPacket_: (p: Packet) => void;
  /** The one packet record handed to `onPacket_`, reused for every packet. */
  readonly packet: Packet;
}

export class Decoder implements DecoderSpec {
  /** The first error, or Err.Ok. */
  err_: Err = Err.Ok;
  /** The packet type being decoded when the error happened (0 when unknown). */
  errType_ = 0;
  // DecoderSpec: set on a decoder that is its own spec (k_ == this) only; on Espruino each field of each
  // connection's decoder costs variables
  declare readonly max: number;
  declare readonly parsers_: ArrayLike<Parser | 0>;
  declare readonly onPacket_: (p: Packet) => void;
  declare readonly packet: Packet;
  /** The spec: this decoder, or one shared with others. */
  readonly k_: DecoderSpec;
  private st_ = HEADER;
  private len_ = 0;
  private mul_ = 1;
  private got_?: number; // (set when a packet spans chunks: a lazy decoder's fields cost a broker per connection)
  /** The first byte of the packet being decoded: kept here, not in `packet`, which may be shared (see below). */
  private h_ = 0;
  private buf?: Uint8Array; // (a lazy decoder's, only once a packet spans chunks)

  /**
   * @param max largest whole packet accepted, in bytes (fixed header included); at least 2.
   * @param parsers body parser per packet type (index 0..15); 0 where the type is not accepted.
   * @param onPacket called synchronously for every complete, valid packet.
   * @param lazy allocate the buffer for packets that span chunks only when one comes, sized to it (and grown
   *   to a bigger one later, never past `max`): a broker's idle connections then hold no buffer. Without it
   *   (the client) the whole buffer is allocated here, once.
   * @param shared the spec of max, parsers, onPacket and packet record to use instead of the first three
   *   arguments (a broker shares one among all its connections' decoders, its packet record included, since
   *   each packet is handled within its onPacket call).
   */
  constructor(max: number, parsers: ArrayLike<Parser | 0>, onPacket: (p: Packet) => void, lazy?: boolean, shared?: DecoderSpec) {
    // not lazy (the client): everything now, so that a first packet spanning chunks allocates nothing
    if (!lazy) { this.buf = max < 3 ? EMPTY : new Uint8Array(max - 2); this.got_ = 0; }
    if (shared) this.k_ = shared;
    else {
      const k = this.k_ = this as { -readonly [K in keyof DecoderSpec]: DecoderSpec[K] };
      k.max = max; k.parsers_ = parsers; k.onPacket_ = onPacket;
      k.packet = { type: 0, flags: 0, length: 0, id: 0 } as unknown as Packet;
    }
  }

  /** Forget any partial packet and any error, for a new connection. */
  reset(): void {
    this.st_ = HEADER;
    this.err_ = Err.Ok;
    this.errType_ = 0;
  }

  /**
   * Stops decoding with `e` (used by the owner for a packet that is valid but not allowed now, e.g. a second
   * CONNECT [MQTT-3.1.0-2]); the rest of the current chunk is not decoded. Returns `e`.
   */
  fail(e: Err, type: number): Err {
    if (!this.err_) { this.err_ = e; this.errType_ = type; }
    return e;
  }

  /** Decodes a chunk. Returns Err.Ok, or the (first) error; after an error, input is refused. */
  feed(c: Uint8Array): Err {
    const n = c.length;
    let i = 0;
    while (i < n && !this.err_) {
      if (this.st_ == HEADER) i = this.header_(c, i);
      else if (this.st_ == LENGTH) i = this.length_(c, i);
      else i = this.body_(c, i);
    }
    return this.err_;
  }

  /** First byte: type and flags; reserved types and wrong fixed flags [MQTT-2.2.1] [MQTT-2.2.2-1] [MQTT-2.2.2-2]. */
  private header_(c: Uint8Array, i: number): number {
    const b = c[i]!;
    const t = b >> 4;
    const f = b & 15;
    this.h_ = b;
    this.len_ = 0; this.mul_ = 1; this.st_ = LENGTH;
    if (!this.k_.parsers_[t]) this.fail(Err.PacketType, t);
    else if (t != T.PUBLISH && f != (t == T.PUBREL || t == T.SUBSCRIBE || t == T.UNSUBSCRIBE ? 2 : 0)) this.fail(Err.HeaderFlags, t);
    return i + 1;
  }

  /** Remaining length, 1 to 4 bytes [MQTT-2.2.3]; the size limit is checked here, before buffering. */
  private length_(c: Uint8Array, i: number): number {
    const d = c[i++]!;
    const t = this.h_ >> 4;
    this.len_ += (d & 127) * this.mul_;
    if (d & 128) {
      this.mul_ *= 128;
      if (this.mul_ > 2097152) this.fail(Err.RemainingLength, t);
      return i;
    }
    const len = this.len_;
    let hdr = 2;
    // shifts, not `/` or Math.min: on Espruino those give floats, and a field holding a float takes one more
    // variable than one holding an integer, so the decoder's own size would depend on what it last decoded
    while (this.mul_ > 1) { hdr++; this.mul_ >>= 7; }
    if (hdr + len > this.k_.max) { this.fail(Err.TooLarge, t); return i; }
    if (c.length - i >= len) {
      // the whole body is in this chunk: parse it in place
      this.st_ = HEADER;
      this.parse_(c, i, i + len);
      return i + len;
    }
    this.st_ = BODY;
    this.got_ = 0;
    if (!this.buf || this.buf.length < len) this.buf = new Uint8Array(len < 64 ? 64 : len);
    return i;
  }

  private body_(c: Uint8Array, i: number): number {
    const got = this.got_!;
    const want = this.len_ - got;
    const k = want < c.length - i ? want : c.length - i;
    this.buf!.set(c.subarray(i, i + k), got);
    this.got_ = got + k;
    if (got + k == this.len_) {
      this.st_ = HEADER;
      this.parse_(this.buf!, 0, this.len_);
    }
    return i + k;
  }

  private parse_(b: Uint8Array, s: number, e: number): void {
    // the record is filled only now: a broker shares one among its connections, whose packets may arrive in
    // interleaved chunks
    const k = this.k_;
    const p = k.packet;
    p.type = this.h_ >> 4; p.flags = this.h_ & 15; p.length = this.len_;
    const r = (k.parsers_[p.type] as Parser)(p, b, s, e);
    if (r) this.fail(r, p.type);
    else {
      k.onPacket_(p);
      // drop the views into the chunk: held until the next PUBLISH, they would keep the whole chunk (up to
      // ~536 bytes on Espruino, about 45 variables) alive between packets, for as long as the link is quiet
      if (p.type == T.PUBLISH) p.topic = p.payload = EMPTY;
    }
  }
}
