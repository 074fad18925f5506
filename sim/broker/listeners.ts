/**
 * The broker's listeners on Node: plain TCP (`node:net`), TLS (`node:tls`) and MQTT over WebSocket (`ws`), each
 * turning every accepted socket into a Conn (lib/hal/net.ts) handed to `accept`, whose Link then hears that
 * connection's bytes and end. The Node counterpart of the Espruino `net.createServer` host in boards/.
 *
 * Per connection, what the broker relies on:
 * - `write(b, s, e)` copies `b[s..e)` (the broker reuses its buffers) and queues it on the socket;
 * - `room()` is a fixed bound (`limit`, default 64 KiB) minus the socket's unsent bytes (WebSocket:
 *   `bufferedAmount`); once it has reported less than the whole bound, `drain_` follows when the socket's
 *   buffer is empty again, so a slow subscriber holds messages in its session queue instead of in Node;
 * - `close()` sends what is queued and ends gracefully (WebSocket: a close frame), and destroys the socket if
 *   it is still there after `linger` (default 1 s);
 * - `down_` exactly once per connection, whoever closed it; no `data_` after `close()`.
 * Nagle is off: MQTT packets are small and latency matters more than segments.
 *
 * Each `listen*` resolves once bound, with the real port (0 asks for any free one) and `close()`, which stops
 * accepting at once and resolves when every connection is gone (those still open after `linger` are
 * destroyed), so a host can stop listening, let the broker close its connections, then await the close.
 */
import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { Accept, Conn, Link } from "../../lib/hal/net";

export interface ListenOptions {
  port: number;
  host: string;
  /** Bound on each connection's unsent bytes (default 65,536). */
  limit?: number;
  /** How long a closing connection (and, at close(), the listener's remaining ones) may take, ms (default 1000). */
  linger?: number;
  /** A failure that is not a connection's own end: `accept` or a Link throwing, the server erroring (default: console.error). */
  onError?: (e: unknown) => void;
}

export interface TlsListenOptions extends ListenOptions {
  /** PEM certificate (chain) and private key: the contents, not file names. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Time allowed for the TLS handshake, ms (default 10,000). */
  handshakeTimeout?: number;
}

export interface WsListenOptions extends ListenOptions {
  /** The only HTTP path upgraded (e.g. "/mqtt"); any path when absent. */
  path?: string;
  /** Largest WebSocket message accepted (default 1 MiB); larger: the connection is closed (1009). */
  maxMessage?: number;
}

export interface Listener {
  /** The port bound (the real one when 0 was asked). */
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting at once; resolves when every connection is gone (destroyed after `linger` if need be). */
  close(): Promise<void>;
}

export const DEFAULT_LIMIT = 65536;
const DEFAULT_LINGER = 1000;

const report = (o: ListenOptions, e: unknown): void => (o.onError ?? ((x: unknown) => console.error(x)))(e);

/** Hands `c` to `accept` and starts it; a throwing `accept` costs only this connection. */
function adopt(o: ListenOptions, accept: Accept, c: SocketConn | WsConn): void {
  let link: Link;
  try {
    link = accept(c);
  } catch (e) {
    c.kill();
    report(o, e);
    return;
  }
  c.start(link);
}

/** Corked bytes that make a connection write out before the end of the event-loop turn (or a quarter of its bound). */
const FLUSH_AT = 16384;

/**
 * A Node socket (plain or TLS) as a Conn. Writes within one event-loop turn are corked and leave together
 * (one writev system call instead of one per packet: measured by bench:broker, about half the broker's CPU per
 * message at QoS 0); past FLUSH_AT bytes they go at once, so a burst (retained messages on SUBSCRIBE) reaches
 * the kernel instead of using up `room()`.
 */
/** The socket's Conn, for the event handlers below: shared by every socket (no closures per connection). */
const CONN = Symbol("conn");
type Tagged = net.Socket & { [CONN]?: SocketConn };

function onSocketData(this: Tagged, d: Buffer): void {
  this[CONN]?.data(d);
}

function onSocketError(): void { /* 'close' follows */ }

function onSocketClose(this: Tagged): void {
  this[CONN]?.closed();
}

function uncorkConn(c: SocketConn): void {
  c.uncork();
}

