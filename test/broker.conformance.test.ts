/**
 * Issue 5, requirement 8: the broker's conformance to MQTT 3.1.1 (Plus Errata 01) over real loopback sockets,
 * with stock clients as peers: MQTT.js 5 (mqtt://, ws://, mqtts://), mosquitto_sub / mosquitto_pub 2.0
 * (spawned here, bounded by -W / -C and a timer, killed by pid), and a raw socket for what no well-behaved client
 * sends (test/helpers/wire.ts). The raw socket decodes every packet the broker sends with the codec's strict
 * client table, so each test also checks that the broker's packets have the format of chapters 2 and 3
 * [MQTT-2.2.2-1].
 *
 * Each broker is `startBroker` (sim/broker/main.ts) on 127.0.0.1, port 0, with its own config; each test starts
 * its own, so a `#` subscriber sees only that test's traffic. Every test is named with the statements it covers;
 * README's "Broker conformance (MQTT 3.1.1)" table points here, and tools/conformance.mjs checks that it does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it, test } from "vitest";
import WebSocket from "ws";
import { T } from "../lib/mqtt/types";
import { validateConfig } from "../sim/broker/config";
import { startBroker, type RunningBroker } from "../sim/broker/main";
import { hashPassword } from "../sim/broker/passwd";
import { ascii, pkt, str } from "./fixtures/hex";
import { makeCerts, type TlsFiles } from "./helpers/mosquitto";
import { sleep, waitFor } from "./helpers/peers";
import { closeWire, encode, HOST, MOSQ_CLIENTS_SKIP, mosqPub, mosqSub, RawClient } from "./helpers/wire";

if (MOSQ_CLIENTS_SKIP) {
  if (process.env.MQTT_INTEROP_REQUIRED == "1") throw new Error("test/broker.conformance.test.ts: " + MOSQ_CLIENTS_SKIP);
  console.warn("SKIPPED the mosquitto_pub/mosquitto_sub tests of test/broker.conformance.test.ts: " + MOSQ_CLIENTS_SKIP);
}
/** For tests that spawn mosquitto_pub / mosquitto_sub: skipped, saying why, when they are not installed. */
const itMosq = MOSQ_CLIENTS_SKIP ? it.skip : it;

// ------------------------------------------------------------------ brokers and MQTT.js clients

interface Env { rb: RunningBroker; port: number; log: string[] }

const brokers: RunningBroker[] = [];
const jsClients: MqttClient[] = [];

let dir = "";
let certs: TlsFiles;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "broker-conformance-"));
  certs = makeCerts(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  for (const m of jsClients.splice(0)) m.end(true);
  const problems = await closeWire();
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
  expect(problems, "packets from the broker that a client must not receive").toEqual([]);
});

/** A broker from a config object (validated as a config file would be), on 127.0.0.1 port 0. */
async function broker(cfg: Record<string, unknown> = {}): Promise<Env> {
  const c = validateConfig({ host: HOST, port: 0, sysInterval: 0, ...cfg }, "conformance", dir);
  const log: string[] = [];
  const rb = await startBroker(c, { log: (l) => log.push(l) });
  brokers.push(rb);
  return { rb, port: rb.ports.mqtt, log };
}

/** A message as MQTT.js delivered it. */
interface JsMsg { topic: string; payload: string; qos: number; retain: boolean; dup: boolean }

/** An MQTT.js client, connected: its CONNACK, the messages it got, whether its connection closed. */
interface Js { m: MqttClient; connack: IConnackPacket; msgs: JsMsg[]; closed: boolean; payloads(): string[] }

function jsConnect(url: string | number, o: IClientOptions): MqttClient {
  const m = mqtt.connect(typeof url == "number" ? "mqtt://" + HOST + ":" + url : url, {
    protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, keepalive: 30,
    clientId: "js-" + Math.random().toString(16).slice(2, 10), ...o,
  });
  jsClients.push(m);
  return m;
}

/** MQTT.js connected to a port (mqtt://) or a URL (ws://, mqtts://). */
async function js(url: string | number, o: IClientOptions = {}): Promise<Js> {
  const m = jsConnect(url, o);
  const c: Js = { m, connack: null as unknown as IConnackPacket, msgs: [], closed: false, payloads: () => c.msgs.map((x) => x.payload) };
  m.on("message", (topic, payload, p) => c.msgs.push({ topic, payload: payload.toString("utf8"), qos: p.qos, retain: p.retain, dup: p.dup }));
  m.on("close", () => { c.closed = true; });
  c.connack = await new Promise<IConnackPacket>((resolve, reject) => {
    m.once("connect", resolve);
    m.once("error", reject);
  });
  return c;
}

/** MQTT.js subscribe, awaited; returns the granted QoS. */
async function jsSub(c: Js, filter: string, qos: 0 | 1 | 2): Promise<number> {
  const g = await c.m.subscribeAsync(filter, { qos });
  return g[0]!.qos;
}

/** Waits until `c` has `n` messages; returns them. */
async function msgs(c: Js, n: number, ms = 3000): Promise<JsMsg[]> {
  await waitFor(() => c.msgs.length >= n, ms, () => n + " messages, got " + JSON.stringify(c.msgs));
  return c.msgs;
}

/** Gives messages that should not come the time to arrive anyway. */
const quiet = (): Promise<void> => sleep(300);

let uniq = 0;
/** A topic or client id unique to this run. */
const u = (p: string): string => p + "-" + process.pid + "-" + ++uniq;

// ------------------------------------------------------------------ CONNECT and CONNACK

