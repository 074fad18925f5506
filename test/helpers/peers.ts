/**
 * The two clients of the interop and fault tests: ours (Client + NodeTransport + real clock), with every event
 * recorded, and MQTT.js as the independent peer. Plus a bounded wait.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { Client, type ClientOptions } from "../../lib/mqtt/client";
import { errName } from "../../lib/errname";
import type { Link } from "../../lib/hal/net";
import type { Packet } from "../../lib/mqtt/types";
import { realClock } from "../../sim/clock";
import { NodeTransport, type NodeTransportOptions } from "../../sim/node-transport";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms for at most `ms`; throws with `what()` when it never holds. */
export async function waitFor(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const t0 = Date.now();
  for (let i = 0; i < 100000 && Date.now() - t0 < ms; i++) {
    if (cond()) return;
    await sleep(10);
  }
  if (!cond()) throw new Error("timed out after " + ms + " ms waiting for " + what());
}

/** A NodeTransport that records the size of every chunk handed to the client. */
export class RecordingTransport extends NodeTransport {
  readonly chunks: number[] = [];
  /** Bytes received on the current connection. */
  bytes = 0;
  override open(host: string, port: number, link: Link): void {
    this.bytes = 0;
    super.open(host, port, {
      up_: () => link.up_(),
      data_: (d) => { this.chunks.push(d.length); this.bytes += d.length; link.data_(d); },
      down_: () => link.down_(),
      drain_: () => link.drain_(),
    });
  }
}

/** A message as received, copied out of the decoder's views. */
export interface Msg { topic: string; payload: string; qos: number; retain: boolean; dup: boolean }

/** Our client with every event recorded. */
export class Ours {
  readonly c: Client;
  readonly t: RecordingTransport;
  readonly msgs: Msg[] = [];
  /** [Err value, packet type] per error event. */
  readonly errors: [number, number][] = [];
  /** Event names in order (connect, reconnect, offline, close, error, suback, ...). */
  readonly events: string[] = [];
  /** sessionPresent of each connect/reconnect. */
  readonly sessions: boolean[] = [];
  readonly acks: number[] = [];
  readonly subacks: [string, number][] = [];
  /** When each error was reported (Date.now()). */
  readonly errorAt: number[] = [];
  /** connect() called and no close event since. */
  running = false;

  constructor(o: ClientOptions, to?: NodeTransportOptions) {
    this.t = new RecordingTransport(to);
    this.c = new Client(o, this.t, realClock);
    const c = this.c;
    for (const e of ["offline", "unsuback"]) c.on(e, () => this.events.push(e));
    c.on("close", () => { this.events.push("close"); this.running = false; });
    c.on("connect", (sp) => { this.events.push("connect"); this.sessions.push(!!sp); });
    c.on("reconnect", (sp) => { this.events.push("reconnect"); this.sessions.push(!!sp); });
    c.on("error", (e, type) => { this.events.push("error"); this.errors.push([e as number, type as number]); this.errorAt.push(Date.now()); });
    c.on("ack", (id) => { this.acks.push(id as number); });
    c.on("suback", (f, q) => { this.events.push("suback"); this.subacks.push([f as string, q as number]); });
    c.on("message", (topic, payload, p) => {
      const pk = p as Packet;
      this.msgs.push({ topic: topic as string, payload: Buffer.from(payload as Uint8Array).toString("utf8"), qos: pk.qos, retain: pk.retain, dup: pk.dup });
    });
  }

  count(e: string): number { return this.events.filter((x) => x == e).length; }

  /** Errors by name, for readable failures. */
  errorNames(): string[] { return this.errors.map((e) => errName(e[0]) + "/" + e[1]); }

  /** connect(), not waiting. */
  connect(): void {
    this.running = true;
    this.c.connect();
  }

  /** connect() and wait for the connect event. */
  async start(ms = 5000): Promise<this> {
    const n = this.count("connect");
    this.connect();
    await waitFor(() => this.count("connect") > n, ms, () => "connect (events " + this.events.join(",") + ", socket error " + this.t.lastError + ")");
    return this;
  }

