/**
 * Clients for the broker conformance tests over real sockets (test/broker.conformance.test.ts):
 *
 * - `RawClient`: a TCP or TLS socket that speaks bytes. It sends packets encoded by the codec, or any bytes
 *   given as hex (malformed ones included), and decodes everything the broker sends with the codec's strict
 *   CLIENT table, so a packet a server must not send, or one malformed in any way chapters 2 and 3 forbid, is
 *   recorded as `decodeError` (the tests check it is 0). It records when the broker closed the connection.
 * - `MosqProc`, `mosqSub`, `mosqPub`: mosquitto_sub / mosquitto_pub (Mosquitto 2) spawned on loopback,
 *   bounded by -W / -C and a timer, killed by pid, never by name.
 *
 * Everything opened here is registered and closed by `closeWire()` (call it after each test).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { errName } from "../../lib/errname";
import { encodePacket, packetSizeOf, type PacketInput } from "../../lib/mqtt/encode";
import { Decoder } from "../../lib/mqtt/decoder";
import { CLIENT } from "../../lib/mqtt/parsers";
import { T, type Packet } from "../../lib/mqtt/types";
import { fromHex } from "../fixtures/hex";
import { waitFor } from "./peers";

export const HOST = "127.0.0.1";

/** A packet the broker sent, as plain values (strings decoded as UTF-8). */
export interface Pk {
  type: number; id: number; topic?: string; payload?: string; qos?: number; dup?: boolean; retain?: boolean;
  sessionPresent?: boolean; code?: number; codes?: number[];
}

const txt = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

function plain(p: Packet): Pk {
  const v: Pk = { type: p.type, id: p.id };
  if (p.type == T.PUBLISH) Object.assign(v, { topic: txt(p.topic), payload: txt(p.payload), qos: p.qos, dup: p.dup, retain: p.retain });
  if (p.type == T.CONNACK) Object.assign(v, { sessionPresent: p.sessionPresent, code: p.code });
  if (p.type == T.SUBACK) v.codes = Array.from(p.codes);
  return v;
}

/** The bytes of one packet, encoded by the codec. */
export function encode(o: PacketInput): Uint8Array {
  const b = new Uint8Array(packetSizeOf(o) + 8);
  const n = encodePacket(b, 0, o);
  if (n < 0) throw new Error("encode failed: " + errName(n));
  return b.subarray(0, n);
}

const raws = new Set<RawClient>();

export class RawClient {
  /** Packets received and not yet taken, in order. */
  got: Pk[] = [];
  closed = false;
  /** Date.now() when the connection closed. */
  closedAt = 0;
  /** First decode error (an Err) and the packet type it was in; 0: everything the broker sent was valid. */
  decodeError = 0;
  decodeType = 0;
  private readonly dec = new Decoder(1 << 20, CLIENT, (p) => this.got.push(plain(p)));

  private constructor(readonly s: net.Socket) {
    raws.add(this);
    s.setNoDelay(true);
    s.on("data", (d: Buffer) => {
      if (this.decodeError) return;
      const e = this.dec.feed(new Uint8Array(d.buffer, d.byteOffset, d.length));
      if (e) { this.decodeError = e; this.decodeType = this.dec.errType_; }
    });
    s.on("error", () => { /* 'close' follows */ });
    s.once("close", () => { this.closed = true; this.closedAt = Date.now(); });
  }

  /** A connected socket (TLS when `ca` is given, checked against it). */
  static open(port: number, ca?: Buffer): Promise<RawClient> {
    const s = ca ? tls.connect({ host: HOST, port, ca }) : net.connect({ host: HOST, port });
    const r = new RawClient(s);
    return new Promise((resolve, reject) => {
      s.once(ca ? "secureConnect" : "connect", () => resolve(r));
      s.once("error", reject);
    });
  }

  /** Sends a packet (encoded by the codec), bytes, or hex (spaces ignored); several at once in one write. */
  send(...ps: (PacketInput | Uint8Array | string)[]): void {
    const bs = ps.map((p) => typeof p == "string" ? fromHex(p) : p instanceof Uint8Array ? p : encode(p));
    this.s.write(Buffer.concat(bs));
  }

