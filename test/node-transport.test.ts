/**
 * sim/node-transport.ts against real loopback sockets: the Link contract the client relies on (lib/hal/net.ts):
 * `down_` once per `open()` whatever happens, no `data_` after `close()`, `close()` finishing on a stalled or
 * still-connecting link, `drain_` after backpressure, and `abort()` sending nothing more.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import type { Link } from "../lib/hal/net";
import { NodeTransport } from "../sim/node-transport";
import { freePort, makeCerts } from "./helpers/mosquitto";
import { sleep, waitFor } from "./helpers/peers";

class Rec implements Link {
  ups = 0; downs = 0; drains = 0; bytes = 0; dataAfterClose = 0; closed = false;
  up_(): void { this.ups++; }
  data_(d: Uint8Array): void { this.bytes += d.length; if (this.closed) this.dataAfterClose++; }
  down_(): void { this.downs++; }
  drain_(): void { this.drains++; }
}

const servers: net.Server[] = [];
const peers: net.Socket[] = [];
afterEach(async () => {
  for (const s of peers.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A loopback server; `onConn` gets each accepted socket. */
async function server(onConn: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer((s) => { peers.push(s); s.on("error", () => {}); onConn(s); });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as net.AddressInfo).port;
}

describe("NodeTransport", () => {
  it("a refused connection: down_ once, no up_, the error kept", async () => {
    const port = await freePort(); // nothing listens there
    const t = new NodeTransport();
    const l = new Rec();
    t.open("127.0.0.1", port, l);
    await waitFor(() => l.downs > 0, 3000, () => "down_");
    await sleep(20);
    expect([l.ups, l.downs]).toEqual([0, 1]);
    expect(String(t.lastError)).toMatch(/ECONNREFUSED/);
    expect(t.room()).toBe(0);
  });

  it("a socket that cannot even be made (port out of range): down_ once, later, not during open()", async () => {
    const t = new NodeTransport();
    const l = new Rec();
    t.open("127.0.0.1", 70000, l);
    expect(l.downs).toBe(0);
    await waitFor(() => l.downs > 0, 1000, () => "down_");
    expect(l.downs).toBe(1);
    expect(t.lastError).toBeInstanceOf(RangeError);
  });

  it("close() while still connecting ends at once in down_", async () => {
    const port = await server(() => {});
    const t = new NodeTransport();
    const l = new Rec();
    t.open("127.0.0.1", port, l);
    t.close();
    await waitFor(() => l.downs > 0, 1000, () => "down_");
    await sleep(20);
    expect([l.ups, l.downs]).toEqual([0, 1]);
  });

  it("no data_ after close(), while the peer keeps sending; down_ once", async () => {
    let flood: NodeJS.Timeout | null = null;
    const port = await server((s) => { flood = setInterval(() => { if (!s.destroyed) s.write(Buffer.alloc(1000)); }, 1); });
    try {
      const t = new NodeTransport();
      const l = new Rec();
      t.open("127.0.0.1", port, l);
      await waitFor(() => l.bytes > 5000, 3000, () => "data");
      t.close();
      l.closed = true;
      await waitFor(() => l.downs > 0, 3000, () => "down_");
      await sleep(20);
      expect(l.dataAfterClose).toBe(0);
      expect(l.downs).toBe(1);
    } finally {
      if (flood) clearInterval(flood);
    }
  });

  it("close() sends what was written first (the DISCONNECT), then FIN", async () => {
    let got = Buffer.alloc(0);
    let ended = false;
    const port = await server((s) => { s.on("data", (d) => { got = Buffer.concat([got, d]); }); s.on("end", () => { ended = true; }); });
    const t = new NodeTransport();
    const l = new Rec();
    t.open("127.0.0.1", port, l);
    await waitFor(() => l.ups > 0, 3000, () => "up_");
    t.write(new Uint8Array([0xe0, 0x00, 0x99]), 0, 2);
    t.close();
    await waitFor(() => ended && l.downs > 0, 3000, () => "FIN and down_");
    expect(got.toString("hex")).toBe("e000");
  });

  it("abort() sends nothing more: bytes written after it never leave", async () => {
    let got = 0;
    let gone = false;
    const port = await server((s) => { s.on("data", (d) => { got += d.length; }); s.on("close", () => { gone = true; }); });
    const t = new NodeTransport();
    const l = new Rec();
    t.open("127.0.0.1", port, l);
    await waitFor(() => l.ups > 0, 3000, () => "up_");
    t.abort();
    t.write(new Uint8Array([0xe0, 0x00]), 0, 2);
    await waitFor(() => gone && l.downs > 0, 3000, () => "the peer to see the close");
    expect(got).toBe(0);
    expect(l.downs).toBe(1);
  });

  it("backpressure: room() shrinks while the peer does not read, and drain_ comes when it does; close() then finishes within linger", async () => {
    let peer: net.Socket | null = null;
    const port = await server((s) => { peer = s; s.pause(); });
    const t = new NodeTransport({ limit: 4096, linger: 300 });
    const l = new Rec();
    t.open("127.0.0.1", port, l);
    await waitFor(() => l.ups > 0 && !!peer, 3000, () => "up_");
    const chunk = new Uint8Array(65536);
    // fill the kernel buffers until Node itself holds bytes (bounded: 64 MiB)
    for (let i = 0; i < 1024 && t.room() == 4096; i++) t.write(chunk, 0, chunk.length);
    expect(t.room()).toBeLessThan(4096);
    expect(l.drains).toBe(0);
    peer!.resume();
    await waitFor(() => l.drains > 0, 5000, () => "drain_");
    expect(t.room()).toBe(4096);

    // stall again, then close(): the FIN cannot leave behind the queued bytes, the socket is destroyed after linger
    peer!.pause();
    for (let i = 0; i < 1024 && t.room() == 4096; i++) t.write(chunk, 0, chunk.length);
    const t0 = Date.now();
    t.close();
    await waitFor(() => l.downs > 0, 3000, () => "down_ after linger");
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(l.downs).toBe(1);
  });

  it("TLS to an IP address: the certificate is checked against the IP, no SNI is sent (no DEP0123 warning)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mqtt-tls-"));
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => { warnings.push(String(w.code) + " " + w.message); };
    process.on("warning", onWarning);
    try {
      const certs = makeCerts(dir);
      let sni: string | false | null | undefined;
      const srv = tls.createServer({ cert: certs.certPem, key: certs.keyPem }, (s) => { sni = s.servername; s.on("error", () => {}); peers.push(s); s.end(); });
      servers.push(srv as unknown as net.Server);
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      const port = (srv.address() as net.AddressInfo).port;
      const t = new NodeTransport({ tls: { ca: certs.caPem } });
      const l = new Rec();
      t.open("127.0.0.1", port, l);
      await waitFor(() => l.downs > 0, 3000, () => "down_");
      expect(l.ups).toBe(1);
      expect(t.lastError).toBe(null);
      expect(sni).toBeFalsy();
      await sleep(20);
      expect(warnings.filter((w) => /DEP0123|ServerName/.test(w))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("open() again on the same transport: a fresh connection, and the old socket does not report", async () => {
    const port = await server(() => {});
    const t = new NodeTransport();
    const a = new Rec();
    const b = new Rec();
    t.open("127.0.0.1", port, a);
    await waitFor(() => a.ups > 0, 3000, () => "up_");
    t.close();
    await waitFor(() => a.downs > 0, 3000, () => "down_");
    t.open("127.0.0.1", port, b);
    await waitFor(() => b.ups > 0, 3000, () => "second up_");
    t.close();
    await waitFor(() => b.downs > 0, 3000, () => "second down_");
    expect([a.ups, a.downs, b.ups, b.downs]).toEqual([1, 1, 1, 1]);
  });
});
