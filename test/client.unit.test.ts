/**
 * The client state machine against an in-memory transport and virtual time: every flow of issue 4,
 * requirements 1-3, with spec IDs in the test names.
 */
import { describe, expect, it } from "vitest";
import { Client, type ClientOptions } from "../lib/mqtt/client";
import { Err } from "../lib/errors";
import { T } from "../lib/mqtt/types";
import { VirtualClock } from "../sim/clock";
import { FakeTransport } from "./helpers/fake-transport";

interface Rig { c: Client; t: FakeTransport; clock: VirtualClock; ev: unknown[][] }

function rig(o: Partial<ClientOptions> = {}, connack = true): Rig {
  const t = new FakeTransport();
  const clock = new VirtualClock(1000);
  const c = new Client({ host: "127.0.0.1", clientId: "node1", random: () => 0.5, ...o }, t, clock);
  const ev: unknown[][] = [];
  for (const e of ["connect", "reconnect", "offline", "close", "error", "ack", "suback", "unsuback"]) c.on(e, (a, b) => ev.push([e, a, b]));
  c.on("message", (topic, payload, p) => ev.push(["message", topic, Buffer.from(payload as Uint8Array).toString(), (p as { qos: number }).qos]));
  c.connect();
  if (connack) t.send({ type: T.CONNACK, code: 0 });
  return { c, t, clock, ev };
}

const names = (ev: unknown[][]) => ev.map((e) => e[0]);

describe("client: connect", () => {
  it("sends CONNECT with id, clean session, keepalive, credentials and will, then reports connect", () => {
    const { t, ev, c } = rig({ clean: false, keepalive: 30, username: "u", password: "p", will: { topic: "n/status", payload: "offline", qos: 1, retain: true } });
    expect(t.sent[0]).toMatchObject({
      type: T.CONNECT, clientId: "node1", clean: false, keepalive: 30, username: "u", password: "p",
      will: { topic: "n/status", payload: "offline", qos: 1, retain: true },
    });
    expect(ev).toEqual([["connect", false, undefined]]);
    expect(c.connected).toBe(true);
  });

  it.each([
    [1, Err.RefusedProtocol], [2, Err.RefusedIdentifier], [3, Err.RefusedUnavailable],
    [4, Err.RefusedCredentials], [5, Err.RefusedNotAuthorized],
  ])("CONNACK return code %i is reported as its own error and the connection is closed", (code, err) => {
    const { t, ev, c } = rig({}, false);
    t.send({ type: T.CONNACK, code });
    expect(ev[0]).toEqual(["error", err, T.CONNACK]);
    expect(c.connected).toBe(false);
    expect(t.closes).toBe(1);
  });

  it("[MQTT-3.2.0-1] a first packet other than CONNACK is a protocol error", () => {
    const { t, ev } = rig({}, false);
    t.send({ type: T.PINGRESP });
    expect(ev[0]).toEqual(["error", Err.Protocol, T.PINGRESP]);
    expect(t.closes).toBe(1);
  });

  it("no CONNACK within connectTimeout: Timeout, close, reconnect", () => {
    const { t, ev, clock } = rig({ connectTimeout: 5000 }, false);
    clock.advance(4999);
    expect(ev).toEqual([]);
    clock.advance(1);
    expect(ev[0]).toEqual(["error", Err.Timeout, T.CONNACK]);
    clock.advance(1000);
    expect(t.opens).toBe(2);
  });
});