describe("CONNECT and CONNACK", () => {
  it("[MQTT-3.1.4-4] [MQTT-3.2.0-1] [MQTT-3.1.3-5] a CONNECT with packets pipelined behind it gets CONNACK 0 first, then their answers; client ids of 1 and 23 characters from the spec's set are allowed", async () => {
    const env = await broker();
    const r = await RawClient.open(env.port);
    const id23 = "abcdefghijklmnopqrstu09";
    expect(id23).toHaveLength(23);
    r.send({ type: T.CONNECT, clientId: id23, clean: true, keepalive: 0 }, { type: T.SUBSCRIBE, id: 7, filters: ["t"], qoss: [1] }, { type: T.PINGREQ });
    const got = await r.wait(3);
    expect(got.map((g) => g.type)).toEqual([T.CONNACK, T.SUBACK, T.PINGRESP]);
    expect(got[0]).toMatchObject({ code: 0, sessionPresent: false });
    expect(got[1]).toMatchObject({ id: 7, codes: [1] });
    const one = await RawClient.open(env.port);
    await one.open("Z");
  });

  it("[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] session present: 0 for a new persistent session, 1 when one is stored, 0 with clean session 1 even then (MQTT.js)", async () => {
    const env = await broker();
    const id = u("sp");
    const a = await js(env.port, { clientId: id, clean: false });
    expect(a.connack.sessionPresent).toBe(false);
    await a.m.endAsync();
    const b = await js(env.port, { clientId: id, clean: false });
    expect(b.connack.sessionPresent).toBe(true);
    await b.m.endAsync();
    const c = await js(env.port, { clientId: id, clean: true });
    expect(c.connack.sessionPresent).toBe(false);
    expect(c.connack.returnCode).toBe(0);
  });

  itMosq("[MQTT-3.1.3-6] a zero-length client id with clean session gets a unique id: two raw clients and mosquitto_pub (which sends none) at once", async () => {
    const env = await broker();
    const a = await RawClient.open(env.port);
    const b = await RawClient.open(env.port);
    await a.open("");
    await b.open("");
    expect(await a.sub(1, ["zid/t"], [1])).toEqual([1]);
    const p = await mosqPub(env.port, ["-t", "zid/t", "-m", "hello", "-q", "1"]);
    expect(p.code, p.describe()).toBe(0);
    const [m] = await a.wait(1, T.PUBLISH);
    expect(m).toMatchObject({ topic: "zid/t", payload: "hello", qos: 1 });
    a.send({ type: T.PUBACK, id: m!.id });
    // neither took the other over: three different ids were assigned
    expect(a.closed || b.closed).toBe(false);
    const ids = env.log.filter((l) => /^connect auto-/.test(l)).map((l) => l.split(" ")[1]);
    expect(new Set(ids).size).toBe(3);
  });

  it("[MQTT-3.1.3-8] [MQTT-3.1.3-9] [MQTT-3.2.2-4] [MQTT-3.2.2-5] a zero-length client id without clean session gets CONNACK 2 (identifier rejected) with session present 0, then the connection is closed", async () => {
    const env = await broker();
    const r = await RawClient.open(env.port);
    r.connect("", { clean: false });
    const [a] = await r.wait(1, T.CONNACK);
    expect(a).toMatchObject({ code: 2, sessionPresent: false });
    await r.waitClosed();
    expect(r.take()).toEqual([]);
  });

  it("[MQTT-3.1.4-5] after a refused CONNECT, the packets sent behind it are not processed", async () => {
    const env = await broker();
    const w = await js(env.port);
    await jsSub(w, "r5/#", 1);
    const r = await RawClient.open(env.port);
    r.send({ type: T.CONNECT, clientId: "", clean: false, keepalive: 0 },
      { type: T.PUBLISH, topic: "r5/x", payload: "ghost", qos: 0, retain: true },
      { type: T.PUBLISH, topic: "r5/y", payload: "ghost", qos: 1, id: 1 },
      { type: T.SUBSCRIBE, id: 2, filters: ["#"], qoss: [0] });
    await r.waitClosed();
    expect(r.take()).toEqual([{ type: T.CONNACK, id: 0, code: 2, sessionPresent: false }]);
    await quiet();
    expect(w.msgs).toEqual([]);
    const late = await js(env.port);
    await jsSub(late, "r5/#", 1);
    await quiet();
    expect(late.msgs).toEqual([]); // nothing was retained either
  });

  itMosq("[MQTT-3.1.2-2] [MQTT-3.2.2-4] [MQTT-3.2.2-5] an unsupported protocol level gets CONNACK 1, then the connection is closed (mosquitto_pub -V mqttv31, MQTT.js protocolVersion 3, raw level 6; level 5 is MQTT 5, which the broker speaks)", async () => {
    const env = await broker();
    const p = await mosqPub(env.port, ["-V", "mqttv31", "-t", "t", "-m", "x"]);
    expect(p.code).not.toBe(0);
    expect(p.err).toMatch(/unacceptable protocol version/i);
    const m = jsConnect(env.port, { protocolVersion: 3 });
    const e = await new Promise<Error & { code?: number }>((r) => m.once("error", (x) => r(x)));
    expect(e.code).toBe(1);
    const r = await RawClient.open(env.port);
    r.send(pkt("10", str(ascii("MQTT")) + "06" + "02" + "003c" + str(ascii("v6"))));
    expect(await r.wait(1)).toEqual([{ type: T.CONNACK, id: 0, code: 1, sessionPresent: false }]);
    await r.waitClosed();
    expect(env.rb.broker.stats.clientsConnected).toBe(0);
  });

  const BAD_CONNECT: [string, string][] = [
    ["[MQTT-3.1.2-1] protocol name MQTX", pkt("10", str(ascii("MQTX")) + "04" + "02" + "003c" + str(ascii("c")))],
    ["[MQTT-3.1.2-3] reserved connect flag set", pkt("10", str(ascii("MQTT")) + "04" + "03" + "003c" + str(ascii("c")))],
    ["[MQTT-3.1.3-3] no client id", pkt("10", str(ascii("MQTT")) + "04" + "02" + "003c")],
  ];

  test.each(BAD_CONNECT)("[MQTT-3.1.4-1] [MQTT-3.2.2-6] a CONNECT that does not conform to §3.1 is closed without a CONNACK: %s", async (_name, hex) => {
    const env = await broker();
    const r = await RawClient.open(env.port);
    r.send(hex);
    await r.waitClosed();
    expect(r.take()).toEqual([]);
    expect(env.rb.broker.stats.clientsConnected).toBe(0);
  });

  it("[MQTT-3.1.0-1] [MQTT-4.8.0-1] a first packet other than CONNECT (PUBLISH, SUBSCRIBE, PINGREQ) closes the connection unanswered and is not processed", async () => {
    const env = await broker();
    const w = await js(env.port);
    await jsSub(w, "first/#", 0);
    const firsts = [
      encode({ type: T.PUBLISH, topic: "first/x", payload: "early", qos: 0 }),
      encode({ type: T.SUBSCRIBE, id: 1, filters: ["first/#"], qoss: [0] }),
      encode({ type: T.PINGREQ }),
    ];
    for (const b of firsts) {
      const r = await RawClient.open(env.port);
      r.send(b);
      await r.waitClosed();
      expect(r.take()).toEqual([]);
    }
    await quiet();
    expect(w.msgs).toEqual([]);
  });

  itMosq("[MQTT-3.1.4-2] a second connection with the client id of a connected one closes the first (MQTT.js, then mosquitto_sub -i) and gets its messages", async () => {
    const env = await broker();
    const id = u("dup");
    const a = await js(env.port, { clientId: id });
    await jsSub(a, "to/" + id, 1);
    const s = await mosqSub(env.port, ["-i", id, "-t", "to/" + id, "-q", "1", "-C", "1"]);
    await waitFor(() => a.closed, 3000, () => "the first connection closed");
    const p = await mosqPub(env.port, ["-t", "to/" + id, "-m", "for the new one", "-q", "1"]);
    expect(p.code, p.describe()).toBe(0);
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs()).toEqual([{ topic: "to/" + id, qos: 1, retain: false, payload: "for the new one" }]);
    expect(a.msgs).toEqual([]);
  });

  it("[MQTT-3.1.2-8] [MQTT-3.1.4-2] the will of a connection closed by a takeover is published once, as Mosquitto 2.0.11 does (no DISCONNECT came)", async () => {
    const env = await broker();
    const id = u("tk");
    const w = await js(env.port);
    await jsSub(w, "will/#", 1);
    const a = await js(env.port, { clientId: id, will: { topic: "will/" + id, payload: Buffer.from("taken over"), qos: 1, retain: false } });
    const b = await js(env.port, { clientId: id });
    await waitFor(() => a.closed, 3000, () => "takeover");
    expect(await msgs(w, 1)).toEqual([{ topic: "will/" + id, payload: "taken over", qos: 1, retain: false, dup: false }]);
    await b.m.endAsync(); // the new connection has no will: nothing more
    await quiet();
    expect(w.msgs).toHaveLength(1);
  });

  itMosq("[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.1.3-2] [MQTT-3.1.4-3] [MQTT-4.1.0-1] [MQTT-4.5.0-1] a persistent session (mosquitto_sub -c -i) keeps its subscription and the QoS 1 and 2 messages published while it was away; MQTT.js resumes it", async () => {
    const env = await broker();
    const id = u("persist");
    const t = u("p11");
    const s = await mosqSub(env.port, ["-c", "-i", id, "-t", t + "/#", "-q", "2", "-C", "1"]);
    await mosqPub(env.port, ["-t", t + "/a", "-m", "first", "-q", "1"]);
    expect(await s.exit(), s.describe()).toBe(0); // got it, sent DISCONNECT: the session stays
    expect(s.msgs().map((m) => m.payload)).toEqual(["first"]);
    await mosqPub(env.port, ["-t", t + "/b", "-m", "q1 away", "-q", "1"]);
    await mosqPub(env.port, ["-t", t + "/c", "-m", "q2 away", "-q", "2"]);
    const other = await js(env.port, { clientId: id + "-other", clean: false });
    expect(other.connack.sessionPresent).toBe(false); // the session belongs to its client id only
    const back = await js(env.port, { clientId: id, clean: false });
    expect(back.connack.sessionPresent).toBe(true);
    const got = await msgs(back, 2);
    expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([[t + "/b", "q1 away", 1], [t + "/c", "q2 away", 2]]);
    await quiet();
    expect(other.msgs).toEqual([]);
  });

  itMosq("[MQTT-3.1.2-6] [MQTT-3.1.4-3] [MQTT-3.2.2-1] [MQTT-4.1.0-2] clean session 1 discards the stored session (no old messages, no old subscription); a clean session lasts as long as its connection", async () => {
    const env = await broker();
    const id = u("clean");
    const t = u("c12");
    const a = await js(env.port, { clientId: id, clean: false });
    await jsSub(a, t + "/#", 1);
    await a.m.endAsync();
    await mosqPub(env.port, ["-t", t + "/x", "-m", "queued", "-q", "1"]);
    const b = await js(env.port, { clientId: id, clean: true });
    expect(b.connack.sessionPresent).toBe(false);
    await mosqPub(env.port, ["-t", t + "/x", "-m", "after", "-q", "1"]);
    await quiet();
    expect(b.msgs).toEqual([]); // neither the queued message nor the old subscription
    await jsSub(b, t + "/y", 1);
    await mosqPub(env.port, ["-t", t + "/y", "-m", "while connected", "-q", "1"]);
    expect((await msgs(b, 1)).map((m) => m.payload)).toEqual(["while connected"]);
    await b.m.endAsync();
    const c = await js(env.port, { clientId: id, clean: false });
    expect(c.connack.sessionPresent).toBe(false); // the clean session ended with its connection
  });
});