class SocketConn implements Conn {
  private link: Link | null = null;
  private corked = false;
  private closing = false;
  private starved = false; // room() was below the bound: tell the link when the socket has flushed
  private killer: NodeJS.Timeout | null = null;
  private readonly flushed = (): void => {
    if (this.starved && !this.closing && this.s.writableLength == 0) {
      this.starved = false;
      this.call((l) => l.drain_());
    }
  };

  constructor(private readonly s: net.Socket, private readonly o: ListenOptions) {}

  start(link: Link): void {
    const s = this.s as Tagged;
    this.link = link;
    s[CONN] = this;
    s.on("data", onSocketData);
    s.on("error", onSocketError);
    s.once("close", onSocketClose);
  }

  data(d: Buffer): void {
    const l = this.link;
    if (this.closing || !l) return;
    try {
      l.data_(new Uint8Array(d.buffer, d.byteOffset, d.length));
    } catch (e) {
      this.s.destroy();
      report(this.o, e);
    }
  }

  closed(): void {
    if (this.killer) clearTimeout(this.killer);
    this.killer = null;
    this.closing = true;
    this.call((l) => l.down_());
    this.link = null; // down_ once
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.s.uncork();
  }

  write(b: Uint8Array, s: number, e: number): void {
    const sock = this.s;
    if (this.closing || !sock.writable) return;
    if (!this.corked) {
      this.corked = true;
      sock.cork();
      process.nextTick(uncorkConn, this);
    }
    sock.write(Buffer.from(b.subarray(s, e)), this.flushed);
    if (sock.writableLength >= Math.min(FLUSH_AT, (this.o.limit ?? DEFAULT_LIMIT) >> 2)) this.uncork();
  }

  room(): number {
    const s = this.s;
    if (this.closing || !s.writable) return 0;
    const limit = this.o.limit ?? DEFAULT_LIMIT;
    const r = limit - s.writableLength;
    if (r < limit) this.starved = true;
    return r > 0 ? r : 0;
  }

  close(): void {
    const s = this.s;
    if (this.closing || s.destroyed) return;
    this.closing = true;
    this.uncork();
    s.end();
    s.destroySoon();
    this.killer = setTimeout(() => s.destroy(), this.o.linger ?? DEFAULT_LINGER);
    this.killer.unref();
  }

  /** Drops the connection at once (accept refused it): no Link, so no down_. */
  kill(): void {
    this.closing = true;
    this.s.destroy();
  }

  /** Calls the link; a throwing link costs only this connection. */
  private call(fn: (l: Link) => void): void {
    const l = this.link;
    if (!l) return;
    try {
      fn(l);
    } catch (e) {
      this.s.destroy();
      report(this.o, e);
    }
  }
}

/** One WebSocket as a Conn: binary messages both ways [MQTT-6.0.0-1]. */
class WsConn implements Conn {
  private link: Link | null = null;
  private closing = false;
  private starved = false;
  private killer: NodeJS.Timeout | null = null;
  private readonly flushed = (): void => {
    if (this.starved && !this.closing && this.ws.bufferedAmount == 0) {
      this.starved = false;
      this.call((l) => l.drain_());
    }
  };

  constructor(private readonly ws: WebSocket, private readonly o: WsListenOptions) {}

