/**
 * The broker on the real Espruino interpreter (issue 5, requirement 7), when the binaries are given
 * (../shared/tools/espruino/build.sh makes them) and Mosquitto's command-line clients are installed. The broker
 * is dist/test/broker.js (test/device/broker.ts: Broker + boards/adapters/espruino-server.ts) with
 * `var CFG = {...}` in front; its clients are MQTT.js and mosquitto_pub / mosquitto_sub, spawned here on
 * loopback and killed by their pid. Memory is read by typing `mem()` into the interpreter's console.
 *
 * - ESPRUINO_BIN (64-bit Linux build): mosquitto_sub -q 2 -C N receives, at QoS 2 and in order, what MQTT.js
 *   publishes at QoS 2; a message retained with mosquitto_pub -r reaches a later MQTT.js subscriber with its
 *   retain flag, and one retained by MQTT.js a later mosquitto_sub; MQTT.js to MQTT.js at QoS 1 and 2, 100
 *   each sent at once, none lost, none twice; dist/modules/broker.js loaded as the module
 *   "broker" serves a client with `require("broker").start(...)`. Variables per connected client, per
 *   subscription and per retained message are measured (usage differences over 4 clients, 8 subscriptions,
 *   8 retained messages) and printed.
 * - ESPRUINO_BIN_ESP8266 (32-bit, 1,700 variables): the small-limits broker (4 clients, 16 subscriptions, 8
 *   retained messages, 256-byte packets) loaded from RAM or, when it does not fit there, from the emulated flash
 *   (the output says which); 4 MQTT.js clients exchange QoS 1 messages and retained messages; the same figures
 *   and the variables left free are printed. ESPRUINO_BIN_ESP32 (32-bit, 16,383 variables), when given: the
 *   same. A device-shaped run stops at the interpreter's first error (out of memory), with its last lines.
 *
 * Without a variable, or without mosquitto_pub / mosquitto_sub, the tests are skipped, saying so.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import mqtt from "mqtt";
import { describe, expect, test } from "vitest";
import { BUILD_HINT, bootFromFlash, built, Espruino, Lines, scratch } from "./helpers/espruino";
import { freePort } from "./helpers/mosquitto";

const BIN = process.env.ESPRUINO_BIN;
const BIN8266 = process.env.ESPRUINO_BIN_ESP8266;
/**
 * ESPRUINO_BROKER_PAD (a measuring aid, not set in CI): variables the device program takes out of the store at
 * start (CFG.pad), so that an ESPRUINO_BIN_ESP8266 built with more variables (build.sh with ESP8266_VARS=2400)
 * stands in for the 1,700-variable shape at padding 700; the largest padding at which the small-limits test
 * still passes tells how many variables the 1,700-variable shape lacks. With it set, that test is a plain test.
 */
const PAD = +(process.env.ESPRUINO_BROKER_PAD ?? 0);

/** A program in /usr/bin, /usr/local/bin or PATH, or null. */
function tool(name: string): string | null {
  for (const d of ["/usr/bin", "/usr/local/bin"].concat((process.env.PATH ?? "").split(path.delimiter))) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  return null;
}

const PUB = tool("mosquitto_pub");
const SUB = tool("mosquitto_sub");
const TOOLS_SKIP = PUB && SUB ? null
  : "mosquitto_pub / mosquitto_sub not found (looked in /usr/bin, /usr/local/bin and PATH; `apt-get install mosquitto-clients`)";

/** An interpreter error, or an error line of the device program. */
const DEVICE_FAILED = /Uncaught|[Oo]ut of [Mm]emory|OUT OF MEMORY|ERROR|Execution Interrupted|New interpreter error|Segmentation fault/;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `p`, or a rejection, with the broker's last lines, after `ms` or as soon as the interpreter reports an error
 * (out of memory: its clients would otherwise wait for their own timeouts).
 */