// ------------------------------------------------------------------ wills

describe("wills", () => {
  itMosq("[MQTT-3.1.2-8] [MQTT-3.1.2-10] [MQTT-3.1.2-16] the will of mosquitto_sub killed by SIGKILL is published once, at its QoS, not retained", async () => {
    const env = await broker();
    const t = u("w13");
    const w = await js(env.port);
    await jsSub(w, t + "/#", 2);
    const s = await mosqSub(env.port, ["-t", t + "/none", "--will-topic", t + "/gone", "--will-payload", "dead", "--will-qos", "1"]);
    s.kill("SIGKILL");
    const got = await msgs(w, 1);
    await quiet();
    expect(got).toEqual([{ topic: t + "/gone", payload: "dead", qos: 1, retain: false, dup: false }]);
    const late = await js(env.port);
    await jsSub(late, t + "/#", 2);
    await quiet();
    expect(late.msgs).toEqual([]);
  });

  it("[MQTT-3.1.2-17] [MQTT-3.1.2-9] [MQTT-3.1.3-1] [MQTT-3.3.1-9] a will with retain 1 from a CONNECT with every payload field (MQTT.js, socket destroyed) is published retained: existing subscribers get it with retain 0, new ones with retain 1", async () => {
    const env = await broker();
    const t = u("w14");
    const w = await js(env.port);
    await jsSub(w, t + "/#", 2);
    const a = await js(env.port, {
      username: "user", password: "pw",
      will: { topic: t + "/status", payload: Buffer.from("offline"), qos: 2, retain: true },
    });
    a.m.stream.destroy();
    expect(await msgs(w, 1)).toEqual([{ topic: t + "/status", payload: "offline", qos: 2, retain: false, dup: false }]);
    const late = await js(env.port);
    await jsSub(late, t + "/#", 2);
    expect(await msgs(late, 1)).toEqual([{ topic: t + "/status", payload: "offline", qos: 2, retain: true, dup: false }]);
  });

  itMosq("[MQTT-3.14.4-3] [MQTT-3.1.2-10] a DISCONNECT discards the will: mosquitto_sub --will-topic exiting after -C 1, MQTT.js end()", async () => {
    const env = await broker();
    const t = u("w15");
    const w = await js(env.port);
    await jsSub(w, t + "/#", 1);
    const s = await mosqSub(env.port, ["-t", t + "/in", "-C", "1", "--will-topic", t + "/will", "--will-payload", "no"]);
    const a = await js(env.port, { will: { topic: t + "/will", payload: Buffer.from("no"), qos: 1, retain: false } });
    await mosqPub(env.port, ["-t", t + "/in", "-m", "go"]);
    expect(await s.exit(), s.describe()).toBe(0);
    await a.m.endAsync();
    await quiet();
    expect(w.msgs.map((m) => m.topic)).toEqual([t + "/in"]);
  });

  itMosq("[MQTT-3.1.2-12] a connection without a will publishes nothing when it drops (raw socket destroyed, mosquitto_sub killed)", async () => {
    const env = await broker();
    const w = await js(env.port);
    await jsSub(w, "#", 2);
    const r = await RawClient.open(env.port);
    await r.open(u("nowill"));
    r.destroy();
    const s = await mosqSub(env.port, ["-t", "x"]);
    s.kill("SIGKILL");
    await waitFor(() => env.log.filter((l) => /^disconnect .*connection lost/.test(l)).length == 2, 3000, () => "both gone: " + env.log.join("\n"));
    await quiet();
    expect(w.msgs).toEqual([]);
  });

  it("[MQTT-3.1.2-24] [MQTT-3.12.4-1] keepalive 1 s: a silent client is closed after 1.5 s, not before, as a network failure (its will goes out); PINGREQ every 0.7 s keeps another open, each answered with PINGRESP", async () => {
    const env = await broker();
    const t = u("ka");
    const w = await js(env.port);
    await jsSub(w, t, 1);
    const silent = await RawClient.open(env.port);
    const pinger = await RawClient.open(env.port);
    await silent.open(u("silent"), { keepalive: 1, will: { topic: t, payload: "timed out", qos: 1 } });
    const t0 = Date.now();
    await pinger.open(u("pinger"), { keepalive: 1 });
    let pings = 0;
    while (Date.now() - t0 < 3000) {
      await sleep(700);
      expect(await pinger.sync()).toEqual([]);
      pings++;
    }
    expect(pinger.closed).toBe(false);
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(silent.closed).toBe(true);
    const after = silent.closedAt - t0;
    expect(after).toBeGreaterThanOrEqual(1400);
    expect(after).toBeLessThan(4000); // soon after (the broker looks every 0.5 s)
    expect((await msgs(w, 1)).map((m) => m.payload)).toEqual(["timed out"]);
  });
});

