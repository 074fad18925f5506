/**
 * The level-5 client (lib/mqtt5/client.ts; issue 9, requirement 2) against a scripted server over an in-memory
 * transport and virtual time. The server side is mqtt-packet (an independent codec): it parses what the
 * client writes and generates what the server sends, so both directions are checked against a peer.
 * The same items against a real Mosquitto: test/interop.mosquitto5.test.ts.
 */
import * as mp from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { Err } from "../lib/errors";
import type { Link, Transport } from "../lib/hal/net";
import { T } from "../lib/mqtt/types";
import { Client5, type Client5Options, type Reason } from "../lib/mqtt5/client";
import type { Packet5 } from "../lib/mqtt5/types";
import { VirtualClock } from "../sim/clock";

/** A server scripted by the test: mqtt-packet parses the client's bytes and generates the server's. */
class Server5 implements Transport {
  link: Link | null = null;
  up = false;
  opens = 0;
  /** Packets the client wrote on the current connection (mqtt-packet objects). */
  got: mp.Packet[] = [];
  /** Bytes of the PUBLISH packets written, in order. */
  publishBytes: number[] = [];
  level = 5;
  space = 1 << 20;
  private parser = mp.parser({ protocolVersion: 5 });

  open(_host: string, _port: number, link: Link): void {
    this.link = link;
    this.opens++;
    this.got = [];
    this.parser = mp.parser({ protocolVersion: 5 });
    this.parser.on("packet", (p: mp.Packet) => {
      if (p.cmd == "connect") this.level = (p as mp.IConnectPacket).protocolVersion!;
      this.got.push(p);
    });
    this.parser.on("error", (e: Error) => { throw e; });
    this.up = true;
    link.up_();
  }
  write(b: Uint8Array, s: number, e: number): void {
    if (!this.up) throw new Error("write while down");
    if ((b[s]! >> 4) == 3) this.publishBytes.push(e - s);
    if (this.level == 4 && this.got.length) {
      // after a level-4 CONNECT the parser must read level-4 packets
      const p4 = mp.parser({ protocolVersion: 4 });
      p4.on("packet", (p: mp.Packet) => this.got.push(p));
      p4.parse(Buffer.from(b.subarray(s, e)));
      return;
    }
    this.parser.parse(Buffer.from(b.subarray(s, e)));
  }
  room(): number { return this.up ? this.space : 0; }
  close(): void { this.drop(); }
  drop(): void {
    if (!this.up) return;
    this.up = false;
    this.link!.down_();
  }
  /** The server sends `p` at level 5 (or `level`). */
  send(p: object, level = 5): void {
    this.link!.data_(new Uint8Array(mp.generate(p as mp.Packet, { protocolVersion: level })));
  }
  bytes(b: number[]): void { this.link!.data_(new Uint8Array(b)); }
  of(cmd: string): mp.Packet[] { return this.got.filter((p) => p.cmd == cmd); }
  last(cmd: string): mp.Packet { const l = this.of(cmd); return l[l.length - 1]!; }
}

interface Rig { c: Client5; s: Server5; clock: VirtualClock; ev: unknown[][] }

function rig(o: Partial<Client5Options> = {}, connackProps?: object): Rig {
  const s = new Server5();
  const clock = new VirtualClock(1000);
  const c = new Client5({ host: "127.0.0.1", clientId: "n5", random: () => 0.5, ...o }, s, clock);
  const ev: unknown[][] = [];
  for (const e of ["connect", "reconnect", "offline", "close", "error", "ack", "suback", "unsuback", "level", "auth"]) {
    c.on(e, (a, b, x) => ev.push([e, a, b, x]));
  }
  c.on("message", (topic, payload, p) => ev.push(["message", topic, Buffer.from(payload as Uint8Array).toString(), (p as Packet5).qos]));
  c.connect();
  if (connackProps !== undefined) s.send({ cmd: "connack", reasonCode: 0, sessionPresent: false, properties: connackProps });
  return { c, s, clock, ev };
}

