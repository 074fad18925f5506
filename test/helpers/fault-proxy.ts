/**
 * A loopback TCP proxy between our client and a real broker that injects faults (issue 4, requirement 7).
 * It frames the MQTT stream in both directions (fixed header + remaining length), so it can act on packet
 * boundaries:
 *
 * - `byteByByte`: broker -> client bytes are written one byte per write, 1 ms apart (so each arrives alone);
 * - `stall()`: the current connections stop forwarding both ways and stay open (bytes are read and held, so
 *   the proxy still sees the client's FIN, but nothing reaches the other side); `stallNew`: the next
 *   connections are stalled from their start;
 * - `cutNext(dir, type)`: the next packet of `type` going `dir` is forwarded only in part, then both sockets
 *   are closed: a connection cut in the middle of a packet;
 * - `inject(bytes)`: bytes sent to the client as if from the broker, between two whole packets (garbage, an
 *   oversized header, a packet type the broker must not send).
 *
 * Listens on 127.0.0.1 only, on a port chosen by the OS.
 */
import net from "node:net";

/** down: broker -> client; up: client -> broker. */
export type Dir = "down" | "up";

/** Splits a byte stream into whole MQTT packets. */
class Framer {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends a chunk; returns the packets it completed (a malformed length passes the rest through whole). */
  push(d: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const out: Buffer[] = [];
    for (let i = 0; i < 100000 && this.buf.length >= 2; i++) {
      let len = 0;
      let mul = 1;
      let k = 1;
      for (; k < 5 && k < this.buf.length; k++) {
        const b = this.buf[k]!;
        len += (b & 127) * mul;
        mul *= 128;
        if (!(b & 128)) break;
      }
      if (k == 5) { out.push(this.buf); this.buf = Buffer.alloc(0); break; } // not MQTT: pass it on
      if (k >= this.buf.length) break; // length not complete yet
      const total = k + 1 + len;
      if (this.buf.length < total) break;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }
}

export interface Conn {
  readonly id: number;
  readonly client: net.Socket;
  readonly broker: net.Socket;
  /** Who ended the connection first. */
  closedBy: "client" | "broker" | "proxy" | null;
  /** When the client's FIN (or close) reached the proxy (Date.now()), or 0. */
  clientEndAt: number;
  stalled: boolean;
  /** Types of the packets forwarded, per direction. */
  readonly types: { down: number[]; up: number[] };
  /** Bytes held while stalled. */
  held: number;
  readonly out: Buffer[]; // broker -> client queue
  writing: boolean;
  done: boolean;
  /** Bytes written to the client. */
  sentDown: number;
}

interface Cut { dir: Dir; type: number; at: number; fired: boolean }

export class FaultProxy {
  readonly conns: Conn[] = [];
  /** Broker -> client one byte per write (for new and current connections). */
  byteByByte = false;
  /**
   * With byteByByte: the next byte is written only once this says the client has read every byte sent so far
   * on the connection (`sent`), so the kernel cannot merge two into one read; waits at most 200 ms per byte.
   */
  lockstep: ((sent: number) => boolean) | null = null;
  /** Times the lockstep gave up waiting for the client to read a byte. */
  gaveUp = 0;
  /** New connections start stalled (a broker that accepts TCP and then never answers), this many more times. */
  stallNew = 0;
  private readonly server: net.Server;
  private cut: Cut | null = null;
  private timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly upstream: number) {
    this.server = net.createServer((s) => this.accept(s));
  }

  static async start(upstreamPort: number): Promise<FaultProxy> {
    const p = new FaultProxy(upstreamPort);
    await new Promise<void>((resolve, reject) => {
      p.server.once("error", reject);
      p.server.listen(0, "127.0.0.1", () => resolve());
    });
    return p;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a == "object" && a ? a.port : 0;
  }

  /** The newest connection still open, if any. */
  get current(): Conn | undefined {
    for (let i = this.conns.length - 1; i >= 0; i--) if (!this.conns[i]!.done) return this.conns[i];
    return undefined;
  }

  /** Stops forwarding on every open connection, both ways, without closing anything. Returns when (Date.now()). */
  stall(): number {
    for (const c of this.conns) if (!c.done) c.stalled = true;
    return Date.now();
  }

  /** Arms a cut: the next packet of `type` going `dir` is forwarded up to byte `at` (default: half), then closed. */
  cutNext(dir: Dir, type: number, at = -1): void {
    this.cut = { dir, type, at, fired: false };
  }