// ------------------------------------------------------------------ PUBLISH and QoS

describe("PUBLISH and QoS", () => {
  it("[MQTT-3.3.4-1] [MQTT-2.3.1-6] the broker answers a PUBLISH per Table 3.4: nothing at QoS 0, PUBACK at QoS 1, PUBREC at QoS 2 and PUBCOMP for the PUBREL, each with the packet id", async () => {
    const env = await broker();
    const r = await RawClient.open(env.port);
    await r.open(u("t34"));
    r.send({ type: T.PUBLISH, topic: "q/0", payload: "a", qos: 0 });
    r.send({ type: T.PUBLISH, topic: "q/1", payload: "b", qos: 1, id: 0x0101 });
    r.send({ type: T.PUBLISH, topic: "q/2", payload: "c", qos: 2, id: 0xfffe });
    expect(await r.sync()).toEqual([{ type: T.PUBACK, id: 0x0101 }, { type: T.PUBREC, id: 0xfffe }]);
    r.send({ type: T.PUBREL, id: 0xfffe });
    expect(await r.sync()).toEqual([{ type: T.PUBCOMP, id: 0xfffe }]);
  });

  it("[MQTT-4.6.0-2] [MQTT-4.6.0-3] [MQTT-4.6.0-4] acknowledgments keep order: PUBACK and PUBREC in the order the PUBLISHes came, PUBREL in the order the PUBRECs came", async () => {
    const env = await broker();
    const p = await RawClient.open(env.port);
    await p.open(u("ordp"));
    p.send({ type: T.PUBLISH, topic: "o", payload: "1", qos: 1, id: 11 }, { type: T.PUBLISH, topic: "o", payload: "2", qos: 2, id: 12 },
      { type: T.PUBLISH, topic: "o", payload: "3", qos: 1, id: 13 }, { type: T.PUBLISH, topic: "o", payload: "4", qos: 2, id: 14 });
    expect((await p.sync()).map((g) => [g.type, g.id])).toEqual([[T.PUBACK, 11], [T.PUBREC, 12], [T.PUBACK, 13], [T.PUBREC, 14]]);
    const s = await RawClient.open(env.port);
    await s.open(u("ords"));
    await s.sub(1, ["r"], [2]);
    p.send({ type: T.PUBLISH, topic: "r", payload: "a", qos: 2, id: 21 }, { type: T.PUBLISH, topic: "r", payload: "b", qos: 2, id: 22 },
      { type: T.PUBLISH, topic: "r", payload: "c", qos: 2, id: 23 });
    expect((await p.sync()).map((g) => [g.type, g.id])).toEqual([[T.PUBREC, 21], [T.PUBREC, 22], [T.PUBREC, 23]]);
    const ids = (await s.wait(3, T.PUBLISH)).map((g) => g.id);
    s.send({ type: T.PUBREC, id: ids[2]! }, { type: T.PUBREC, id: ids[0]! }, { type: T.PUBREC, id: ids[1]! });
    expect((await s.sync()).map((g) => [g.type, g.id])).toEqual([[T.PUBREL, ids[2]], [T.PUBREL, ids[0]], [T.PUBREL, ids[1]]]);
  });

  itMosq("[MQTT-4.3.3-2] QoS 2 inbound exactly once: a resent PUBLISH before PUBREL gets PUBREC again and is not delivered twice; after PUBCOMP the same id is a new message", async () => {
    const env = await broker();
    const t = u("e2");
    const s = await mosqSub(env.port, ["-t", t, "-q", "2", "-C", "2"]);
    const r = await RawClient.open(env.port);
    await r.open(u("q2in"));
    r.send({ type: T.PUBLISH, topic: t, payload: "one", qos: 2, id: 9 });
    r.send({ type: T.PUBLISH, topic: t, payload: "one", qos: 2, id: 9, dup: true });
    expect(await r.sync()).toEqual([{ type: T.PUBREC, id: 9 }, { type: T.PUBREC, id: 9 }]);
    r.send({ type: T.PUBREL, id: 9 });
    expect(await r.sync()).toEqual([{ type: T.PUBCOMP, id: 9 }]);
    r.send({ type: T.PUBLISH, topic: t, payload: "two", qos: 2, id: 9 });
    expect(await r.sync()).toEqual([{ type: T.PUBREC, id: 9 }]);
    r.send({ type: T.PUBREL, id: 9 });
    expect(await r.sync()).toEqual([{ type: T.PUBCOMP, id: 9 }]);
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs().map((m) => m.payload)).toEqual(["one", "two"]);
  });

  itMosq("[MQTT-4.3.2-2] QoS 1 inbound: after PUBACK the same packet id, even with DUP set, is a new publication", async () => {
    const env = await broker();
    const t = u("e1");
    const s = await mosqSub(env.port, ["-t", t, "-q", "1", "-C", "2"]);
    const r = await RawClient.open(env.port);
    await r.open(u("q1in"));
    r.send({ type: T.PUBLISH, topic: t, payload: "a", qos: 1, id: 3 });
    expect(await r.sync()).toEqual([{ type: T.PUBACK, id: 3 }]);
    r.send({ type: T.PUBLISH, topic: t, payload: "b", qos: 1, id: 3, dup: true });
    expect(await r.sync()).toEqual([{ type: T.PUBACK, id: 3 }]);
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs().map((m) => m.payload)).toEqual(["a", "b"]);
  });

  it("[MQTT-3.3.1-3] the DUP flag of an incoming PUBLISH is not passed on: subscribers get DUP 0", async () => {
    const env = await broker();
    const s = await RawClient.open(env.port);
    await s.open(u("dups"));
    await s.sub(1, ["d"], [2]);
    const p = await RawClient.open(env.port);
    await p.open(u("dupp"));
    p.send({ type: T.PUBLISH, topic: "d", payload: "x", qos: 1, id: 5, dup: true });
    const [m] = await s.wait(1, T.PUBLISH);
    expect(m).toMatchObject({ payload: "x", qos: 1, dup: false });
  });

  itMosq("[MQTT-4.3.1-1] [MQTT-4.3.2-1] [MQTT-4.3.3-1] [MQTT-2.3.1-1] [MQTT-2.3.1-5] [MQTT-2.2.2-1] what a raw subscriber gets (strictly decoded): QoS 0 with DUP 0 and no packet id; QoS 1 and 2 with different non-zero ids and DUP 0; PUBREL for PUBREC with the same id", async () => {
    const env = await broker();
    const t = u("out");
    const s = await RawClient.open(env.port);
    await s.open(u("outs"));
    await s.sub(0x8000, [t], [2]);
    for (const q of ["0", "1", "2"]) await mosqPub(env.port, ["-t", t, "-m", "qos" + q, "-q", q]);
    const [m0, m1, m2] = await s.wait(3, T.PUBLISH);
    expect(m0).toEqual({ type: T.PUBLISH, id: 0, topic: t, payload: "qos0", qos: 0, dup: false, retain: false });
    expect(m1).toMatchObject({ payload: "qos1", qos: 1, dup: false });
    expect(m2).toMatchObject({ payload: "qos2", qos: 2, dup: false });
    expect(m1!.id).not.toBe(0);
    expect(m2!.id).not.toBe(0);
    expect(m2!.id).not.toBe(m1!.id);
    s.send({ type: T.PUBACK, id: m1!.id }, { type: T.PUBREC, id: m2!.id });
    expect(await s.sync()).toEqual([{ type: T.PUBREL, id: m2!.id }]);
    s.send({ type: T.PUBCOMP, id: m2!.id });
    expect(await s.sync()).toEqual([]);
  });

  it("[MQTT-4.4.0-1] [MQTT-3.3.1-1] [MQTT-2.3.1-4] [MQTT-4.6.0-1] [MQTT-4.3.3-1] on reconnect to a stored session, unacknowledged PUBLISHes are resent in their original order with their packet ids and DUP 1, and a PUBREL already sent is resent as PUBREL, not PUBLISH", async () => {
    const env = await broker();
    const id = u("resend");
    const s = await RawClient.open(env.port);
    await s.open(id, { clean: false });
    await s.sub(1, ["rs/#"], [2]);
    const p = await js(env.port);
    for (const [n, q] of [[1, 1], [2, 2], [3, 1], [4, 2]] as const) await p.m.publishAsync("rs/" + n, "m" + n, { qos: q });
    const first = await s.wait(4, T.PUBLISH);
    expect(first.map((g) => [g.payload, g.qos, g.dup])).toEqual([["m1", 1, false], ["m2", 2, false], ["m3", 1, false], ["m4", 2, false]]);
    const ids = first.map((g) => g.id);
    s.send({ type: T.PUBREC, id: ids[1]! });
    expect(await s.sync()).toEqual([{ type: T.PUBREL, id: ids[1] }]);
    s.destroy();
    await waitFor(() => env.log.some((l) => l.startsWith("disconnect " + id)), 3000, () => "disconnect logged");
    const s2 = await RawClient.open(env.port);
    await s2.open(id, { clean: false }, true);
    const again = await s2.sync();
    expect(again.filter((g) => g.type == T.PUBREL)).toEqual([{ type: T.PUBREL, id: ids[1] }]);
    expect(again.filter((g) => g.type == T.PUBLISH).map((g) => [g.payload, g.id, g.dup])).toEqual([["m1", ids[0], true], ["m3", ids[2], true], ["m4", ids[3], true]]);
    expect(again).toHaveLength(4);
    s2.send({ type: T.PUBACK, id: ids[0]! }, { type: T.PUBACK, id: ids[2]! }, { type: T.PUBCOMP, id: ids[1]! }, { type: T.PUBREC, id: ids[3]! });
    expect(await s2.sync()).toEqual([{ type: T.PUBREL, id: ids[3] }]);
    s2.send({ type: T.PUBCOMP, id: ids[3]! }, { type: T.DISCONNECT });
    await s2.waitClosed();
    const s3 = await RawClient.open(env.port);
    await s3.open(id, { clean: false }, true);
    expect(await s3.sync()).toEqual([]); // all acknowledged: nothing is resent
  });

  it("[MQTT-3.3.5-1] [MQTT-3.8.4-6] one copy per subscriber, at the highest QoS of its matching subscriptions and never above the QoS published (MQTT.js)", async () => {
    const env = await broker();
    const t = u("qos");
    const a = await js(env.port);
    await jsSub(a, t + "/#", 0);
    await jsSub(a, t + "/x", 2);
    await jsSub(a, "+/x", 1);
    const b = await js(env.port);
    await jsSub(b, t + "/x", 1);
    const c = await js(env.port);
    await jsSub(c, t + "/x", 0);
    const p = await js(env.port);
    await p.m.publishAsync(t + "/x", "m2", { qos: 2 });
    await p.m.publishAsync(t + "/x", "m1", { qos: 1 });
    await p.m.publishAsync(t + "/x", "m0", { qos: 0 });
    const q = (c: Js) => c.msgs.map((m) => m.payload + "@" + m.qos);
    await msgs(a, 3);
    await msgs(b, 3);
    await msgs(c, 3);
    await quiet();
    expect(q(a)).toEqual(["m2@2", "m1@1", "m0@0"]);
    expect(q(b)).toEqual(["m2@1", "m1@1", "m0@0"]);
    expect(q(c)).toEqual(["m2@0", "m1@0", "m0@0"]);
  });

  for (const q of ["0", "1", "2"]) {
    itMosq(`[MQTT-4.6.0-5] [MQTT-4.6.0-6] a topic is ordered: 100 QoS ${q} messages from mosquitto_pub -l arrive at mosquitto_sub in the order sent`, async () => {
      const env = await broker();
      const t = u("order");
      const lines = Array.from({ length: 100 }, (_, i) => "m-" + String(i).padStart(3, "0"));
      const s = await mosqSub(env.port, ["-t", t, "-q", "2", "-C", "100"]);
      const p = await mosqPub(env.port, ["-t", t, "-q", q, "-l"], { stdin: lines.join("\n") + "\n" });
      expect(p.code, p.describe()).toBe(0);
      expect(await s.exit(), s.describe()).toBe(0);
      expect(s.msgs().map((m) => m.payload)).toEqual(lines);
    });
  }

  itMosq("[MQTT-3.3.2-3] [MQTT-4.7.1-2] [MQTT-4.7.1-3] wildcard subscribers get the topic name as published: + matches one level, # any number, a/# matches a", async () => {
    const env = await broker();
    const t = u("wc");
    const plus = await js(env.port);
    await jsSub(plus, t + "/+/c", 1);
    const hash = await mosqSub(env.port, ["-t", t + "/x/#", "-q", "1", "-C", "2"]);
    for (const x of ["/b/c", "/b/c/d", "/x", "/x/y/z", "/xy", "/b"]) await mosqPub(env.port, ["-t", t + x, "-m", x, "-q", "1"]);
    expect(await hash.exit(), hash.describe()).toBe(0);
    expect(hash.msgs().map((m) => m.topic)).toEqual([t + "/x", t + "/x/y/z"]);
    await quiet();
    expect(plus.msgs.map((m) => m.topic)).toEqual([t + "/b/c"]);
  });

  it("[MQTT-4.7.2-1] topics starting with $ are not matched by # or +/...: the broker's $SYS statistics and a client's $app topic reach only filters starting with them", async () => {
    const env = await broker({ sysInterval: 200 });
    const all = await js(env.port);
    await jsSub(all, "#", 0);
    const plus = await js(env.port);
    await jsSub(plus, "+/broker/uptime", 0);
    const sys = await js(env.port);
    await jsSub(sys, "$SYS/broker/uptime", 0);
    const app = await js(env.port);
    await jsSub(app, "$app/#", 0);
    await all.m.publishAsync("$app/x", "dollar", { qos: 1 });
    await all.m.publishAsync("app/x", "plain", { qos: 1 });
    await msgs(sys, 1, 3000);
    await msgs(app, 1);
    await sleep(500); // two more $SYS periods
    expect(all.msgs.map((m) => m.topic)).toEqual(["app/x"]);
    expect(plus.msgs).toEqual([]);
    expect(app.msgs.map((m) => m.topic)).toEqual(["$app/x"]);
    expect(sys.msgs[0]!.payload).toMatch(/^\d+ seconds$/);
  });

  it("[MQTT-4.7.3-4] [MQTT-1.5.3-3] topics are compared as sent: no Unicode normalization, case kept, U+FEFF neither skipped nor stripped", async () => {
    const env = await broker();
    const t = u("nrm");
    const names = [t + "/caf\u00e9", t + "/cafe\u0301", t + "/\ufeffbom", t + "/bom", t + "/Case", t + "/case"];
    const subs: Js[] = [];
    for (const n of names) {
      const c = await js(env.port);
      await jsSub(c, n, 1);
      subs.push(c);
    }
    const p = await js(env.port);
    for (const n of names) await p.m.publishAsync(n, "to " + n, { qos: 1 });
    for (const c of subs) await msgs(c, 1);
    await quiet();
    expect(subs.map((c) => c.msgs.map((m) => m.topic))).toEqual(names.map((n) => [n]));
    expect(subs.map((c) => c.payloads())).toEqual(names.map((n) => ["to " + n]));
  });

  it("[MQTT-4.7.3-3] the longest topic name, 65,535 bytes, passes through unchanged (limits.maxPacket raised to carry it)", async () => {
    const env = await broker({ limits: { maxPacket: 70000 } });
    const topic = "L/" + "x".repeat(65533);
    expect(Buffer.byteLength(topic)).toBe(65535);
    const s = await js(env.port);
    await jsSub(s, "L/+", 1);
    const p = await js(env.port);
    await p.m.publishAsync(topic, "long", { qos: 1 });
    const [m] = await msgs(s, 1);
    expect(m!.topic).toBe(topic);
  });
});