describe("client: publish", () => {
  it("QoS 0 is written at once and needs no ack", () => {
    const { c, t } = rig();
    expect(c.publish("a/b", "hello")).toBe(0);
    expect(t.of(T.PUBLISH)).toEqual([expect.objectContaining({ topic: "a/b", payload: "hello", qos: 0, retain: false })]);
    expect(c.pending).toBe(0);
  });

  it("QoS 1: kept until PUBACK, then the ack event", () => {
    const { c, t, ev } = rig();
    const id = c.publish("a/b", "x", 1, true);
    expect(id).toBeGreaterThan(0);
    expect(t.of(T.PUBLISH)[0]).toMatchObject({ qos: 1, id, retain: true, dup: false });
    expect(c.pending).toBe(1);
    t.send({ type: T.PUBACK, id });
    expect(c.pending).toBe(0);
    expect(ev).toContainEqual(["ack", id, undefined]);
  });

  it("QoS 2 as sender: PUBLISH, PUBREC -> PUBREL, PUBCOMP completes", () => {
    const { c, t, ev } = rig();
    const id = c.publish("a/b", "x", 2);
    t.send({ type: T.PUBREC, id });
    expect(t.of(T.PUBREL)).toEqual([expect.objectContaining({ id })]);
    expect(c.pending).toBe(1);
    t.send({ type: T.PUBCOMP, id });
    expect(c.pending).toBe(0);
    expect(ev).toContainEqual(["ack", id, undefined]);
  });

  it("[MQTT-2.3.1-2] packet ids of requests in flight are not reused, also after the counter wraps", () => {
    const { c, t } = rig();
    c.subscribe("held", 1); // its SUBACK is withheld: the id stays in use
    const held = t.of(T.SUBSCRIBE)[0]!.id;
    const seen = new Set<number>();
    for (let i = 0; i < 65540; i++) {
      const id = c.publish("t", "y", 2);
      expect(id).toBeGreaterThan(0);
      if (id == held) throw new Error("id " + id + " reused while in flight");
      seen.add(id);
      t.send({ type: T.PUBREC, id });
      t.send({ type: T.PUBCOMP, id });
    }
    expect(seen.size).toBe(65534); // every id but the held one
  });

  it("[MQTT-2.3.1-2] packet ids of messages in flight are skipped at the wrap", () => {
    const { c } = rig();
    (c as unknown as { id_: number }).id_ = 65533; // white box: start near the end of the counter
    expect([c.publish("t", "a", 1), c.publish("t", "b", 2)]).toEqual([65534, 65535]);
    (c as unknown as { id_: number }).id_ = 65532;
    expect([c.publish("t", "c", 1), c.publish("t", "d", 1)]).toEqual([65533, 1]);
  });

  it("bad arguments are refused: empty topic, wildcard [MQTT-3.3.2-2], QoS 3, too large", () => {
    const { c } = rig({ maxPacket: 64 });
    expect(c.publish("", "x")).toBe(Err.Argument);
    expect(c.publish("a/+", "x")).toBe(Err.Argument);
    expect(c.publish("a/#", "x")).toBe(Err.Argument);
    expect(c.publish("a", "x", 3)).toBe(Err.Argument);
    expect(c.publish("a", "x".repeat(100), 1)).toBe(Err.TooLarge);
  });

  it("[MQTT-3.3.2-2] [MQTT-4.7.3-1] a topic given as UTF-8 bytes is checked the same way and sent as it is", () => {
    const { c, t } = rig();
    const b = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
    expect(c.publish(b("a/é"), "x", 1)).toBeGreaterThan(0);
    expect(t.of(T.PUBLISH)[0]).toMatchObject({ topic: "a/é", payload: "x" });
    expect(c.publish(b(""), "x")).toBe(Err.Argument);
    expect(c.publish(b("a/+"), "x")).toBe(Err.Argument);
    expect(c.publish(b("#"), "x")).toBe(Err.Argument);
  });

  it("[MQTT-4.6.0-1] a QoS 0 message never overtakes messages queued before it", () => {
    const { c, t } = rig();
    t.space = 5; // no room: the QoS 1 message waits in the outbox
    c.publish("t", "first", 1);
    t.space = 1000;
    c.publish("t", "second", 0); // room now, but something is queued ahead
    t.link!.drain_();
    expect(t.of(T.PUBLISH).map((p) => p.payload)).toEqual(["first", "second"]);
  });

  it("every topic is checked, also after a valid one", () => {
    const { c } = rig();
    expect(c.publish("a/b", "x")).toBe(0);
    expect(c.publish("a/b", "y")).toBe(0);
    expect(c.publish("", "x")).toBe(Err.Argument);
    expect(c.publish("a/#", "x")).toBe(Err.Argument);
  });

  it("a full outbox is reported as NoMemory, never dropped silently", () => {
    const { c, t } = rig({ slots: 4, outbox: 4096, inflight: 2 });
    const got = [1, 2, 3, 4, 5].map((i) => c.publish("t", "m" + i, 1));
    expect(got.slice(0, 4).every((id) => id > 0)).toBe(true);
    expect(got[4]).toBe(Err.NoMemory);
    expect(t.of(T.PUBLISH).length).toBe(2); // the in-flight window
    t.send({ type: T.PUBACK, id: got[0]! });
    expect(t.of(T.PUBLISH).map((p) => p.payload)).toEqual(["m1", "m2", "m3"]);
  });

  it("outbox bytes are bounded too", () => {
    const { c } = rig({ slots: 16, outbox: 100, inflight: 1 });
    expect(c.publish("t", "a".repeat(40), 1)).toBeGreaterThan(0);
    expect(c.publish("t", "b".repeat(40), 1)).toBeGreaterThan(0);
    expect(c.publish("t", "c".repeat(40), 1)).toBe(Err.NoMemory);
  });

  it("QoS 0 while offline is dropped and counted by default, queued when asked", () => {
    const a = rig({}, false);
    expect(a.c.publish("t", "x")).toBe(0);
    expect(a.c.dropped).toBe(1);
    a.t.send({ type: T.CONNACK, code: 0 });
    expect(a.t.of(T.PUBLISH)).toEqual([]);

    const b = rig({ queueQos0: true }, false);
    b.c.publish("t", "kept");
    b.t.send({ type: T.CONNACK, code: 0 });
    expect(b.t.of(T.PUBLISH)).toEqual([expect.objectContaining({ payload: "kept", qos: 0 })]);
  });

  it("backpressure: messages wait in the outbox while the transport has no room, and go on drain", () => {
    const { c, t } = rig();
    t.space = 10;
    c.publish("t", "0123456789abcdef", 1);
    expect(t.of(T.PUBLISH)).toEqual([]);
    expect(c.pending).toBe(1);
    t.space = 1000;
    t.link!.drain_();
    expect(t.of(T.PUBLISH).length).toBe(1);
  });
});