async function within<T>(p: Promise<T>, ms: number, what: string, d: DeviceBroker): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const fail = (why: string) => new Error(what + ": " + why + "; the broker's last lines:\n" + d.e.out.tail(25));
  const watch = new Promise<never>((_, reject) => {
    const end = Date.now() + ms;
    const look = (): void => {
      if (d.errors().length) reject(fail("the interpreter failed"));
      else if (Date.now() > end) reject(fail("not done within " + ms + " ms"));
      else t = setTimeout(look, 25);
    };
    look();
  });
  try { return await Promise.race([p, watch]); } finally { clearTimeout(t); }
}

/** Waits until `ok()` or `ms` passed. */
async function until(ok: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await sleep(10);
}

// ---------------------------------------------------------------- the broker on the interpreter

interface Mem { usage: number; clients: number; subs: number; retained: number; free: number }

interface Cfg {
  port: number; maxClients: number; maxSubs: number; maxRetained: number; maxPacket: number;
  maxSubsPerClient?: number; maxQueue?: number; maxInflight?: number; maxInbound?: number; writeLimit?: number; pad?: number;
  /** The broker's log lines printed as "LOG ..." (for looking into a failure). */
  log?: boolean;
}

/** The line put in front of the device program: console quiet, and its configuration. */
const CONFIG = (o: object): string => "echo(0);var CFG=" + JSON.stringify(o) + ";\n";

class DeviceBroker {
  private ctl: net.Socket | null = null;
  private constructor(readonly e: Espruino, readonly port: number, private readonly dir: string,
    readonly loaded: string, private readonly ctlPort: number) {}

  /**
   * dist/test/broker.js with `cfg` on `bin`: from RAM, or with `flash`, stored in the emulated flash and booted
   * from there when it does not fit in RAM (`loaded` says which, and why).
   */
  static async start(bin: string, cfg: Omit<Cfg, "port">, flash = false): Promise<DeviceBroker> {
    const port = await freePort();
    const ctl = await freePort();
    const code = CONFIG({ ...cfg, port, ctl }) + readFileSync(built("test/broker.js"), "latin1");
    const dir = scratch("broker");
    const file = path.join(dir, "broker.js");
    writeFileSync(file, code);
    let e = new Espruino(bin, [file], dir);
    try {
      try {
        await e.expect(/^READY$/, 20_000, DEVICE_FAILED);
        return new DeviceBroker(e, port, dir, "from RAM", ctl);
      } catch (err) {
        e.kill();
        await e.exit(5_000);
        if (!flash) throw err;
      }
      const why = (e.lines.find((l) => DEVICE_FAILED.test(l)) ?? "no READY").replace(/Execution Interrupted.*/, "").trim();
      rmSync(path.join(dir, "espruino.flash"), { force: true });
      e = new Espruino(bin, [], dir);
      if (!(await bootFromFlash(e, code, 30_000))) throw new Error("could not store the broker in flash:\n" + e.out.tail());
      await e.expect(/^READY$/, 20_000, DEVICE_FAILED);
      return new DeviceBroker(e, port, dir, "from flash (from RAM: " + why.slice(0, 60) + ")", ctl);
    } catch (err) {
      e.kill();
      await e.exit(5_000);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Usage after a garbage collection, and the broker's counts (a byte to the control socket, read back as MEM). */
  async mem(): Promise<Mem> {
    if (!this.ctl) {
      const s = net.connect({ host: "127.0.0.1", port: this.ctlPort });
      s.on("error", () => { /* the interpreter ended: its lines say why */ });
      await new Promise<void>((r, j) => { s.once("connect", () => r()); s.once("error", j); });
      this.ctl = s;
    }
    this.ctl.write("m");
    const m = await this.e.expect(/^MEM (\d+) clients=(\d+) subs=(\d+) retained=(\d+) free=(\d+)$/, 10_000, DEVICE_FAILED);
    return { usage: +m[1]!, clients: +m[2]!, subs: +m[3]!, retained: +m[4]!, free: +m[5]! };
  }

  errors(): string[] {
    return this.e.lines.filter((l) => DEVICE_FAILED.test(l));
  }

  async stop(): Promise<void> {
    this.ctl?.destroy();
    this.e.kill();
    await this.e.exit(5_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- clients

interface Got { topic: string; payload: string; qos: number; retain: boolean }

/** An MQTT.js client on the device broker, collecting every message it receives. */
async function client(port: number, id: string): Promise<{ c: mqtt.MqttClient; got: Got[] }> {
  const c = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: id, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60 });
  const got: Got[] = [];
  c.on("message", (topic, payload, p) => { got.push({ topic, payload: payload.toString(), qos: p.qos, retain: p.retain }); });
  return { c, got };
}

/** Runs a Mosquitto command-line client to its end (or kills it by pid after `ms`). */
function run(bin: string, args: string[], ms: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: ms, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code == "number" ? err.code : null) : 0, out: stdout + stderr });
    });
  });
}

