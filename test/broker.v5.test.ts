/**
 * Issue 9, requirements 3 and 5: MQTT 5 in the broker (lib/broker/v5.ts), with MQTT.js at protocolVersion 5
 * (and 4, on the same broker) over TCP against `npm run broker`'s startBroker on a free loopback port. Each test
 * is named with the MQTT 5 feature it checks; README's MQTT 5 table points here.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, test } from "vitest";
import { validateConfig } from "../sim/broker/config";
import { startBroker, type RunningBroker } from "../sim/broker/main";
import { encodePacket5, packet5SizeOf, type Packet5Input } from "../lib/mqtt5/encode";
import { T } from "../lib/mqtt/types";
import type { Auth, BrokerOptions, Snapshot } from "../lib/broker/types";
import { parseSnapshot } from "../sim/broker/persist";
import { MemClient, memBroker } from "./helpers/broker-mem";
import { waitFor } from "./helpers/peers";

let rb: RunningBroker | null = null;
const open: MqttClient[] = [];
let n = 0;

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  if (rb) await rb.stop();
  rb = null;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function broker(extra: object = {}): Promise<string> {
  rb = await startBroker(validateConfig({ host: "127.0.0.1", port: 0, ...extra }, "test.json", process.cwd()), { log: undefined });
  return "mqtt://127.0.0.1:" + rb.ports.mqtt;
}

interface Got { topic: string; payload: string; retain: boolean; qos: number; props: Record<string, unknown> }

/** An MQTT.js client (level 5 unless told), collecting what it receives; resolves with its CONNACK too. */
async function client(url: string, o: IClientOptions = {}): Promise<{ c: MqttClient; got: Got[]; connack: mqtt.IConnackPacket }> {
  const c = mqtt.connect(url, { protocolVersion: 5, clientId: "v5-" + ++n, reconnectPeriod: 0, ...o });
  open.push(c);
  // (listening before CONNACK: a resumed session's messages come right behind it)
  const got: Got[] = [];
  c.on("message", (topic, payload, p) => got.push({ topic, payload: payload.toString(), retain: p.retain, qos: p.qos, props: (p.properties ?? {}) as Record<string, unknown> }));
  const connack = await new Promise<mqtt.IConnackPacket>((res, rej) => { c.once("connect", res); c.once("error", rej); });
  return { c, got, connack };
}

const until = (f: () => boolean, what: string, ms = 5000): Promise<void> => waitFor(f, ms, () => what);

/** Level-5 bytes of `o` (lib/mqtt5/encode.ts). */
function bytes5(o: Packet5Input): Uint8Array {
  const b = new Uint8Array(packet5SizeOf(o) + 8);
  const len = encodePacket5(b, 0, o);
  if (len < 0) throw new Error("encode failed: " + len);
  return b.subarray(0, len);
}

/** The reason codes of the DISCONNECTs MQTT.js client `c` receives, and whether its connection closed. */
function watchEnd(c: MqttClient): { reasons: number[]; closed: () => boolean } {
  const reasons: number[] = [];
  let closed = false;
  c.on("disconnect", (d) => reasons.push(d.reasonCode ?? 0));
  c.on("close", () => { closed = true; });
  return { reasons, closed: () => closed };
}

