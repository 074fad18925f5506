/**
 * The broker's host on Espruino (issue 5, requirement 7): `require("net").createServer` turned into the
 * `Conn`/`Link` pairs of lib/hal/net.ts, the Espruino counterpart of sim/broker/listeners.ts. Each accepted
 * socket becomes a Conn handed to `accept` (the broker's), and the Link it returns hears that socket's events.
 * Checked against Espruino 2v29's libs/network/socketserver.c, with the care of the client's adapter
 * (boards/adapters/espruino-net.ts):
 *
 * - 'data' events carry binary strings (a chunk, up to about 536 bytes): turned into bytes with E.toUint8Array.
 * - `socket.write` appends to the socket's send string (RAM) and returns false; the socket emits 'drain' once
 *   that string has gone out whole (a server socket gets no 'drain' on connecting). So the bound on unsent bytes
 *   is kept here: bytes written since the last 'drain' count against `writeLimit`, `room()` is what is left,
 *   and 'drain' tells the Link (the broker then sends what waits in the session's queue). Espruino reads one
 *   chunk per socket per idle loop and queues its 'data' before the 'drain' of what the previous chunk's
 *   answers sent, so the count can hold the answers to two chunks: the broker closes a client whose acks do
 *   not fit (it reads as one that does not read), so the default bound, 2,048 bytes, leaves room for the acks
 *   of two full chunks (2 x 536 bytes of PUBRELs, answered byte for byte) and a large packet.
 * - A packet is written as one binary string made by E.toString over a view of the broker's buffer (a
 *   Uint8Array given to `write` would go out as the text "65,66,67"); undefined (no memory for it) ends the
 *   connection, so a packet goes whole or not at all.
 * - A closing socket emits 'error' (only for real errors), then 'end', then 'close' (socketserver.c queues
 *   'close' on every path that ends a connection, after an error too): only 'close' is listened to (each
 *   listener costs the socket a few variables), and it reports `down_`, once; nothing is written, and no bytes
 *   are passed on, after `close()` (writing after `end()` throws "This socket is closed").
 *
 * Nothing is made per packet here, and per socket only its Conn: the event handlers are module-level functions
 * shared by every socket, called by Espruino with `this` set to the socket, which carries its Conn in `mqc`
 * (a name of three characters that is none of Espruino's own socket fields, "type", "sckt", "dSnd", ...).
 */
import type { Accept, Conn, Link } from "../../lib/hal/net";

/** An Espruino socket, as far as this host uses it. */
interface EspruinoSocket {
  on(event: string, f: (this: EspruinoSocket, d: string) => void): void;
  write(s: string): boolean;
  end(): void;
  /** Its Conn (set on accepting, removed when it is down). */
  mqc?: SocketConn;
}

interface EspruinoServer {
  listen(port: number): unknown;
  close(): void;
}

interface EspruinoNetModule {
  createServer(cb: (s: EspruinoSocket) => void): EspruinoServer;
}

/**
 * Espruino's built-in modules, through `global.require` (a plain `require("net")` is bundled by esbuild). Read
 * when listening, not at the top level: a top-level read of `global` is kept by esbuild in every bundle that
 * imports this file (the boards re-export `listen`), used or not.
 */
type Modules = { require(name: string): EspruinoNetModule };

export interface ListenOptions {
  /** Bound on each connection's bytes written and not yet drained by its socket (default 2,048). */
  writeLimit?: number;
}

/** What `listen` returns. */
export interface Listening {
  /** Stops accepting connections; those open stay (Broker.close() ends them). */
  close(): void;
}

class SocketConn implements Conn {
  /** The Link, once accepted; null once down_ was reported. */
  l_: Link | null = null;
  /** Bytes written since the socket last drained. */
  n_ = 0;
  /** close() was asked for, or the socket is gone: nothing more is written or passed on (a number: see Peer). */
  c_ = 0;

  constructor(private readonly s_: EspruinoSocket, private readonly max_: number) {}

  write(b: Uint8Array, s: number, e: number): void {
    if (this.c_) return;
    this.n_ += e - s;
    const d = E.toString(new Uint8Array(b.buffer, b.byteOffset + s, e - s));
    if (typeof d != "string") return this.close();
    this.s_.write(d);
  }

  room(): number {
    return this.c_ ? 0 : Math.max(this.max_ - this.n_, 0);
  }

  close(): void {
    if (this.c_) return;
    this.c_ = 1;
    this.s_.end(); // queued bytes go first; 'end' and 'close' follow, and report down_
  }
}

function onData(this: EspruinoSocket, d: string): void {
  const c = this.mqc;
  if (!c || c.c_ || !c.l_) return;
  const u = E.toUint8Array(d);
  // no memory for the bytes: the stream has lost them, so the connection ends
  if (u) c.l_.data_(u);
  else c.close();
}

function onDrain(this: EspruinoSocket): void {
  const c = this.mqc;
  if (!c) return;
  c.n_ = 0;
  if (!c.c_ && c.l_) c.l_.drain_();
}

function onDown(this: EspruinoSocket): void {
  const c = this.mqc;
  if (!c) return;
  delete this.mqc;
  c.c_ = 1;
  const l = c.l_;
  c.l_ = null;
  if (l) l.down_();
}

/**
 * Listens on `port`; every connection is handed to `accept` as a Conn whose unsent bytes are bounded by
 * `o.writeLimit`. The returned `close()` stops listening.
 */
export function listen(port: number, accept: Accept, o?: ListenOptions): Listening {
  const max = (o && o.writeLimit) || 2048;
  const srv = (global as unknown as Modules).require("net").createServer((s) => {
    const c = new SocketConn(s, max);
    s.mqc = c;
    s.on("data", onData);
    s.on("drain", onDrain);
    s.on("close", onDown);
    c.l_ = accept(c);
  });
  srv.listen(port);
  return { close: () => srv.close() };
}