describe("client: receive", () => {
  it("QoS 0 and 1 are delivered; QoS 1 is acknowledged with PUBACK", () => {
    const { t, ev } = rig();
    t.send({ type: T.PUBLISH, topic: "x/y", payload: "a", qos: 0 });
    t.send({ type: T.PUBLISH, topic: "x/y", payload: "b", qos: 1, id: 7 });
    expect(ev.filter((e) => e[0] == "message")).toEqual([["message", "x/y", "a", 0], ["message", "x/y", "b", 1]]);
    expect(t.of(T.PUBACK)).toEqual([expect.objectContaining({ id: 7 })]);
  });

  it("[MQTT-4.3.3-2] QoS 2 is delivered exactly once, even when the PUBLISH comes again before PUBREL", () => {
    const { t, ev } = rig();
    t.send({ type: T.PUBLISH, topic: "q", payload: "once", qos: 2, id: 9 });
    t.send({ type: T.PUBLISH, topic: "q", payload: "once", qos: 2, id: 9, dup: true });
    expect(ev.filter((e) => e[0] == "message").length).toBe(1);
    expect(t.of(T.PUBREC).length).toBe(2);
    t.send({ type: T.PUBREL, id: 9 });
    expect(t.of(T.PUBCOMP)).toEqual([expect.objectContaining({ id: 9 })]);
    // after the release the id is free again: a new message with it is a new message
    t.send({ type: T.PUBLISH, topic: "q", payload: "again", qos: 2, id: 9 });
    expect(ev.filter((e) => e[0] == "message").length).toBe(2);
  });

  it("[MQTT-4.4.0-1] inbound QoS 2 table full: the oldest id is forgotten; every message is delivered and acknowledged", () => {
    const { t, ev } = rig({ inbound: 2 });
    for (const id of [1, 2, 3]) t.send({ type: T.PUBLISH, topic: "q", payload: "m" + id, qos: 2, id });
    // 3 took the place of 1: a resend of 2 or 3 is still recognised, one of 1 is not
    t.send({ type: T.PUBLISH, topic: "q", payload: "m3", qos: 2, id: 3, dup: true });
    t.send({ type: T.PUBLISH, topic: "q", payload: "m2", qos: 2, id: 2, dup: true });
    expect(ev.filter((e) => e[0] == "message").map((e) => e[2])).toEqual(["m1", "m2", "m3"]);
    expect(ev.filter((e) => e[0] == "error")).toEqual([]);
    expect(t.of(T.PUBREC).map((p) => p.id)).toEqual([1, 2, 3, 3, 2]);
  });
});