describe("MQTT 5 in the broker, with MQTT.js at protocolVersion 5", () => {
  test("level 4 and level 5 clients on one broker exchange messages both ways; a level-4 subscriber gets a level-5 message without its properties", async () => {
    const url = await broker();
    const a = await client(url);
    const b = await client(url, { protocolVersion: 4 });
    await a.c.subscribeAsync("mix/#", { qos: 1 });
    await b.c.subscribeAsync("mix/#", { qos: 1 });
    await a.c.publishAsync("mix/5", "from5", { qos: 1, properties: { userProperties: { k: "v" } } });
    await b.c.publishAsync("mix/4", "from4", { qos: 1 });
    await until(() => a.got.length == 2 && b.got.length == 2, "both got both");
    expect(a.got.map((g) => g.payload).sort()).toEqual(["from4", "from5"]);
    expect(b.got.map((g) => g.payload).sort()).toEqual(["from4", "from5"]);
    expect(a.got.find((g) => g.payload == "from5")!.props.userProperties).toEqual({ k: "v" });
  });

  test("assigned client id: an empty client id at level 5 gets one, in CONNACK's Assigned Client Identifier [MQTT-3.2.2-16]", async () => {
    const url = await broker();
    const a = await client(url, { clientId: "" });
    expect(a.connack.reasonCode).toBe(0);
    expect(String(a.connack.properties?.assignedClientIdentifier)).toMatch(/^auto-/);
    expect(a.connack.properties?.topicAliasMaximum).toBe(16);
    expect(a.connack.properties?.receiveMaximum).toBeGreaterThan(0);
  });

  test("request/response: Response Topic, Correlation Data, User Properties, Content Type and Payload Format Indicator pass through unchanged [MQTT-3.3.2-15..20]", async () => {
    const url = await broker();
    const server = await client(url);
    await server.c.subscribeAsync("req/+", { qos: 1 });
    const asker = await client(url);
    await asker.c.subscribeAsync("resp/asker", { qos: 1 });
    await asker.c.publishAsync("req/time", "what time?", { qos: 1, properties: {
      responseTopic: "resp/asker", correlationData: Buffer.from([1, 2, 3]), userProperties: { a: "1", b: "2" },
      contentType: "text/plain", payloadFormatIndicator: true,
    } });
    await until(() => server.got.length == 1, "the request");
    const q = server.got[0]!.props;
    expect(q.responseTopic).toBe("resp/asker");
    expect(Buffer.from(q.correlationData as Buffer)).toEqual(Buffer.from([1, 2, 3]));
    expect(q.userProperties).toEqual({ a: "1", b: "2" });
    expect(q.contentType).toBe("text/plain");
    expect(q.payloadFormatIndicator).toBe(true);
    await server.c.publishAsync(q.responseTopic as string, "noon", { qos: 1, properties: { correlationData: q.correlationData as Buffer } });
    await until(() => asker.got.length == 1, "the response");
    expect(Buffer.from(asker.got[0]!.props.correlationData as Buffer)).toEqual(Buffer.from([1, 2, 3]));
  });

  test("message expiry: the remaining interval is forwarded [MQTT-3.3.2-6]; an expired retained message is not sent, nor an expired one from an offline session's queue", async () => {
    const url = await broker();
    const p = await client(url);
    await p.c.publishAsync("exp/r", "short", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await p.c.publishAsync("exp/s", "long", { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
    const now = await client(url);
    await now.c.subscribeAsync("exp/+", { qos: 1 });
    await until(() => now.got.length == 2, "both retained");
    const long = now.got.find((g) => g.payload == "long")!;
    expect(long.props.messageExpiryInterval).toBeGreaterThan(55);
    expect(long.props.messageExpiryInterval).toBeLessThanOrEqual(60);
    // an offline session with a queue
    const off = await client(url, { clientId: "exp-off", clean: false, properties: { sessionExpiryInterval: 60 } });
    await off.c.subscribeAsync("exq/+", { qos: 1 });
    await off.c.endAsync();
    await p.c.publishAsync("exq/a", "dies", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await p.c.publishAsync("exq/b", "lives", { qos: 1, properties: { messageExpiryInterval: 60 } });
    await sleep(1300);
    const later = await client(url);
    await later.c.subscribeAsync("exp/+", { qos: 1 });
    await until(() => later.got.length >= 1, "the live retained message");
    await sleep(200);
    expect(later.got.map((g) => g.payload)).toEqual(["long"]);
    const back = await client(url, { clientId: "exp-off", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(back.connack.sessionPresent).toBe(true);
    await until(() => back.got.length >= 1, "the queued message");
    await sleep(200);
    expect(back.got.map((g) => g.payload)).toEqual(["lives"]);
    expect(back.got[0]!.props.messageExpiryInterval).toBeLessThan(60);
  });

  test("Retain Handling 0, 1 and 2 [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]; Retain As Published [MQTT-3.3.1-12]; No Local [MQTT-3.8.3-3]", async () => {
    const url = await broker();
    const p = await client(url);
    await p.c.publishAsync("rh/x", "kept", { qos: 1, retain: true });
    const c = await client(url);
    await c.c.subscribeAsync("rh/#", { qos: 1, rh: 2 }); // 2: never
    await sleep(200);
    expect(c.got).toEqual([]);
    await c.c.subscribeAsync("rh/+", { qos: 1, rh: 1 }); // 1: only for a new subscription, which this is
    await until(() => c.got.length == 1, "the retained message for the new subscription");
    await c.c.subscribeAsync("rh/+", { qos: 1, rh: 1 }); // ... and this is not
    await sleep(200);
    expect(c.got.length).toBe(1);
    await c.c.subscribeAsync("rh/x", { qos: 1, rh: 0 }); // 0: always
    await until(() => c.got.length == 2, "the retained message again");
    expect(c.got.map((g) => [g.payload, g.retain])).toEqual([["kept", true], ["kept", true]]);
    // Retain As Published: a live retained message keeps its flag for a RAP subscriber, loses it for another
    const rap = await client(url);
    await rap.c.subscribeAsync("rap/t", { qos: 1, rap: true, rh: 2 });
    const plain = await client(url);
    await plain.c.subscribeAsync("rap/t", { qos: 1, rh: 2 });
    await p.c.publishAsync("rap/t", "live", { qos: 1, retain: true });
    await until(() => rap.got.length == 1 && plain.got.length == 1, "both");
    expect(rap.got[0]!.retain).toBe(true);
    expect(plain.got[0]!.retain).toBe(false);
    // No Local: the publisher's own subscription does not get its message
    const self = await client(url);
    await self.c.subscribeAsync("nl/t", { qos: 1, nl: true });
    await self.c.subscribeAsync("nl/u", { qos: 1 });
    await self.c.publishAsync("nl/t", "mine", { qos: 1 });
    await self.c.publishAsync("nl/u", "mine too", { qos: 1 });
    await until(() => self.got.length >= 1, "the message on nl/u");
    await sleep(200);
    expect(self.got.map((g) => g.topic)).toEqual(["nl/u"]);
  });

  test("session expiry: 0 ends the session with the connection; a longer one keeps it, until it expires", async () => {
    const url = await broker();
    const a = await client(url, { clientId: "sx-zero", clean: false });
    await a.c.subscribeAsync("sx/#", { qos: 1 });
    await a.c.endAsync();
    const a2 = await client(url, { clientId: "sx-zero", clean: false });
    expect(a2.connack.sessionPresent).toBe(false);
    const b = await client(url, { clientId: "sx-one", clean: false, properties: { sessionExpiryInterval: 1 } });
    await b.c.subscribeAsync("sx/#", { qos: 1 });
    await b.c.endAsync();
    const b2 = await client(url, { clientId: "sx-one", clean: false, properties: { sessionExpiryInterval: 1 } });
    expect(b2.connack.sessionPresent).toBe(true);
    await b2.c.endAsync();
    await sleep(1800);
    const b3 = await client(url, { clientId: "sx-one", clean: false, properties: { sessionExpiryInterval: 1 } });
    expect(b3.connack.sessionPresent).toBe(false);
    // Clean Start discards an existing session
    const c = await client(url, { clientId: "sx-long", clean: false, properties: { sessionExpiryInterval: 60 } });
    await c.c.endAsync();
    const c2 = await client(url, { clientId: "sx-long", clean: true, properties: { sessionExpiryInterval: 60 } });
    expect(c2.connack.sessionPresent).toBe(false);
  });

  test("topic alias from the client (§3.3.2.3.4): a PUBLISH with a topic and an alias sets it; one with the alias alone uses it", async () => {
    const url = await broker();
    const s = await client(url);
    await s.c.subscribeAsync("al/#", { qos: 1 });
    const p = await client(url);
    await p.c.publishAsync("al/x", "one", { qos: 1, properties: { topicAlias: 3 } });
    await p.c.publishAsync("", "two", { qos: 1, properties: { topicAlias: 3 } });
    await until(() => s.got.length == 2, "both");
    expect(s.got.map((g) => [g.topic, g.payload])).toEqual([["al/x", "one"], ["al/x", "two"]]);
  });

  test("Maximum Packet Size of the client: a message bigger than it is not sent to that client [MQTT-3.1.2-25]; others get it", async () => {
    const url = await broker();
    const small = await client(url, { properties: { maximumPacketSize: 64 } });
    await small.c.subscribeAsync("mp/#", { qos: 1 });
    const big = await client(url);
    await big.c.subscribeAsync("mp/#", { qos: 1 });
    await big.c.publishAsync("mp/a", "x".repeat(200), { qos: 1 });
    await big.c.publishAsync("mp/b", "short", { qos: 1 });
    await until(() => big.got.length == 2 && small.got.length == 1, "deliveries");
    expect(small.got.map((g) => g.payload)).toEqual(["short"]);
  });

  test("reason codes: UNSUBACK 0x11 for a filter not held; SUBACK 0x97 past a limit; DISCONNECT 0x8E to a client whose session is taken over", async () => {
    const url = await broker({ limits: { maxSubsPerClient: 1 } });
    const a = await client(url, { clientId: "rc-a" });
    const s1 = await a.c.subscribeAsync("one", { qos: 1 });
    expect(s1[0]!.qos).toBe(1);
    // (MQTT.js rejects a SUBACK failure, with the reason code's name)
    await expect(a.c.subscribeAsync("two", { qos: 1 })).rejects.toThrow(/Quota exceeded/);
    // (MQTT.js hands the UNSUBACK's reason codes over as `granted`)
    const un = await new Promise<{ granted?: number[]; reasonCode?: number | number[] } | undefined>((r) =>
      a.c.unsubscribe(["nothing", "one"], {}, (_e, p) => r(p as { granted?: number[] })));
    expect([un?.granted, un?.reasonCode].find((x) => Array.isArray(x))).toEqual([0x11, 0]);
    const gone = new Promise<mqtt.IDisconnectPacket>((r) => a.c.once("disconnect", r));
    await client(url, { clientId: "rc-a" });
    expect((await gone).reasonCode).toBe(0x8e);
  });

  test("CONNACK tells the broker's Receive Maximum and Maximum Packet Size (§3.2.2.3.3, §3.2.2.3.6)", async () => {
    const url = await broker({ limits: { maxInbound: 5, maxPacket: 4096 } });
    const a = await client(url);
    expect(a.connack.properties).toMatchObject({ receiveMaximum: 5, maximumPacketSize: 4096 });
    // and a PUBLISH over it from MQTT.js ends the connection with DISCONNECT 0x95 [MQTT-3.2.2-15]
    const reasons: number[] = [];
    a.c.on("disconnect", (d) => reasons.push(d.reasonCode ?? 0));
    a.c.publish("big", Buffer.alloc(5000), { qos: 0 });
    await until(() => reasons.length == 1, "DISCONNECT");
    expect(reasons).toEqual([0x95]);
  });

  test("Receive Maximum of the broker: more QoS 2 PUBLISHes awaiting PUBREL than CONNACK's Receive Maximum is DISCONNECT 0x93 (§3.3.4) [MQTT-3.3.4-7]; a level-4 client is just closed", async () => {
    const url = await broker({ limits: { maxInbound: 2 } });
    const a = await client(url);
    expect(a.connack.properties?.receiveMaximum).toBe(2);
    const e = watchEnd(a.c);
    // (MQTT.js does not hold its QoS 2 PUBLISHes back to the server's Receive Maximum: the three go at once,
    // before the first PUBREC comes back)
    for (let i = 0; i < 3; i++) a.c.publish("rm/" + i, "q2", { qos: 2 }, () => undefined);
    await until(() => e.closed(), "the close");
    expect(e.reasons).toEqual([0x93]);
    const b = await client(url, { protocolVersion: 4 });
    const e4 = watchEnd(b.c);
    for (let i = 0; i < 3; i++) b.c.publish("rm/" + i, "q2", { qos: 2 }, () => undefined);
    await until(() => e4.closed(), "the close");
    expect(e4.reasons).toEqual([]);
  });

  test("Keep Alive timeout: a level-5 MQTT.js client silent for 1.5 keepalives gets DISCONNECT 0x8D, then the close, and its will goes out [MQTT-3.1.2-22]", async () => {
    const url = await broker();
    const w = await client(url);
    await w.c.subscribeAsync("ka/#", { qos: 1 });
    const a = await client(url, { keepalive: 1, will: { topic: "ka/gone", payload: Buffer.from("silent"), qos: 1, retain: false } });
    (a.c as unknown as { _destroyKeepaliveManager(): void })._destroyKeepaliveManager(); // (it sends no more PINGREQ)
    const e = watchEnd(a.c);
    await until(() => e.closed() && w.got.length == 1, "the close and the will", 4000);
    expect(e.reasons).toEqual([0x8d]);
    expect(w.got[0]!.payload).toBe("silent");
  });

  test("Protocol Error 0x82 (a second CONNECT [MQTT-3.1.0-2]; AUTH without enhanced authentication, §4.12) and Malformed Packet 0x81 (ill-formed UTF-8 in a topic [MQTT-1.5.4-1]): DISCONNECT to a level-5 MQTT.js client before the close (§4.13.1); a level-4 client is just closed", async () => {
    const url = await broker();
    const cases: [string, Uint8Array, number][] = [
      ["second CONNECT", bytes5({ type: T.CONNECT, clientId: "again", clean: true, keepalive: 0 }), 0x82],
      ["AUTH", Uint8Array.from([0xf0, 0x00]), 0x82],
      ["ill-formed UTF-8", Uint8Array.from([0x30, 0x05, 0x00, 0x02, 0xc0, 0x80, 0x00]), 0x81],
    ];
    for (const [what, raw, rc] of cases) {
      const a = await client(url);
      const e = watchEnd(a.c);
      a.c.stream.write(raw);
      await until(() => e.closed(), "the close after " + what);
      expect([what, e.reasons]).toEqual([what, [rc]]);
    }
    const b = await client(url, { protocolVersion: 4 });
    const e4 = watchEnd(b.c);
    b.c.stream.write(Uint8Array.from([0x30, 0x04, 0x00, 0x02, 0xc0, 0x80]));
    await until(() => e4.closed(), "the level-4 close");
    expect(e4.reasons).toEqual([]);
  });

  test("Will Delay Interval with MQTT.js: a new connection with the same client id within the delay means no will [MQTT-3.1.3-9]", async () => {
    const url = await broker();
    const w = await client(url);
    await w.c.subscribeAsync("wc/#", { qos: 1 });
    const o: IClientOptions = {
      clientId: "wc-js", clean: false, properties: { sessionExpiryInterval: 30 },
      will: { topic: "wc/js", payload: Buffer.from("offline"), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    };
    const a = await client(url, o);
    a.c.stream.destroy(); // the connection drops: no DISCONNECT
    await sleep(300);
    const back = await client(url, o);
    expect(back.connack.sessionPresent).toBe(true);
    await sleep(1500);
    expect(w.got).toEqual([]);
  });

  test("Will Delay Interval with MQTT.js: the will of a dropped connection comes after its delay, with its properties (§3.1.3.2.2)", async () => {
    const url = await broker();
    const w = await client(url);
    await w.c.subscribeAsync("wd/#", { qos: 1 });
    const a = await client(url, {
      clientId: "wd-js", properties: { sessionExpiryInterval: 30 },
      will: { topic: "wd/js", payload: Buffer.from("offline"), qos: 1, retain: false, properties: { willDelayInterval: 1, userProperties: { k: "v" } } },
    });
    const t0 = Date.now();
    a.c.stream.destroy(); // the connection drops: no DISCONNECT
    await until(() => w.got.length == 1, "the will", 4000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect([w.got[0]!.payload, w.got[0]!.props.userProperties]).toEqual(["offline", { k: "v" }]);
  });

  test("DISCONNECT 0x04 from the client still publishes its will; a normal DISCONNECT does not", async () => {
    const url = await broker();
    const w = await client(url);
    await w.c.subscribeAsync("will/+", { qos: 1 });
    const a = await client(url, { will: { topic: "will/a", payload: Buffer.from("a gone"), qos: 1, retain: false } });
    a.c.end(true, { reasonCode: 0x04 });
    const b = await client(url, { will: { topic: "will/b", payload: Buffer.from("b gone"), qos: 1, retain: false } });
    b.c.end(false, { reasonCode: 0 });
    await until(() => w.got.length >= 1, "the will");
    await sleep(300);
    expect(w.got.map((g) => g.payload)).toEqual(["a gone"]);
  });
});

describe("MQTT 5 subscription identifiers (§3.8.2.1.2, §3.3.4)", () => {
  const ids = (g: Got): number[] => {
    const v = g.props.subscriptionIdentifier as number | number[] | undefined;
    return v === undefined ? [] : ([] as number[]).concat(v).sort((a, b) => a - b);
  };

  test("a message goes with the identifiers of every matching subscription of the session, in one PUBLISH [MQTT-3.3.4-3] [MQTT-3.3.4-4]", async () => {
    const url = await broker();
    const a = await client(url);
    // CONNACK leaves Subscription Identifier Available out: they are available (§3.2.2.3.12)
    expect(a.connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
    await a.c.subscribeAsync("id/+", { qos: 1, properties: { subscriptionIdentifier: 5 } });
    await a.c.subscribeAsync("id/#", { qos: 0, properties: { subscriptionIdentifier: 268435455 } });
    await a.c.subscribeAsync("id/x", { qos: 1 }); // no identifier
    const pub = await client(url);
    await pub.c.publishAsync("id/x", "both", { qos: 1 });
    await pub.c.publishAsync("id/y/z", "deep", { qos: 1 });
    await until(() => a.got.length == 2, "2 messages");
    await sleep(100);
    expect(a.got.map((g) => [g.payload, g.qos, ids(g)])).toEqual([["both", 1, [5, 268435455]], ["deep", 0, [268435455]]]);
  });

  test("the retained messages a SUBSCRIBE brings carry its identifier; a level-4 subscriber's messages carry none", async () => {
    const url = await broker();
    const pub = await client(url);
    await pub.c.publishAsync("ret/a", "kept", { qos: 1, retain: true });
    const a = await client(url);
    await a.c.subscribeAsync("ret/#", { qos: 1, properties: { subscriptionIdentifier: 42 } });
    await until(() => a.got.length == 1, "the retained message");
    expect([a.got[0]!.payload, a.got[0]!.retain, ids(a.got[0]!)]).toEqual(["kept", true, [42]]);
    const b = await client(url, { protocolVersion: 4 });
    await b.c.subscribeAsync("ret/#", { qos: 1 });
    await until(() => b.got.length == 1, "level 4 retained");
    expect(ids(b.got[0]!)).toEqual([]);
  });

  test("a shared subscription's identifier goes with the message to the member it is given to, with those of the member's other matching subscriptions", async () => {
    const url = await broker();
    const a = await client(url);
    await a.c.subscribeAsync("$share/g/sh/+", { qos: 1, properties: { subscriptionIdentifier: 3 } });
    const b = await client(url);
    await b.c.subscribeAsync("$share/g/sh/+", { qos: 1, properties: { subscriptionIdentifier: 30 } });
    await b.c.subscribeAsync("sh/#", { qos: 1, properties: { subscriptionIdentifier: 4 } });
    const pub = await client(url);
    for (const m of ["one", "two"]) await pub.c.publishAsync("sh/x", m, { qos: 1 });
    await until(() => a.got.length == 1 && b.got.length == 2, "the messages");
    await sleep(100);
    expect(a.got.map((g) => [g.payload, ids(g)])).toEqual([["one", [3]]]);
    expect(b.got.map((g) => [g.payload, ids(g)])).toEqual([["one", [4]], ["two", [4, 30]]]);
  });

  test("kept with a persistent session: messages queued while it was away carry the identifier; a new SUBSCRIBE without one removes it", async () => {
    const url = await broker();
    const o = { clientId: "sid-persist", clean: false, properties: { sessionExpiryInterval: 300 } };
    const a = await client(url, o);
    await a.c.subscribeAsync("away/#", { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await a.c.endAsync();
    const pub = await client(url);
    await pub.c.publishAsync("away/1", "queued", { qos: 1 });
    const back = await client(url, o);
    await until(() => back.got.length == 1, "the queued message");
    expect(ids(back.got[0]!)).toEqual([9]);
    await back.c.subscribeAsync("away/#", { qos: 1 }); // the same filter again, without an identifier
    await pub.c.publishAsync("away/2", "plain", { qos: 1 });
    await until(() => back.got.length == 2, "the second message");
    expect(ids(back.got[1]!)).toEqual([]);
  });
});

describe("MQTT 5 across a restart from the persistence file", () => {
  test("subscription identifiers and options and the Session Expiry Interval come back from the file (sim/broker/persist.ts)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "v5-persist-"));
    try {
      const cfg = { persistence: { file: path.join(dir, "db.json"), interval: 0 } };
      let url = await broker(cfg);
      const o = { clientId: "persist5", clean: false, properties: { sessionExpiryInterval: 600 } };
      const a = await client(url, o);
      await a.c.subscribeAsync("pf/#", { qos: 1, nl: true, properties: { subscriptionIdentifier: 77 } });
      await a.c.endAsync();
      await rb!.stop(); // saves the file
      const saved = JSON.parse(readFileSync(cfg.persistence.file, "utf8"));
      expect(saved.sessions[0]).toMatchObject({ clientId: "persist5", qoss: [1], expiry5: 600 });
      url = await broker(cfg);
      const pub = await client(url);
      await pub.c.publishAsync("pf/x", "after restart", { qos: 1 });
      const back = await client(url, o);
      expect(back.connack.sessionPresent).toBe(true);
      await until(() => back.got.length == 1, "the queued message");
      expect([back.got[0]!.payload, back.got[0]!.props.subscriptionIdentifier]).toEqual(["after restart", 77]);
      // No Local came back too: its own message is not sent back to it
      await back.c.publishAsync("pf/own", "own", { qos: 1 });
      await sleep(200);
      expect(back.got.length).toBe(1);
    } finally {
      await Promise.all(open.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
      if (rb) await rb.stop().catch(() => undefined);
      rb = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("MQTT 5 in the broker, over in-memory connections", () => {
  /** A level-5 client with a will on "gone/<id>" (Will Delay Interval `delay`) and Session Expiry `sx`, and a subscriber to gone/#. */
  function willRig(delay: number, sx: number, o: BrokerOptions = {}) {
    const env = memBroker(o);
    const watch = env.client("watch");
    watch.send({ type: T.SUBSCRIBE, id: 1, filters: ["gone/#"], qoss: [1] });
    watch.take();
    const c = new MemClient(env.broker, true);
    const connect = (cl: MemClient, clean = true) => cl.raw(bytes5({
      type: T.CONNECT, clientId: "wd", clean, keepalive: 0, props: { sessionExpiry: sx },
      will: { topic: "gone/wd", payload: "offline", qos: 1, props: { willDelay: delay, userProps: ["why", "test"] } },
    }));
    connect(c);
    c.take();
    const wills = () => watch.publishes().map((g) => g.payload);
    /** Virtual seconds pass (the broker's tick runs every second). */
    const wait = (sec: number) => { for (let i = 0; i < sec * 10; i++) env.clock.advance(100); };
    return { env, c, watch, connect, wills, wait };
  }

  test("Will Delay Interval: the will goes out after the delay, not at the abrupt close (§3.1.3.2.2)", () => {
    const r = willRig(10, 60);
    r.c.down();
    r.wait(8);
    expect(r.wills()).toEqual([]);
    r.wait(3);
    expect(r.wills()).toEqual(["offline"]);
    r.wait(60);
    expect(r.wills()).toEqual([]); // once
  });

  test("Will Delay Interval: a new connection to the session within the delay means no will [MQTT-3.1.3-9]", () => {
    const r = willRig(10, 60);
    r.c.down();
    r.wait(5);
    const again = new MemClient(r.env.broker, true);
    r.connect(again, false);
    expect(again.take().map((g) => g.type)).toEqual([T.CONNACK]);
    r.wait(30);
    expect(r.wills()).toEqual([]);
  });

  test("Will Delay Interval longer than the session: the will goes out when the session ends", () => {
    const r = willRig(30, 5);
    r.c.down();
    r.wait(4);
    expect(r.wills()).toEqual([]);
    r.wait(2);
    expect(r.wills()).toEqual(["offline"]);
    expect(r.env.log.some((l) => /session wd expired/.test(l))).toBe(true);
  });

  test("Will Delay Interval with a session that ends with its connection (Session Expiry 0): the will goes at once", () => {
    const r = willRig(30, 0);
    r.c.down();
    expect(r.wills()).toEqual(["offline"]);
  });

  test("Will Delay Interval: a new connection for the client id with Clean Start also means no will, though it ends the session [MQTT-3.1.2-8] (as Mosquitto)", () => {
    const r = willRig(30, 60);
    r.c.down();
    r.wait(2);
    const fresh = new MemClient(r.env.broker, true);
    r.connect(fresh, true);
    expect(fresh.take().map((g) => [g.type, g.sessionPresent])).toEqual([[T.CONNACK, false]]);
    r.wait(40);
    expect(r.wills()).toEqual([]);
  });

  test("Will Delay Interval: a refused connection for the client id does not cancel the will", () => {
    const auth: Auth = { login: (_id, user) => user == "bad" ? 4 : 0, canSubscribe: () => true, canRead: () => true, canWrite: () => true };
    const r = willRig(10, 60, { auth });
    r.c.down();
    r.wait(2);
    const again = new MemClient(r.env.broker, true);
    again.raw(bytes5({ type: T.CONNECT, clientId: "wd", clean: false, keepalive: 0, props: { sessionExpiry: 60 }, username: "bad", password: "y" }));
    expect(again.take().map((g) => [g.type, g.code])).toEqual([[T.CONNACK, 0x86]]);
    r.wait(10);
    expect(r.wills()).toEqual(["offline"]);
  });

  test("DISCONNECT with the broker's reason: 0x95 Packet too large, 0x93 Receive Maximum exceeded, 0x8D Keep Alive timeout; a level-4 client is just closed", () => {
    const env = memBroker({ maxPacket: 200, maxInbound: 2 });
    const open = (level5: boolean, id: string, keepalive = 0) => {
      const c = new MemClient(env.broker, level5);
      if (level5) c.raw(bytes5({ type: T.CONNECT, clientId: id, clean: true, keepalive }));
      else c.connect(id, { keepalive });
      expect(c.take().map((g) => [g.type, g.code])).toEqual([[T.CONNACK, 0]]);
      return c;
    };
    const big = open(true, "big");
    big.raw(bytes5({ type: T.PUBLISH, topic: "t", payload: "x".repeat(300), qos: 0 }));
    expect(big.take().map((g) => [g.type, g.code])).toEqual([[T.DISCONNECT, 0x95]]);
    expect(big.closed).toBe(true);
    const many = open(true, "many");
    for (const id of [1, 2, 3]) many.raw(bytes5({ type: T.PUBLISH, topic: "t", payload: "q2", qos: 2, id }));
    expect(many.take().map((g) => [g.type, g.code ?? g.id])).toEqual([[T.PUBREC, 1], [T.PUBREC, 2], [T.DISCONNECT, 0x93]]);
    const idle = open(true, "idle", 1);
    const idle4 = open(false, "idle4", 1);
    for (let i = 0; i < 25; i++) env.clock.advance(100);
    expect(idle.take().map((g) => [g.type, g.code])).toEqual([[T.DISCONNECT, 0x8d]]);
    expect(idle4.take()).toEqual([]);
    expect(idle4.closed).toBe(true);
  });

  test("subscription identifiers and options, the Session Expiry Interval and a queued message's identifiers are kept across a broker restart (snapshot, restore); the snapshot's qoss stay plain QoS, as the persistence file's loader wants", () => {
    const a = memBroker({});
    const connect = (c: MemClient) => c.raw(bytes5({ type: T.CONNECT, clientId: "keep", clean: false, keepalive: 0, props: { sessionExpiry: 100 } }));
    const c = new MemClient(a.broker, true);
    connect(c);
    c.raw(bytes5({ type: T.SUBSCRIBE, id: 1, filters: ["k/a/#"], opts: [1 | 4], props: { subIds: [7] } })); // QoS 1, No Local
    c.raw(bytes5({ type: T.SUBSCRIBE, id: 2, filters: ["k/+/x"], opts: [1], props: { subIds: [9] } }));
    c.take();
    c.down();
    const p = a.client("pub");
    p.take();
    p.send({ type: T.PUBLISH, topic: "k/a/x", payload: "queued", qos: 1, id: 1 });
    const snap = JSON.parse(JSON.stringify(a.broker.snapshot())) as Snapshot;
    expect(snap.sessions).toMatchObject([{ clientId: "keep", qoss: [1, 1], expiry5: 100, queue: [{ topic: "k/a/x", subIds: [7, 9] }] }]);
    expect(() => parseSnapshot({ format: "espruino-mqtt-broker/1", ...snap })).not.toThrow();
    const b = memBroker({});
    b.broker.restore(snap);
    const back = new MemClient(b.broker, true);
    connect(back);
    expect(back.take().map((g) => [g.type, g.sessionPresent ?? g.payload, g.subIds])).toEqual([[T.CONNACK, true, undefined], [T.PUBLISH, "queued", [7, 9]]]);
    back.raw(bytes5({ type: T.PUBACK, id: 1 }));
    back.raw(bytes5({ type: T.PUBLISH, topic: "k/a/own", payload: "mine", qos: 0 })); // No Local: not back to it
    const p2 = b.client("pub");
    p2.take();
    p2.send({ type: T.PUBLISH, topic: "k/b/x", payload: "live", qos: 1, id: 2 });
    expect(back.publishes().map((g) => [g.payload, g.subIds])).toEqual([["live", [9]]]);
    // a restored session nobody comes back to expires after its Session Expiry Interval
    const c2 = memBroker({});
    c2.broker.restore(snap);
    for (let i = 0; i < 990; i++) c2.clock.advance(100);
    expect(c2.broker.session("keep")).toBeDefined();
    for (let i = 0; i < 20; i++) c2.clock.advance(100);
    expect(c2.broker.session("keep")).toBeUndefined();
  });

  test("a level-5 subscriber whose queue fills while it is connected gets DISCONNECT 0x97 Quota exceeded; a level-4 one is just closed", () => {
    const env = memBroker({ maxQueue: 2 });
    const c = new MemClient(env.broker, true);
    c.raw(bytes5({ type: T.CONNECT, clientId: "slow", clean: true, keepalive: 0 }));
    c.raw(bytes5({ type: T.SUBSCRIBE, id: 1, filters: ["sl/t"], opts: [1] }));
    const c4 = env.client("slow4");
    c4.send({ type: T.SUBSCRIBE, id: 1, filters: ["sl/t"], qoss: [1] });
    c.take();
    c4.take();
    const p = env.client("pub");
    p.take();
    for (let i = 0; i < 3; i++) p.send({ type: T.PUBLISH, topic: "sl/t", payload: "m" + i, qos: 1, id: 1 + i });
    expect(c.take().map((g) => [g.type, g.code ?? g.payload])).toEqual([[T.PUBLISH, "m0"], [T.PUBLISH, "m1"], [T.DISCONNECT, 0x97]]);
    expect(c.closed).toBe(true);
    expect(c4.take().map((g) => [g.type, g.payload])).toEqual([[T.PUBLISH, "m0"], [T.PUBLISH, "m1"]]);
    expect(c4.closed).toBe(true);
  });

  test("a level-5 client that stopped reading is closed at its Keep Alive timeout without the DISCONNECT it has no room for (and only once)", () => {
    const env = memBroker({});
    const d = new MemClient(env.broker, true);
    d.raw(bytes5({ type: T.CONNECT, clientId: "deaf", clean: true, keepalive: 1 }));
    d.take();
    d.space = d.buffered; // (nothing read: no room)
    for (let i = 0; i < 25; i++) env.clock.advance(100);
    expect(d.take()).toEqual([]);
    expect(d.closed).toBe(true);
    expect([env.broker.stats.keepaliveTimeouts, env.broker.stats.slowClients]).toEqual([1, 0]);
  });

  test("the client's Receive Maximum bounds the QoS 1/2 messages in flight to it [MQTT-3.3.4-9]; each PUBACK lets one more go", () => {
    const env = memBroker({ maxInflight: 20 });
    const c = new MemClient(env.broker, true);
    c.raw(bytes5({ type: T.CONNECT, clientId: "rm", clean: true, keepalive: 0, props: { receiveMax: 2 } }));
    c.raw(bytes5({ type: T.SUBSCRIBE, id: 1, filters: ["rm/t"], opts: [1] }));
    c.take();
    const p = env.client("pub");
    p.take();
    for (let i = 0; i < 5; i++) p.send({ type: T.PUBLISH, topic: "rm/t", payload: "m" + i, qos: 1, id: 10 + i });
    let got = c.publishes();
    expect(got.length).toBe(2);
    c.raw(bytes5({ type: T.PUBACK, id: got[0]!.id }));
    got = c.publishes();
    expect(got.length).toBe(1);
    c.raw(bytes5({ type: T.PUBACK, id: got[0]!.id }));
    expect(c.publishes().length).toBe(1);
  });
});