// ------------------------------------------------------------------ retained messages

describe("retained messages", () => {
  itMosq("[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-9] a retained message (mosquitto_pub -r -q 1) reaches the existing subscriber with retain 0, and is stored with its QoS: a new mosquitto_sub gets it with retain 1 at QoS 1", async () => {
    const env = await broker();
    const t = u("ret");
    const w = await js(env.port);
    await jsSub(w, t, 2);
    await mosqPub(env.port, ["-t", t, "-m", "kept", "-q", "1", "-r"]);
    expect(await msgs(w, 1)).toEqual([{ topic: t, payload: "kept", qos: 1, retain: false, dup: false }]);
    const s = await mosqSub(env.port, ["-t", t, "-q", "2", "-C", "1"]);
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs()).toEqual([{ topic: t, qos: 1, retain: true, payload: "kept" }]);
  });

  itMosq("[MQTT-3.3.1-7] [MQTT-3.3.1-12] a retained QoS 0 message replaces the stored one; a message without retain neither is stored nor removes it", async () => {
    const env = await broker();
    const t = u("rep");
    await mosqPub(env.port, ["-t", t, "-m", "first", "-q", "1", "-r"]);
    await mosqPub(env.port, ["-t", t, "-m", "second", "-q", "0", "-r"]);
    await mosqPub(env.port, ["-t", t, "-m", "third", "-q", "1"]);
    const s = await mosqSub(env.port, ["-t", t, "-q", "2", "-C", "1"]);
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs()).toEqual([{ topic: t, qos: 0, retain: true, payload: "second" }]);
  });

  itMosq("[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained message (mosquitto_pub -r -n) goes to current subscribers and deletes the stored one; it is not stored itself", async () => {
    const env = await broker();
    const t = u("del");
    await mosqPub(env.port, ["-t", t, "-m", "kept", "-q", "1", "-r"]);
    const w = await js(env.port);
    await jsSub(w, t, 1);
    expect((await msgs(w, 1))[0]).toMatchObject({ payload: "kept", retain: true });
    await mosqPub(env.port, ["-t", t, "-n", "-q", "1", "-r"]);
    expect((await msgs(w, 2))[1]).toEqual({ topic: t, payload: "", qos: 1, retain: false, dup: false });
    const late = await js(env.port);
    await jsSub(late, t, 1);
    await quiet();
    expect(late.msgs).toEqual([]);
  });

  it("[MQTT-3.1.2-7] retained messages outlive the sessions that published them (a clean session, and a persistent one later discarded)", async () => {
    const env = await broker();
    const t = u("outlive");
    const a = await js(env.port, { clean: true });
    await a.m.publishAsync(t + "/a", "from clean", { qos: 1, retain: true });
    await a.m.endAsync();
    const id = u("pers");
    const b = await js(env.port, { clientId: id, clean: false });
    await b.m.publishAsync(t + "/b", "from persistent", { qos: 1, retain: true });
    await b.m.endAsync();
    const gone = await js(env.port, { clientId: id, clean: true }); // discards b's session
    await gone.m.endAsync();
    const s = await js(env.port);
    await jsSub(s, t + "/#", 1);
    expect((await msgs(s, 2)).map((m) => m.payload).sort()).toEqual(["from clean", "from persistent"]);
  });

  it("[MQTT-3.8.4-3] subscribing again to a filter already held replaces the subscription: the new QoS applies, one copy per message, and the retained message is sent again", async () => {
    const env = await broker();
    const t = u("resub");
    const p = await js(env.port);
    await p.m.publishAsync(t, "retained", { qos: 1, retain: true });
    const s = await RawClient.open(env.port);
    await s.open(u("resubs"));
    expect(await s.sub(1, [t], [0])).toEqual([0]);
    expect(await s.sync()).toEqual([{ type: T.PUBLISH, id: 0, topic: t, payload: "retained", qos: 0, retain: true, dup: false }]);
    expect(await s.sub(2, [t], [2])).toEqual([2]);
    const [again] = await s.wait(1, T.PUBLISH);
    expect(again).toMatchObject({ payload: "retained", qos: 1, retain: true });
    s.send({ type: T.PUBACK, id: again!.id });
    await p.m.publishAsync(t, "new", { qos: 2 });
    const [m] = await s.wait(1, T.PUBLISH);
    expect(m).toMatchObject({ payload: "new", qos: 2, retain: false });
    s.send({ type: T.PUBREC, id: m!.id });
    expect(await s.sync()).toEqual([{ type: T.PUBREL, id: m!.id }]); // one copy only
  });
});

