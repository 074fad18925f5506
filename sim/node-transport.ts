/**
 * The client's Transport over Node's `net` and `tls` (the Node counterpart of boards/'s Espruino adapter).
 * Writes are copied (the client reuses its buffers) into the socket; `room()` is what is left of a fixed
 * bound on the socket's unsent bytes, so a slow link holds messages in the client's outbox instead of growing
 * Node's buffer, and `drain_` tells the client when the bytes it was waiting on are gone.
 *
 * Guarantees the client relies on (lib/hal/net.ts): `down_` exactly once per `open()`, also when the socket
 * cannot even be created; no `data_` after `close()` or `abort()` (the client has finished with the connection:
 * a broker's bytes arriving behind a protocol error are not decoded again); `close()` always ends in `down_`,
 * also when the link is stalled or still connecting (then the socket is destroyed instead of waiting).
 */
import net from "node:net";
import tls from "node:tls";
import type { Link, Transport } from "../lib/hal/net";

export interface NodeTransportOptions {
  /** TLS options (ca, cert, key, servername, rejectUnauthorized); plain TCP when absent. */
  tls?: tls.ConnectionOptions;
  /** Bound on unsent bytes (default 16 KiB). */
  limit?: number;
  /** After close(), how long queued bytes (a DISCONNECT) may take to leave before the socket is destroyed, ms (default 1000). */
  linger?: number;
}

export class NodeTransport implements Transport {
  /** The last socket error (for logs and tests), or null. */
  lastError: Error | null = null;
  private sock: net.Socket | null = null;
  private link: Link | null = null;
  private closing = false; // close() or abort() was called on the current socket
  private starved = false; // room() was below the bound: tell the link when the socket has flushed
  private killer: NodeJS.Timeout | null = null;
  private readonly limit: number;
  private readonly flushed = (): void => {
    const s = this.sock;
    if (this.starved && s && !this.closing && s.writableLength == 0) {
      this.starved = false;
      this.link!.drain_();
    }
  };

  constructor(private readonly opts: NodeTransportOptions = {}) {
    this.limit = opts.limit ?? 16384;
  }

  open(host: string, port: number, link: Link): void {
    this.abort(); // never two sockets: a previous one is dropped (its events are ignored from here on)
    this.disarm();
    this.link = link;
    this.closing = false;
    this.starved = false;
    const t = this.opts.tls;
    let s: net.Socket;
    try {
      // an IP address is not a valid SNI name (RFC 6066 section 3); Node warns when given one
      s = t ? tls.connect({ ...t, host, port, servername: t.servername ?? (net.isIP(host) ? undefined : host) }) : net.connect({ host, port });
    } catch (e) {
      this.lastError = e as Error;
      process.nextTick(() => link.down_()); // once per open(), as for a socket that failed
      return;
    }
    this.sock = s;
    s.setNoDelay(true);
    s.on(t ? "secureConnect" : "connect", () => { if (this.sock === s && !this.closing) link.up_(); });
    s.on("data", (d: Buffer) => { if (this.sock === s && !this.closing) link.data_(new Uint8Array(d.buffer, d.byteOffset, d.length)); });
    s.on("error", (e: Error) => { if (this.sock === s) this.lastError = e; /* 'close' follows */ });
    s.on("close", () => {
      if (this.sock !== s) return;
      this.sock = null;
      this.disarm();
      link.down_();
    });
  }

  write(b: Uint8Array, s: number, e: number): void {
    const sock = this.sock;
    if (!sock || this.closing || !sock.writable) return;
    sock.write(Buffer.from(b.subarray(s, e)), this.flushed);
  }

  room(): number {
    const s = this.sock;
    if (!s || this.closing || !s.writable) return 0;
    const r = this.limit - s.writableLength;
    if (r < this.limit) this.starved = true;
    return r > 0 ? r : 0;
  }

  /** Sends what is queued (a DISCONNECT), then closes; destroys at once while connecting, or after `linger`. */
  close(): void {
    const s = this.sock;
    if (!s || this.closing) return;
    this.closing = true;
    if (s.connecting) { s.destroy(); return; }
    s.end();
    s.destroySoon();
    this.killer = setTimeout(() => s.destroy(), this.opts.linger ?? 1000);
    this.killer.unref();
  }

  /** Drops the connection at once, sending nothing more (power loss, a cable pulled): no DISCONNECT reaches the broker. */
  abort(): void {
    const s = this.sock;
    if (!s) return;
    this.closing = true;
    s.destroy();
  }

  private disarm(): void {
    if (this.killer) clearTimeout(this.killer);
    this.killer = null;
  }
}