/**
 * mosquitto_sub on `topic` at QoS `qos`, ending after `count` messages; each printed as "MSG <qos> <retain>
 * <topic> <payload>". Resolves once the broker holds its subscription (its count of subscriptions has grown:
 * mosquitto_sub's own output is block-buffered into a pipe, so it cannot say when its SUBACK came).
 */
async function mosquittoSub(d: DeviceBroker, id: string, topic: string, qos: number, count: number): Promise<{
  lines: Lines; proc: ChildProcess; done: Promise<number | null>;
}> {
  const before = (await d.mem()).subs;
  const proc = spawn(SUB!, ["-h", "127.0.0.1", "-p", String(d.port), "-i", id, "-t", topic, "-q", String(qos), "-C", String(count),
    "-F", "MSG %q %r %t %p"], { stdio: ["ignore", "pipe", "pipe"] });
  const lines = new Lines("mosquitto_sub");
  proc.stdout!.on("data", (b: Buffer) => lines.push(b.toString("latin1")));
  proc.stderr!.on("data", (b: Buffer) => lines.push(b.toString("latin1")));
  let ended = false;
  const done = new Promise<number | null>((r) => proc.on("close", (code) => { ended = true; lines.end(); r(code); }));
  // (or it has ended already: a retained message can complete its count at once)
  try {
    for (const end = Date.now() + 10_000; !ended && (await d.mem()).subs <= before;) {
      if (Date.now() > end) throw new Error("mosquitto_sub did not subscribe: " + lines.tail());
      await sleep(50);
    }
  } catch (err) {
    killPid(proc);
    throw err;
  }
  return { lines, proc, done };
}

function killPid(p: ChildProcess): void {
  if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}

// ---------------------------------------------------------------- memory per client, subscription, retained message

const PAYLOAD16 = "0123456789abcdef";

interface Figures { base: Mem; clients: Mem; subs: Mem; retained: Mem; perClient: number; perSub: number; perRetained: number }

/**
 * Usage differences over `nc` clients (MQTT.js, clean sessions, ids "memclient-<i>", 11 characters), then `ns`
 * subscriptions (filters "m/<i>/+", spread over the clients), then `nr` retained messages ("r/<k>", 16-byte
 * payloads, QoS 1). The clients stay connected (returned), so later steps can use them.
 */
async function measure(d: DeviceBroker, nc: number, ns: number, nr: number): Promise<{ f: Figures; cs: mqtt.MqttClient[] }> {
  await d.mem(); // the first call's own allocations (its console output) are not counted
  const base = await d.mem();
  const cs: mqtt.MqttClient[] = [];
  for (let i = 0; i < nc; i++) cs.push((await within(client(d.port, "memclient-" + i), 15_000, "connecting client " + i, d)).c);
  await sleep(100);
  const clients = await d.mem();
  for (let i = 0; i < ns; i++) await within(cs[i % nc]!.subscribeAsync("m/" + i + "/+", { qos: 1 }), 10_000, "subscribing", d);
  await sleep(100);
  const subs = await d.mem();
  for (let k = 0; k < nr; k++) {
    await within(cs[k % nc]!.publishAsync("r/" + k, PAYLOAD16, { qos: 1, retain: true }), 10_000, "publishing retained", d);
  }
  await sleep(100);
  const retained = await d.mem();
  expect([clients.clients, subs.subs, retained.retained]).toEqual([base.clients + nc, base.subs + ns, base.retained + nr]);
  const f = {
    base, clients, subs, retained,
    perClient: (clients.usage - base.usage) / nc,
    perSub: (subs.usage - clients.usage) / ns,
    perRetained: (retained.usage - subs.usage) / nr,
  };
  return { f, cs };
}