const only = (ev: unknown[][], e: string) => ev.filter((x) => x[0] == e);

describe("client5: CONNECT and CONNACK (§3.1, §3.2)", () => {
  it("sends level 5 with Session Expiry, Receive Maximum, Maximum Packet Size, Topic Alias Maximum, user and will properties", () => {
    const { s } = rig({
      clean: false, keepalive: 30, inbound: 4, maxPacket: 512, aliasesIn: 3, props: { userProps: ["site", "lab"] },
      will: { topic: "n5/status", payload: "offline", qos: 1, retain: true, props: { willDelay: 10, messageExpiry: 60 } },
    });
    const p = s.got[0] as mp.IConnectPacket;
    expect(p).toMatchObject({ cmd: "connect", protocolVersion: 5, clientId: "n5", clean: false, keepalive: 30 });
    expect(p.properties).toMatchObject({
      sessionExpiryInterval: 0xffffffff, receiveMaximum: 4, maximumPacketSize: 512, topicAliasMaximum: 3, userProperties: { site: "lab" },
    });
    expect(p.will).toMatchObject({ topic: "n5/status", qos: 1, retain: true, properties: { willDelayInterval: 10, messageExpiryInterval: 60 } });
  });

  it("Clean Start applies to the first connection; a reconnect resumes a session that outlives it (§3.1.2.4)", () => {
    const { s, clock } = rig({ sessionExpiry: 300 }, {});
    expect((s.got[0] as mp.IConnectPacket).clean).toBe(true);
    expect((s.got[0] as mp.IConnectPacket).properties?.sessionExpiryInterval).toBe(300);
    s.drop();
    clock.advance(2000);
    expect(s.opens).toBe(2);
    expect((s.got[0] as mp.IConnectPacket).clean).toBe(false);
  });

  it("with Session Expiry 0 (the default with clean) every connection starts clean", () => {
    const { s, clock } = rig({}, {});
    expect((s.got[0] as mp.IConnectPacket).properties?.sessionExpiryInterval).toBeUndefined();
    s.drop();
    clock.advance(2000);
    expect((s.got[0] as mp.IConnectPacket).clean).toBe(true);
  });

  it.each([
    [0x86, Err.RefusedCredentials, "Bad User Name or Password"], [0x87, Err.RefusedNotAuthorized, "Not authorized"],
    [0x85, Err.RefusedIdentifier, "Client Identifier not valid"], [0x89, Err.RefusedUnavailable, "Server busy"],
    [0x84, Err.RefusedProtocol, "Unsupported Protocol Version"],
  ])("a CONNACK refusal %i is reported with its Err, code, name and Reason String [MQTT-3.2.2-8]", (code, err, name) => {
    const { s, ev, c } = rig();
    s.send({ cmd: "connack", reasonCode: code, sessionPresent: false, properties: { reasonString: "see logs" } });
    expect(only(ev, "error")).toEqual([["error", err, T.CONNACK, { code, name, text: "see logs" }]]);
    expect(c.connected).toBe(false);
    expect(s.up).toBe(false);
  });

  it("uses the Assigned Client Identifier on the next connection [MQTT-3.2.2-16]", () => {
    const { s, clock, c } = rig({ clientId: "", sessionExpiry: 60 }, { assignedClientIdentifier: "auto-7" });
    expect(c.connack?.assignedClientId).toBe("auto-7");
    s.drop();
    clock.advance(2000);
    expect((s.got[0] as mp.IConnectPacket).clientId).toBe("auto-7");
  });

  it("uses the Server Keep Alive instead of its own [MQTT-3.2.2-21]", () => {
    // (the client pings when it has heard nothing for half the keepalive: see lib/mqtt/client.ts next_)
    const own = rig({ keepalive: 60 }, {});
    own.clock.advance(5100);
    expect(own.s.of("pingreq")).toHaveLength(0);
    const { s, clock } = rig({ keepalive: 60 }, { serverKeepAlive: 5 });
    clock.advance(2400);
    expect(s.of("pingreq")).toHaveLength(0);
    clock.advance(200);
    expect(s.of("pingreq")).toHaveLength(1);
    // and a server that then stays silent is declared dead within the server's keepalive
    clock.advance(2600);
    expect(s.up).toBe(false);
  });

  it("reports the CONNACK's properties in `connack`", () => {
    const { c } = rig({}, { receiveMaximum: 3, maximumPacketSize: 2000, topicAliasMaximum: 5, maximumQoS: 1, retainAvailable: false, userProperties: { a: "b" } });
    expect(c.connack).toMatchObject({ receiveMax: 3, maxPacketSize: 2000, topicAliasMax: 5, maxQos: 1, retainAvailable: false, userProps: ["a", "b"] });
  });
});

