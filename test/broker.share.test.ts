/**
 * Issue 9, requirement 3 (shared subscriptions, for level 4 clients too, as Mosquitto and EMQX allow): the
 * Node broker's `$share/{ShareName}/{filter}` (lib/broker/share.ts). First over in-memory connections on a
 * virtual clock (test/helpers/broker-mem.ts), then with MQTT.js over TCP against `npm run broker`'s
 * startBroker: three consumers split one producer's QoS 1 stream, nothing lost, nothing twice.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, test } from "vitest";
import { Acl } from "../lib/broker/acl";
import { sharedFilterAt } from "../lib/broker/share";
import { T } from "../lib/mqtt/types";
import { validateConfig } from "../sim/broker/config";
import { startBroker, type RunningBroker } from "../sim/broker/main";
import { type MemClient, memBroker } from "./helpers/broker-mem";
import { waitFor } from "./helpers/peers";

let pid = 1;

/** SUBSCRIBE one filter; the SUBACK's code. */
function sub(c: MemClient, filter: string, qos: number): number {
  const id = pid = pid % 65535 + 1;
  c.send({ type: T.SUBSCRIBE, id, filters: [filter], qoss: [qos] });
  const a = c.take(T.SUBACK);
  expect(a).toHaveLength(1);
  return a[0]!.codes![0]!;
}

function unsub(c: MemClient, filter: string): void {
  const id = pid = pid % 65535 + 1;
  c.send({ type: T.UNSUBSCRIBE, id, filters: [filter] });
  expect(c.take(T.UNSUBACK)).toHaveLength(1);
}

/** Publishes `n` QoS 0 messages "m<i>" on `topic` from `c`. */
function pub(c: MemClient, topic: string, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) c.send({ type: T.PUBLISH, topic, payload: "m" + i, qos: 0 });
}

const payloads = (c: MemClient): string[] => c.publishes().map((g) => g.payload!);