  /** Sends CONNECT (clean session, keepalive 0 unless given). */
  connect(clientId: string, o: Partial<PacketInput> = {}): void {
    this.send({ type: T.CONNECT, clientId, clean: true, keepalive: 0, ...o });
  }

  /** Removes and returns the packets received (of `type` only, when given). */
  take(type?: number): Pk[] {
    const r = type === undefined ? this.got : this.got.filter((g) => g.type == type);
    this.got = type === undefined ? [] : this.got.filter((g) => g.type != type);
    return r;
  }

  /** Waits until `n` packets (of `type`) are waiting, then takes those. */
  async wait(n: number, type?: number, ms = 3000): Promise<Pk[]> {
    const count = (): number => type === undefined ? this.got.length : this.got.filter((g) => g.type == type).length;
    await waitFor(() => count() >= n, ms, () => n + " packets of type " + (type ?? "any") + ", got " + JSON.stringify(this.got) + (this.closed ? " (closed)" : ""));
    return this.take(type);
  }

  /** CONNECT, then the CONNACK (returned; code 0 and session present `present` checked unless `check` is false). */
  async open(clientId: string, o: Partial<PacketInput> = {}, present = false): Promise<Pk> {
    this.connect(clientId, o);
    const [a] = await this.wait(1, T.CONNACK);
    if (a!.code != 0 || a!.sessionPresent != present) throw new Error("CONNACK " + JSON.stringify(a) + ", expected code 0, session present " + present);
    return a!;
  }

  /** SUBSCRIBE and its SUBACK's return codes (the SUBACK's packet id checked). */
  async sub(id: number, filters: string[], qoss: number[]): Promise<number[]> {
    this.send({ type: T.SUBSCRIBE, id, filters, qoss });
    const [a] = await this.wait(1, T.SUBACK);
    if (a!.id != id) throw new Error("SUBACK id " + a!.id + " for SUBSCRIBE " + id);
    return a!.codes!;
  }

  /**
   * PINGREQ, then everything received before its PINGRESP (taken). The broker answers one connection's packets
   * in order, so this is everything its earlier packets caused.
   */
  async sync(ms = 3000): Promise<Pk[]> {
    this.send({ type: T.PINGREQ });
    await waitFor(() => this.got.some((g) => g.type == T.PINGRESP), ms, () => "PINGRESP, got " + JSON.stringify(this.got));
    const i = this.got.findIndex((g) => g.type == T.PINGRESP);
    const before = this.got.slice(0, i);
    this.got = this.got.slice(i + 1);
    return before;
  }

  async waitClosed(ms = 3000): Promise<void> {
    await waitFor(() => this.closed, ms, () => "the broker to close the connection (got " + JSON.stringify(this.got) + ")");
  }

  /** The network goes away: no DISCONNECT. */
  destroy(): void {
    this.s.destroy();
  }

  /** Why the broker's bytes did not decode, or "". */
  decodeProblem(): string {
    return this.decodeError ? errName(this.decodeError) + " in packet type " + this.decodeType : "";
  }
}

// ------------------------------------------------------------------ mosquitto_pub / mosquitto_sub

function findBin(name: string): string | null {
  for (const d of ["/usr/bin", "/usr/local/bin"].concat((process.env.PATH ?? "").split(path.delimiter))) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  return null;
}

const STDBUF = findBin("stdbuf");
export const MOSQ_PUB = findBin("mosquitto_pub");
export const MOSQ_SUB = findBin("mosquitto_sub");
/** Why the mosquitto client tests cannot run here, or null. */
export const MOSQ_CLIENTS_SKIP: string | null = !(MOSQ_PUB && MOSQ_SUB)
  ? "mosquitto_pub / mosquitto_sub are not installed (looked in /usr/bin, /usr/local/bin and PATH; `apt-get install mosquitto-clients`)"
  : !STDBUF ? "stdbuf (coreutils) is not installed: mosquitto_sub's output would arrive only at its exit" : null;

/** One message as mosquitto_sub printed it with the format `MSG|%t|%q|%r|%p`. */
export interface SubMsg { topic: string; qos: number; retain: boolean; payload: string }

/** The format given to mosquitto_sub -F (its -d debug lines go to stdout too, and never start with MSG|). */
export const SUB_FORMAT = "MSG|%t|%q|%r|%p";