describe("client5: falling back to level 4 (§3.1.2.2)", () => {
  it("a 3.1.1 CONNACK 1 makes the client connect again at once at level 4, rewriting queued messages", () => {
    const { s, ev, c } = rig();
    // queued before the CONNACK: encoded at level 5, with properties
    expect(c.publish("t/a", "one", 1, false, { messageExpiry: 60, userProps: ["k", "v"] })).toBe(1);
    expect(c.publish("t/bb", "x".repeat(200), 2)).toBe(2);
    s.bytes([0x20, 0x02, 0x00, 0x01]);
    expect(only(ev, "level")).toEqual([["level", 4, undefined, undefined]]);
    expect(only(ev, "error")).toEqual([]);
    expect(c.level).toBe(4);
    expect(s.opens).toBe(1);
  });

  it("after the fallback the level-4 CONNECT and PUBLISH packets parse at level 4 and carry what was queued", () => {
    const { s, c, clock } = rig();
    c.publish("t/a", "one", 1, false, { messageExpiry: 60, userProps: ["k", "v"] });
    c.publish("t/bb", "x".repeat(200), 2);
    // remaining length 131 at level 5 (two bytes), 125 at level 4 (one): the header shrinks too
    c.publish("t/c", "y".repeat(118), 1, false, { messageExpiry: 60 });
    s.bytes([0x20, 0x02, 0x00, 0x01]);
    clock.advance(1); // at once, not after the backoff (at least 500 ms here)
    expect(s.opens).toBe(2);
    expect(s.got[0]).toMatchObject({ cmd: "connect", protocolVersion: 4, clientId: "n5" });
    s.send({ cmd: "connack", returnCode: 0, sessionPresent: false }, 4);
    expect(c.connected).toBe(true);
    const pubs = s.of("publish") as mp.IPublishPacket[];
    expect(pubs.map((p) => [p.topic, p.payload.toString(), p.qos, p.messageId])).toEqual([
      ["t/a", "one", 1, 1], ["t/bb", "x".repeat(200), 2, 2], ["t/c", "y".repeat(118), 1, 3],
    ]);
    expect(s.publishBytes.slice(0, 3)).toEqual([2 + 2 + 3 + 2 + 3, 3 + 2 + 4 + 2 + 200, 2 + 2 + 3 + 2 + 118]);
    // and the client is a 3.1.1 client now
    expect(c.publish("t/c", "z", 1)).toBe(4);
    expect((s.last("publish") as mp.IPublishPacket).payload.toString()).toBe("z");
  });

  it("a level-4 CONNACK with another code is a refusal, as at level 4", () => {
    const { s, ev, c } = rig();
    s.bytes([0x20, 0x02, 0x00, 0x05]);
    expect(only(ev, "error")).toEqual([["error", Err.RefusedNotAuthorized, T.CONNACK, undefined]]);
    expect(c.level).toBe(5);
  });
});

