/**
 * boards/adapters/espruino-net.ts against a fake of Espruino's `net`/`tls` modules (issue 4, requirement 4):
 * binary strings in and out, the write bound counted between 'drain' events, down_ once per open whatever mix
 * of 'error'/'end'/'close' the socket emits, events of a replaced socket ignored. Espruino calls socket handlers
 * with `this` set to the socket, which the fake does too. The real thing runs in test/espruino.client.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock, Link } from "../lib/hal/net";

type H = (this: FakeSocket, d?: string) => void;

class FakeSocket {
  handlers: { [e: string]: H[] } = {};
  written: string[] = [];
  ended = false;
  constructor(readonly options: Record<string, unknown>, readonly onConnect: H) {}
  on(e: string, f: H): void { (this.handlers[e] ??= []).push(f); }
  emit(e: string, d?: string): void {
    if (e == "connect") this.onConnect.call(this);
    for (const f of this.handlers[e] ?? []) f.call(this, d);
  }
  write(s: string): boolean {
    if (this.ended) throw new Error("This socket is closed"); // as Espruino
    this.written.push(s);
    return false;
  }
  end(): void { this.ended = true; }
}

const made: { module: string; socket: FakeSocket }[] = [];
let refuse = false;
const g = globalThis as unknown as Record<string, unknown>;
const saved = { require: g.require, E: g.E };

beforeAll(() => {
  g.require = (module: string) => ({
    connect(o: Record<string, unknown>, cb: H): FakeSocket {
      if (refuse) throw new Error("Not connected to the internet");
      const socket = new FakeSocket(o, cb);
      made.push({ module, socket });
      return socket;
    },
  });
  g.E = {
    toUint8Array: (s: string) => new Uint8Array(Buffer.from(s, "latin1")),
    toString: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1"),
  };
});
afterAll(() => { g.require = saved.require; g.E = saved.E; });

/** What the test uses of the adapter module (device code: type-checked against Espruino's types, not Node's). */
interface Transport { open(h: string, p: number, l: Link): void; write(b: Uint8Array, s: number, e: number): void; room(): number; close(): void }
interface Adapter {
  EspruinoNet: new (o?: { writeLimit?: number; tls?: boolean; ca?: string; key?: string; cert?: string }) => Transport;
  espruinoClock: Clock;
}

const ADAPTER = "../boards/adapters/espruino-net.ts";

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

describe("EspruinoNet: the Transport over Espruino's net and tls", () => {
  it("opens with net, reports up, turns binary-string data into bytes", async () => {
    const { EspruinoNet } = await load();
    const n = new EspruinoNet();
    const l = new Recorder();
    n.open("10.0.0.2", 1883, l);
    const s = made.at(-1)!;
    expect([s.module, s.socket.options]).toEqual(["net", { host: "10.0.0.2", port: 1883 }]);
    s.socket.emit("connect");
    s.socket.emit("data", "\x20\x02\x00\xff");
    expect(l.ev).toEqual(["up", ["data", [0x20, 2, 0, 0xff]]]);
  });

  it("writes a range of the buffer as one binary string; room() counts down until 'drain'", async () => {
    const { EspruinoNet } = await load();
    const n = new EspruinoNet({ writeLimit: 10 });
    const l = new Recorder();
    n.open("h", 1, l);
    const s = made.at(-1)!.socket;
    s.emit("connect");
    expect(n.room()).toBe(10);
    const b = new Uint8Array([9, 0x30, 0x80, 0xff, 7, 9]);
    n.write(b.subarray(1), 0, 4);
    expect(s.written).toEqual(["\x30\x80\xff\x07"]);
    expect(n.room()).toBe(6);
    n.write(b, 0, 6);
    expect(n.room()).toBe(0);
    s.emit("drain");
    expect(n.room()).toBe(10);
    expect(l.ev).toEqual(["up", "drain"]);
  });

  it("'error', 'end' and 'close' report down_ once; then nothing is written and room() is 0", async () => {
    const { EspruinoNet } = await load();
    const n = new EspruinoNet();
    const l = new Recorder();
    n.open("h", 1, l);
    const s = made.at(-1)!.socket;
    s.emit("connect");
    s.emit("error");
    s.emit("end");
    s.emit("close");
    expect(l.ev).toEqual(["up", "down"]);
    expect(n.room()).toBe(0);
    n.write(new Uint8Array(2), 0, 2);
    expect(s.written).toEqual([]);
  });

  it("close(): end() once, no write after it (Espruino would throw), down_ when the socket closes", async () => {
    const { EspruinoNet } = await load();
    const n = new EspruinoNet();
    const l = new Recorder();
    n.open("h", 1, l);
    const s = made.at(-1)!.socket;
    s.emit("connect");
    n.close();
    n.close();
    expect(s.ended).toBe(true);
    expect(n.room()).toBe(0);
    n.write(new Uint8Array(2), 0, 2);
    s.emit("end");
    s.emit("close");
    expect(l.ev).toEqual(["up", "down"]);
  });

  it("a new open() ends the old socket and ignores its later events", async () => {
    const { EspruinoNet } = await load();
    const n = new EspruinoNet();
    const l = new Recorder();
    n.open("h", 1, l);
    const old = made.at(-1)!.socket;
    n.open("h", 1, l);
    const cur = made.at(-1)!.socket;
    expect(old.ended).toBe(true);
    old.emit("connect");
    old.emit("data", "x");
    old.emit("close");
    cur.emit("connect");
    expect(l.ev).toEqual(["up"]);
  });

  it("no network (connect throws): down_ at once", async () => {
    const { EspruinoNet } = await load();
    const n = new EspruinoNet();
    const l = new Recorder();
    refuse = true;
    try { n.open("h", 1, l); } finally { refuse = false; }
    expect(l.ev).toEqual(["down"]);
    expect(n.room()).toBe(0);
  });

  it("ca/key/cert (or tls: true) connect with tls and pass the certificates on", async () => {
    const { EspruinoNet } = await load();
    new EspruinoNet({ ca: "CA", cert: "C", key: "K" }).open("h", 8883, new Recorder());
    expect(made.at(-1)!.module).toBe("tls");
    expect(made.at(-1)!.socket.options).toEqual({ host: "h", port: 8883, ca: "CA", key: "K", cert: "C" });
    new EspruinoNet({ tls: true }).open("h", 8883, new Recorder());
    expect(made.at(-1)!.module).toBe("tls");
  });

  it("espruinoClock: milliseconds from getTime(), timers from setTimeout", async () => {
    g.getTime = () => 12.5;
    const { espruinoClock } = await load();
    expect(espruinoClock.now()).toBe(12500);
    let ran = false;
    const h = espruinoClock.after(1, () => { ran = true; });
    espruinoClock.cancel(h);
    await new Promise((r) => setTimeout(r, 5));
    expect(ran).toBe(false);
    delete g.getTime;
  });
});