describe("client: subscribe", () => {
  it("SUBSCRIBE per filter; a SUBACK 0x80 is reported for that filter", () => {
    const { c, t, ev } = rig();
    expect(c.subscribe("a/+", 1)).toBe(Err.Ok);
    expect(c.subscribe("b/#", 2)).toBe(Err.Ok);
    const [s1, s2] = t.of(T.SUBSCRIBE);
    expect(s1).toMatchObject({ filters: ["a/+"], qoss: [1] });
    t.send({ type: T.SUBACK, id: s1!.id, codes: [1] });
    t.send({ type: T.SUBACK, id: s2!.id, codes: [0x80] });
    expect(ev.filter((e) => e[0] == "suback")).toEqual([["suback", "a/+", 1], ["suback", "b/#", Err.Protocol]]);
  });

  it("[MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1] invalid filters are refused", () => {
    const { c } = rig();
    for (const f of ["", "a/#/b", "a#", "a/b+", "+a"]) expect(c.subscribe(f, 0)).toBe(Err.Argument);
    for (const f of ["#", "+", "a/+/b", "a/#", "+/+"]) expect(c.subscribe(f, 0)).toBe(Err.Ok);
  });

  it("UNSUBSCRIBE and UNSUBACK", () => {
    const { c, t, ev } = rig();
    c.subscribe("a", 0);
    c.unsubscribe("a");
    const u = t.of(T.UNSUBSCRIBE)[0]!;
    expect(u.filters).toEqual(["a"]);
    t.send({ type: T.UNSUBACK, id: u.id });
    expect(ev).toContainEqual(["unsuback", "a", undefined]);
  });

  it("with a clean session, subscriptions are made again after a reconnect", () => {
    const { c, t, clock, ev } = rig();
    c.subscribe("a/+", 1);
    t.send({ type: T.SUBACK, id: t.of(T.SUBSCRIBE)[0]!.id, codes: [1] });
    t.drop();
    clock.advance(1000);
    t.send({ type: T.CONNACK, code: 0, sessionPresent: false });
    expect(t.of(T.SUBSCRIBE)).toEqual([expect.objectContaining({ filters: ["a/+"], qoss: [1] })]);
    expect(names(ev)).toContain("reconnect");
  });

  it("a subscription made while offline is sent on connect even when the session was kept", () => {
    const { c, t, clock } = rig({ clean: false });
    c.subscribe("kept", 1);
    t.send({ type: T.SUBACK, id: t.of(T.SUBSCRIBE)[0]!.id, codes: [1] });
    t.drop();
    c.subscribe("new", 0);
    clock.advance(1000);
    t.send({ type: T.CONNACK, code: 0, sessionPresent: true });
    expect(t.of(T.SUBSCRIBE).map((p) => p.filters)).toEqual([["new"]]);
  });
});