describe("client5: limits of the server's CONNACK (§3.2.2.3)", () => {
  it("Receive Maximum caps the QoS 1/2 messages in flight [MQTT-3.3.4-9]", () => {
    const { s, c, ev } = rig({ inflight: 8 }, { receiveMaximum: 2 });
    for (let i = 0; i < 5; i++) expect(c.publish("t", "m" + i, 1)).toBe(i + 1);
    expect(s.of("publish")).toHaveLength(2);
    s.send({ cmd: "puback", messageId: 1, reasonCode: 0 });
    expect(s.of("publish")).toHaveLength(3);
    for (const id of [2, 3, 4, 5]) s.send({ cmd: "puback", messageId: id, reasonCode: 0 });
    expect((s.of("publish") as mp.IPublishPacket[]).map((p) => p.payload.toString())).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(only(ev, "ack").map((a) => a[1])).toEqual([1, 2, 3, 4, 5]);
    expect(c.pending).toBe(0);
  });

  it("Maximum Packet Size: a larger publish is refused with Err.TooLarge and nothing is sent [MQTT-3.1.2-24]", () => {
    const { s, c } = rig({}, { maximumPacketSize: 100 });
    expect(c.publish("t", "x".repeat(200), 1)).toBe(Err.TooLarge);
    expect(c.publish("t", "x".repeat(200), 0)).toBe(Err.TooLarge);
    expect(c.publish("t", "x".repeat(50), 1)).toBe(1);
    expect(s.of("publish")).toHaveLength(1);
  });

  it("Maximum QoS and Retain Available: publishes above them are refused [MQTT-3.2.2-11] [MQTT-3.2.2-14]", () => {
    const { c } = rig({}, { maximumQoS: 1, retainAvailable: false });
    expect(c.publish("t", "x", 2)).toBe(Err.Argument);
    expect(c.publish("t", "x", 0, true)).toBe(Err.Argument);
    expect(c.publish("t", "x", 1)).toBe(1);
  });
});

describe("client5: topic aliases (§3.3.2.3.4)", () => {
  it("outbound: a QoS 0 topic is sent once, then as its alias; the table is replaced round robin [MQTT-3.3.2-9]", () => {
    const { s, c } = rig({ aliasesOut: 8 }, { topicAliasMaximum: 2 });
    for (const t of ["site/a/temp", "site/a/temp", "site/b/temp", "site/b/temp", "site/c/temp", "site/a/temp", "site/c/temp"]) c.publish(t, "21.5");
    const pubs = (s.of("publish") as mp.IPublishPacket[]).map((p) => [p.topic, p.properties?.topicAlias]);
    expect(pubs).toEqual([
      ["site/a/temp", 1], ["", 1], ["site/b/temp", 2], ["", 2], ["site/c/temp", 1], ["site/a/temp", 2], ["", 1],
    ]);
    expect(s.publishBytes[1]).toBeLessThan(s.publishBytes[0]!);
  });

  it("QoS 1/2 messages keep their full topic (resendable on any connection) and aliases reset per connection [MQTT-3.3.2-7]", () => {
    const { s, c, clock } = rig({}, { topicAliasMaximum: 4 });
    c.publish("a/b", "1");
    c.publish("a/b", "2", 1);
    expect((s.of("publish") as mp.IPublishPacket[]).map((p) => [p.topic, p.properties?.topicAlias])).toEqual([["a/b", 1], ["a/b", undefined]]);
    s.drop();
    clock.advance(2000);
    s.send({ cmd: "connack", reasonCode: 0, sessionPresent: true, properties: { topicAliasMaximum: 4 } });
    s.send({ cmd: "puback", messageId: 1, reasonCode: 0 }); // (until then a QoS 0 message queues behind it)
    c.publish("a/b", "3");
    const pubs = (s.of("publish") as mp.IPublishPacket[]).map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString(), p.dup]);
    expect(pubs).toEqual([["a/b", undefined, "2", true], ["a/b", 1, "3", false]]);
  });

  it("no aliases when the server allows none (Topic Alias Maximum absent)", () => {
    const { s, c } = rig({}, {});
    c.publish("a/b", "1"); c.publish("a/b", "2");
    expect((s.of("publish") as mp.IPublishPacket[]).map((p) => p.properties?.topicAlias)).toEqual([undefined, undefined]);
  });

  it("inbound: an alias set with its topic delivers later messages under that topic", () => {
    const { s, ev } = rig({ aliasesIn: 4 }, {});
    s.send({ cmd: "publish", topic: "x/y", payload: "1", qos: 0, properties: { topicAlias: 3 } });
    s.send({ cmd: "publish", topic: "", payload: "2", qos: 0, properties: { topicAlias: 3 } });
    s.send({ cmd: "publish", topic: "x/z", payload: "3", qos: 1, messageId: 9, properties: { topicAlias: 3 } });
    s.send({ cmd: "publish", topic: "", payload: "4", qos: 0, properties: { topicAlias: 3 } });
    expect(only(ev, "message").map((m) => [m[1], m[2]])).toEqual([["x/y", "1"], ["x/y", "2"], ["x/z", "3"], ["x/z", "4"]]);
  });

  it("inbound: an alias over our maximum is DISCONNECT 0x94 [MQTT-3.3.2-10]; an alias never set is 0x82", () => {
    const a = rig({ aliasesIn: 2 }, {});
    a.s.send({ cmd: "publish", topic: "x", payload: "1", qos: 0, properties: { topicAlias: 3 } });
    expect((a.s.last("disconnect") as mp.IDisconnectPacket).reasonCode).toBe(0x94);
    expect(only(a.ev, "error")[0]!.slice(1)).toEqual([Err.Range, T.PUBLISH, { code: 0x94, name: "Topic Alias invalid" }]);
    expect(a.s.up).toBe(false);
    const b = rig({ aliasesIn: 2 }, {});
    b.s.send({ cmd: "publish", topic: "", payload: "1", qos: 0, properties: { topicAlias: 1 } });
    expect((b.s.last("disconnect") as mp.IDisconnectPacket).reasonCode).toBe(0x82);
    expect(only(b.ev, "message")).toEqual([]);
  });
});

