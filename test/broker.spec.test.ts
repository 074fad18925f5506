/**
 * Issue 5, requirements 2 and 3: the broker's protocol conformance, each test named with the MQTT 3.1.1
 * statement it checks, and every configured limit with the spec's answer, its log line and its counter. The
 * broker runs over in-memory connections on a virtual clock (test/helpers/broker-mem.ts): no sockets, no
 * sleeps; time moves only with clock.advance().
 */
import { describe, expect, test } from "vitest";
import type { Auth } from "../lib/broker/types";
import { encodePacket, packetSizeOf, type PacketInput } from "../lib/mqtt/encode";
import { T } from "../lib/mqtt/types";
import { type Got, MemClient, memBroker, settle } from "./helpers/broker-mem";

type Env = ReturnType<typeof memBroker>;

// ------------------------------------------------------------------ helpers

/** The bytes encodePacket writes for `o`. */
function bytes(o: PacketInput): Uint8Array {
  const b = new Uint8Array(packetSizeOf(o) + 8);
  const n = encodePacket(b, 0, o);
  if (n < 0) throw new Error("encode failed: " + n);
  return b.subarray(0, n);
}

function concat(...a: Uint8Array[]): Uint8Array {
  const r = new Uint8Array(a.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of a) { r.set(x, o); o += x.length; }
  return r;
}

/** The one CONNACK the client got. */
function connack(c: MemClient): Got {
  const a = c.take(T.CONNACK);
  expect(a).toHaveLength(1);
  return a[0]!;
}

/** A client connected (CONNACK 0 checked); `present` is the session present flag expected. */
function open(env: Env, id: string, o: Partial<PacketInput> = {}, present = false): MemClient {
  const c = env.client(id, o);
  const a = connack(c);
  expect(a.code).toBe(0);
  expect(a.sessionPresent).toBe(present);
  return c;
}

let pid = 1;

/** SUBSCRIBE; returns the SUBACK's return codes (its packet id checked). */
function sub(c: MemClient, filters: string | string[], qos: number | number[] = 0): number[] {
  const fs = typeof filters == "string" ? [filters] : filters;
  const qs = typeof qos == "number" ? fs.map(() => qos) : qos;
  const id = pid = pid % 65535 + 1;
  c.send({ type: T.SUBSCRIBE, id, filters: fs, qoss: qs });
  const a = c.take(T.SUBACK);
  expect(a).toHaveLength(1);
  expect(a[0]!.id).toBe(id); // [MQTT-3.8.4-2]
  return a[0]!.codes!;
}

function pub(c: MemClient, topic: string, payload: string, qos = 0, retain = false, id = 0): void {
  c.send({ type: T.PUBLISH, topic, payload, qos, retain, id: qos ? id || (pid = pid % 65535 + 1) : 0 });
}

/** QoS 2 publish with its whole flow (PUBREC checked, PUBREL sent, PUBCOMP checked). */
function pub2(c: MemClient, topic: string, payload: string, id: number, retain = false): void {
  pub(c, topic, payload, 2, retain, id);
  expect(c.take(T.PUBREC).map((g) => g.id)).toEqual([id]);
  c.send({ type: T.PUBREL, id });
  expect(c.take(T.PUBCOMP).map((g) => g.id)).toEqual([id]);
}

const payloads = (gs: Got[]): string[] => gs.map((g) => g.payload!);

/** Acknowledges everything the broker sends until it sends no more; returns the PUBLISHes, in order. */
function ackAll(c: MemClient): Got[] {
  const all: Got[] = [];
  for (;;) {
    const gs = c.take();
    if (!gs.length) return all;
    for (const g of gs) {
      if (g.type == T.PUBLISH) {
        all.push(g);
        if (g.qos == 1) c.send({ type: T.PUBACK, id: g.id });
        if (g.qos == 2) c.send({ type: T.PUBREC, id: g.id });
      } else if (g.type == T.PUBREL) c.send({ type: T.PUBCOMP, id: g.id });
    }
  }
}

const logged = (env: Env, re: RegExp): boolean => env.log.some((l) => re.test(l));

// ------------------------------------------------------------------ CONNECT

