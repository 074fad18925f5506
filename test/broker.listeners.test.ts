/**
 * sim/broker/listeners.ts against real loopback sockets, with a recording Link in place of the broker: the Conn
 * contract the broker relies on (lib/hal/net.ts) over TCP, TLS and WebSocket: bytes both ways, writes copied,
 * `down_` exactly once whoever closes, no `data_` after `close()`, `drain_` after backpressure, a throwing
 * `accept` costing only its connection, and the WebSocket rules of MQTT 3.1.1 section 6.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Conn, Link } from "../lib/hal/net";
import { listenTcp, listenTls, listenWs, type Listener } from "../sim/broker/listeners";
import { makeCerts, type TlsFiles } from "./helpers/mosquitto";
import { sleep, waitFor } from "./helpers/peers";

/** A Link that records what its connection reports; `onData` may act on the Conn. */
class Rec implements Link {
  downs = 0; drains = 0; dataAfterClose = 0; closed = false;
  got: Buffer[] = [];
  constructor(readonly c: Conn, readonly onData?: (r: Rec, d: Uint8Array) => void) {}
  up_(): void { throw new Error("up_ on an accepted connection"); }
  data_(d: Uint8Array): void {
    if (this.closed) this.dataAfterClose++;
    this.got.push(Buffer.from(d));
    this.onData?.(this, d);
  }
  down_(): void { this.downs++; }
  drain_(): void { this.drains++; }
  text(): string { return Buffer.concat(this.got).toString(); }
  close(): void { this.closed = true; this.c.close(); }
}