describe("client5: inbound Receive Maximum (§3.3.4)", () => {
  it("strictReceiveMax: more unreleased QoS 2 messages than advertised is DISCONNECT 0x93; within it, each delivered once", () => {
    const { s, ev, c } = rig({ inbound: 2, strictReceiveMax: true }, {});
    expect((s.got[0] as mp.IConnectPacket).properties?.receiveMaximum).toBe(2);
    s.send({ cmd: "publish", topic: "q", payload: "1", qos: 2, messageId: 1 });
    s.send({ cmd: "publish", topic: "q", payload: "1", qos: 2, messageId: 1, dup: true });
    s.send({ cmd: "publish", topic: "q", payload: "2", qos: 2, messageId: 2 });
    expect(only(ev, "message").map((m) => m[2])).toEqual(["1", "2"]);
    expect(s.of("disconnect")).toHaveLength(0);
    s.send({ cmd: "publish", topic: "q", payload: "3", qos: 2, messageId: 3 });
    expect((s.last("disconnect") as mp.IDisconnectPacket).reasonCode).toBe(0x93);
    expect(only(ev, "message")).toHaveLength(2);
    expect(c.rxOver).toBe(1);
  });

  it("by default the excess is counted and delivered, the oldest id forgotten as at level 4", () => {
    const { s, ev, c } = rig({ inbound: 2 }, {});
    for (const id of [1, 2, 3]) s.send({ cmd: "publish", topic: "q", payload: String(id), qos: 2, messageId: id });
    s.send({ cmd: "publish", topic: "q", payload: "3", qos: 2, messageId: 3, dup: true });
    expect(only(ev, "message").map((m) => m[2])).toEqual(["1", "2", "3"]);
    expect(c.rxOver).toBe(1);
    expect(s.of("disconnect")).toHaveLength(0);
    expect(s.of("pubrec")).toHaveLength(4);
  });

  it("a PUBREL frees its place", () => {
    const { s, ev } = rig({ inbound: 1 }, {});
    s.send({ cmd: "publish", topic: "q", payload: "1", qos: 2, messageId: 1 });
    s.send({ cmd: "pubrel", messageId: 1 });
    s.send({ cmd: "publish", topic: "q", payload: "2", qos: 2, messageId: 2 });
    expect(only(ev, "message").map((m) => m[2])).toEqual(["1", "2"]);
    expect(s.of("disconnect")).toHaveLength(0);
  });
});