// ------------------------------------------------------------------ SUBSCRIBE and UNSUBSCRIBE

describe("SUBSCRIBE and UNSUBSCRIBE", () => {
  it("[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-2.3.1-7] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT-3.9.3-2] one SUBACK per SUBSCRIBE, with its packet id and a return code per filter in order: the granted QoS, or 0x80 where the ACL refuses", async () => {
    const env = await broker({ acl: [{ access: "deny", topic: "s35/secret/#" }, { access: "readwrite", topic: "#" }] });
    const s = await RawClient.open(env.port);
    await s.open(u("suback"));
    s.send({ type: T.SUBSCRIBE, id: 0xbeef, filters: ["s35/a", "s35/secret/x", "s35/b", "s35/c"], qoss: [2, 1, 0, 1] });
    expect(await s.sync()).toEqual([{ type: T.SUBACK, id: 0xbeef, codes: [2, 0x80, 0, 1] }]);
    const p = await js(env.port);
    for (const x of ["a", "secret/x", "b", "c"]) await p.m.publishAsync("s35/" + x, x, { qos: 2 });
    const got = await s.wait(3, T.PUBLISH);
    expect(got.map((g) => [g.payload, g.qos])).toEqual([["a", 2], ["b", 0], ["c", 1]]);
  });

  it("[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-2.3.1-7] [MQTT-3.10.4-5] [MQTT-3.10.4-6] UNSUBSCRIBE: one UNSUBACK with the packet id, also when nothing matched; only filters held exactly are removed, wildcards not expanded; nothing new arrives for them", async () => {
    const env = await broker();
    const s = await RawClient.open(env.port);
    await s.open(u("unsub"));
    expect(await s.sub(1, ["u/+", "u/b"], [0, 0])).toEqual([0, 0]);
    s.send({ type: T.UNSUBSCRIBE, id: 0x4242, filters: ["u/b", "u/#", "nope"] });
    expect(await s.sync()).toEqual([{ type: T.UNSUBACK, id: 0x4242 }]);
    const p = await js(env.port);
    await p.m.publishAsync("u/b", "still u/+", { qos: 1 });
    expect((await s.wait(1, T.PUBLISH)).map((g) => g.payload)).toEqual(["still u/+"]);
    s.send({ type: T.UNSUBSCRIBE, id: 0x4343, filters: ["u/+"] });
    expect(await s.sync()).toEqual([{ type: T.UNSUBACK, id: 0x4343 }]);
    await p.m.publishAsync("u/b", "none", { qos: 1 });
    await quiet();
    s.send({ type: T.UNSUBSCRIBE, id: 0x4444, filters: ["u/+"] });
    expect(await s.sync()).toEqual([{ type: T.UNSUBACK, id: 0x4444 }]); // nothing removed, still answered
  });

  it("[MQTT-3.10.4-3] UNSUBSCRIBE does not stop a QoS 2 delivery already started: a PUBREC after it still gets its PUBREL", async () => {
    const env = await broker();
    const s = await RawClient.open(env.port);
    await s.open(u("unsub2"));
    await s.sub(1, ["u2"], [2]);
    const p = await js(env.port);
    await p.m.publishAsync("u2", "started", { qos: 2 });
    const [m] = await s.wait(1, T.PUBLISH);
    s.send({ type: T.UNSUBSCRIBE, id: 2, filters: ["u2"] });
    expect(await s.sync()).toEqual([{ type: T.UNSUBACK, id: 2 }]);
    s.send({ type: T.PUBREC, id: m!.id });
    expect(await s.sync()).toEqual([{ type: T.PUBREL, id: m!.id }]);
    s.send({ type: T.PUBCOMP, id: m!.id });
    expect(await s.sync()).toEqual([]);
  });
});

