/**
 * The core interop cases, run against each real broker (Mosquitto, aedes): our client (Client + NodeTransport
 * + real clock) on one side, MQTT.js as the independent peer on the other.
 */
import { expect, it } from "vitest";
import type { ClientOptions } from "../../lib/mqtt/client";
import { Ours, peer, peerSub, seq, sleep, uid, waitFor, withPool, type Pool } from "./peers";

/** The broker under test: its port, and a wait until it has processed the disconnection of a client id. */
export interface Broker { port: number; gone(clientId: string): Promise<void> }

const N = 20;

/**
 * Defines the cases (they run concurrently: every case has its own client ids, topics and clients, ended after
 * it even when it fails).
 */
export function coreCases(b: () => Broker): void {
  const kit = (pool: Pool) => ({
    ours: (o: Partial<ClientOptions> = {}) => pool.ours(new Ours({ host: "127.0.0.1", port: b().port, clientId: uid("c"), ...o })),
    js: async (o = {}) => pool.peer(await peer(b().port, o)),
  });
  const test = (name: string, fn: (k: ReturnType<typeof kit>) => Promise<void>) =>
    it.concurrent(name, () => withPool((pool) => fn(kit(pool))));

  test("QoS 0, 1 and 2 from our client: an MQTT.js subscriber receives exactly the messages published, in order", async ({ ours, js }) => {
    const base = uid("up");
    const sub = await js();
    await peerSub(sub, base + "/#", 2);
    const c = await ours({ slots: 64, outbox: 8192 }).start();
    for (const q of [0, 1, 2]) for (const p of seq("q" + q, N)) expect(c.c.publish(base + "/q" + q, p, q)).toBeGreaterThanOrEqual(0);
    await waitFor(() => c.c.pending == 0 && sub.msgs.length >= 3 * N, 5000, () => "delivery: got " + sub.msgs.length + ", pending " + c.c.pending);
    await sleep(50); // a duplicate would arrive now
    for (const q of [0, 1, 2]) {
      expect(sub.payloads(base + "/q" + q), "QoS " + q).toEqual(seq("q" + q, N));
      expect(sub.msgs.filter((m) => m.topic == base + "/q" + q).every((m) => m.qos == q && !m.retain)).toBe(true);
    }
    expect(c.acks.length).toBe(2 * N); // every QoS 1/2 flow completed (PUBACK; PUBREC/PUBREL/PUBCOMP)
    expect(c.errorNames()).toEqual([]);
  });

  test("QoS 0, 1 and 2 from MQTT.js: our client receives each message once, QoS 2 exactly once [MQTT-4.3.3-2]", async ({ ours, js }) => {
    const base = uid("down");
    const c = await ours().start();
    await c.sub(base + "/#", 2);
    expect(c.subacks).toEqual([[base + "/#", 2]]);
    const pub = await js();
    const sent: Promise<unknown>[] = [];
    for (const q of [0, 1, 2] as const) for (const p of seq("q" + q, N)) sent.push(pub.m.publishAsync(base + "/q" + q, p, { qos: q }));
    await Promise.all(sent);
    await waitFor(() => c.msgs.length >= 3 * N, 5000, () => "messages at our client: " + c.msgs.length);
    await sleep(50);
    for (const q of [0, 1, 2]) {
      expect(c.payloads(base + "/q" + q), "QoS " + q).toEqual(seq("q" + q, N));
      expect(c.msgs.filter((m) => m.topic == base + "/q" + q).every((m) => m.qos == q && !m.dup && !m.retain)).toBe(true);
    }
    expect(c.errorNames()).toEqual([]);
  });

  test("retained messages both ways; live ones are not flagged retained [MQTT-3.3.1-9]; an empty one clears [MQTT-3.3.1-10]", async ({ ours, js }) => {
    const base = uid("ret");
    const c = await ours().start();
    expect(c.c.publish(base + "/a", "r-ours", 1, true)).toBeGreaterThan(0);
    await waitFor(() => c.c.pending == 0, 5000, () => "PUBACK");
    const late = await js();
    await peerSub(late, base + "/a", 1);
    await waitFor(() => late.msgs.length >= 1, 5000, () => "retained message at MQTT.js");
    expect(late.msgs[0]).toMatchObject({ payload: "r-ours", retain: true, qos: 1 });

    const pub = await js();
    await pub.m.publishAsync(base + "/b", "r-js", { qos: 1, retain: true });
    const c2 = await ours().start();
    await c2.sub(base + "/b", 1);
    await waitFor(() => c2.msgs.length >= 1, 5000, () => "retained message at our client");
    expect(c2.msgs[0]).toMatchObject({ payload: "r-js", retain: true, qos: 1 });
    await pub.m.publishAsync(base + "/b", "live", { qos: 1, retain: true });
    await waitFor(() => c2.msgs.length >= 2, 5000, () => "live message");
    expect(c2.msgs[1]).toMatchObject({ payload: "live", retain: false });

    expect(c.c.publish(base + "/a", "", 1, true)).toBeGreaterThan(0);
    await waitFor(() => c.c.pending == 0, 5000, () => "PUBACK");
    const c3 = await ours().start();
    await c3.sub(base + "/a", 1);
    c3.c.publish(base + "/a", "marker", 1); // a retained message would have come before it
    await waitFor(() => c3.msgs.length >= 1, 5000, () => "marker");
    expect(c3.payloads()).toEqual(["marker"]);
  });

  test("the will is published when the connection drops without DISCONNECT [MQTT-3.1.2-8]", async ({ ours, js }) => {
    const base = uid("will");
    const w = await js();
    await peerSub(w, base + "/#", 1);
    const c = await ours({ reconnect: 0, will: { topic: base + "/a", payload: "gone", qos: 1, retain: false } }).start();
    c.t.abort(); // the socket is destroyed: no DISCONNECT
    await waitFor(() => w.msgs.length >= 1, 5000, () => "will");
    expect(w.msgs).toEqual([{ topic: base + "/a", payload: "gone", qos: 1, retain: false, dup: false }]);
    await waitFor(() => c.count("close") == 1, 2000, () => "close event");
  });

  test("no will after end(): DISCONNECT deletes it [MQTT-3.1.2-10]", async ({ ours, js }) => {
    const base = uid("will");
    const w = await js();
    await peerSub(w, base + "/#", 1);
    const id = uid("c");
    const c = await ours({ clientId: id, will: { topic: base + "/b", payload: "gone", qos: 1, retain: false } }).start();
    await c.stop();
    await b().gone(id); // the broker has handled the end of that connection
    await w.m.publishAsync(base + "/b", "marker", { qos: 1 }); // a will would have come before it
    await waitFor(() => w.msgs.length >= 1, 5000, () => "marker");
    expect(w.payloads()).toEqual(["marker"]);
  });

  test("a persistent session (clean false) receives the QoS 1 and 2 messages published while it was offline", async ({ ours, js }) => {
    const base = uid("sess");
    const id = uid("c");
    const a = await ours({ clientId: id, clean: false }).start();
    expect(a.sessions).toEqual([false]);
    await a.sub(base + "/#", 2);
    await a.stop();
    await b().gone(id);
    const pub = await js();
    for (const q of [1, 2] as const) for (const p of seq("q" + q, 5)) await pub.m.publishAsync(base + "/q" + q, p, { qos: q });
    // a new Client object with no subscriptions of its own: the messages come from the broker's session
    const c = await ours({ clientId: id, clean: false }).start();
    expect(c.sessions).toEqual([true]);
    await waitFor(() => c.msgs.length >= 10, 5000, () => "queued messages: " + c.msgs.length);
    await sleep(50);
    expect(c.payloads(base + "/q1")).toEqual(seq("q1", 5));
    expect(c.payloads(base + "/q2")).toEqual(seq("q2", 5));
    expect(c.msgs.length).toBe(10);
  });
}