function report(what: string, d: DeviceBroker, f: Figures): string {
  return `${what} (${d.loaded}): usage ${f.base.usage} idle (free ${f.base.free}); per connected client ` +
    `${f.perClient.toFixed(1)} variables, per subscription ${f.perSub.toFixed(1)}, per retained message ` +
    `(16-byte payload) ${f.perRetained.toFixed(1)}; with ${f.retained.clients} clients, ${f.retained.subs} subscriptions ` +
    `and ${f.retained.retained} retained: usage ${f.retained.usage}, free ${f.retained.free}`;
}

/** Each payload's count among the messages on `topic`. */
function counts(got: Got[], topic: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of got) if (g.topic == topic) m.set(g.payload, (m.get(g.payload) ?? 0) + 1);
  return m;
}

// ---------------------------------------------------------------- tests

const skip = (ctx: { skip: (why: string) => void }, bin: string | undefined, name: string): boolean => {
  if (!bin) { ctx.skip(name + " is not set: " + BUILD_HINT); return true; }
  if (TOOLS_SKIP) { ctx.skip(TOOLS_SKIP); return true; }
  return false;
};

describe("the broker on the real Espruino interpreter, with MQTT.js and Mosquitto's clients", () => {
  test(BIN && !TOOLS_SKIP
    ? "ESPRUINO_BIN: QoS 0/1/2 and retained messages between MQTT.js and mosquitto_pub/sub; variables per client, subscription, retained message"
    : "skipped: " + (BIN ? TOOLS_SKIP : "ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT), async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    const d = await DeviceBroker.start(BIN!, {
      maxClients: 16, maxSubs: 64, maxRetained: 32, maxPacket: 256, maxQueue: 256, maxInbound: 256,
      log: !!process.env.BROKER_LOG,
    });
    const open: mqtt.MqttClient[] = [];
    const procs: ChildProcess[] = [];
    try {
      // memory first, on an idle broker
      const { f, cs } = await measure(d, 4, 8, 8);
      open.push(...cs);
      console.log(report("ESPRUINO_BIN (64-bit Linux build)", d, f));
      expect(f.perClient).toBeGreaterThan(10);
      expect(f.perClient).toBeLessThan(400);
      expect(f.perSub).toBeGreaterThan(1);
      expect(f.perSub).toBeLessThan(100);
      expect(f.perRetained).toBeGreaterThan(1);
      expect(f.perRetained).toBeLessThan(100);

      // mosquitto_sub at QoS 2 gets what MQTT.js publishes at QoS 2, in order, each once
      const N2 = 20;
      const sub = await mosquittoSub(d, "mosq-sub-q2", "q2/t", 2, N2);
      procs.push(sub.proc);
      const pub = (await client(d.port, "mqttjs-pub")).c;
      open.push(pub);
      for (let i = 0; i < N2; i++) await pub.publishAsync("q2/t", "m" + i, { qos: 2 });
      expect(await Promise.race([sub.done, sleep(10_000).then(() => "timeout")])).toBe(0);
      const msgs = sub.lines.all.filter((l) => l.startsWith("MSG "));
      expect(msgs).toEqual(Array.from({ length: N2 }, (_, i) => "MSG 2 0 q2/t m" + i));

      // QoS 0 and 1 to mosquitto_sub as well (granted QoS 2: each arrives at the QoS it was published with)
      const sub01 = await mosquittoSub(d, "mosq-sub-q01", "q01/#", 2, 4);
      procs.push(sub01.proc);
      for (let i = 0; i < 4; i++) await pub.publishAsync("q01/" + (i & 1), "n" + i, { qos: (i & 1) as 0 | 1 });
      expect(await Promise.race([sub01.done, sleep(10_000).then(() => "timeout")])).toBe(0);
      expect(sub01.lines.all.filter((l) => l.startsWith("MSG ")).sort())
        .toEqual(["MSG 0 0 q01/0 n0", "MSG 0 0 q01/0 n2", "MSG 1 0 q01/1 n1", "MSG 1 0 q01/1 n3"]);

      // retained by mosquitto_pub -r, delivered with the retain flag to a later MQTT.js subscriber
      const r = await run(PUB!, ["-h", "127.0.0.1", "-p", String(d.port), "-i", "mosq-pub", "-t", "ret/mosq", "-m", "kept", "-r", "-q", "1"], 10_000);
      expect(r.code, r.out).toBe(0);
      const late = await client(d.port, "mqttjs-late");
      open.push(late.c);
      await late.c.subscribeAsync("ret/#", { qos: 1 });
      await until(() => late.got.length >= 1, 5_000);
      expect(late.got).toEqual([{ topic: "ret/mosq", payload: "kept", qos: 1, retain: true }]);

      // retained by MQTT.js, delivered with the retain flag to a later mosquitto_sub
      await pub.publishAsync("ret/js", "also kept", { qos: 2, retain: true });
      const rs = await mosquittoSub(d, "mosq-sub-ret", "ret/js", 2, 1);
      procs.push(rs.proc);
      expect(await Promise.race([rs.done, sleep(10_000).then(() => "timeout")])).toBe(0);
      expect(rs.lines.all.filter((l) => l.startsWith("MSG "))).toEqual(["MSG 2 1 ret/js also kept"]);

      // MQTT.js to MQTT.js, QoS 1 and 2: none lost, none twice. MQTT.js sends them all at once, so maxInbound is
      // raised over the 100 QoS 2 messages that then await PUBREL together.
      const N = 100;
      const rx = await client(d.port, "mqttjs-rx");
      open.push(rx.c);
      await rx.c.subscribeAsync("x/#", { qos: 2 });
      await within(Promise.all(Array.from({ length: 2 * N }, (_, i) => pub.publishAsync("x/" + (i < N ? 1 : 2), "p" + i, { qos: i < N ? 1 : 2 }))),
        15_000, "publishing", d);
      await until(() => rx.got.length >= 2 * N, 15_000);
      await sleep(200); // a duplicate would come after
      const c1 = counts(rx.got, "x/1");
      const c2 = counts(rx.got, "x/2");
      expect([c1.size, c2.size]).toEqual([N, N]);
      expect([...c1.values(), ...c2.values()].every((n) => n == 1)).toBe(true);
      expect(rx.got.filter((g) => g.topic == "x/1").every((g) => g.qos == 1)).toBe(true);
      expect(rx.got.filter((g) => g.topic == "x/2").every((g) => g.qos == 2)).toBe(true);
      expect(d.errors()).toEqual([]);
    } finally {
      for (const p of procs) killPid(p);
      await Promise.all(open.map((c) => c.endAsync(true)));
      await d.stop();
    }
  }, 60_000);

  test(BIN && !TOOLS_SKIP
    ? "ESPRUINO_BIN: a QoS 2 subscriber whose deliveries fill the connection's write bound gets them all, through 'drain', and stays connected"
    : "skipped: " + (BIN ? TOOLS_SKIP : "ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT), async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    // 150 messages, all allowed in flight: together more than the write bound (1,072 + 256 bytes), so deliveries
    // wait for 'drain', and the PUBRELs that the subscriber's PUBRECs call for must still go out
    const d = await DeviceBroker.start(BIN!, {
      maxClients: 4, maxSubs: 8, maxRetained: 4, maxPacket: 256, maxInbound: 256, maxInflight: 200, maxQueue: 256, log: true,
    });
    const open: mqtt.MqttClient[] = [];
    try {
      const rx = await client(d.port, "bound-rx");
      open.push(rx.c);
      await rx.c.subscribeAsync("b/#", { qos: 2 });
      const pub = (await client(d.port, "bound-pub")).c;
      open.push(pub);
      const N = 150;
      await within(Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync("b/2", "p" + i, { qos: 2 }))), 15_000, "publishing", d);
      await until(() => rx.got.length >= N || d.e.lines.some((l) => /LOG disconnect bound-rx/.test(l)), 10_000);
      expect(d.e.lines.filter((l) => /LOG disconnect/.test(l)).join("\n")).toBe("");
      const c = counts(rx.got, "b/2");
      expect(c.size).toBe(N);
      expect([...c.values()].every((n) => n == 1)).toBe(true);
    } finally {
      await Promise.all(open.map((c) => c.endAsync(true)));
      await d.stop();
    }
  }, 40_000);

  test(BIN && !TOOLS_SKIP ? "ESPRUINO_BIN: dist/modules/broker.js as the module \"broker\": start({port, log}) serves mosquitto_pub and MQTT.js"
    : "skipped: " + (BIN ? TOOLS_SKIP : "ESPRUINO_BIN is not set (64-bit Espruino Linux binary); " + BUILD_HINT), async (ctx) => {
    if (skip(ctx, BIN, "ESPRUINO_BIN")) return;
    const port = await freePort();
    const module = readFileSync(built("modules/broker.js"), "latin1");
    const dir = scratch("broker-module");
    const file = path.join(dir, "prog.js");
    writeFileSync(file, "echo(0);Modules.addCached(\"broker\"," + JSON.stringify(module) + ");\n" +
      "var b=require(\"broker\").start({port:" + port + ",maxClients:4,maxPacket:256,sysInterval:0," +
      "log:function(l){console.log(\"LOG \"+l);}});\nconsole.log(\"READY\");\n" +
      // the second message received: print the counts and close (not typed into the REPL: the Linux build can
      // drop typed characters while it is busy, seen under CI load)
      "var iv=setInterval(function(){var s=b.broker.stats;if(s.msgsReceived>=2){clearInterval(iv);" +
      "console.log(\"STATS \"+s.connects+\" \"+s.msgsReceived);b.close();}},50);\n");
    const e = new Espruino(BIN!, [file], dir);
    let sub: { c: mqtt.MqttClient; got: Got[] } | null = null;
    try {
      await e.expect(/^READY$/, 20_000, DEVICE_FAILED);
      sub = await client(port, "mod-sub");
      await e.expect(/^LOG connect mod-sub$/, 15_000, DEVICE_FAILED); // the options (log) reach the broker
      await sub.c.subscribeAsync("mod/#", { qos: 1 });
      const r = await run(PUB!, ["-h", "127.0.0.1", "-p", String(port), "-i", "mod-pub", "-t", "mod/a", "-m", "hi", "-q", "1"], 10_000);
      expect(r.code, r.out).toBe(0);
      await until(() => sub!.got.length > 0, 15_000);
      expect(sub.got).toEqual([{ topic: "mod/a", payload: "hi", qos: 1, retain: false }]);
      await sub.c.publishAsync("mod/b", "bye", { qos: 1 });
      await e.expect(/^STATS 2 2$/, 15_000, DEVICE_FAILED);
      await e.expect(/^LOG disconnect /, 15_000, DEVICE_FAILED);
    } finally {
      if (sub) await sub.c.endAsync(true);
      e.kill();
      await e.exit(5_000);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  // The device-shaped builds, ESP8266 and ESP32, with the small limits; the connections' write bound is the
  // default (1,072 + maxPacket)
  const SMALL = { maxClients: 4, maxSubs: 16, maxSubsPerClient: 4, maxRetained: 8, maxPacket: 256, maxQueue: 8, maxInflight: 4 };
  const SHAPES: [string, string | undefined, string][] = [
    ["ESPRUINO_BIN_ESP8266", BIN8266, "32-bit, 1,700-variable Espruino build"],
    ["ESPRUINO_BIN_ESP32", process.env.ESPRUINO_BIN_ESP32, "32-bit, 16,383-variable Espruino build"],
  ];
  for (const [name, bin, shape] of SHAPES) {
    // NOT MET on the 1,700-variable shape (issue 5, requirement 7): loaded from flash the device broker
    // (BrokerCore) leaves about 460 variables free; a client costs about 75, a subscription 5, a retained message
    // 10.5, so 4 clients, 8 subscriptions and 8 retained messages fit, but not the exchange that follows: 4
    // clients publishing 3 QoS 1 messages each at once hold, besides the messages themselves, each chunk as a
    // string and as bytes, the answers waiting in the sockets' send strings, and a chain of about 15 calls per
    // packet (socket event, decoder, dispatch, routing, topic matching) with their parameters and locals in
    // variables. Measured with ESPRUINO_BROKER_PAD on a 2,400-variable build: it passes with 325 variables taken
    // out, fails with 350, so the 1,700-variable shape lacks about 360 variables for this load.
    // Kept as an expected failure, so the run shows it and turns red the day it fits (then make it a test again).
    const known = name == "ESPRUINO_BIN_ESP8266" && !PAD;
    (known ? test.fails : test)(bin && !TOOLS_SKIP
      ? `${known ? "KNOWN FAILURE, issue 5 requirement 7 not met: " : ""}${name} (${shape}): the small-limits broker (4 clients, 16 subscriptions, 8 retained, 256-byte packets) serves 4 MQTT.js clients exchanging QoS 1 and retained messages`
      : "skipped: " + (bin ? TOOLS_SKIP : `${name} is not set (${shape}); ` + BUILD_HINT), async (ctx) => {
      if (skip(ctx, bin, name)) return;
      const d = await DeviceBroker.start(bin!, PAD ? { ...SMALL, pad: PAD } : SMALL, true);
      const open: mqtt.MqttClient[] = [];
      try {
        const idle = await d.mem();
        console.log(`${name}: the small-limits broker loaded ${d.loaded}; idle usage ${idle.usage}, free ${idle.free}`);
        const { f, cs } = await measure(d, 4, 8, 8);
        open.push(...cs);
        console.log(report(name + " (" + shape + ")", d, f));
        expect(f.perClient).toBeGreaterThan(10);
        expect(f.perClient).toBeLessThan(400);
        expect(f.perSub).toBeLessThan(100);
        expect(f.perRetained).toBeLessThan(100);

        // the same 4 clients: each subscribes to its own topic and gets a QoS 1 message from every other one
        const got: Got[][] = cs.map(() => []);
        cs.forEach((c, i) => c.on("message", (topic, payload, p) => { got[i]!.push({ topic, payload: payload.toString(), qos: p.qos, retain: p.retain }); }));
        for (let i = 0; i < 4; i++) await within(cs[i]!.subscribeAsync("to/" + i, { qos: 1 }), 10_000, "subscribing", d);
        const M = 5; // rounds
        for (let k = 0; k < M; k++) {
          await within(Promise.all(cs.map((c, i) => Promise.all([1, 2, 3].map((j) =>
            c.publishAsync("to/" + ((i + j) % 4), "from " + i + " #" + k, { qos: 1 }))))), 15_000, "publishing", d);
        }
        await within(until(() => got.every((g) => g.filter((m) => m.topic.startsWith("to/")).length >= 3 * M), 15_000), 16_000, "delivering", d);
        for (let i = 0; i < 4; i++) {
          const mine = got[i]!.filter((m) => m.topic == "to/" + i);
          expect(mine.length).toBe(3 * M);
          expect(new Set(mine.map((m) => m.payload)).size).toBe(3 * M);
          expect(mine.every((m) => m.qos == 1 && !m.retain)).toBe(true);
        }
        // the retained messages of measure() reach a new subscription, with the retain flag
        for (const g of got) g.length = 0;
        await within(cs[3]!.subscribeAsync("r/+", { qos: 1 }), 10_000, "subscribing to the retained messages", d);
        await within(until(() => got[3]!.length >= 8, 10_000), 11_000, "delivering the retained messages", d);
        expect(got[3]!.map((m) => m.topic).sort()).toEqual(Array.from({ length: 8 }, (_, k) => "r/" + k).sort());
        expect(got[3]!.every((m) => m.retain && m.qos == 1 && m.payload == PAYLOAD16)).toBe(true);
        const end = await d.mem();
        console.log(`${name} after the exchange: usage ${end.usage}, free ${end.free}`);
        expect(d.errors()).toEqual([]);
      } finally {
        await Promise.all(open.map((c) => c.endAsync(true)));
        await d.stop();
      }
    }, 60_000);
  }
});