// ------------------------------------------------------------------ protocol violations

/** Bytes after an accepted CONNECT that the broker must treat as a protocol violation. */
const VIOLATIONS: [string, string][] = [
  ["[MQTT-3.1.0-2] a second CONNECT", encodeHex({ type: T.CONNECT, clientId: "again", clean: true, keepalive: 0 })],
  ["[MQTT-1.5.3-1] [MQTT-3.3.2-1] PUBLISH topic with ill-formed UTF-8 (a surrogate, ed a0 80)", pkt("30", str("61eda080") + "78")],
  ["[MQTT-1.5.3-2] [MQTT-4.7.3-2] PUBLISH topic with U+0000", pkt("30", str("610062") + "78")],
  ["[MQTT-2.2.2-2] [MQTT-3.6.1-1] PUBREL with fixed header flags 0000", "60020001"],
  ["[MQTT-2.2.2-2] [MQTT-3.8.1-1] SUBSCRIBE with fixed header flags 0000", pkt("80", "0001" + str(ascii("a")) + "00")],
  ["[MQTT-2.2.2-2] [MQTT-3.10.1-1] UNSUBSCRIBE with fixed header flags 0000", pkt("a0", "0001" + str(ascii("a")))],
  ["[MQTT-3.14.1-1] DISCONNECT with reserved bits 0010", "e200"],
  ["[MQTT-3.3.1-4] PUBLISH with QoS 3", pkt("36", str(ascii("t")) + "0001" + "78")],
  ["[MQTT-3.3.1-2] PUBLISH at QoS 0 with DUP 1", pkt("38", str(ascii("t")) + "78")],
  ["[MQTT-3.3.2-2] [MQTT-4.7.1-1] PUBLISH topic name with a wildcard (a/+)", pkt("30", str(ascii("a/+")) + "78")],
  ["[MQTT-4.7.3-1] PUBLISH with an empty topic name", pkt("30", str("") + "78")],
  ["[MQTT-2.3.1-1] PUBLISH at QoS 1 with packet id 0", pkt("32", str(ascii("t")) + "0000" + "78")],
  ["[MQTT-3.8.3-1] SUBSCRIBE filter with ill-formed UTF-8 (overlong c0 af)", pkt("82", "0001" + str("61c0af") + "00")],
  ["[MQTT-3.8.3-3] SUBSCRIBE without a topic filter", "82020001"],
  ["[MQTT-3.8.3-4] SUBSCRIBE requesting QoS 3", pkt("82", "0001" + str(ascii("a")) + "03")],
  ["[MQTT-4.7.1-2] SUBSCRIBE to a/#/b", pkt("82", "0001" + str(ascii("a/#/b")) + "00")],
  ["[MQTT-4.7.1-3] SUBSCRIBE to a+", pkt("82", "0001" + str(ascii("a+")) + "00")],
  ["[MQTT-3.10.3-1] UNSUBSCRIBE filter with ill-formed UTF-8 (stray 80)", pkt("a2", "0001" + str("6180"))],
  ["[MQTT-3.10.3-2] UNSUBSCRIBE without a topic filter", "a2020001"],
  ["§2.2.1 CONNACK from a client (a type only a server sends)", "20020000"],
];

function encodeHex(o: Parameters<typeof encode>[0]): string {
  return Buffer.from(encode(o)).toString("hex");
}

describe("protocol violations close the connection", () => {
  test.each(VIOLATIONS)("[MQTT-4.8.0-1] [MQTT-3.1.2-8] %s: closed unanswered, the will goes out, other clients carry on", async (_name, hex) => {
    const env = await broker();
    const t = u("viol");
    const w = await js(env.port);
    await jsSub(w, t + "/#", 1);
    const r = await RawClient.open(env.port);
    await r.open(u("bad"), { will: { topic: t + "/will", payload: "violated", qos: 1 } });
    r.send(hex);
    await r.waitClosed();
    expect(r.take()).toEqual([]);
    await msgs(w, 1);
    await w.m.publishAsync(t + "/after", "still here", { qos: 1 });
    expect((await msgs(w, 2)).map((m) => m.payload)).toEqual(["violated", "still here"]);
    expect(env.rb.broker.stats.protocolErrors).toBe(1);
  });

  it("[MQTT-4.8.0-2] a client over its limit of QoS 2 messages awaiting PUBREL (limits.maxInbound 2) is disconnected", async () => {
    const env = await broker({ limits: { maxInbound: 2 } });
    const r = await RawClient.open(env.port);
    await r.open(u("inbound"));
    r.send({ type: T.PUBLISH, topic: "i", payload: "1", qos: 2, id: 1 }, { type: T.PUBLISH, topic: "i", payload: "2", qos: 2, id: 2 });
    expect(await r.sync()).toEqual([{ type: T.PUBREC, id: 1 }, { type: T.PUBREC, id: 2 }]);
    r.send({ type: T.PUBLISH, topic: "i", payload: "3", qos: 2, id: 3 });
    await r.waitClosed();
    expect(r.take()).toEqual([]);
  });
});