const listeners: Listener[] = [];
const clients: { destroy(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

let dir = "";
let certs: TlsFiles;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "broker-listeners-"));
  certs = makeCerts(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Kind = "tcp" | "tls" | "ws";
const HOST = "127.0.0.1";

/** A listener of `kind` whose connections get a Rec (collected in `recs`). */
async function listen(kind: Kind, recs: Rec[], onData?: (r: Rec, d: Uint8Array) => void, limit?: number): Promise<Listener> {
  const accept = (c: Conn): Link => { const r = new Rec(c, onData); recs.push(r); return r; };
  const base = { port: 0, host: HOST, linger: 300, ...(limit ? { limit } : {}) };
  const l = kind == "tcp" ? await listenTcp(base, accept)
    : kind == "tls" ? await listenTls({ ...base, cert: certs.certPem, key: certs.keyPem }, accept)
      : await listenWs(base, accept);
  listeners.push(l);
  return l;
}

/** A client of `kind` seen as a plain byte pipe. */
interface Pipe { write(s: string): void; got(): string; ended(): boolean; end(): void; pause(): void; resume(): void }

async function connect(kind: Kind, port: number): Promise<Pipe> {
  let buf = "";
  let ended = false;
  if (kind == "ws") {
    const ws = new WebSocket("ws://" + HOST + ":" + port + "/mqtt", "mqtt");
    clients.push({ destroy: () => ws.terminate() });
    ws.on("message", (d: Buffer) => { buf += d.toString(); });
    ws.on("close", () => { ended = true; });
    ws.on("error", () => {});
    await new Promise((r, j) => { ws.once("open", r); ws.once("error", j); });
    const sock = (ws as unknown as { _socket: net.Socket })._socket;
    return {
      write: (s) => ws.send(Buffer.from(s)), got: () => buf, ended: () => ended, end: () => ws.close(),
      pause: () => sock.pause(), resume: () => sock.resume(),
    };
  }
  const s: net.Socket = kind == "tls" ? tls.connect({ host: HOST, port, ca: certs.caPem }) : net.connect({ host: HOST, port });
  clients.push(s);
  s.on("data", (d: Buffer) => { buf += d.toString(); });
  s.on("close", () => { ended = true; });
  s.on("error", () => {});
  await new Promise((r, j) => { s.once(kind == "tls" ? "secureConnect" : "connect", r); s.once("error", j); });
  return { write: (x) => s.write(x), got: () => buf, ended: () => ended, end: () => s.end(), pause: () => s.pause(), resume: () => s.resume() };
}

for (const kind of ["tcp", "tls", "ws"] as const) {
  describe("listener " + kind, () => {
    it("bytes both ways; write copies the caller's buffer", async () => {
      const recs: Rec[] = [];
      const scratch = new Uint8Array(16);
      const l = await listen(kind, recs, (r, d) => {
        scratch.set(d.subarray(0, Math.min(d.length, 12)), 2);
        r.c.write(scratch, 2, 2 + Math.min(d.length, 12));
        scratch.fill(0x21); // reused at once, as the broker does
      });
      expect(l.port).toBeGreaterThan(0);
      const p = await connect(kind, l.port);
      p.write("hello");
      await waitFor(() => p.got() == "hello", 3000, () => "echo: " + JSON.stringify(p.got()));
      expect(recs.length).toBe(1);
      expect(recs[0]!.text()).toBe("hello");
      expect(l.connections).toBe(1);
    });

    it("close(): the queued bytes arrive, the peer sees the end, down_ once, no data_ after", async () => {
      const recs: Rec[] = [];
      const l = await listen(kind, recs, (r) => { r.c.write(Buffer.from("bye"), 0, 3); r.close(); });
      const p = await connect(kind, l.port);
      p.write("x");
      await waitFor(() => p.ended(), 3000, () => "peer end");
      expect(p.got()).toBe("bye");
      const r = recs[0]!;
      await waitFor(() => r.downs > 0, 3000, () => "down_");
      p.write("late"); // ignored
      await sleep(50);
      expect([r.downs, r.dataAfterClose]).toEqual([1, 0]);
      expect(r.c.room()).toBe(0);
      r.c.close(); // again: nothing more
      await sleep(20);
      expect(r.downs).toBe(1);
    });

    it("the peer closing: down_ once", async () => {
      const recs: Rec[] = [];
      const l = await listen(kind, recs);
      const p = await connect(kind, l.port);
      await waitFor(() => recs.length == 1, 3000, () => "accepted");
      p.end();
      await waitFor(() => recs[0]!.downs > 0, 3000, () => "down_");
      await sleep(30);
      expect(recs[0]!.downs).toBe(1);
      await waitFor(() => l.connections == 0, 3000, () => "connections " + l.connections);
    });

    it("room() is the bound minus unsent bytes, and drain_ follows once the buffer empties", async () => {
      const recs: Rec[] = [];
      const limit = 8192;
      const l = await listen(kind, recs, undefined, limit);
      const p = await connect(kind, l.port);
      await waitFor(() => recs.length == 1, 3000, () => "accepted");
      const r = recs[0]!;
      expect(r.c.room()).toBe(limit);
      p.pause();
      const chunk = new Uint8Array(1024).fill(0x61);
      let sent = 0;
      // fill the kernel buffers and then ours: stop once room() says the bound is reached
      for (let i = 0; i < 100000; i++) {
        if (r.c.room() < chunk.length) {
          await sleep(5); // corked bytes leave at the end of the turn: full only if still full after that
          if (r.c.room() < chunk.length) break;
          continue;
        }
        r.c.write(chunk, 0, chunk.length);
        sent += chunk.length;
        if (i % 64 == 63) await sleep(1);
      }
      expect(r.c.room()).toBeLessThan(chunk.length);
      // (while the kernel still took bytes, each turn's corked writes left and drain_ said so: room came back)
      const before = r.drains;
      await sleep(50);
      expect(r.drains).toBe(before); // full: no drain_ while the peer does not read
      p.resume();
      await waitFor(() => r.drains > before, 10000, () => "drain_ after " + sent + " bytes");
      expect(r.c.room()).toBe(limit);
      await waitFor(() => p.got().length == sent, 10000, () => "got " + p.got().length + " of " + sent);
      expect(r.drains).toBe(before + 1);
    });

    it("a throwing accept costs only that connection", async () => {
      const errors: unknown[] = [];
      let n = 0;
      const base = { port: 0, host: HOST, onError: (e: unknown) => errors.push(e) };
      const accept = (c: Conn): Link => {
        if (n++ == 0) throw new Error("refused by test");
        return new Rec(c, (r, d) => r.c.write(d, 0, d.length));
      };
      const l = kind == "tcp" ? await listenTcp(base, accept)
        : kind == "tls" ? await listenTls({ ...base, cert: certs.certPem, key: certs.keyPem }, accept) : await listenWs(base, accept);
      listeners.push(l);
      const bad = await connect(kind, l.port).catch(() => null); // WebSocket: may fail right after the upgrade
      if (bad) await waitFor(() => bad.ended(), 3000, () => "dropped");
      expect(String(errors[0])).toMatch(/refused by test/);
      const good = await connect(kind, l.port);
      good.write("ok");
      await waitFor(() => good.got() == "ok", 3000, () => "echo");
    });

    it("close() of the listener: stops accepting, connections left open are destroyed after the linger", async () => {
      const recs: Rec[] = [];
      const l = await listen(kind, recs);
      const p = await connect(kind, l.port);
      await waitFor(() => recs.length == 1, 3000, () => "accepted");
      listeners.splice(listeners.indexOf(l), 1);
      const t0 = Date.now();
      await l.close();
      expect(Date.now() - t0).toBeLessThan(3000);
      await waitFor(() => p.ended() && recs[0]!.downs == 1, 3000, () => "ended");
      await expect(connect(kind, l.port)).rejects.toThrow();
    });
  });
}

describe("listener ws: MQTT over WebSocket rules (MQTT 3.1.1 section 6)", () => {
  async function upgrade(port: number, urlPath: string, protocols: string[]): Promise<{ status: number; protocol: string }> {
    return new Promise((resolve) => {
      const ws = new WebSocket("ws://" + HOST + ":" + port + urlPath, protocols);
      clients.push({ destroy: () => ws.terminate() });
      ws.on("unexpected-response", (_req, res) => { resolve({ status: res.statusCode ?? 0, protocol: "" }); ws.terminate(); });
      ws.on("open", () => { resolve({ status: 101, protocol: ws.protocol }); ws.close(); });
      ws.on("error", () => {});
    });
  }

  it("[MQTT-6.0.0-3] [MQTT-6.0.0-4] answers subprotocol mqtt, accepts mqttv3.1, refuses a client offering neither", async () => {
    const l = await listen("ws", []);
    expect(await upgrade(l.port, "/mqtt", ["mqttv3.1", "mqtt"])).toEqual({ status: 101, protocol: "mqtt" });
    expect(await upgrade(l.port, "/", ["mqttv3.1"])).toEqual({ status: 101, protocol: "mqttv3.1" });
    expect((await upgrade(l.port, "/mqtt", ["chat"])).status).toBe(400);
    expect((await upgrade(l.port, "/mqtt", [])).status).toBe(400);
  });

  it("with a path, only that path is upgraded", async () => {
    const l = await listenWs({ port: 0, host: HOST, path: "/mqtt" }, (c) => new Rec(c));
    listeners.push(l);
    expect((await upgrade(l.port, "/mqtt", ["mqtt"])).status).toBe(101);
    expect((await upgrade(l.port, "/other", ["mqtt"])).status).toBe(404);
  });

  it("[MQTT-6.0.0-1] a text frame closes the connection, and is not passed on", async () => {
    const recs: Rec[] = [];
    const l = await listen("ws", recs);
    const ws = new WebSocket("ws://" + HOST + ":" + l.port + "/mqtt", "mqtt");
    clients.push({ destroy: () => ws.terminate() });
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send("text", { binary: false });
    expect(await closed).toBe(1003);
    await waitFor(() => recs[0]?.downs == 1, 3000, () => "down_");
    expect(recs[0]!.got.length).toBe(0);
  });

  it("a plain HTTP request gets 426", async () => {
    const l = await listen("ws", []);
    const res = await fetch("http://" + HOST + ":" + l.port + "/");
    expect(res.status).toBe(426);
    await res.text();
  });
});
