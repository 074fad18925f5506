/**
 * boards/adapters/espruino-server.ts against a fake of Espruino's `net.createServer` (issue 5, requirement 7):
 * each accepted socket becomes a Conn handed to `accept`; binary strings in and out; the write bound counted
 * between 'drain' events; down_ once whatever mix of 'error'/'end'/'close' the socket emits; nothing written or
 * passed on after close(); every socket shares the same handler functions. Espruino calls socket handlers with
 * `this` set to the socket, which the fake does too. The real thing runs in test/espruino.broker.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Accept, Conn, Link } from "../lib/hal/net";
import { Broker } from "../lib/broker/broker";
import { encodePacket } from "../lib/mqtt/encode";
import { T } from "../lib/mqtt/types";
import { VirtualClock } from "../sim/clock";

type H = (this: FakeSocket, d?: string) => void;

class FakeSocket {
  handlers: { [e: string]: H[] } = {};
  written: string[] = [];
  ended = 0;
  on(e: string, f: H): void { (this.handlers[e] ??= []).push(f); }
  emit(e: string, d?: string): void { for (const f of this.handlers[e] ?? []) f.call(this, d); }
  write(s: string): boolean {
    if (this.ended) throw new Error("This socket is closed"); // as Espruino
    this.written.push(s);
    return false;
  }
  end(): void { this.ended++; }
}

class FakeServer {
  port = 0;
  closed = false;
  constructor(readonly onSocket: (s: FakeSocket) => void) {}
  listen(port: number): this { this.port = port; return this; }
  close(): void { this.closed = true; }
  /** A client connects. */
  connect(): FakeSocket { const s = new FakeSocket(); this.onSocket(s); return s; }
}

const servers: FakeServer[] = [];
const g = globalThis as unknown as Record<string, unknown>;
const saved = { require: g.require, E: g.E };

beforeAll(() => {
  g.require = (module: string) => {
    if (module != "net") throw new Error("no module " + module);
    return { createServer: (cb: (s: FakeSocket) => void) => { const s = new FakeServer(cb); servers.push(s); return s; } };
  };
  g.E = {
    toUint8Array: (s: string) => new Uint8Array(Buffer.from(s, "latin1")),
    toString: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1"),
  };
});
afterAll(() => { g.require = saved.require; g.E = saved.E; });

/** What the test uses of the adapter module (device code: type-checked against Espruino's types, not Node's). */
interface Adapter {
  listen(port: number, accept: Accept, o?: { writeLimit?: number }): { close(): void };
}

const ADAPTER = "../boards/adapters/espruino-server.ts";

async function load(): Promise<Adapter> {
  return (await import(/* @vite-ignore */ ADAPTER)) as Adapter;
}

class Recorder implements Link {
  ev: unknown[] = [];
  up_(): void { this.ev.push("up"); }
  data_(d: Uint8Array): void { this.ev.push(["data", Array.from(d)]); }
  down_(): void { this.ev.push("down"); }
  drain_(): void { this.ev.push("drain"); }
}

/** Listens with a recorder per connection; returns the server and what was accepted. */
async function serve(o?: { writeLimit?: number }) {
  const { listen } = await load();
  const accepted: { c: Conn; l: Recorder }[] = [];
  const h = listen(1883, (c) => { const l = new Recorder(); accepted.push({ c, l }); return l; }, o);
  return { h, srv: servers.at(-1)!, accepted };
}

describe("espruino-server: the broker's host over Espruino's net.createServer", () => {
  it("listens on the port; each socket is accepted as a Conn whose Link gets its bytes; close() stops listening", async () => {
    const { h, srv, accepted } = await serve();
    expect(srv.port).toBe(1883);
    const a = srv.connect();
    const b = srv.connect();
    expect(accepted.length).toBe(2);
    a.emit("data", "\x10\x02\x00\xff");
    b.emit("data", "\x80");
    expect(accepted[0]!.l.ev).toEqual([["data", [0x10, 2, 0, 0xff]]]);
    expect(accepted[1]!.l.ev).toEqual([["data", [0x80]]]);
    // one set of handler functions for every socket
    for (const e of ["data", "drain", "error", "end", "close"]) expect(a.handlers[e]).toEqual(b.handlers[e]);
    h.close();
    expect(srv.closed).toBe(true);
  });

  it("writes a range of the buffer as one binary string; room() counts down until 'drain', which reaches the Link", async () => {
    const { srv, accepted } = await serve({ writeLimit: 10 });
    const s = srv.connect();
    const { c, l } = accepted[0]!;
    expect(c.room()).toBe(10);
    const buf = new Uint8Array([9, 0x30, 0x80, 0xff, 7, 9]);
    c.write(buf.subarray(1), 0, 4);
    expect(s.written).toEqual(["\x30\x80\xff\x07"]);
    expect(c.room()).toBe(6);
    c.write(buf, 0, 6);
    expect(c.room()).toBe(0);
    s.emit("drain");
    expect(c.room()).toBe(10);
    expect(l.ev).toEqual(["drain"]);
  });

  it("'error', 'end' and 'close' report down_ once; then nothing is written, passed on or drained, and room() is 0", async () => {
    const { srv, accepted } = await serve();
    const s = srv.connect();
    const { c, l } = accepted[0]!;
    s.emit("error");
    s.emit("end");
    s.emit("close");
    s.emit("data", "x");
    s.emit("drain");
    expect(l.ev).toEqual(["down"]);
    expect(c.room()).toBe(0);
    c.write(new Uint8Array(2), 0, 2);
    c.close();
    expect([s.written, s.ended]).toEqual([[], 0]);
  });

  it("close(): end() once, nothing written or passed on after it (Espruino would throw), down_ when the socket closes", async () => {
    const { srv, accepted } = await serve();
    const s = srv.connect();
    const { c, l } = accepted[0]!;
    c.close();
    c.close();
    expect(s.ended).toBe(1);
    expect(c.room()).toBe(0);
    c.write(new Uint8Array(2), 0, 2);
    s.emit("data", "\xc0\x00");
    s.emit("drain");
    expect(l.ev).toEqual([]);
    s.emit("end");
    s.emit("close");
    expect(l.ev).toEqual(["down"]);
  });

  it("serves the Broker: CONNECT in, CONNACK out; the socket's end reaches the broker once", async () => {
    const { listen } = await load();
    const b = new Broker({ maxPacket: 256, sysInterval: 0 }, new VirtualClock());
    listen(1883, b.accept);
    const s = servers.at(-1)!.connect();
    const connect = new Uint8Array(64);
    const n = encodePacket(connect, 0, { type: T.CONNECT, clientId: "dev", keepalive: 60, clean: true });
    expect(n).toBeGreaterThan(0);
    s.emit("data", Buffer.from(connect.subarray(0, n)).toString("latin1"));
    expect(s.written).toEqual(["\x20\x02\x00\x00"]);
    expect(b.stats.clientsConnected).toBe(1);
    s.emit("end");
    s.emit("close");
    expect(b.stats.clientsConnected).toBe(0);
  });
});