const procs = new Set<MosqProc>();

export class MosqProc {
  out = "";
  err = "";
  /** Exit code (null while running, or when killed by a signal). */
  code: number | null = null;
  signal: string | null = null;
  exited = false;
  readonly done: Promise<void>;
  private readonly p: ChildProcess;

  constructor(readonly bin: string, readonly args: string[], stdin?: string) {
    // stdout is a pipe, which the C library buffers whole: stdbuf (which execs the client, keeping the pid)
    // makes it line-buffered, so each line is seen when printed
    const p = this.p = spawn(STDBUF!, ["-oL", "-eL", bin].concat(args), { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    procs.add(this);
    p.stdout!.on("data", (d: Buffer) => { this.out += d.toString(); });
    p.stderr!.on("data", (d: Buffer) => { this.err += d.toString(); });
    this.done = new Promise((r) => p.once("close", (code, sig) => { this.code = code; this.signal = sig; this.exited = true; procs.delete(this); r(); }));
    p.once("error", (e) => { this.err += String(e); });
    if (stdin !== undefined) p.stdin!.end(stdin);
  }

  get pid(): number | undefined { return this.p.pid; }

  /** Sends `sig` to this process, by its pid, if it is still running. */
  kill(sig: NodeJS.Signals = "SIGKILL"): void {
    if (!this.exited && this.p.pid) try { process.kill(this.p.pid, sig); } catch { /* gone already */ }
  }

  /** The messages printed so far (SUB_FORMAT lines). */
  msgs(): SubMsg[] {
    return this.out.split("\n").filter((l) => l.startsWith("MSG|")).map((l) => {
      const f = l.split("|");
      return { topic: f[1]!, qos: Number(f[2]), retain: f[3] == "1", payload: f.slice(4).join("|") };
    });
  }

  async waitOut(re: RegExp, ms = 5000): Promise<void> {
    await waitFor(() => re.test(this.out), ms, () => re + " in the output of " + path.basename(this.bin) + " " + this.args.join(" ") + ":\n" + this.out + this.err);
  }

  /** Waits for the exit (killing it after `ms`); returns the exit code. */
  async exit(ms = 10000): Promise<number | null> {
    const t = setTimeout(() => this.kill(), ms);
    await this.done;
    clearTimeout(t);
    return this.code;
  }

  describe(): string {
    return path.basename(this.bin) + " " + this.args.join(" ") + " -> " + (this.signal ?? this.code) + "\n" + this.out + this.err;
  }
}

function target(port: number, ca?: string): string[] {
  return ["-h", HOST, "-p", String(port)].concat(ca ? ["--cafile", ca] : []);
}

/**
 * mosquitto_sub with `args` (add -t, -q, -C, -i, -c, --will-*), debug output on, messages printed as
 * SUB_FORMAT, and -W 20 unless `args` bound it otherwise; resolves once its SUBACK came.
 */
export async function mosqSub(port: number, args: string[], ca?: string): Promise<MosqProc> {
  const w = args.includes("-W") ? [] : ["-W", "20"];
  const p = new MosqProc(MOSQ_SUB!, target(port, ca).concat(["-d", "-F", SUB_FORMAT], w, args));
  await p.waitOut(/received SUBACK/);
  return p;
}

/** mosquitto_pub with `args` (add -t, -m / -n / -l, -q, -r, -i, -V ...), awaited (killed after 10 s). */
export async function mosqPub(port: number, args: string[], o: { stdin?: string; ca?: string } = {}): Promise<MosqProc> {
  const p = new MosqProc(MOSQ_PUB!, target(port, o.ca).concat(args), o.stdin);
  await p.exit();
  return p;
}

/** Closes every raw socket and kills every mosquitto client still running (by pid); returns the raw clients' decode problems. */
export async function closeWire(): Promise<string[]> {
  const problems: string[] = [];
  for (const r of raws) {
    if (r.decodeError) problems.push(r.decodeProblem());
    r.destroy();
  }
  raws.clear();
  const running = [...procs];
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.done));
  return problems;
}

// processes still running when the worker exits (a test failed before its cleanup): killed by pid
process.once("exit", () => { for (const p of procs) p.kill(); });
