/**
 * The broker over in-memory connections (after aedes' tests: no sockets): a MemClient plays a raw MQTT client.
 * It sends packets as encodePacket writes them (or raw bytes) and decodes everything the broker writes back
 * with the codec's ALL table into plain values. The broker's close() reaches the client at once (`closed`),
 * and its `down_` follows on a microtask, as a socket's 'close' event would; `await settle()` lets it run.
 */
import type { Conn, Link } from "../../lib/hal/net";
import { Broker } from "../../lib/broker/broker";
import type { BrokerOptions } from "../../lib/broker/types";
import { Decoder } from "../../lib/mqtt/decoder";
import { ALL } from "../../lib/mqtt/parsers";
import { ALL5 } from "../../lib/mqtt5/parsers";
import { encodePacket, packetSizeOf, type PacketInput } from "../../lib/mqtt/encode";
import type { Packet } from "../../lib/mqtt/types";
import type { Packet5 } from "../../lib/mqtt5/types";
import { VirtualClock } from "../../sim/clock";

export interface Got {
  type: number; id: number; topic?: string; payload?: string; qos?: number; dup?: boolean; retain?: boolean;
  sessionPresent?: boolean; code?: number; codes?: number[];
  /** A level-5 PUBLISH's Subscription Identifiers, when it has any. */
  subIds?: number[];
}

const txt = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

function got(p: Packet): Got {
  const v: Got = { type: p.type, id: p.id };
  if (p.type == 3) Object.assign(v, { topic: txt(p.topic), payload: txt(p.payload), qos: p.qos, dup: p.dup, retain: p.retain });
  const ids = p.type == 3 ? (p as Packet5).props?.subIds : undefined;
  if (ids && ids.length) v.subIds = ids.slice();
  if (p.type == 2) Object.assign(v, { sessionPresent: p.sessionPresent, code: p.code });
  if (p.type == 9) Object.assign(v, { codes: Array.from(p.codes) });
  if (p.type == 14) v.code = p.code; // (a level-5 DISCONNECT's reason code)
  return v;
}

export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

export class MemClient implements Conn {
  /** Everything the broker sent, decoded. */
  got: Got[] = [];
  closed = false;
  /** Bytes the connection accepts before room() says 0 (a client that stops reading). */
  space = 1 << 20;
  /** Bytes written by the broker and not yet "read" (see space). */
  buffered = 0;
  readonly link: Link;
  private readonly dec: Decoder;
  private downed = false;

  /** `level5`: what the broker sends is decoded at MQTT 5 (lib/mqtt5/parsers.ts ALL5). */
  constructor(readonly broker: Broker, level5 = false) {
    this.dec = new Decoder(1 << 20, level5 ? ALL5 : ALL, (p) => this.got.push(got(p)), true); // lazy: no 1 MiB per client
    this.link = broker.accept(this);
  }

  write(b: Uint8Array, s: number, e: number): void {
    if (this.closed) throw new Error("write after close");
    this.buffered += e - s;
    const err = this.dec.feed(b.slice(s, e));
    if (err) throw new Error("broker sent a malformed packet: " + err);
  }

  room(): number {
    return this.closed ? 0 : Math.max(0, this.space - this.buffered);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => this.down());
  }

  /** The client reads what was buffered: room comes back and the broker hears drain_. */
  read(): void {
    this.buffered = 0;
    this.link.drain_();
  }

  /** Sends one packet. */
  send(o: PacketInput): void {
    const b = new Uint8Array(packetSizeOf(o) + 8);
    const n = encodePacket(b, 0, o);
    if (n < 0) throw new Error("encode failed: " + n);
    this.raw(b.subarray(0, n));
  }

  raw(b: Uint8Array | number[]): void {
    if (this.closed) return;
    this.link.data_(b instanceof Uint8Array ? b : Uint8Array.from(b));
  }

  /** The network dies (no DISCONNECT). */
  down(): void {
    this.closed = true;
    if (this.downed) return;
    this.downed = true;
    this.link.down_();
  }

  connect(clientId: string, o: Partial<PacketInput> = {}): void {
    this.send({ type: 1, clientId, clean: true, keepalive: 0, ...o });
  }

  /** Packets of `type` received, and forgets them. */
  take(type?: number): Got[] {
    const r = type === undefined ? this.got : this.got.filter((g) => g.type == type);
    this.got = type === undefined ? [] : this.got.filter((g) => g.type != type);
    return r;
  }

  publishes(): Got[] { return this.take(3); }
}

/** A broker on a virtual clock, started, with a log kept. */
export function memBroker(o: BrokerOptions = {}): { broker: Broker; clock: VirtualClock; log: string[]; client(id?: string, c?: Partial<PacketInput>): MemClient } {
  const clock = new VirtualClock(1_000_000);
  const log: string[] = [];
  const broker = new Broker({ sysInterval: 0, log: (l) => log.push(l), ...o }, clock);
  broker.start();
  return {
    broker, clock, log,
    client(id?: string, c?: Partial<PacketInput>): MemClient {
      const m = new MemClient(broker);
      if (id !== undefined) m.connect(id, c);
      return m;
    },
  };
}
