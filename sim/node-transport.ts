/**
 * The client's Transport over Node's `net` and `tls` (the Node counterpart of boards/'s Espruino adapter).
 * Writes are copied (the client reuses its buffers) into the socket; `room()` is what is left of a fixed
 * bound on the socket's unsent bytes, so a slow link holds messages in the client's outbox instead of growing
 * Node's buffer.
 */
import net from "node:net";
import tls from "node:tls";
import type { Link, Transport } from "../lib/hal/net";

export interface NodeTransportOptions {
  /** TLS options (ca, cert, key, servername, rejectUnauthorized); plain TCP when absent. */
  tls?: tls.ConnectionOptions;
  /** Bound on unsent bytes (default 16 KiB). */
  limit?: number;
}

export class NodeTransport implements Transport {
  private sock: net.Socket | null = null;
  private readonly limit: number;

  constructor(private readonly opts: NodeTransportOptions = {}) {
    this.limit = opts.limit ?? 16384;
  }

  open(host: string, port: number, link: Link): void {
    const t = this.opts.tls;
    const s = t ? tls.connect({ ...t, host, port, servername: t.servername ?? host }) : net.connect({ host, port });
    this.sock = s;
    s.setNoDelay(true);
    s.on(t ? "secureConnect" : "connect", () => { if (this.sock === s) link.up_(); });
    s.on("data", (d: Buffer) => { if (this.sock === s) link.data_(new Uint8Array(d.buffer, d.byteOffset, d.length)); });
    s.on("drain", () => { if (this.sock === s) link.drain_(); });
    s.on("error", () => { /* 'close' follows */ });
    s.on("close", () => {
      if (this.sock !== s) return;
      this.sock = null;
      link.down_();
    });
  }

  write(b: Uint8Array, s: number, e: number): void {
    const sock = this.sock;
    if (!sock || sock.destroyed) return;
    sock.write(Buffer.from(b.subarray(s, e)));
  }

  room(): number {
    const s = this.sock;
    return s && !s.destroyed ? Math.max(this.limit - s.writableLength, 0) : 0;
  }

  close(): void {
    const s = this.sock;
    if (s) { s.end(); s.destroySoon(); }
  }
}