describe("CONNECT", () => {
  test("[MQTT-3.1.0-1] a first packet other than CONNECT closes the connection, with no CONNACK", () => {
    const env = memBroker();
    const c = env.client();
    pub(c, "t", "x");
    expect(c.closed).toBe(true);
    expect(c.got).toEqual([]);
    const d = env.client();
    d.send({ type: T.PINGREQ });
    expect(d.closed).toBe(true);
    expect(d.got).toEqual([]);
    expect(env.broker.stats.protocolErrors).toBe(2);
    expect(logged(env, /^closed protocol error/)).toBe(true);
  });

  test("[MQTT-3.1.0-1] connect timeout: a silent socket is closed after connectTimeout, not before", async () => {
    const env = memBroker({ connectTimeout: 2000 });
    const c = env.client();
    env.clock.advance(1999);
    expect(c.closed).toBe(false);
    env.clock.advance(1);
    expect(c.closed).toBe(true);
    await settle();
    expect(env.broker.stats.connectTimeouts).toBe(1);
    expect(logged(env, /no CONNECT within 2000 ms/)).toBe(true);
    expect(env.broker.peers_).toHaveLength(0);
  });

  test("[MQTT-3.1.0-1] connect timeout: a slow socket that sent part of a CONNECT is closed too", () => {
    const env = memBroker({ connectTimeout: 2000 });
    const c = env.client();
    const b = bytes({ type: T.CONNECT, clientId: "slow", clean: true, keepalive: 0 });
    c.raw(b.subarray(0, 5));
    env.clock.advance(1000);
    c.raw(b.subarray(5, 8)); // bytes keep trickling in, but no whole CONNECT
    env.clock.advance(1000);
    expect(c.closed).toBe(true);
    expect(c.got).toEqual([]);
    expect(env.broker.stats.connectTimeouts).toBe(1);
  });

  test("[MQTT-3.1.0-1] a client that sent CONNECT in time is not closed by the connect timeout", () => {
    const env = memBroker({ connectTimeout: 2000 });
    const c = env.client();
    env.clock.advance(1500);
    c.connect("ok");
    expect(connack(c).code).toBe(0);
    env.clock.advance(60000);
    expect(c.closed).toBe(false);
    expect(env.broker.stats.connectTimeouts).toBe(0);
  });

  test("[MQTT-3.1.0-2] a second CONNECT is a protocol violation: the connection is closed (and its will goes out)", async () => {
    const env = memBroker();
    const w = open(env, "watcher");
    sub(w, "will/#", 1);
    const c = open(env, "twice", { will: { topic: "will/twice", payload: "bye", qos: 1 } });
    c.connect("twice");
    expect(c.closed).toBe(true);
    expect(c.got).toEqual([]); // no second CONNACK
    await settle();
    expect(env.broker.stats.protocolErrors).toBe(1);
    expect(logged(env, /disconnect twice \(protocol error/)).toBe(true);
    expect(payloads(w.publishes())).toEqual(["bye"]); // [MQTT-3.1.2-8]: a protocol error is an abnormal close
  });

  test("[MQTT-3.1.0-2] [MQTT-4.8.0-1] packets after the violating CONNECT, in the same chunk, are not processed", async () => {
    const env = memBroker();
    const w = open(env, "watcher");
    sub(w, "t", 0);
    const c = open(env, "twice");
    c.raw(concat(bytes({ type: T.CONNECT, clientId: "twice", clean: true, keepalive: 0 }), bytes({ type: T.PUBLISH, topic: "t", payload: "after" })));
    expect(c.closed).toBe(true);
    await settle();
    expect(w.publishes()).toEqual([]);
    expect(env.broker.stats.msgsReceived).toBe(0);
  });

  test("[MQTT-3.1.4-5] [MQTT-3.2.2-5] data after a refused CONNECT is not processed", async () => {
    const env = memBroker();
    const c = env.client();
    c.raw(concat(bytes({ type: T.CONNECT, clientId: "", clean: false, keepalive: 0 }), bytes({ type: T.PUBLISH, topic: "t", payload: "x" })));
    expect(connack(c).code).toBe(2);
    expect(c.closed).toBe(true);
    await settle();
    expect(env.broker.stats.protocolErrors).toBe(0);
    expect(env.broker.stats.msgsReceived).toBe(0);
  });

  test("[MQTT-3.14.4-1] packets after DISCONNECT, in the same chunk, are not processed", async () => {
    const env = memBroker();
    const w = open(env, "watcher");
    sub(w, "t", 0);
    const c = open(env, "leaver");
    c.raw(concat(bytes({ type: T.DISCONNECT }), bytes({ type: T.PUBLISH, topic: "t", payload: "after" })));
    expect(c.closed).toBe(true);
    await settle();
    expect(w.publishes()).toEqual([]);
  });

  test("[MQTT-3.1.2-2] CONNECT at protocol level 3 gets CONNACK 1 and is closed [MQTT-3.2.2-4] [MQTT-3.2.2-5]", () => {
    const env = memBroker();
    // "MQTT" at level 3
    const b = bytes({ type: T.CONNECT, clientId: "old", clean: true, keepalive: 0 });
    expect(b[8]).toBe(4);
    b[8] = 3;
    const c = env.client();
    c.raw(b);
    const a = connack(c);
    expect(a.code).toBe(1);
    expect(a.sessionPresent).toBe(false);
    expect(c.closed).toBe(true);
    // MQTT 3.1's "MQIsdp" at level 3
    const id = [..."old31"].map((ch) => ch.charCodeAt(0));
    const v3 = [0x10, 12 + 2 + id.length, 0, 6, ...[..."MQIsdp"].map((ch) => ch.charCodeAt(0)), 3, 2, 0, 0, 0, id.length, ...id];
    const d = env.client();
    d.raw(v3);
    expect(connack(d).code).toBe(1);
    expect(d.closed).toBe(true);
    expect(env.broker.stats.clientsConnected).toBe(0);
    expect(logged(env, /refused \(1\) unacceptable protocol level/)).toBe(true);
  });

  test("[MQTT-3.1.3-6] a zero-length client id with clean session gets an id assigned and works", async () => {
    const env = memBroker();
    const a = open(env, "");
    const b = open(env, "");
    expect(env.broker.stats.clientsConnected).toBe(2);
    expect(env.broker.stats.clientsTotal).toBe(2); // two different ids
    const ids: string[] = [];
    env.broker.sessions((s) => ids.push(s.id));
    expect(ids[0]).not.toBe("");
    expect(ids[0]).not.toBe(ids[1]);
    sub(a, "t", 0);
    pub(b, "t", "hello");
    expect(payloads(a.publishes())).toEqual(["hello"]);
    a.send({ type: T.DISCONNECT });
    await settle();
    expect(env.broker.stats.clientsTotal).toBe(1);
  });

  test("[MQTT-3.1.3-8] [MQTT-3.1.3-9] a zero-length client id without clean session gets CONNACK 2 and is closed", () => {
    const env = memBroker();
    const c = env.client("", { clean: false });
    const a = connack(c);
    expect(a.code).toBe(2);
    expect(a.sessionPresent).toBe(false); // [MQTT-3.2.2-4]
    expect(c.closed).toBe(true);
    expect(env.broker.stats.clientsTotal).toBe(0);
    expect(logged(env, /refused \(2\) empty client id without clean session/)).toBe(true);
  });

  test("[MQTT-3.1.4-2] session takeover: the existing connection is closed, the new one gets the session; the old will is published (as Mosquitto 2 does)", async () => {
    const env = memBroker();
    const w = open(env, "watcher");
    sub(w, "will/#", 0);
    const old = open(env, "dev", { clean: false, will: { topic: "will/dev", payload: "old gone" } });
    sub(old, "cmd", 1);
    pub(w, "cmd", "in flight", 1);
    const sent = old.publishes();
    expect(payloads(sent)).toEqual(["in flight"]);
    const now = env.client("dev", { clean: false });
    expect(connack(now)).toMatchObject({ code: 0, sessionPresent: true });
    // the message unacknowledged on the old connection goes again on the new one [MQTT-4.4.0-1]
    expect(now.publishes().map((g) => [g.payload, g.id, g.dup])).toEqual([["in flight", sent[0]!.id, true]]);
    now.send({ type: T.PUBACK, id: sent[0]!.id });
    expect(old.closed).toBe(true);
    expect(now.closed).toBe(false);
    await settle();
    // the old connection ended without DISCONNECT: its will goes out, once (Mosquitto 2.0.11 does the same)
    expect(w.publishes().map((g) => [g.topic, g.payload])).toEqual([["will/dev", "old gone"]]);
    expect(env.broker.stats.clientsConnected).toBe(2);
    expect(logged(env, /taken over/)).toBe(true);
    pub(w, "cmd", "go", 1);
    const g = now.publishes();
    expect(payloads(g)).toEqual(["go"]);
    expect(g[0]!.qos).toBe(1);
  });

  test("[MQTT-3.1.4-2] [MQTT-3.1.2-6] taking over a clean session with clean session 0 does not reuse the old state", async () => {
    const env = memBroker();
    const old = open(env, "dev", { clean: true });
    sub(old, "cmd", 1);
    open(env, "dev", { clean: false }, false); // session present 0: the clean session ended with its connection
    expect(old.closed).toBe(true);
    await settle();
    const s = env.broker.session("dev")!;
    expect(s.filters_).toEqual([]);
    expect(env.broker.subs_.size).toBe(0);
  });

  test("[MQTT-3.2.2-1] clean session 1: session present 0, even when a session was stored", () => {
    const env = memBroker();
    const c = open(env, "p", { clean: false });
    c.down();
    open(env, "p", { clean: true }, false);
  });

  test("[MQTT-3.2.2-2] [MQTT-3.2.2-3] clean session 0: session present 1 with a stored session, 0 without", () => {
    const env = memBroker();
    const c = open(env, "p", { clean: false }, false);
    c.send({ type: T.DISCONNECT });
    open(env, "p", { clean: false }, true);
  });

  test("[MQTT-3.1.2-6] clean session: the previous session's subscriptions and messages are discarded, and the new one ends with its connection", async () => {
    const env = memBroker();
    const pubr = open(env, "pub");
    const c = open(env, "p", { clean: false });
    sub(c, "t", 1);
    c.down();
    pub(pubr, "t", "queued", 1);
    expect(env.broker.session("p")!.qm_).toHaveLength(1);
    const d = open(env, "p", { clean: true }, false);
    expect(d.publishes()).toEqual([]);
    pub(pubr, "t", "after", 1);
    expect(d.publishes()).toEqual([]); // the subscription is gone
    expect(env.broker.subs_.size).toBe(0);
    d.send({ type: T.DISCONNECT });
    await settle();
    expect(env.broker.session("p")).toBeUndefined();
    expect(env.broker.stats.clientsTotal).toBe(1); // only "pub"
    open(env, "p", { clean: false }, false);
  });
});

// ------------------------------------------------------------------ keepalive

describe("keepalive", () => {
  test("[MQTT-3.1.2-24] no packet within 1.5 x keepalive: disconnected, not before", async () => {
    const env = memBroker();
    const c = open(env, "ka", { keepalive: 10 });
    env.clock.advance(14999);
    expect(c.closed).toBe(false);
    env.clock.advance(1);
    expect(c.closed).toBe(true);
    await settle();
    expect(env.broker.stats.keepaliveTimeouts).toBe(1);
    expect(logged(env, /disconnect ka \(keepalive timeout\)/)).toBe(true);
  });

  test("[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP and keeps the connection alive", () => {
    const env = memBroker();
    const c = open(env, "ka", { keepalive: 10 });
    env.clock.advance(10000);
    c.send({ type: T.PINGREQ });
    expect(c.take(T.PINGRESP)).toHaveLength(1);
    env.clock.advance(14999);
    expect(c.closed).toBe(false);
    env.clock.advance(1);
    expect(c.closed).toBe(true);
  });

  test("[MQTT-3.1.2-23] any control packet counts as activity; keepalive 0 never times out", () => {
    const env = memBroker();
    const c = open(env, "ka", { keepalive: 2 });
    const z = open(env, "zero", { keepalive: 0 });
    for (let i = 0; i < 10; i++) { env.clock.advance(2000); pub(c, "t", "x"); }
    expect(c.closed).toBe(false);
    env.clock.advance(3600_000);
    expect(c.closed).toBe(true);
    expect(z.closed).toBe(false);
  });
});

// ------------------------------------------------------------------ wills

describe("will", () => {
  function setup(o = {}): { env: Env; w: MemClient } {
    const env = memBroker(o);
    const w = open(env, "watcher");
    sub(w, "will/#", 2);
    return { env, w };
  }

  test("[MQTT-3.1.2-8] published on a network loss, with its QoS, not retained when will retain is 0 [MQTT-3.1.2-16]", () => {
    const { env, w } = setup();
    const c = open(env, "dev", { will: { topic: "will/dev", payload: "lost", qos: 1, retain: false } });
    c.down();
    const g = w.publishes();
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({ topic: "will/dev", payload: "lost", qos: 1, retain: false });
    expect(env.broker.ret_.count).toBe(0);
    expect(logged(env, /disconnect dev \(connection lost\)/)).toBe(true);
  });

  test("[MQTT-3.1.2-17] a will with retain 1 is published as a retained message", () => {
    const { env, w } = setup();
    const c = open(env, "dev", { will: { topic: "will/dev", payload: "lost", qos: 2, retain: true } });
    c.down();
    const g = w.publishes();
    expect(g[0]).toMatchObject({ payload: "lost", qos: 2, retain: false }); // a current subscriber [MQTT-3.3.1-9]
    const late = open(env, "late");
    sub(late, "will/#", 2);
    expect(late.publishes()[0]).toMatchObject({ topic: "will/dev", payload: "lost", qos: 2, retain: true });
  });

  test("[MQTT-3.1.2-8] published on a keepalive timeout", async () => {
    const { env, w } = setup();
    open(env, "dev", { keepalive: 4, will: { topic: "will/dev", payload: "silent", qos: 0 } });
    env.clock.advance(6000);
    await settle();
    expect(payloads(w.publishes())).toEqual(["silent"]);
  });

  test("[MQTT-3.1.2-8] published when the server closes the connection for a protocol error", async () => {
    const { env, w } = setup();
    const c = open(env, "dev", { will: { topic: "will/dev", payload: "broken", qos: 1 } });
    c.raw([0x36, 3, 0, 1, 0x74]); // PUBLISH with QoS 3 [MQTT-3.3.1-4]
    expect(c.closed).toBe(true);
    await settle();
    expect(payloads(w.publishes())).toEqual(["broken"]);
  });

  test("[MQTT-3.14.4-3] [MQTT-3.1.2-10] not published after DISCONNECT", async () => {
    const { env, w } = setup();
    const c = open(env, "dev", { will: { topic: "will/dev", payload: "x", qos: 1, retain: true } });
    c.send({ type: T.DISCONNECT });
    expect(c.closed).toBe(true);
    await settle();
    expect(w.publishes()).toEqual([]);
    expect(env.broker.ret_.count).toBe(0);
    expect(env.broker.stats.clientsConnected).toBe(1);
  });

  test("[MQTT-3.1.2-10] published once: a persistent session reconnecting does not carry the old will", () => {
    const { env, w } = setup();
    const c = open(env, "dev", { clean: false, will: { topic: "will/dev", payload: "first", qos: 0 } });
    c.down();
    expect(payloads(w.publishes())).toEqual(["first"]);
    const d = open(env, "dev", { clean: false }, true);
    d.down();
    expect(w.publishes()).toEqual([]);
  });

  test("[MQTT-3.8.4-6] a will is downgraded to the subscriber's QoS", () => {
    const env = memBroker();
    const w = open(env, "watcher");
    sub(w, "will/#", 0);
    open(env, "dev", { will: { topic: "will/dev", payload: "x", qos: 2 } }).down();
    expect(w.publishes()[0]).toMatchObject({ qos: 0, id: 0 });
  });

  test("a broker shutdown publishes no wills", async () => {
    const env = memBroker();
    const c = open(env, "dev", { will: { topic: "will/dev", payload: "x", qos: 0, retain: true } });
    env.broker.close();
    expect(c.closed).toBe(true);
    await settle();
    expect(env.broker.ret_.count).toBe(0);
  });
});

// ------------------------------------------------------------------ retained messages

describe("retained messages", () => {
  test("[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] stored, and sent with retain 1 to a new subscription", () => {
    const env = memBroker();
    const p = open(env, "pub");
    pub(p, "r/a", "A", 1, true);
    pub(p, "r/b", "B", 0, true);
    expect(env.broker.ret_.count).toBe(2);
    const s = open(env, "sub");
    expect(sub(s, "r/+", 1)).toEqual([1]);
    const g = s.publishes();
    expect(g.map((x) => [x.topic, x.payload, x.qos, x.retain])).toEqual([["r/a", "A", 1, true], ["r/b", "B", 0, true]]);
  });

  test("[MQTT-3.3.1-7] replaced by the next retained message on the topic", () => {
    const env = memBroker();
    const p = open(env, "pub");
    pub(p, "r", "v1", 0, true);
    pub(p, "r", "v2", 0, true);
    expect(env.broker.ret_.count).toBe(1);
    expect(env.broker.ret_.bytes).toBe(2);
    const s = open(env, "sub");
    sub(s, "r");
    expect(payloads(s.publishes())).toEqual(["v2"]);
  });

  test("[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload deletes the retained message, is forwarded, and is not stored", () => {
    const env = memBroker();
    const p = open(env, "pub");
    const now = open(env, "now");
    sub(now, "r");
    pub(p, "r", "v1", 0, true);
    pub(p, "r", "", 0, true);
    expect(now.publishes().map((g) => [g.payload, g.retain])).toEqual([["v1", false], ["", false]]);
    expect(env.broker.ret_.count).toBe(0);
    expect(env.broker.ret_.bytes).toBe(0);
    pub(p, "gone", "", 1, true); // nothing to delete: still not stored
    expect(env.broker.ret_.count).toBe(0);
    const s = open(env, "sub");
    sub(s, "#");
    expect(s.publishes()).toEqual([]);
  });

  test("[MQTT-3.3.1-9] retain 0 when forwarded to an established subscription", () => {
    const env = memBroker();
    const s = open(env, "sub");
    sub(s, "r", 1);
    const p = open(env, "pub");
    pub(p, "r", "x", 1, true);
    expect(s.publishes()[0]).toMatchObject({ payload: "x", retain: false, qos: 1 });
  });

  test("[MQTT-3.3.1-12] a publish with retain 0 neither stores nor replaces the retained message", () => {
    const env = memBroker();
    const p = open(env, "pub");
    pub(p, "r", "kept", 0, true);
    pub(p, "r", "passing", 0, false);
    pub(p, "q", "passing", 0, false);
    expect(env.broker.ret_.count).toBe(1);
    const s = open(env, "sub");
    sub(s, "#");
    expect(payloads(s.publishes())).toEqual(["kept"]);
  });

  test("[MQTT-3.8.4-3] a repeated subscription replaces the old one (new QoS) and re-sends the retained messages", () => {
    const env = memBroker();
    const p = open(env, "pub");
    pub(p, "r/a", "A", 2, true, 9);
    const s = open(env, "sub");
    expect(sub(s, "r/#", 0)).toEqual([0]);
    expect(s.publishes().map((g) => [g.payload, g.qos, g.retain])).toEqual([["A", 0, true]]);
    expect(sub(s, "r/#", 1)).toEqual([1]);
    const again = s.publishes();
    expect(again.map((g) => [g.payload, g.qos, g.retain])).toEqual([["A", 1, true]]);
    s.send({ type: T.PUBACK, id: again[0]!.id });
    expect(env.broker.subs_.size).toBe(1);
    expect(env.broker.session("sub")!.filters_).toEqual(["r/#"]);
    pub(p, "r/b", "B", 2, false, 10);
    expect(s.publishes().map((g) => [g.payload, g.qos])).toEqual([["B", 1]]); // one copy, at the new QoS
  });

  test("[MQTT-3.8.4-6] retained messages are sent at the lower of their QoS and the granted QoS", () => {
    const env = memBroker();
    const p = open(env, "pub");
    pub(p, "r/0", "zero", 0, true);
    pub(p, "r/2", "two", 2, true, 3);
    const s = open(env, "sub");
    sub(s, "r/#", 1);
    expect(s.publishes().map((g) => [g.payload, g.qos])).toEqual([["zero", 0], ["two", 1]]);
  });

  test("[MQTT-4.7.2-1] a retained message on a $ topic is not sent for a filter starting with a wildcard", () => {
    const env = memBroker();
    env.broker.publish("$app/state", new Uint8Array([49]), 0, true);
    const s = open(env, "sub");
    sub(s, ["#", "+/state"]);
    expect(s.publishes()).toEqual([]);
    sub(s, "$app/#");
    expect(s.publishes().map((g) => [g.topic, g.retain])).toEqual([["$app/state", true]]);
  });
});

// ------------------------------------------------------------------ topic matching

describe("topic filters", () => {
  function deliveredTo(filter: string, topics: string[]): string[] {
    const env = memBroker();
    const s = open(env, "sub");
    expect(sub(s, filter)).toEqual([0]);
    const p = open(env, "pub");
    for (const t of topics) pub(p, t, t);
    return payloads(s.publishes());
  }

  test("[MQTT-4.7.1-3] + matches exactly one level", () => {
    expect(deliveredTo("a/+/c", ["a/b/c", "a/b/d", "a/b/c/d", "a/c", "a//c"])).toEqual(["a/b/c", "a//c"]);
  });

  test("[MQTT-4.7.1-2] # matches any number of levels, and a/# matches a itself", () => {
    expect(deliveredTo("a/#", ["a", "a/b", "a/b/c", "ab", "b/a"])).toEqual(["a", "a/b", "a/b/c"]);
    expect(deliveredTo("#", ["a", "/", "x/y/z"])).toEqual(["a", "/", "x/y/z"]);
  });

  test("[MQTT-4.7.2-1] topics starting with $ are not matched by filters starting with a wildcard", () => {
    expect(deliveredTo("#", ["$SYS/x", "$x", "a"])).toEqual(["a"]);
    expect(deliveredTo("+/x", ["$SYS/x", "a/x"])).toEqual(["a/x"]);
    expect(deliveredTo("$SYS/#", ["$SYS/x", "$SYS", "a"])).toEqual(["$SYS/x", "$SYS"]);
    expect(deliveredTo("$SYS/+", ["$SYS/x", "$SYS/x/y"])).toEqual(["$SYS/x"]);
  });
});

// ------------------------------------------------------------------ QoS

describe("QoS", () => {
  test("[MQTT-3.8.4-6] [MQTT-3.3.5-1] messages are delivered at the lower of the published and the granted QoS", () => {
    const env = memBroker();
    const s0 = open(env, "s0");
    sub(s0, "t", 0);
    const s2 = open(env, "s2");
    sub(s2, "t", 2);
    const p = open(env, "pub");
    pub(p, "t", "q2", 2, false, 1);
    pub(p, "t", "q1", 1, false, 2);
    expect(s0.publishes().map((g) => [g.payload, g.qos, g.id])).toEqual([["q2", 0, 0], ["q1", 0, 0]]);
    expect(s2.publishes().map((g) => [g.payload, g.qos])).toEqual([["q2", 2], ["q1", 1]]);
  });

  test("[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest matching QoS", () => {
    const env = memBroker();
    const s = open(env, "sub");
    expect(sub(s, ["a/+", "a/#", "#", "a/b"], [0, 1, 0, 0])).toEqual([0, 1, 0, 0]);
    const p = open(env, "pub");
    pub(p, "a/b", "x", 2, false, 5);
    const g = s.publishes();
    expect(g).toHaveLength(1);
    expect(g[0]!.qos).toBe(1);
    pub(p, "c", "y", 2, false, 6);
    expect(s.publishes().map((x) => [x.payload, x.qos])).toEqual([["y", 0]]);
  });

  test("[MQTT-4.3.2-2] QoS 1 inbound: PUBACK with the packet id; [MQTT-4.3.2-1] outbound: a packet id, DUP 0, held until PUBACK", () => {
    const env = memBroker();
    const s = open(env, "sub");
    sub(s, "t", 1);
    const p = open(env, "pub");
    pub(p, "t", "x", 1, false, 321);
    expect(p.take(T.PUBACK).map((g) => g.id)).toEqual([321]);
    const g = s.publishes();
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({ qos: 1, dup: false });
    expect(g[0]!.id).toBeGreaterThan(0);
    const ss = env.broker.session("sub")!;
    expect(ss.qm_).toHaveLength(1);
    s.send({ type: T.PUBACK, id: g[0]!.id + 1 }); // not in flight: ignored
    expect(ss.qm_).toHaveLength(1);
    s.send({ type: T.PUBACK, id: g[0]!.id });
    expect(ss.qm_).toHaveLength(0);
    expect(ss.fly_).toBe(0);
  });

  test("[MQTT-4.3.3-2] QoS 2 inbound, exactly once: a DUP resend before PUBREL is acknowledged but not delivered again", () => {
    const env = memBroker();
    const s = open(env, "sub");
    sub(s, "t", 2);
    const p = open(env, "pub");
    pub(p, "t", "once", 2, false, 77);
    expect(p.take(T.PUBREC).map((g) => g.id)).toEqual([77]);
    p.send({ type: T.PUBLISH, topic: "t", payload: "once", qos: 2, dup: true, id: 77 });
    expect(p.take(T.PUBREC).map((g) => g.id)).toEqual([77]);
    expect(payloads(ackAll(s))).toEqual(["once"]);
    p.send({ type: T.PUBREL, id: 77 });
    expect(p.take(T.PUBCOMP).map((g) => g.id)).toEqual([77]);
    expect(env.broker.session("pub")!.rx_ ?? []).toEqual([]);
    p.send({ type: T.PUBREL, id: 77 }); // PUBCOMP lost, PUBREL resent: answered again
    expect(p.take(T.PUBCOMP).map((g) => g.id)).toEqual([77]);
    pub(p, "t", "next", 2, false, 77); // the id is free again: a new message
    expect(payloads(ackAll(s))).toEqual(["next"]);
    expect(env.broker.stats.msgsReceived).toBe(3);
  });

  test("[MQTT-4.3.3-1] QoS 2 outbound: PUBLISH, PUBREC answered with PUBREL, PUBCOMP completes it", () => {
    const env = memBroker();
    const s = open(env, "sub");
    sub(s, "t", 2);
    const p = open(env, "pub");
    pub2(p, "t", "x", 1);
    const g = s.publishes();
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({ qos: 2, dup: false, payload: "x" });
    const ss = env.broker.session("sub")!;
    s.send({ type: T.PUBREC, id: g[0]!.id });
    expect(s.take(T.PUBREL).map((x) => x.id)).toEqual([g[0]!.id]);
    expect(ss.qm_).toHaveLength(1);
    s.send({ type: T.PUBCOMP, id: g[0]!.id });
    expect(ss.qm_).toHaveLength(0);
    expect(ss.fly_).toBe(0);
    expect(s.got).toEqual([]);
  });

  test("[MQTT-4.4.0-1] [MQTT-3.3.1-1] unacknowledged PUBLISHes are sent again after reconnect, same ids, DUP 1", () => {
    const env = memBroker();
    const s = open(env, "sub", { clean: false });
    sub(s, "t", 2);
    const p = open(env, "pub");
    pub(p, "t", "one", 1);
    pub2(p, "t", "two", 5);
    const first = s.publishes();
    expect(first.map((g) => [g.payload, g.dup])).toEqual([["one", false], ["two", false]]);
    s.down();
    const again = open(env, "sub", { clean: false }, true);
    const g = again.publishes();
    expect(g.map((x) => [x.payload, x.qos, x.dup, x.id])).toEqual(first.map((x) => [x.payload, x.qos, true, x.id]));
    again.send({ type: T.PUBACK, id: g[0]!.id });
    again.send({ type: T.PUBREC, id: g[1]!.id });
    again.send({ type: T.PUBCOMP, id: g[1]!.id });
    expect(env.broker.session("sub")!.qm_).toHaveLength(0);
  });

  test("[MQTT-4.4.0-1] a PUBREL not completed is sent again after reconnect (not the PUBLISH)", () => {
    const env = memBroker();
    const s = open(env, "sub", { clean: false });
    sub(s, "t", 2);
    const p = open(env, "pub");
    pub2(p, "t", "x", 1);
    const id = s.publishes()[0]!.id;
    s.send({ type: T.PUBREC, id });
    expect(s.take(T.PUBREL)).toHaveLength(1);
    s.down();
    const again = open(env, "sub", { clean: false }, true);
    expect(again.take().map((g) => [g.type, g.id])).toEqual([[T.PUBREL, id]]);
    again.send({ type: T.PUBCOMP, id });
    expect(env.broker.session("sub")!.qm_).toHaveLength(0);
  });

  test("[MQTT-4.3.3-2] inbound QoS 2 across a reconnect: the resent PUBLISH is not delivered twice", () => {
    const env = memBroker();
    const s = open(env, "sub");
    sub(s, "t", 0);
    const p = open(env, "pub", { clean: false });
    pub(p, "t", "x", 2, false, 12);
    expect(p.take(T.PUBREC)).toHaveLength(1);
    p.down();
    const again = open(env, "pub", { clean: false }, true);
    again.send({ type: T.PUBLISH, topic: "t", payload: "x", qos: 2, dup: true, id: 12 });
    expect(again.take(T.PUBREC).map((g) => g.id)).toEqual([12]);
    again.send({ type: T.PUBREL, id: 12 });
    expect(again.take(T.PUBCOMP).map((g) => g.id)).toEqual([12]);
    expect(payloads(s.publishes())).toEqual(["x"]);
  });

  test("[MQTT-4.6.0-6] each topic's messages arrive in the order they were published, through a small in-flight window", () => {
    const env = memBroker({ maxInflight: 2 });
    const s = open(env, "sub");
    sub(s, "o/#", 2);
    const p = open(env, "pub");
    const want: { [t: string]: string[] } = { "o/a": [], "o/b": [] };
    for (let i = 0; i < 12; i++) {
      const t = i % 3 ? "o/a" : "o/b";
      want[t]!.push(t + i);
      if (i % 2) pub2(p, t, t + i, 100 + i);
      else pub(p, t, t + i, 1);
    }
    const got = ackAll(s);
    expect(got).toHaveLength(12);
    expect(payloads(got.filter((g) => g.topic == "o/a"))).toEqual(want["o/a"]);
    expect(payloads(got.filter((g) => g.topic == "o/b"))).toEqual(want["o/b"]);
  });
});

// ------------------------------------------------------------------ persistent sessions

describe("persistent sessions", () => {
  test("[MQTT-3.1.2-4] [MQTT-3.1.2-5] subscriptions and QoS 1/2 messages kept across disconnects; QoS 0 for an offline session dropped and counted", async () => {
    const env = memBroker();
    const s = open(env, "sub", { clean: false });
    sub(s, "t", 2);
    s.send({ type: T.DISCONNECT });
    await settle();
    expect(env.broker.stats.clientsConnected).toBe(0);
    expect(env.broker.stats.clientsTotal).toBe(1);
    const p = open(env, "pub");
    pub(p, "t", "q0", 0);
    pub(p, "t", "q1", 1);
    pub2(p, "t", "q2", 7);
    expect(env.broker.stats.msgsDropped).toBe(1);
    const again = open(env, "sub", { clean: false }, true);
    const g = ackAll(again);
    expect(g.map((x) => [x.payload, x.qos, x.dup])).toEqual([["q1", 1, false], ["q2", 2, false]]);
    pub(p, "t", "live", 0);
    expect(payloads(again.publishes())).toEqual(["live"]); // the subscription is still there
  });

  test("maxQueue: an offline session keeps at most maxQueue messages; the rest are dropped, counted and logged", () => {
    const env = memBroker({ maxQueue: 3 });
    const s = open(env, "sub", { clean: false });
    sub(s, "t", 1);
    s.down();
    const p = open(env, "pub");
    for (let i = 0; i < 5; i++) pub(p, "t", "m" + i, 1);
    expect(p.take(T.PUBACK)).toHaveLength(5); // the publisher is still acknowledged
    expect(env.broker.session("sub")!.qm_).toHaveLength(3);
    expect(env.broker.stats.msgsDropped).toBe(2);
    expect(env.log.filter((l) => l.startsWith("messages to sub dropped"))).toEqual(["messages to sub dropped: queue full (3 messages)"]);
    const again = open(env, "sub", { clean: false }, true);
    expect(payloads(ackAll(again))).toEqual(["m0", "m1", "m2"]);
  });
});

// ------------------------------------------------------------------ SUBSCRIBE / UNSUBSCRIBE

describe("SUBSCRIBE and UNSUBSCRIBE", () => {
  test("[MQTT-3.8.4-1] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] one SUBACK with a return code per filter, in order", () => {
    const env = memBroker();
    const s = open(env, "sub");
    expect(sub(s, ["a", "b/+", "c/#"], [2, 0, 1])).toEqual([2, 0, 1]);
    expect(env.broker.subs_.size).toBe(3);
  });

  test("[MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBACK with the packet id, even when nothing was removed; [MQTT-3.10.4-1] [MQTT-3.10.4-2] exact filters only, and delivery stops", () => {
    const env = memBroker();
    const s = open(env, "sub");
    sub(s, ["a/b", "a/+"]);
    s.send({ type: T.UNSUBSCRIBE, id: 41, filters: ["x/y"] });
    expect(s.take(T.UNSUBACK).map((g) => g.id)).toEqual([41]);
    s.send({ type: T.UNSUBSCRIBE, id: 42, filters: ["a/#", "a/b"] }); // a/# is not a/+ or a/b
    expect(s.take(T.UNSUBACK).map((g) => g.id)).toEqual([42]);
    expect(env.broker.session("sub")!.filters_).toEqual(["a/+"]);
    const p = open(env, "pub");
    pub(p, "a/b", "x");
    expect(s.publishes()).toHaveLength(1); // through a/+ only
    s.send({ type: T.UNSUBSCRIBE, id: 43, filters: ["a/+"] });
    expect(s.take(T.UNSUBACK)).toHaveLength(1);
    pub(p, "a/b", "y");
    expect(s.publishes()).toEqual([]);
    expect(env.broker.subs_.size).toBe(0);
  });
});

// ------------------------------------------------------------------ $SYS

describe("$SYS", () => {
  const sys = (c: MemClient): { [k: string]: string } => {
    const r: { [k: string]: string } = {};
    for (const g of c.publishes()) r[g.topic!] = g.payload!;
    return r;
  };

  test("$SYS/broker/... statistics are published every sysInterval: clients, messages, bytes, uptime", () => {
    const env = memBroker({ sysInterval: 1000, version: "test 1" });
    const s = open(env, "mon");
    sub(s, ["$SYS/broker/#", "t"]);
    const p = open(env, "pub");
    pub(p, "t", "x");
    s.publishes();
    env.clock.advance(999);
    expect(s.publishes()).toEqual([]);
    env.clock.advance(1);
    const a = sys(s);
    expect(a["$SYS/broker/clients/connected"]).toBe("2");
    expect(a["$SYS/broker/clients/total"]).toBe("2");
    expect(a["$SYS/broker/messages/received"]).toBe("1");
    expect(Number(a["$SYS/broker/messages/sent"])).toBeGreaterThanOrEqual(1);
    expect(Number(a["$SYS/broker/bytes/received"])).toBeGreaterThan(0);
    expect(Number(a["$SYS/broker/bytes/sent"])).toBeGreaterThan(0);
    expect(a["$SYS/broker/uptime"]).toBe("1 seconds");
    expect(a["$SYS/broker/subscriptions/count"]).toBe("2");
    expect(a["$SYS/broker/version"]).toBe("test 1");
    expect(a["$SYS/broker/limits/oversize"]).toBe("0");
    p.down();
    env.clock.advance(1000);
    const b = sys(s);
    expect(b["$SYS/broker/clients/connected"]).toBe("1");
    expect(b["$SYS/broker/uptime"]).toBe("2 seconds");
    expect(Number(b["$SYS/broker/messages/sent"])).toBeGreaterThan(Number(a["$SYS/broker/messages/sent"]));
    expect(env.broker.ret_.count).toBe(0); // not retained
  });

  test("[MQTT-4.7.2-1] $SYS is not sent to a # subscriber; sysInterval 0 publishes nothing", () => {
    const env = memBroker({ sysInterval: 1000 });
    const s = open(env, "all");
    sub(s, "#");
    env.clock.advance(5000);
    expect(s.publishes()).toEqual([]);
    const off = memBroker();
    const t = open(off, "mon");
    sub(t, "$SYS/#");
    off.clock.advance(60000);
    expect(t.publishes()).toEqual([]);
  });
});

// ------------------------------------------------------------------ limits (requirement 2)

describe("limits", () => {
  test("maxClients: one more client gets CONNACK 3 and is closed, logged and counted", async () => {
    const env = memBroker({ maxClients: 2 });
    const a = open(env, "a");
    open(env, "b");
    const c = env.client("c");
    const k = connack(c);
    expect(k.code).toBe(3);
    expect(k.sessionPresent).toBe(false);
    expect(c.closed).toBe(true);
    expect(env.broker.stats.refusedClients).toBe(1);
    expect(logged(env, /refused \(3\) limit of 2 clients reached: c/)).toBe(true);
    expect(env.broker.session("c")).toBeUndefined();
    open(env, "a"); // a takeover is not one more client
    expect(a.closed).toBe(true);
    await settle();
    expect(env.broker.stats.clientsConnected).toBe(2);
  });

  test("maxClients: room again once a client leaves", async () => {
    const env = memBroker({ maxClients: 1 });
    const a = open(env, "a");
    expect(connack(env.client("b")).code).toBe(3);
    a.send({ type: T.DISCONNECT });
    await settle();
    open(env, "b");
  });

  test("maxSessions: a new session over the limit gets CONNACK 3; stored sessions still resume", () => {
    const env = memBroker({ maxClients: 10, maxSessions: 2 });
    open(env, "p1", { clean: false }).down();
    open(env, "p2", { clean: false }).down();
    const c = env.client("p3");
    expect(connack(c).code).toBe(3);
    expect(c.closed).toBe(true);
    expect(connack(env.client("p4", { clean: true })).code).toBe(3);
    expect(env.broker.stats.refusedClients).toBe(2);
    expect(logged(env, /refused \(3\) limit of 2 sessions reached: p3/)).toBe(true);
    open(env, "p1", { clean: false }, true);
  });

  test("maxSubsPerClient: a filter over the limit gets 0x80 [MQTT-3.9.3-1], a held one can be replaced; logged and counted", () => {
    const env = memBroker({ maxSubsPerClient: 2 });
    const s = open(env, "s");
    expect(sub(s, ["a", "b", "c"], [1, 1, 1])).toEqual([1, 1, 0x80]);
    expect(sub(s, "a", 2)).toEqual([2]);
    expect(env.broker.stats.subscribeDenied).toBe(1);
    expect(logged(env, /subscribe refused: s to c \(limit of 2 per client\)/)).toBe(true);
    const p = open(env, "pub");
    pub(p, "c", "x");
    expect(s.publishes()).toEqual([]);
  });

  test("maxSubs: a filter over the broker's total gets 0x80, logged and counted", () => {
    const env = memBroker({ maxSubs: 3 });
    const a = open(env, "a");
    const b = open(env, "b");
    expect(sub(a, ["x", "y"])).toEqual([0, 0]);
    expect(sub(b, ["x", "z"])).toEqual([0, 0x80]);
    expect(env.broker.subs_.size).toBe(3);
    expect(env.broker.stats.subscribeDenied).toBe(1);
    expect(logged(env, /subscribe refused: b to z \(limit of 3 in total\)/)).toBe(true);
  });

  test("maxRetained: a new retained message over the limit is not kept but still forwarded; replacing one is allowed; logged and counted", () => {
    const env = memBroker({ maxRetained: 2 });
    const s = open(env, "s");
    sub(s, "#");
    const p = open(env, "pub");
    pub(p, "r/1", "a", 0, true);
    pub(p, "r/2", "b", 0, true);
    pub(p, "r/3", "c", 0, true);
    expect(payloads(s.publishes())).toEqual(["a", "b", "c"]);
    expect(env.broker.ret_.count).toBe(2);
    expect(env.broker.stats.retainedDropped).toBe(1);
    expect(logged(env, /retained message on r\/3 not kept/)).toBe(true);
    pub(p, "r/2", "B", 0, true);
    expect(env.broker.stats.retainedDropped).toBe(1);
    const late = open(env, "late");
    sub(late, "r/#");
    expect(payloads(late.publishes())).toEqual(["a", "B"]);
  });

  test("maxRetainedBytes: a retained message that would pass the byte budget is not kept but still forwarded", () => {
    const env = memBroker({ maxRetainedBytes: 10 });
    const s = open(env, "s");
    sub(s, "#");
    const p = open(env, "pub");
    pub(p, "r/1", "123456", 0, true);
    pub(p, "r/2", "12345", 0, true);
    expect(payloads(s.publishes())).toEqual(["123456", "12345"]);
    expect(env.broker.ret_.count).toBe(1);
    expect(env.broker.ret_.bytes).toBe(6);
    expect(env.broker.stats.retainedDropped).toBe(1);
    expect(logged(env, /retained message on r\/2 not kept/)).toBe(true);
    pub(p, "r/1", "1234567890", 0, true); // a replacement within the budget
    expect(env.broker.ret_.bytes).toBe(10);
  });

  test("outbound buffer: QoS 0 to a client that stops reading is dropped and counted, and flows again once it reads", () => {
    const env = memBroker();
    const s = open(env, "s");
    sub(s, "t", 0);
    s.space = s.buffered + 20;
    const p = open(env, "pub");
    for (let i = 0; i < 4; i++) pub(p, "t", "0123456789"); // 15 bytes each on the wire
    expect(s.publishes()).toHaveLength(1);
    expect(env.broker.stats.msgsDropped).toBe(3);
    expect(env.log.filter((l) => l.startsWith("messages to s dropped"))).toEqual(["messages to s dropped: QoS 0, outbound buffer full"]); // once per episode
    expect(s.closed).toBe(false);
    s.read();
    pub(p, "t", "again");
    expect(payloads(s.publishes())).toEqual(["again"]);
  });

  test("maxQueue online: QoS 1/2 to a client that stops reading are queued to the limit, then it is disconnected; its session keeps them", async () => {
    const env = memBroker({ maxQueue: 3 });
    const s = open(env, "s", { clean: false });
    sub(s, "t", 2);
    s.space = s.buffered + 20;
    const p = open(env, "pub");
    pub(p, "t", "m0-456789", 1); // 17 bytes: sent
    pub(p, "t", "m1-456789", 1); // waits for room
    pub2(p, "t", "m2-456789", 30);
    expect(s.closed).toBe(false);
    const ss = env.broker.session("s")!;
    expect(ss.qm_).toHaveLength(3);
    pub(p, "t", "m3-456789", 1); // over the limit: dropped, and the client is disconnected
    expect(s.closed).toBe(true);
    expect(ss.qm_).toHaveLength(3);
    expect(env.broker.stats.msgsDropped).toBe(1);
    expect(env.broker.stats.slowClients).toBe(1);
    await settle();
    expect(logged(env, /disconnect s \(queue full \(3 messages\): client not reading\)/)).toBe(true);
    pub(p, "t", "m4-456789", 1); // offline now: still bounded
    expect(ss.qm_).toHaveLength(3);
    const again = open(env, "s", { clean: false }, true);
    const g = ackAll(again);
    expect(g.map((x) => [x.payload, x.dup])).toEqual([["m0-456789", true], ["m1-456789", false], ["m2-456789", false]]);
    expect(ss.qm_).toHaveLength(0);
  });

  test("outbound buffer: queued QoS 1 messages go out when the client reads again (drain)", () => {
    const env = memBroker();
    const s = open(env, "s");
    sub(s, "t", 1);
    s.space = s.buffered + 20;
    const p = open(env, "pub");
    for (let i = 0; i < 4; i++) pub(p, "t", "m" + i + "-456789", 1);
    const first = s.publishes();
    expect(payloads(first)).toEqual(["m0-456789"]);
    s.space = 1 << 20;
    s.read();
    expect(payloads(s.publishes())).toEqual(["m1-456789", "m2-456789", "m3-456789"]);
  });

  test("maxPacket: a larger packet closes the connection, counted as oversize and logged; one at the limit is accepted", async () => {
    const env = memBroker({ maxPacket: 64 });
    const s = open(env, "s");
    sub(s, "t", 1);
    const p = open(env, "pub");
    pub(p, "t", "x".repeat(59)); // 2 + 3 + 59 = 64 bytes
    expect(p.closed).toBe(false);
    expect(s.publishes()[0]!.payload).toHaveLength(59);
    pub(p, "t", "x".repeat(60));
    expect(p.closed).toBe(true);
    await settle();
    expect(env.broker.stats.oversize).toBe(1);
    expect(env.broker.stats.protocolErrors).toBe(0);
    expect(logged(env, /disconnect pub \(protocol error -20/)).toBe(true);
    expect(s.publishes()).toEqual([]);
    // refused from the fixed header alone, before the body is buffered
    const q = open(env, "q");
    q.raw([0x30, 0xff, 0xff, 0x7f]);
    expect(q.closed).toBe(true);
    expect(env.broker.stats.oversize).toBe(2);
  });

  test("maxInflight: no more than N QoS 1/2 messages unacknowledged; the rest flow as acknowledgments come", () => {
    const env = memBroker({ maxInflight: 2 });
    const s = open(env, "s");
    sub(s, "t", 2);
    const p = open(env, "pub");
    for (let i = 0; i < 3; i++) pub(p, "t", "a" + i, 1);
    for (let i = 3; i < 5; i++) pub2(p, "t", "a" + i, 50 + i);
    let g = s.publishes();
    expect(payloads(g)).toEqual(["a0", "a1"]);
    s.send({ type: T.PUBACK, id: g[1]!.id });
    g = s.publishes();
    expect(payloads(g)).toEqual(["a2"]);
    s.send({ type: T.PUBACK, id: g[0]!.id });
    const h = s.publishes();
    expect(payloads(h)).toEqual(["a3"]); // a0 is still unacknowledged
    s.send({ type: T.PUBREC, id: h[0]!.id });
    expect(s.take(T.PUBREL)).toHaveLength(1);
    expect(s.publishes()).toEqual([]); // PUBREL sent, PUBCOMP not yet: still in flight
    s.send({ type: T.PUBCOMP, id: h[0]!.id });
    expect(payloads(s.publishes())).toEqual(["a4"]);
    expect(env.broker.session("s")!.fly_).toBe(2);
  });

  test("maxInbound: more QoS 2 messages awaiting PUBREL than allowed closes the connection, counted", async () => {
    const env = memBroker({ maxInbound: 2 });
    const p = open(env, "pub");
    pub(p, "t", "1", 2, false, 1);
    pub(p, "t", "2", 2, false, 2);
    expect(p.closed).toBe(false);
    pub(p, "t", "3", 2, false, 3);
    expect(p.closed).toBe(true);
    await settle();
    expect(env.broker.stats.protocolErrors).toBe(1);
    expect(logged(env, /more than 2 QoS 2 messages awaiting PUBREL/)).toBe(true);
  });
});

// ------------------------------------------------------------------ persistence

describe("snapshot", () => {
  test("snapshot() then restore() into a new broker: retained messages and persistent sessions with their queues come back", () => {
    const a = memBroker();
    const p = open(a, "pub");
    pub(p, "r/1", "one", 1, true);
    pub(p, "r/2", "two", 0, true);
    const s = open(a, "dev", { clean: false });
    sub(s, ["q/#", "z"], [2, 1]);
    s.publishes();
    s.down();
    open(a, "cleanclient"); // clean sessions are not persisted
    pub(p, "q/a", "m1", 1);
    pub2(p, "q/b", "m2", 8);
    pub(p, "q/c", "m3", 0); // QoS 0 for an offline session: dropped
    const snap = JSON.parse(JSON.stringify(a.broker.snapshot()));
    expect(snap.sessions).toHaveLength(1);
    expect(snap.retained).toHaveLength(2);

    const b = memBroker();
    b.broker.restore(snap);
    expect(b.broker.ret_.count).toBe(2);
    expect(b.broker.stats.clientsTotal).toBe(1);
    const t = open(b, "dev", { clean: false }, true);
    expect(ackAll(t).map((g) => [g.topic, g.payload, g.qos])).toEqual([["q/a", "m1", 1], ["q/b", "m2", 2]]);
    const p2 = open(b, "pub");
    pub(p2, "z", "live", 1);
    expect(t.publishes().map((g) => [g.payload, g.qos])).toEqual([["live", 1]]);
    const late = open(b, "late");
    sub(late, "r/#", 2);
    expect(late.publishes().map((g) => [g.topic, g.payload, g.qos, g.retain])).toEqual([["r/1", "one", 1, true], ["r/2", "two", 0, true]]);
    expect(b.broker.session("cleanclient")).toBeUndefined();
  });
});

// ------------------------------------------------------------------ authentication and ACL

describe("auth", () => {
  const txt = (b: Uint8Array | null): string | null => b ? Buffer.from(b).toString() : null;
  function withAuth(): { env: Env; calls: string[] } {
    const calls: string[] = [];
    const auth: Auth = {
      login(id, user, pw) {
        calls.push("login " + id + " " + user + " " + txt(pw));
        if (user == "nobody") return 5;
        if (user != null && txt(pw) != "pw") return 4;
        return 0;
      },
      canSubscribe: (id, user, f) => !f.startsWith("secret"),
      canRead: (id, user, t) => !t.startsWith("hidden/"),
      canWrite: (id, user, t) => !t.startsWith("ro/"),
    };
    return { env: memBroker({ auth }), calls };
  }

  test("login refusals: CONNACK 4 (bad user name or password) and 5 (not authorized), closed, logged and counted", () => {
    const { env, calls } = withAuth();
    const c = env.client("c1", { username: "u", password: "wrong" });
    const a = connack(c);
    expect(a.code).toBe(4);
    expect(a.sessionPresent).toBe(false);
    expect(c.closed).toBe(true);
    const d = env.client("c2", { username: "nobody", password: "pw" });
    expect(connack(d).code).toBe(5);
    expect(d.closed).toBe(true);
    open(env, "c3", { username: "u", password: "pw" });
    expect(calls).toEqual(["login c1 u wrong", "login c2 nobody pw", "login c3 u pw"]);
    expect(env.broker.stats.refusedAuth).toBe(2);
    expect(env.broker.stats.clientsConnected).toBe(1);
    expect(logged(env, /refused \(4\) bad user name or password: c1 user u/)).toBe(true);
    expect(logged(env, /refused \(5\) not authorized: c2 user nobody/)).toBe(true);
  });

  test("a refused login does not take over the session of the connected client with that id", () => {
    const { env } = withAuth();
    const c = open(env, "dev", { username: "u", password: "pw" });
    expect(connack(env.client("dev", { username: "u", password: "bad" })).code).toBe(4);
    expect(c.closed).toBe(false);
  });

  test("a will on a topic the client may not write: CONNACK 5", () => {
    const { env } = withAuth();
    const c = env.client("w", { will: { topic: "ro/will", payload: "x" } });
    expect(connack(c).code).toBe(5);
    expect(c.closed).toBe(true);
  });

  test("a denied subscribe gets SUBACK 0x80, counted and logged", () => {
    const { env } = withAuth();
    const s = open(env, "s");
    expect(sub(s, ["secret/#", "a"], [1, 1])).toEqual([0x80, 1]);
    expect(env.broker.stats.subscribeDenied).toBe(1);
    expect(logged(env, /subscribe refused: s to secret\/# \(not allowed\)/)).toBe(true);
    expect(env.broker.session("s")!.filters_).toEqual(["a"]);
  });

  test("a denied publish is dropped and counted, but acknowledged (QoS 1 PUBACK, QoS 2 PUBREC/PUBCOMP); not retained", () => {
    const { env } = withAuth();
    const s = open(env, "s");
    sub(s, "#", 2);
    const p = open(env, "pub");
    pub(p, "ro/x", "a", 0);
    pub(p, "ro/x", "b", 1, false, 4);
    expect(p.take(T.PUBACK).map((g) => g.id)).toEqual([4]);
    pub2(p, "ro/x", "c", 5);
    pub(p, "ro/y", "d", 0, true);
    expect(s.publishes()).toEqual([]);
    expect(env.broker.ret_.count).toBe(0);
    expect(env.broker.stats.publishDenied).toBe(4);
    expect(logged(env, /publish denied: pub on ro\/x/)).toBe(true);
    pub(p, "ok", "e", 1);
    expect(payloads(s.publishes())).toEqual(["e"]);
  });

  test("canRead filters deliveries, retained messages included", () => {
    const { env } = withAuth();
    const p = open(env, "pub");
    pub(p, "hidden/r", "secret", 0, true);
    pub(p, "open/r", "visible", 0, true);
    const s = open(env, "s");
    sub(s, "#");
    expect(payloads(s.publishes())).toEqual(["visible"]);
    pub(p, "hidden/x", "no");
    pub(p, "open/x", "yes");
    expect(payloads(s.publishes())).toEqual(["yes"]);
  });
});
