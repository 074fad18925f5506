/**
 * The compatibility API (lib/mqtt/compat.ts: Espruino's MQTT module over our client) against the in-memory
 * transport and virtual time. Espruino gives every object `on`/`emit`; here Node's EventEmitter methods stand in
 * for them. The byte/string conversions are latin1, as E.toString/E.toUint8Array are on the ESP firmware.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { Err } from "../lib/errors";
import { CompatOptions, MQTT } from "../lib/mqtt/compat";
import { T } from "../lib/mqtt/types";
import { VirtualClock } from "../sim/clock";
import { FakeTransport } from "./helpers/fake-transport";

for (const k of ["on", "emit", "listeners"] as const) {
  (MQTT.prototype as unknown as Record<string, unknown>)[k] = EventEmitter.prototype[k];
}

const str = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1");
const bin = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));

interface Rig { m: MQTT; t: FakeTransport; clock: VirtualClock; ev: unknown[][] }

function rig(o: CompatOptions = {}, connack = true): Rig {
  const t = new FakeTransport();
  const clock = new VirtualClock(1000);
  const m = new MQTT("broker.local", { client_id: "node1", ...o }, t, clock, str, bin);
  const ev: unknown[][] = [];
  for (const e of ["connected", "connect", "disconnected", "close", "error", "publish", "message", "subscribed",
    "subscribed_fail", "unsubscribed", "puback", "pubcomp"]) {
    m.on(e, (...a: never[]) => { ev.push([e, ...a]); });
  }
  m.connect();
  if (connack) t.send({ type: T.CONNACK, code: 0 });
  return { m, t, clock, ev };
}

const names = (ev: unknown[][]): unknown[] => ev.map((e) => e[0]);

describe("compat: Espruino's MQTT module API over the client", () => {
  it("create(server, options): CONNECT with its options, then 'connected' and 'connect'", () => {
    const { t, ev, m } = rig({ port: 1884, keep_alive: 30, username: "u", password: "p" });
    expect(t.sent[0]).toMatchObject({ type: T.CONNECT, clientId: "node1", keepalive: 30, clean: true, username: "u", password: "p" });
    expect(names(ev)).toEqual(["connected", "connect"]);
    expect(m.connected).toBe(true);
    expect([m.server, m.port, m.client_id]).toEqual(["broker.local", 1884, "node1"]);
  });

  it("clean_session: false is honoured (Espruino's module always sends clean session)", () => {
    const { t } = rig({ clean_session: false });
    expect(t.sent[0]).toMatchObject({ clean: false });
  });

  it("a password without a user name is not sent, as in Espruino's module; keep_alive 0 means 60", () => {
    const { t } = rig({ password: "p", keep_alive: 0 });
    expect(t.sent[0]).toMatchObject({ username: null, password: null, keepalive: 60 });
  });

  it("without client_id a random one is made", () => {
    const t = new FakeTransport();
    const m = new MQTT("h", undefined, t, new VirtualClock(), str, bin);
    m.connect();
    expect(t.sent[0]!.clientId).toMatch(/^espruino\d+$/);
  });

  it("a refused CONNACK is an 'error' with Espruino's text, and the Err code", () => {
    const { t, ev } = rig({}, false);
    t.send({ type: T.CONNACK, code: 4 });
    expect(ev).toEqual([["error", "Connection refused, BAD_USER_NAME_OR_PASSWORD", Err.RefusedCredentials]]);
  });

  it("publish(topic, message, {qos, retain}) and publish(topic, message, qos); the message's bytes go as they are", () => {
    const { m, t } = rig();
    expect(m.publish("a/b", "x\u00c2\u00b0", { qos: 1, retain: true })).toBeGreaterThan(0); // "x°" as the ESP firmware holds it
    expect(m.publish("a/c", 42, 0)).toBe(0);
    expect(m.publish("a/d", "q2", 2)).toBeGreaterThan(0);
    expect(t.of(T.PUBLISH).map((p) => [p.topic, p.qos, p.retain])).toEqual([["a/b", 1, true], ["a/c", 0, false], ["a/d", 2, false]]);
    // bin() took the string's characters as bytes (latin1 here, as the ESP firmware's strings are): no second encoding
    expect(t.of(T.PUBLISH)[0]!.payload).toBe("x\u00b0");
  });

  it("'puback' for a QoS 1 message, 'pubcomp' for a QoS 2 one", () => {
    const { m, t, ev } = rig();
    const a = m.publish("t", "1", 1);
    const b = m.publish("t", "2", { qos: 2 });
    t.send({ type: T.PUBACK, id: a });
    t.send({ type: T.PUBREC, id: b });
    t.send({ type: T.PUBCOMP, id: b });
    expect(ev.slice(2)).toEqual([["puback", a], ["pubcomp", b]]);
  });

  it("received messages: 'publish' {topic, message, dup, qos, retain} then 'message'(topic, message)", () => {
    const { t, ev } = rig();
    t.send({ type: T.PUBLISH, topic: "s/t", payload: new Uint8Array([0x68, 0xc2, 0xb0]), qos: 1, id: 7, retain: true });
    expect(ev.slice(2)).toEqual([
      ["publish", { topic: "s/t", message: "h\u00c2\u00b0", dup: 0, qos: 1, retain: 1 }],
      ["message", "s/t", "h\u00c2\u00b0"],
    ]);
    expect(t.of(T.PUBACK)).toEqual([expect.objectContaining({ id: 7 })]);
  });

  it("subscribe: a topic, an array at options' QoS, an object topic -> QoS; 'subscribed' / 'subscribed_fail'", () => {
    const { m, t, ev } = rig();
    m.subscribe("a");
    m.subscribe(["b", "c"], { qos: 1 });
    m.subscribe({ d: 2 });
    const subs = t.of(T.SUBSCRIBE);
    expect(subs.map((s) => [s.filters![0], s.qoss![0]])).toEqual([["a", 0], ["b", 1], ["c", 1], ["d", 2]]);
    t.send({ type: T.SUBACK, id: subs[0]!.id, codes: [0] });
    t.send({ type: T.SUBACK, id: subs[1]!.id, codes: [0x80] });
    expect(names(ev).slice(2)).toEqual(["subscribed", "subscribed_fail"]);
  });

  it("subscribe's callback: undefined when granted, a message when refused or invalid", () => {
    const { m, t } = rig();
    const got: unknown[] = [];
    m.subscribe("ok", 1, (e) => got.push(["ok", e]));
    m.subscribe("no", (e) => got.push(["no", e]));
    m.subscribe("bad/#/x", (e) => got.push(["bad", e]));
    const subs = t.of(T.SUBSCRIBE);
    t.send({ type: T.SUBACK, id: subs[0]!.id, codes: [1] });
    t.send({ type: T.SUBACK, id: subs[1]!.id, codes: [0x80] });
    expect(got).toEqual([["bad", "invalid filter or QoS"], ["ok", undefined], ["no", "refused"]]);
  });

  it("unsubscribe: UNSUBSCRIBE, then 'unsubscribed'", () => {
    const { m, t, ev } = rig();
    m.unsubscribe("a/b");
    const u = t.of(T.UNSUBSCRIBE)[0]!;
    expect(u.filters).toEqual(["a/b"]);
    t.send({ type: T.UNSUBACK, id: u.id });
    expect(names(ev).slice(2)).toEqual(["unsubscribed"]);
  });

  it("a lost connection: 'disconnected' then 'close', once; then it reconnects by itself and resubscribes", () => {
    const { m, t, ev, clock } = rig();
    m.subscribe("a", 1);
    t.drop();
    expect(names(ev).slice(2)).toEqual(["disconnected", "close"]);
    expect(m.connected).toBe(false);
    clock.advance(1000);
    expect(t.opens).toBe(2);
    t.send({ type: T.CONNACK, code: 0 });
    expect(names(ev).slice(4)).toEqual(["connected", "connect"]);
    expect(t.of(T.SUBSCRIBE).map((s) => s.filters![0])).toEqual(["a"]);
  });

  it("reconnect: 0 behaves as Espruino's module: no reconnect", () => {
    const { t, clock } = rig({ reconnect: 0 });
    t.drop();
    clock.advance(120_000);
    expect(t.opens).toBe(1);
  });

  it("disconnect(): DISCONNECT, then 'disconnected' and 'close'; connect() while connected is ignored", () => {
    const { m, t, ev } = rig();
    m.connect();
    expect(t.opens).toBe(1);
    m.disconnect();
    expect(t.all.map((p) => p.type)).toEqual([T.CONNECT, T.DISCONNECT]);
    expect(names(ev).slice(2)).toEqual(["disconnected", "close"]);
  });

  it("QoS 1 messages published while offline are queued and sent on connect", () => {
    const { m, t } = rig({}, false);
    expect(m.publish("q", "held", { qos: 1 })).toBeGreaterThan(0);
    expect(t.of(T.PUBLISH)).toEqual([]);
    t.send({ type: T.CONNACK, code: 0 });
    expect(t.of(T.PUBLISH).map((p) => p.payload)).toEqual(["held"]);
  });
});