// ------------------------------------------------------------------ authorization

describe("authentication and authorization", () => {
  itMosq("[MQTT-3.3.5-2] a PUBLISH the ACL denies is still acknowledged per its QoS (PUBACK; PUBREC, PUBCOMP; mosquitto_pub exits 0) and neither delivered nor retained", async () => {
    const env = await broker({ acl: [{ access: "read", topic: "ro/#" }, { access: "readwrite", topic: "rw/#" }] });
    const w = await js(env.port);
    expect(await jsSub(w, "ro/#", 2)).toBe(2);
    const r = await RawClient.open(env.port);
    await r.open(u("denied"));
    r.send({ type: T.PUBLISH, topic: "ro/x", payload: "1", qos: 1, id: 1 }, { type: T.PUBLISH, topic: "ro/x", payload: "2", qos: 2, id: 2 },
      { type: T.PUBLISH, topic: "ro/x", payload: "3", qos: 0, retain: true });
    expect(await r.sync()).toEqual([{ type: T.PUBACK, id: 1 }, { type: T.PUBREC, id: 2 }]);
    r.send({ type: T.PUBREL, id: 2 });
    expect(await r.sync()).toEqual([{ type: T.PUBCOMP, id: 2 }]);
    const p = await mosqPub(env.port, ["-t", "ro/y", "-m", "4", "-q", "2", "-r"]);
    expect(p.code, p.describe()).toBe(0);
    expect(r.closed).toBe(false);
    const late = await js(env.port);
    await jsSub(late, "ro/#", 2);
    await quiet();
    expect(w.msgs).toEqual([]);
    expect(late.msgs).toEqual([]);
    expect(env.rb.broker.stats.publishDenied).toBe(4);
  });

  itMosq("[MQTT-3.2.2-4] [MQTT-3.2.2-5] a refused login gets CONNACK 4 (bad user name or password) or 5 (not authorized) with session present 0, then the connection is closed (raw, mosquitto_pub)", async () => {
    const env = await broker({ users: { alice: hashPassword("secret") } });
    const bad = await RawClient.open(env.port);
    bad.connect(u("bad"), { clean: false, username: "alice", password: "wrong" });
    expect(await bad.wait(1)).toEqual([{ type: T.CONNACK, id: 0, code: 4, sessionPresent: false }]);
    await bad.waitClosed();
    const anon = await RawClient.open(env.port);
    anon.connect(u("anon"), { clean: false });
    expect(await anon.wait(1)).toEqual([{ type: T.CONNACK, id: 0, code: 5, sessionPresent: false }]);
    await anon.waitClosed();
    const p = await mosqPub(env.port, ["-u", "alice", "-P", "wrong", "-t", "t", "-m", "x"]);
    expect(p.code).not.toBe(0);
    expect(p.err).toMatch(/bad user name or password/i);
    const ok = await mosqPub(env.port, ["-u", "alice", "-P", "secret", "-t", "t", "-m", "x", "-q", "1"]);
    expect(ok.code, ok.describe()).toBe(0);
  });
});

// ------------------------------------------------------------------ transports

describe("transports", () => {
  itMosq("[MQTT-7.1.1-1] [MQTT-7.0.0-2] MQTT over WebSocket: MQTT.js ws:// and mosquitto_sub on TCP exchange QoS 0, 1 and 2 and retained messages through the broker", async () => {
    const env = await broker({ wsPort: 0 });
    const url = "ws://" + HOST + ":" + env.rb.ports.ws + "/mqtt";
    const t = u("ws");
    const w = await js(url);
    await jsSub(w, t + "/to-ws", 2);
    for (const q of ["0", "1", "2"]) await mosqPub(env.port, ["-t", t + "/to-ws", "-m", "q" + q, "-q", q]);
    expect((await msgs(w, 3)).map((m) => m.payload + "@" + m.qos)).toEqual(["q0@0", "q1@1", "q2@2"]);
    await w.m.publishAsync(t + "/from-ws", "retained over ws", { qos: 1, retain: true });
    const s = await mosqSub(env.port, ["-t", t + "/from-ws", "-q", "1", "-C", "1"]);
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs()).toEqual([{ topic: t + "/from-ws", qos: 1, retain: true, payload: "retained over ws" }]);
  });

  it("[MQTT-6.0.0-1] [MQTT-6.0.0-2] [MQTT-6.0.0-4] over WebSocket the broker selects subprotocol mqtt, takes a packet split across frames and several packets in one frame, and closes on a text frame (the will goes out)", async () => {
    const env = await broker({ wsPort: 0 });
    const t = u("frames");
    const w = await js(env.port);
    await jsSub(w, t, 1);
    const ws = new WebSocket("ws://" + HOST + ":" + env.rb.ports.ws + "/mqtt", ["mqtt"]);
    const got: Buffer[] = [];
    let closed = false;
    ws.on("message", (d: Buffer) => got.push(Buffer.from(d)));
    ws.on("close", () => { closed = true; });
    ws.on("error", () => {});
    try {
      await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
      expect(ws.protocol).toBe("mqtt");
      const c = encode({ type: T.CONNECT, clientId: u("wsraw"), clean: true, keepalive: 0, will: { topic: t, payload: "text frame", qos: 1 } });
      ws.send(c.subarray(0, 5));
      ws.send(c.subarray(5));
      const two = Buffer.concat([encode({ type: T.SUBSCRIBE, id: 3, filters: ["f"], qoss: [0] }), encode({ type: T.PINGREQ })]);
      ws.send(two);
      await waitFor(() => Buffer.concat(got).length >= 4 + 5 + 2, 3000, () => "CONNACK, SUBACK, PINGRESP: " + Buffer.concat(got).toString("hex"));
      expect(Buffer.concat(got).toString("hex")).toBe("20020000" + "9003000300" + "d000");
      ws.send("not binary", { binary: false });
      await waitFor(() => closed, 3000, () => "closed after a text frame");
      expect((await msgs(w, 1)).map((m) => m.payload)).toEqual(["text frame"]);
    } finally {
      ws.terminate();
    }
  });

  itMosq("[MQTT-7.1.1-1] [MQTT-7.0.0-2] MQTT over TLS with a certificate made by openssl: mosquitto_sub --cafile and MQTT.js mqtts:// exchange QoS 1 and 2 messages and a retained one", async () => {
    const env = await broker({ tlsPort: 0, tls: { cert: certs.cert, key: certs.key } });
    const port = env.rb.ports.tls!;
    const t = u("tls");
    const p = await js("mqtts://" + HOST + ":" + port, { ca: certs.caPem });
    await p.m.publishAsync(t + "/r", "retained over tls", { qos: 1, retain: true });
    const s = await mosqSub(port, ["-t", t + "/#", "-q", "2", "-C", "3"], certs.ca);
    await p.m.publishAsync(t + "/1", "q1", { qos: 1 });
    await p.m.publishAsync(t + "/2", "q2", { qos: 2 });
    expect(await s.exit(), s.describe()).toBe(0);
    expect(s.msgs()).toEqual([
      { topic: t + "/r", qos: 1, retain: true, payload: "retained over tls" },
      { topic: t + "/1", qos: 1, retain: false, payload: "q1" },
      { topic: t + "/2", qos: 2, retain: false, payload: "q2" },
    ]);
  });
});