describe("shared subscriptions in the broker (MQTT 5.0 §4.8.2, for level 4 clients)", () => {
  test("sharedFilterAt: a ShareName of one or more characters without / + #, then a filter that is not empty [MQTT-4.8.2-1] [MQTT-4.8.2-2]", () => {
    expect(sharedFilterAt("$share/g/a/b")).toBe(9);
    expect(sharedFilterAt("$share/group/#")).toBe(13);
    expect(sharedFilterAt("$share//a")).toBe(-1); // empty ShareName
    expect(sharedFilterAt("$share/g")).toBe(-1); // no filter
    expect(sharedFilterAt("$share/g/")).toBe(-1); // empty filter
    expect(sharedFilterAt("$share/g+h/a")).toBe(-1);
    expect(sharedFilterAt("$share/g#/a")).toBe(-1);
    expect(sharedFilterAt("a/$share/g/a")).toBe(-1);
    expect(sharedFilterAt("$SHARE/g/a")).toBe(-1);
  });

  test("each message goes to one member of the group, in turn; an ordinary subscriber gets every one", () => {
    const env = memBroker();
    const cs = [env.client("c0"), env.client("c1"), env.client("c2")];
    for (const c of cs) { c.take(); expect(sub(c, "$share/g/s/+", 0)).toBe(0); }
    const all = env.client("all"); all.take(); sub(all, "s/+", 0);
    const p = env.client("p"); p.take();
    pub(p, "s/x", 9);
    const got = cs.map(payloads);
    expect(got.map((g) => g.length)).toEqual([3, 3, 3]);
    expect(got.flat().sort()).toEqual(Array.from({ length: 9 }, (_, i) => "m" + i).sort());
    expect(got[0]).toEqual(["m0", "m3", "m6"]); // round robin, in the order the members joined
    expect(payloads(all)).toHaveLength(9);
    // a topic the filter does not match goes to no member
    pub(p, "t/x", 1);
    expect(cs.map((c) => c.publishes().length)).toEqual([0, 0, 0]);
    expect(env.broker.subs_.size).toBe(4); // 3 members + 1 ordinary subscription (counted against maxSubs)
    expect(env.broker.subs_.groups).toBe(1);
  });

  test("two groups on the same filter each get every message once; the group's name is part of its identity", () => {
    const env = memBroker();
    const a = [env.client("a0"), env.client("a1")];
    const b = [env.client("b0"), env.client("b1")];
    for (const c of a) { c.take(); sub(c, "$share/a/x", 0); }
    for (const c of b) { c.take(); sub(c, "$share/b/x", 0); }
    const p = env.client("p"); p.take();
    pub(p, "x", 6);
    expect(a.map((c) => payloads(c).length)).toEqual([3, 3]);
    expect(b.map((c) => payloads(c).length)).toEqual([3, 3]);
    expect(env.broker.subs_.groups).toBe(2);
  });

  test("the QoS is each member's own, downgraded to the message's [MQTT-3.3.5-1]", () => {
    const env = memBroker();
    const c0 = env.client("c0"); c0.take(); sub(c0, "$share/g/q", 1);
    const c1 = env.client("c1"); c1.take(); sub(c1, "$share/g/q", 0);
    const p = env.client("p"); p.take();
    for (let i = 0; i < 2; i++) p.send({ type: T.PUBLISH, topic: "q", payload: "x", qos: 1, id: 10 + i });
    expect(c0.publishes().map((g) => g.qos)).toEqual([1]);
    expect(c1.publishes().map((g) => g.qos)).toEqual([0]);
  });

  test("members whose client is connected are preferred; with none connected, a persistent member queues its turn, and gets it on reconnecting", () => {
    const env = memBroker();
    const on = env.client("on"); on.take(); sub(on, "$share/g/t", 1);
    const off = env.client("off", { clean: false }); off.take(); sub(off, "$share/g/t", 1);
    off.down();
    const p = env.client("p"); p.take();
    for (let i = 0; i < 4; i++) p.send({ type: T.PUBLISH, topic: "t", payload: "a" + i, qos: 1, id: 1 + i });
    expect(payloads(on)).toEqual(["a0", "a1", "a2", "a3"]);
    on.down(); // clean: its session and membership go [MQTT-3.1.2-6]
    expect(env.broker.subs_.size).toBe(1);
    for (let i = 0; i < 2; i++) p.send({ type: T.PUBLISH, topic: "t", payload: "b" + i, qos: 1, id: 10 + i });
    const back = env.client("off", { clean: false });
    expect(back.take(T.CONNACK)[0]!.sessionPresent).toBe(true);
    expect(payloads(back)).toEqual(["b0", "b1"]);
  });

  test("UNSUBSCRIBE leaves the group; the last member out removes it; the turn stays fair", () => {
    const env = memBroker();
    const cs = [env.client("c0"), env.client("c1"), env.client("c2")];
    for (const c of cs) { c.take(); sub(c, "$share/g/u", 0); }
    const p = env.client("p"); p.take();
    pub(p, "u", 2); // c0, c1 had their turns: c2 is next
    cs.forEach((c) => c.take());
    unsub(cs[0]!, "$share/g/u");
    pub(p, "u", 4, 2);
    expect(cs.map((c) => payloads(c))).toEqual([[], ["m3", "m5"], ["m2", "m4"]]);
    unsub(cs[1]!, "$share/g/u");
    unsub(cs[2]!, "$share/g/u");
    expect(env.broker.subs_.size).toBe(0);
    expect(env.broker.subs_.groups).toBe(0);
    expect(env.broker.subNodes).toBe(0);
    pub(p, "u", 1);
    expect(cs.map((c) => c.publishes().length)).toEqual([0, 0, 0]);
  });

  test("no retained message is sent for a new shared subscription (MQTT 5.0 §4.8.2); an ordinary one gets it", () => {
    const env = memBroker();
    const p = env.client("p"); p.take();
    p.send({ type: T.PUBLISH, topic: "r/1", payload: "kept", qos: 0, retain: true });
    const c = env.client("c"); c.take(); sub(c, "$share/g/r/+", 0);
    expect(c.publishes()).toEqual([]);
    const d = env.client("d"); d.take(); sub(d, "r/+", 0);
    expect(d.publishes().map((g) => [g.payload, g.retain])).toEqual([["kept", true]]);
  });

  test("a shared filter with a wildcard first does not match `$` topics [MQTT-4.7.2-1]", () => {
    const env = memBroker();
    const c = env.client("c"); c.take(); sub(c, "$share/g/#", 0);
    const p = env.client("p"); p.take();
    pub(p, "$internal/x", 1);
    pub(p, "plain", 1, 1);
    expect(payloads(c)).toEqual(["m1"]);
  });

  test("a malformed `$share/...` is an ordinary filter, as at MQTT 3.1.1", () => {
    const env = memBroker();
    const c = env.client("c"); c.take();
    expect(sub(c, "$share/g", 0)).toBe(0);
    expect(env.broker.subs_.groups).toBe(0);
    const p = env.client("p"); p.take();
    pub(p, "$share/g", 1);
    expect(payloads(c)).toEqual(["m0"]);
  });

  test("members count against maxSubsPerClient and maxSubs (SUBACK 0x80 past them)", () => {
    const env = memBroker({ maxSubs: 2 });
    const cs = [env.client("c0"), env.client("c1"), env.client("c2")];
    const codes = cs.map((c) => { c.take(); return sub(c, "$share/g/l", 1); });
    expect(codes).toEqual([1, 1, 0x80]);
  });

  test("persistence keeps a persistent member's shared subscription and QoS", () => {
    const env = memBroker();
    const c = env.client("keep", { clean: false }); c.take(); sub(c, "$share/g/p/#", 2);
    c.down();
    const snap = env.broker.snapshot();
    expect(snap.sessions[0]!.filters).toEqual(["$share/g/p/#"]);
    expect(snap.sessions[0]!.qoss).toEqual([2]);
    const env2 = memBroker();
    env2.broker.restore(snap);
    expect(env2.broker.subs_.groups).toBe(1);
    const p = env2.client("p"); p.take();
    p.send({ type: T.PUBLISH, topic: "p/1", payload: "x", qos: 2, id: 5 });
    const back = env2.client("keep", { clean: false });
    expect(back.take(T.CONNACK)[0]!.sessionPresent).toBe(true);
    expect(back.publishes().map((g) => [g.topic, g.qos])).toEqual([["p/1", 2]]);
  });

  test("the ACL checks a shared subscription by its filter, without `$share/{ShareName}/`", () => {
    const acl = new Acl({ users: ["u"], anonymous: false, rules: [{ user: "u", access: "read", topic: "s/#" }], verify: () => true });
    expect(acl.canSubscribe("c", "u", "$share/g/s/1")).toBe(true);
    expect(acl.canSubscribe("c", "u", "$share/g/t/1")).toBe(false);
  });
});