describe("client5: properties and reason codes", () => {
  it("PUBLISH carries Message Expiry, user properties, content type, response topic and correlation data", () => {
    const { s, c } = rig({}, {});
    c.publish("req/1", "{}", 1, false, {
      messageExpiry: 30, userProps: ["unit", "C", "unit", "F"], contentType: "application/json", responseTopic: "resp/1", correlationData: "abc",
    });
    const p = s.last("publish") as mp.IPublishPacket;
    expect(p.properties).toMatchObject({ messageExpiryInterval: 30, userProperties: { unit: ["C", "F"] }, contentType: "application/json", responseTopic: "resp/1" });
    expect(Buffer.from(p.properties!.correlationData!).toString()).toBe("abc");
  });

  it("a property PUBLISH may not carry is refused before anything is sent", () => {
    const { s, c } = rig({}, {});
    expect(c.publish("t", "x", 1, false, { sessionExpiry: 5 })).toBeLessThan(0);
    expect(c.publish("t", "x", 0, false, { topicAlias: 1 })).toBe(Err.Argument); // the client chooses aliases
    expect(s.of("publish")).toHaveLength(0);
  });

  it("received user properties reach the message handler in the packet", () => {
    const { s, c } = rig({}, {});
    let got: string[] = [];
    c.on("message", (_t, _p, pk) => { got = (pk as Packet5).props.userProps.map((b) => Buffer.from(b).toString()); });
    s.send({ cmd: "publish", topic: "t", payload: "x", qos: 0, properties: { userProperties: { a: "1" } } });
    expect(got).toEqual(["a", "1"]);
  });

  it("SUBSCRIBE carries the options and Subscription Identifier, again after a lost session (§3.8.3.1)", () => {
    const { s, c, clock } = rig({}, {});
    c.subscribe("cmd/#", 1, { noLocal: true, retainAsPublished: true, retainHandling: 2, id: 7, userProps: ["k", "v"] });
    const check = () => {
      const p = s.last("subscribe") as mp.ISubscribePacket;
      expect(p.subscriptions[0]).toMatchObject({ topic: "cmd/#", qos: 1, nl: true, rap: true, rh: 2 });
      expect(p.properties).toMatchObject({ subscriptionIdentifier: 7, userProperties: { k: "v" } });
    };
    check();
    s.drop();
    clock.advance(2000);
    s.send({ cmd: "connack", reasonCode: 0, sessionPresent: false });
    check();
    expect(c.subscribe("a", 0, { retainHandling: 3 })).toBe(Err.Argument);
  });

  it("SUBACK refusals and UNSUBACK reasons are reported with their names [MQTT-3.9.3-2]", () => {
    const { s, c, ev } = rig({}, {});
    c.subscribe("secret/#", 1);
    c.subscribe("ok", 2);
    const [a, b] = s.of("subscribe") as mp.ISubscribePacket[];
    s.send({ cmd: "suback", messageId: a!.messageId, granted: [0x87], properties: { reasonString: "acl" } });
    s.send({ cmd: "suback", messageId: b!.messageId, granted: [1] });
    expect(only(ev, "suback")).toEqual([
      ["suback", "secret/#", Err.Protocol, { code: 0x87, name: "Not authorized", text: "acl" }], ["suback", "ok", 1, undefined],
    ]);
    c.unsubscribe("none");
    s.send({ cmd: "unsuback", messageId: (s.last("unsubscribe") as mp.IUnsubscribePacket).messageId, granted: [0x11] });
    expect(only(ev, "unsuback")).toEqual([["unsuback", "none", { code: 0x11, name: "No subscription existed" }, undefined]]);
  });

  it("PUBACK 0x10 and a failed PUBREC end the flow, reported with the Reason; no PUBREL follows a failure (§4.3.3)", () => {
    const { s, c, ev } = rig({}, {});
    c.publish("t", "1", 1);
    c.publish("t", "2", 2);
    s.send({ cmd: "puback", messageId: 1, reasonCode: 0x10 });
    s.send({ cmd: "pubrec", messageId: 2, reasonCode: 0x97, properties: { reasonString: "quota" } });
    expect(only(ev, "ack")).toEqual([
      ["ack", 1, { code: 0x10, name: "No matching subscribers" }, undefined],
      ["ack", 2, { code: 0x97, name: "Quota exceeded", text: "quota" }, undefined],
    ]);
    expect(s.of("pubrel")).toHaveLength(0);
    expect(c.pending).toBe(0);
  });

  it("a successful QoS 2 flow: PUBREL after PUBREC 0, ack after PUBCOMP", () => {
    const { s, c, ev } = rig({}, {});
    c.publish("t", "1", 2);
    s.send({ cmd: "pubrec", messageId: 1, reasonCode: 0 });
    expect(s.of("pubrel")).toHaveLength(1);
    s.send({ cmd: "pubcomp", messageId: 1, reasonCode: 0 });
    expect(only(ev, "ack")).toEqual([["ack", 1, undefined, undefined]]);
  });

  it("a DISCONNECT from the server is reported with its reason, and the client reconnects (§3.14)", () => {
    const { s, ev, clock } = rig({}, {});
    s.send({ cmd: "disconnect", reasonCode: 0x8b, properties: { reasonString: "maintenance" } });
    expect(only(ev, "error")).toEqual([["error", Err.Closed, T.DISCONNECT, { code: 0x8b, name: "Server shutting down", text: "maintenance" }]]);
    expect(s.up).toBe(false);
    clock.advance(2000);
    expect(s.opens).toBe(2);
  });

  it("a malformed packet from the server: DISCONNECT 0x81 before closing (§4.13)", () => {
    const { s, ev } = rig({}, {});
    s.bytes([0x30, 0x03, 0x00, 0x05, 0x61]); // topic length past the end
    expect((s.last("disconnect") as mp.IDisconnectPacket).reasonCode).toBe(0x81);
    expect((only(ev, "error")[0]![3] as Reason).name).toBe("Malformed Packet");
    expect(s.up).toBe(false);
  });

  it("end(0x04, props): DISCONNECT with Disconnect with Will Message and a new Session Expiry [MQTT-3.14.2-2]", () => {
    const { s, c, ev } = rig({ sessionExpiry: 60 }, {});
    c.end(0x04, { sessionExpiry: 0 });
    const d = s.last("disconnect") as mp.IDisconnectPacket;
    expect(d.reasonCode).toBe(4);
    expect(d.properties?.sessionExpiryInterval).toBe(0);
    expect(only(ev, "close")).toHaveLength(1);
  });

  it("AUTH from the server is handed to the application, which answers with auth() (§4.12)", () => {
    const { s, c, ev } = rig({ props: { authMethod: "SCRAM-SHA-1", authData: "client-first" } });
    expect((s.got[0] as mp.IConnectPacket).properties?.authenticationMethod).toBe("SCRAM-SHA-1");
    s.send({ cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: Buffer.from("server-first") } });
    const a = only(ev, "auth")[0]!;
    expect(a[1]).toBe(0x18);
    expect((a[3] as Reason).name).toBe("Continue authentication");
    expect(c.auth(0x18, { authMethod: "SCRAM-SHA-1", authData: "client-final" })).toBe(Err.Ok);
    const back = s.last("auth") as mp.IAuthPacket;
    expect(back.reasonCode).toBe(0x18);
    expect(Buffer.from(back.properties!.authenticationData!).toString()).toBe("client-final");
    s.send({ cmd: "connack", reasonCode: 0, sessionPresent: false, properties: { authenticationMethod: "SCRAM-SHA-1" } });
    expect(c.connected).toBe(true);
  });

  it("level 4 when configured: the 3.1.1 client's packets", () => {
    const { s, c } = rig({ level: 4 });
    expect((s.got[0] as mp.IConnectPacket).protocolVersion).toBe(4);
    expect(c.level).toBe(4);
  });
});