  /** True once an armed cut has happened. */
  get cutDone(): boolean { return !!this.cut && this.cut.fired; }

  /** Sends `bytes` to the client of the current connection as if from the broker, between two whole packets. */
  inject(bytes: Uint8Array | number[] | string): void {
    const c = this.current;
    if (!c) throw new Error("inject: no connection");
    c.out.push(typeof bytes == "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes as Uint8Array));
    this.pump(c);
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.conns) this.drop(c, "proxy");
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(client: net.Socket): void {
    const broker = net.connect({ host: "127.0.0.1", port: this.upstream });
    const c: Conn = {
      id: this.conns.length, client, broker, closedBy: null, clientEndAt: 0, stalled: false, types: { down: [], up: [] },
      held: 0, out: [], writing: false, done: false, sentDown: 0,
    };
    if (this.stallNew > 0) { this.stallNew--; c.stalled = true; }
    this.conns.push(c);
    client.setNoDelay(true);
    broker.setNoDelay(true);
    const up = new Framer();
    const down = new Framer();
    client.on("data", (d: Buffer) => { for (const f of up.push(d)) this.forward(c, "up", f); });
    broker.on("data", (d: Buffer) => { for (const f of down.push(d)) this.forward(c, "down", f); });
    const clientGone = () => {
      if (!c.clientEndAt) c.clientEndAt = Date.now();
      // a stalled link does not pass the FIN on either
      if (!c.stalled) this.drop(c, "client");
      else if (!c.closedBy) c.closedBy = "client";
    };
    client.on("end", clientGone);
    client.on("close", clientGone);
    broker.on("end", () => { if (!c.stalled) this.drop(c, "broker"); });
    broker.on("close", () => { if (!c.stalled) this.drop(c, "broker"); });
    client.on("error", () => { /* close follows */ });
    broker.on("error", () => { /* close follows */ });
  }

  private forward(c: Conn, dir: Dir, f: Buffer): void {
    if (c.done) return;
    if (c.stalled) { c.held += f.length; return; }
    const type = f[0]! >> 4;
    const cut = this.cut;
    if (cut && !cut.fired && cut.dir == dir && cut.type == type) {
      cut.fired = true;
      const at = cut.at >= 0 ? cut.at : f.length >> 1;
      const part = f.subarray(0, Math.max(1, Math.min(at, f.length - 1)));
      c.types[dir].push(-type); // negative: cut
      if (dir == "up") {
        c.broker.end(part);
        this.drop(c, "proxy", c.broker);
      } else {
        c.out.splice(0, c.out.length);
        c.client.end(part);
        this.drop(c, "proxy", c.client);
      }
      return;
    }
    c.types[dir].push(type);
    if (dir == "up") c.broker.write(f);
    else { c.out.push(f); this.pump(c); }
  }

  /** Writes the broker -> client queue, whole or one byte per write. */
  private pump(c: Conn): void {
    if (c.writing) return;
    for (let i = 0; i < 100000 && c.out.length && !c.done && !c.stalled; i++) {
      if (!this.byteByByte) { const b = c.out.shift()!; c.sentDown += b.length; c.client.write(b); continue; }
      const b = c.out[0]!;
      c.client.write(b.subarray(0, 1));
      c.sentDown++;
      if (b.length > 1) c.out[0] = b.subarray(1);
      else c.out.shift();
      this.later(c, Date.now());
      return;
    }
  }

  /** The next byte after 1 ms, and (lockstep) once the client has read this one. */
  private later(c: Conn, since: number): void {
    c.writing = true;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.lockstep && !this.lockstep(c.sentDown) && !c.done) {
        if (Date.now() - since < 200) return this.later(c, since);
        this.gaveUp++;
      }
      c.writing = false;
      this.pump(c);
    }, 1);
    this.timers.add(t);
  }

  /** Ends a connection: `keep` (a socket already ending gracefully) is left to finish, the other is destroyed. */
  private drop(c: Conn, by: "client" | "broker" | "proxy", keep?: net.Socket): void {
    if (c.done) return;
    c.done = true;
    if (!c.closedBy) c.closedBy = by;
    for (const s of [c.client, c.broker]) {
      if (s === keep) { const t = setTimeout(() => { this.timers.delete(t); s.destroy(); }, 200); this.timers.add(t); }
      else if (by == "broker" && s === c.client) s.end(); // pass the broker's close on
      else s.destroy();
    }
  }
}