  start(link: Link): void {
    const ws = this.ws;
    this.link = link;
    ws.on("message", (d: RawData, binary: boolean) => {
      if (this.closing) return;
      // [MQTT-6.0.0-1]: MQTT is sent in binary frames; any other data frame closes the connection
      if (!binary) { this.close(1003); return; }
      const b = Array.isArray(d) ? Buffer.concat(d) : Buffer.isBuffer(d) ? d : Buffer.from(d);
      this.call((l) => l.data_(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    });
    ws.on("error", () => { /* 'close' follows */ });
    ws.once("close", () => {
      if (this.killer) clearTimeout(this.killer);
      this.killer = null;
      this.closing = true;
      this.call((l) => l.down_());
      this.link = null;
    });
  }

  write(b: Uint8Array, s: number, e: number): void {
    if (this.closing || this.ws.readyState != WebSocket.OPEN) return;
    this.ws.send(Buffer.from(b.subarray(s, e)), { binary: true }, this.flushed);
  }

  room(): number {
    if (this.closing || this.ws.readyState != WebSocket.OPEN) return 0;
    const limit = this.o.limit ?? DEFAULT_LIMIT;
    const r = limit - this.ws.bufferedAmount;
    if (r < limit) this.starved = true;
    return r > 0 ? r : 0;
  }

  close(code = 1000): void {
    const ws = this.ws;
    if (this.closing || ws.readyState == WebSocket.CLOSED) return;
    this.closing = true;
    ws.close(code);
    this.killer = setTimeout(() => ws.terminate(), this.o.linger ?? DEFAULT_LINGER);
    this.killer.unref();
  }

  kill(): void {
    this.closing = true;
    this.ws.terminate();
  }

  private call(fn: (l: Link) => void): void {
    const l = this.link;
    if (!l) return;
    try {
      fn(l);
    } catch (e) {
      this.ws.terminate();
      report(this.o, e);
    }
  }
}

/** Binds `server`, tracks its raw sockets (Nagle off), and makes its Listener. */
async function bind(server: net.Server, o: ListenOptions): Promise<Listener> {
  const all = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    s.setNoDelay(true);
    all.add(s);
    s.once("close", () => all.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => { server.off("error", reject); resolve(); });
  });
  server.on("error", (e) => report(o, e));
  const port = (server.address() as net.AddressInfo).port;
  let closed: Promise<void> | null = null;
  return {
    port,
    get connections() { return all.size; },
    close: () => closed ??= new Promise<void>((resolve) => {
      const t = setTimeout(() => { for (const s of all) s.destroy(); }, o.linger ?? DEFAULT_LINGER);
      server.close(() => { clearTimeout(t); resolve(); });
    }),
  };
}

/** Plain MQTT over TCP. */
export function listenTcp(o: ListenOptions, accept: Accept): Promise<Listener> {
  const server = net.createServer({ noDelay: true }, (s) => adopt(o, accept, new SocketConn(s, o)));
  return bind(server, o);
}

/** MQTT over TLS: the connection is handed to `accept` once the handshake is done. */
export function listenTls(o: TlsListenOptions, accept: Accept): Promise<Listener> {
  const server = tls.createServer({ cert: o.cert, key: o.key, handshakeTimeout: o.handshakeTimeout ?? 10000 },
    (s) => adopt(o, accept, new SocketConn(s, o)));
  server.on("tlsClientError", () => { /* a failed handshake: the socket is destroyed, nothing was accepted */ });
  return bind(server, o);
}

/** The subprotocol to answer: "mqtt" [MQTT-6.0.0-4], or "mqttv3.1" for clients that offer only the old name. */
function pickProtocol(offered: Set<string>): string | false {
  if (offered.has("mqtt")) return "mqtt";
  if (offered.has("mqttv3.1")) return "mqttv3.1";
  return false;
}

function offeredProtocols(req: http.IncomingMessage): Set<string> {
  const h = req.headers["sec-websocket-protocol"];
  return new Set((h ?? "").split(",").map((p) => p.trim()).filter((p) => p));
}

/** Answers an upgrade we refuse with a plain HTTP error, then closes. */
function refuse(socket: Duplex, status: number, text: string): void {
  const body = text + "\n";
  socket.end("HTTP/1.1 " + status + " " + (http.STATUS_CODES[status] ?? "") + "\r\nConnection: close\r\n" +
    "Content-Type: text/plain\r\nContent-Length: " + Buffer.byteLength(body) + "\r\n\r\n" + body);
  (socket as net.Socket).destroySoon?.();
}

/** MQTT over WebSocket (MQTT 3.1.1 section 6): subprotocol "mqtt" (or "mqttv3.1"), binary messages. */
export function listenWs(o: WsListenOptions, accept: Accept): Promise<Listener> {
  const wss = new WebSocketServer({
    noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: o.maxMessage ?? 1 << 20,
    handleProtocols: (offered) => pickProtocol(offered),
  });
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain", Connection: "close", Upgrade: "websocket" });
    res.end("MQTT over WebSocket: upgrade with subprotocol \"mqtt\"\n");
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => { /* a socket reset during the handshake */ });
    const where = new URL(req.url ?? "/", "http://x").pathname;
    if (o.path !== undefined && where != o.path) return refuse(socket, 404, "no MQTT endpoint at " + where);
    // [MQTT-6.0.0-3]: the client offers "mqtt"; without it there is no agreement on what the bytes are
    if (!pickProtocol(offeredProtocols(req))) return refuse(socket, 400, "Sec-WebSocket-Protocol must offer \"mqtt\"");
    wss.handleUpgrade(req, socket, head, (ws) => adopt(o, accept, new WsConn(ws, o)));
  });
  return bind(server, o);
}
