/**
 * The client's Transport and Clock on Espruino (issue 4, requirement 4): sockets from `require("net")`, or
 * from `require("tls")` (ESP32 builds: mbedTLS, options ca/key/cert) — the Espruino counterpart of
 * sim/node-transport.ts. Checked against Espruino 2v29's libs/network/jswrap_net.c and socketserver.c:
 *
 * - 'data' events carry binary strings (up to one chunk, about 536 bytes): turned into bytes here, at the edge,
 *   with E.toUint8Array.
 * - `socket.write` appends to the socket's send string (RAM) and always returns false; the socket emits 'drain'
 *   once that string has been sent whole (also once right after connecting). So the bound on unsent bytes is
 *   kept here: bytes written since the last 'drain' are counted against `writeLimit`, and `room()` is what is
 *   left. The client writes a whole packet only when `room()` holds it, so a slow link keeps messages in the
 *   client's outbox (fixed size) instead of growing the socket's string.
 * - A packet is written as one binary string made by E.toString over a view of the client's buffer (no copy
 *   into an intermediate array; a Uint8Array given to `write` would be sent as the text "65,66,67").
 * - A closing socket emits 'error' (only for real errors), then 'end', then 'close'. Any of the three reports
 *   `down_` to the client, once per `open()`. Events of an earlier socket (one replaced by a new `open()`) are
 *   ignored: each handler compares the socket it is called on (`this`, as Espruino calls socket handlers) with
 *   the current one.
 * - Writing to a socket after `end()` throws "This socket is closed": nothing is written once `close()` was
 *   asked for.
 *
 * The handlers are made once, in the constructor, and shared by every socket: a reconnect allocates the socket
 * and nothing else here.
 */
import type { Clock, Link, Transport } from "../../lib/hal/net";

/** An Espruino socket, as far as this adapter uses it. */
interface EspruinoSocket {
  on(event: string, f: (this: EspruinoSocket, d: string) => void): void;
  write(s: string): boolean;
  end(): void;
}

interface EspruinoNetModule {
  connect(o: object, cb: (this: EspruinoSocket, d: string) => void): EspruinoSocket | undefined;
}

/** Espruino's built-in modules, through `global.require` (a plain `require("net")` is bundled by esbuild). */
const modules = global as unknown as { require(name: string): EspruinoNetModule };

export interface EspruinoNetOptions {
  /** Connect with `require("tls")` (ESP32 only). Implied by `ca`, `key` or `cert`. */
  tls?: boolean;
  /** TLS: CA certificate(s), client key and certificate, as PEM text (what `require("tls").connect` takes). */
  ca?: string;
  key?: string;
  cert?: string;
  /** Bound on bytes written and not yet drained by the socket (default 1024). */
  writeLimit?: number;
}

type Handler = (this: EspruinoSocket, d: string) => void;

export class EspruinoNet implements Transport {
  private s_: EspruinoSocket | null = null;
  private l_: Link | null = null;
  private n_ = 0; // bytes written since the socket last drained
  private c_ = false; // close() was asked for: write nothing more to this socket
  private readonly o_: EspruinoNetOptions;
  private readonly onUp_: Handler;
  private readonly onData_: Handler;
  private readonly onDrain_: Handler;
  private readonly onDown_: Handler;

  constructor(o?: EspruinoNetOptions) {
    const t = this;
    this.o_ = o || {};
    this.onUp_ = function () { if (this === t.s_) t.l_!.up_(); };
    this.onData_ = function (d) { if (this === t.s_) t.l_!.data_(E.toUint8Array(d)); };
    this.onDrain_ = function () {
      if (this !== t.s_) return;
      t.n_ = 0;
      t.l_!.drain_();
    };
    this.onDown_ = function () {
      if (this !== t.s_) return;
      t.s_ = null;
      t.l_!.down_();
    };
  }

  open(host: string, port: number, link: Link): void {
    const o = this.o_;
    const old = this.s_;
    this.s_ = null;
    if (old && !this.c_) old.end();
    this.l_ = link;
    this.n_ = 0;
    this.c_ = false;
    const secure = o.tls || o.ca || o.key || o.cert;
    let s: EspruinoSocket | undefined;
    try {
      s = secure
        ? modules.require("tls").connect({ host: host, port: port, ca: o.ca, key: o.key, cert: o.cert }, this.onUp_)
        : modules.require("net").connect({ host: host, port: port }, this.onUp_);
    } catch (e) {
      s = undefined; // no network ("Not connected to the internet"), no tls module (ESP8266)
    }
    if (!s) return link.down_();
    this.s_ = s;
    s.on("data", this.onData_);
    s.on("drain", this.onDrain_);
    s.on("error", this.onDown_);
    s.on("end", this.onDown_);
    s.on("close", this.onDown_);
  }

  write(b: Uint8Array, s: number, e: number): void {
    const k = this.s_;
    if (!k || this.c_) return;
    this.n_ += e - s;
    const d = E.toString(new Uint8Array(b.buffer, b.byteOffset + s, e - s));
    // undefined when there is no memory for it: a packet goes whole or the connection ends
    if (typeof d != "string") return this.close();
    k.write(d);
  }

  room(): number {
    return this.s_ && !this.c_ ? Math.max((this.o_.writeLimit || 1024) - this.n_, 0) : 0;
  }

  close(): void {
    const k = this.s_;
    if (!k || this.c_) return;
    this.c_ = true;
    k.end(); // queued bytes go first; 'end' and 'close' follow, and report down_
  }
}

/** Espruino's time: milliseconds from getTime() (seconds, float), timers from setTimeout. */
export const espruinoClock: Clock = {
  now: () => getTime() * 1000,
  after: (ms, fn) => setTimeout(fn, ms),
  cancel: (h) => clearTimeout(h),
};