describe("client: persistent session and reconnect", () => {
  it("[MQTT-4.4.0-1] [MQTT-4.6.0-1] unacknowledged PUBLISHes go again with DUP and PUBRELs again, in order", () => {
    const { c, t, clock } = rig({ clean: false });
    const a = c.publish("t", "a", 1);
    const b = c.publish("t", "b", 2);
    const d = c.publish("t", "d", 2);
    t.send({ type: T.PUBREC, id: b }); // b is at the PUBREL stage
    t.drop();
    clock.advance(1000);
    expect(t.opens).toBe(2);
    t.send({ type: T.CONNACK, code: 0, sessionPresent: true });
    expect(t.sent.slice(1).map((p) => [p.type, p.id, p.dup ?? null])).toEqual([
      [T.PUBREL, b, null], [T.PUBLISH, a, true], [T.PUBLISH, d, true],
    ]);
  });

  it("messages published while offline are sent after the reconnect, in order, without DUP", () => {
    const { c, t, clock } = rig({ clean: false });
    t.drop();
    c.publish("t", "1", 1); c.publish("t", "2", 2); c.publish("t", "3", 1);
    clock.advance(1000);
    t.send({ type: T.CONNACK, code: 0, sessionPresent: true });
    expect(t.of(T.PUBLISH).map((p) => [p.payload, p.dup])).toEqual([["1", false], ["2", false], ["3", false]]);
  });

  it("when the broker lost the session, unfinished QoS 1/2 go again as new messages, PUBREL-stage ones too (Mosquitto releases QoS 2 only on PUBREL)", () => {
    const { c, t, clock, ev } = rig({ clean: false });
    const a = c.publish("t", "a", 1);
    const b = c.publish("t", "b", 2);
    t.send({ type: T.PUBREC, id: b });
    t.drop();
    clock.advance(1000);
    t.send({ type: T.CONNACK, code: 0, sessionPresent: false });
    expect(t.of(T.PUBLISH).map((p) => [p.payload, p.dup, p.id])).toEqual([["a", false, a], ["b", false, b]]);
    expect(t.of(T.PUBREL)).toEqual([]);
    expect(ev).not.toContainEqual(["ack", b, undefined]);
    t.send({ type: T.PUBREC, id: b });
    t.send({ type: T.PUBCOMP, id: b });
    expect(ev).toContainEqual(["ack", b, undefined]);
  });

  it("reconnect backoff doubles up to the cap, with jitter from the injected random source", () => {
    const { t, clock } = rig({ reconnect: 1000, reconnectMax: 8000, random: () => 1 }, false);
    t.autoUp = false;
    t.drop.call(Object.assign(t, { up: true })); // the first connection fails
    const opensAt: number[] = [];
    let last = t.opens;
    for (let ms = 0; ms < 60000; ms += 100) {
      clock.advance(100);
      if (t.opens != last) {
        last = t.opens;
        opensAt.push(clock.now());
        t.up = true; t.drop(); // fails again at once
      }
    }
    const gaps = opensAt.map((v, i) => v - (i ? opensAt[i - 1]! : 1000));
    expect(gaps.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it("end() sends DISCONNECT, closes, and does not reconnect", () => {
    const { c, t, clock, ev } = rig();
    c.end();
    expect(t.of(T.DISCONNECT).length).toBe(1);
    expect(names(ev)).toContain("close");
    clock.advance(120000);
    expect(t.opens).toBe(1);
  });
});

describe("client: keepalive", () => {
  it("[MQTT-3.1.2-23] PINGREQ when nothing was sent for the keepalive period", () => {
    const { t, clock } = rig({ keepalive: 10 });
    t.send({ type: T.PINGRESP }); // keeps 'received' fresh
    clock.advance(4999);
    expect(t.of(T.PINGREQ).length).toBe(0);
    clock.advance(1);
    expect(t.of(T.PINGREQ).length).toBe(1); // nothing received for keepalive/2
    t.send({ type: T.PINGRESP });
    clock.advance(5000);
    expect(t.of(T.PINGREQ).length).toBe(2);
  });

  it("a link with no PINGRESP is declared dead within 1.5 x keepalive, and the client reconnects", () => {
    const { c, t, clock, ev } = rig({ keepalive: 10 });
    const t0 = clock.now();
    for (let i = 0; i < 40 && c.connected; i++) { c.publish("t", "x"); clock.advance(500); }
    expect(c.connected).toBe(false);
    expect(clock.now() - t0).toBeLessThanOrEqual(15000);
    expect(ev).toContainEqual(["error", Err.Timeout, T.PINGRESP]);
    expect(names(ev)).toContain("offline");
    clock.advance(1000);
    expect(t.opens).toBe(2);
  });

  it("publishing does not create timers (one timer at a time)", () => {
    const { c, clock } = rig({ keepalive: 60 });
    for (let i = 0; i < 100; i++) c.publish("t", "x");
    expect(clock.armed).toBe(1);
  });
});

describe("client: protocol errors", () => {
  it("garbage from the broker: Protocol-class error, close, reconnect, and no QoS 1 message lost", () => {
    const { c, t, clock, ev } = rig({ clean: false });
    const id = c.publish("t", "keep", 1);
    t.bytes(new Uint8Array([0xff, 0x00]));
    expect(ev.find((e) => e[0] == "error")).toEqual(["error", Err.PacketType, 15]);
    expect(c.connected).toBe(false);
    clock.advance(1000);
    t.send({ type: T.CONNACK, code: 0, sessionPresent: true });
    expect(t.of(T.PUBLISH)).toEqual([expect.objectContaining({ id, payload: "keep", dup: true })]);
  });

  it("an oversized packet from the broker is refused before it is buffered", () => {
    const { c, t, ev } = rig({ maxPacket: 128 });
    t.bytes(new Uint8Array([0x30, 0xff, 0xff, 0x03]));
    expect(ev.find((e) => e[0] == "error")).toEqual(["error", Err.TooLarge, T.PUBLISH]);
    expect(c.connected).toBe(false);
  });

  it("a packet a server never sends (SUBSCRIBE) is a protocol error", () => {
    const { t, ev } = rig();
    t.send({ type: T.SUBSCRIBE, id: 1, filters: ["a"], qoss: [0] });
    expect(ev.find((e) => e[0] == "error")).toEqual(["error", Err.PacketType, T.SUBSCRIBE]);
  });
});

describe("client: events after end()", () => {
  it("connect() after end() reports 'connect' again, not 'reconnect'", () => {
    const { c, t, ev } = rig();
    c.end();
    c.connect();
    t.send({ type: T.CONNACK, code: 0 });
    expect(names(ev).filter((n) => n == "connect" || n == "reconnect")).toEqual(["connect", "connect"]);
    expect(c.reconnects).toBe(0);
  });
});
