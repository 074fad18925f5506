/**
 * An in-memory Transport for client tests (after aedes' in-memory duplex): what the client writes is decoded
 * as a server would decode it; the test plays the broker by injecting bytes or packets.
 */
import type { Link, Transport } from "../../lib/hal/net";
import { Decoder } from "../../lib/mqtt/decoder";
import { SERVER } from "../../lib/mqtt/parsers";
import { encodePacket, type PacketInput } from "../../lib/mqtt/encode";
import type { Packet } from "../../lib/mqtt/types";

/** A decoded packet copied into plain values (strings as UTF-8 text), for assertions. */
export interface Plain {
  type: number; id: number; topic?: string; payload?: string; qos?: number; dup?: boolean; retain?: boolean;
  clientId?: string; clean?: boolean; keepalive?: number; username?: string | null; password?: string | null;
  will?: { topic: string; payload: string; qos: number; retain: boolean } | null; filters?: string[]; qoss?: number[];
}

const txt = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

export function plain(p: Packet): Plain {
  const v: Plain = { type: p.type, id: p.id };
  if (p.type == 3) Object.assign(v, { topic: txt(p.topic), payload: txt(p.payload), qos: p.qos, dup: p.dup, retain: p.retain });
  if (p.type == 1) {
    Object.assign(v, {
      clientId: txt(p.clientId), clean: p.clean, keepalive: p.keepalive,
      username: p.username ? txt(p.username) : null, password: p.password ? txt(p.password) : null,
      will: p.will ? { topic: txt(p.willTopic), payload: txt(p.willPayload), qos: p.willQos, retain: p.willRetain } : null,
    });
  }
  if (p.type == 8 || p.type == 10) Object.assign(v, { filters: p.filters.map(txt), qoss: p.qoss.slice() });
  return v;
}

export class FakeTransport implements Transport {
  link: Link | null = null;
  opens = 0;
  closes = 0;
  up = false;
  /** Packets the client wrote on the current connection, decoded. */
  sent: Plain[] = [];
  /** Every packet written, across connections. */
  all: Plain[] = [];
  space = 1 << 20;
  autoUp = true;
  private dec: Decoder;
  private readonly out = new Uint8Array(1 << 16);

  constructor() {
    this.dec = this.newDecoder();
  }

  private newDecoder(): Decoder {
    return new Decoder(1 << 20, SERVER, (p) => { const v = plain(p); this.sent.push(v); this.all.push(v); });
  }

  open(_host: string, _port: number, link: Link): void {
    this.link = link;
    this.opens++;
    this.sent = [];
    this.dec = this.newDecoder();
    if (this.autoUp) { this.up = true; link.up_(); }
  }

  write(b: Uint8Array, s: number, e: number): void {
    if (!this.up) throw new Error("write while down");
    if (e - s > this.space) throw new Error("write over room()");
    const err = this.dec.feed(b.slice(s, e));
    if (err) throw new Error("client wrote an invalid packet: " + err);
  }

  room(): number {
    return this.up ? this.space : 0;
  }

  close(): void {
    this.closes++;
    this.drop();
  }

  /** The connection breaks (either side). */
  drop(): void {
    if (!this.up) return;
    this.up = false;
    this.link!.down_();
  }

  /** The server sends a packet. */
  send(p: PacketInput): void {
    const b = this.out;
    const n = encodePacket(b, 0, p);
    if (n < 0) throw new Error("bad test packet " + n);
    this.link!.data_(b.subarray(0, n));
  }

  /** The server sends raw bytes. */
  bytes(b: Uint8Array): void {
    this.link!.data_(b);
  }

  /** Sent packets of one type (by number), on this connection. */
  of(type: number): Plain[] {
    return this.sent.filter((p) => p.type == type);
  }
}