describe("shared subscriptions with MQTT.js over TCP (npm run broker)", () => {
  let b: RunningBroker | null = null;
  const open: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
    if (b) await b.stop();
    b = null;
  });

  test("three consumers split one producer's 300 QoS 1 messages: every one delivered once, about a third each", async () => {
    b = await startBroker(validateConfig({ host: "127.0.0.1", port: 0 }, "test.json", process.cwd()));
    const url = "mqtt://127.0.0.1:" + b.ports.mqtt;
    const got: string[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      const c = await mqtt.connectAsync(url, { clientId: "consumer-" + i, protocolVersion: 4, reconnectPeriod: 0 });
      open.push(c);
      c.on("message", (_t, p) => got[i]!.push(p.toString()));
      await c.subscribeAsync("$share/workers/jobs/#", { qos: 1 });
    }
    const p = await mqtt.connectAsync(url, { clientId: "producer", protocolVersion: 4, reconnectPeriod: 0 });
    open.push(p);
    const N = 300;
    for (let i = 0; i < N; i++) await p.publishAsync("jobs/" + (i % 7), "job-" + i, { qos: 1 });
    await waitFor(() => got.flat().length >= N, 10_000, () => "delivered " + got.map((g) => g.length).join("+"));
    const all = got.flat();
    expect(all.length).toBe(N);
    expect(new Set(all).size).toBe(N);
    for (const g of got) expect(g.length).toBe(N / 3);
  }, 30_000);
});