  /** subscribe() and wait for its SUBACK. */
  async sub(filter: string, qos: number, ms = 5000): Promise<void> {
    const n = this.subacks.length;
    const r = this.c.subscribe(filter, qos);
    if (r) throw new Error("subscribe " + filter + ": " + errName(r));
    await waitFor(() => this.subacks.length > n, ms, () => "SUBACK for " + filter);
  }

  /** end() and wait for the close event. */
  async stop(ms = 5000): Promise<void> {
    if (!this.running) return;
    const n = this.count("close");
    this.c.end();
    await waitFor(() => this.count("close") > n, ms, () => "close");
  }

  payloads(topic?: string): string[] {
    return this.msgs.filter((m) => !topic || m.topic == topic).map((m) => m.payload);
  }
}

/** An MQTT.js client, connected, collecting messages. */
export interface Peer { m: MqttClient; msgs: Msg[]; payloads(topic?: string): string[] }

export async function peer(port: number, o: IClientOptions = {}, ms = 5000): Promise<Peer> {
  const m = mqtt.connect({
    host: "127.0.0.1", port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: ms, keepalive: 30,
    clientId: "js-" + Math.random().toString(16).slice(2, 10), ...o,
  });
  const msgs: Msg[] = [];
  m.on("message", (topic, payload, p) => {
    msgs.push({ topic, payload: payload.toString("utf8"), qos: p.qos, retain: p.retain, dup: p.dup });
  });
  m.on("error", () => { /* connect errors are reported by the wait below */ });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { m.end(true); reject(new Error("MQTT.js did not connect to port " + port)); }, ms);
    m.once("connect", () => { clearTimeout(t); resolve(); });
  });
  return { m, msgs, payloads: (topic) => msgs.filter((x) => !topic || x.topic == topic).map((x) => x.payload) };
}

/** MQTT.js subscribe, awaited (throws on a refusal). */
export async function peerSub(p: Peer, filter: string, qos: 0 | 1 | 2): Promise<void> {
  const granted = await p.m.subscribeAsync(filter, { qos });
  if (!granted.length || granted.some((g) => g.qos == 128)) throw new Error("MQTT.js subscribe refused: " + filter);
}

/** MQTT.js end, awaited, bounded. */
export async function peerEnd(p: Peer | null | undefined, force = false): Promise<void> {
  if (!p) return;
  await Promise.race([p.m.endAsync(force), sleep(2000)]);
}

/** How many times each of `want` occurs in `got`, and the ones missing or repeated. */
export function tally(got: string[], want: string[]): { missing: string[]; dup: string[]; extra: string[] } {
  const n = new Map<string, number>();
  for (const g of got) n.set(g, (n.get(g) ?? 0) + 1);
  const w = new Set(want);
  return {
    missing: want.filter((x) => !n.has(x)),
    dup: [...n].filter(([k, v]) => v > 1 && w.has(k)).map(([k]) => k),
    extra: [...n.keys()].filter((k) => !w.has(k)),
  };
}

/** "q1-0", "q1-1", ... */
export function seq(prefix: string, n: number, from = 0): string[] {
  const a: string[] = [];
  for (let i = from; i < from + n; i++) a.push(prefix + "-" + i);
  return a;
}

/** Clients made by a test, ended after it (also when it fails). */
export class Pool {
  private readonly o: Ours[] = [];
  private readonly p: Peer[] = [];
  ours(x: Ours): Ours { this.o.push(x); return x; }
  peer(x: Peer): Peer { this.p.push(x); return x; }
  async drain(): Promise<void> {
    const o = this.o.splice(0, this.o.length);
    const p = this.p.splice(0, this.p.length);
    await Promise.all(o.map((x) => x.stop().catch(() => x.t.abort())).concat(p.map((x) => peerEnd(x, true))));
  }
}

let counter = 0;
const RUN = Math.random().toString(36).slice(2, 8);
/** A client id or topic prefix unique to this run and call. */
export const uid = (p: string): string => p + "-" + RUN + "-" + ++counter;

/** Runs `fn` with its own Pool, drained afterwards even when it fails (for tests that run concurrently). */
export async function withPool<R>(fn: (pool: Pool) => Promise<R>): Promise<R> {
  const pool = new Pool();
  try {
    return await fn(pool);
  } finally {
    await pool.drain();
  }
}
