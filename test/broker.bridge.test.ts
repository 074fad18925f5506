/**
 * Issue 5, requirement 5: the bridge (lib/broker/bridge.ts) from our broker to a real Mosquitto upstream that
 * the test starts itself (loopback, persistence on). Local clients are in-memory MemClients on our broker;
 * upstream clients are MQTT.js. Checked: out, in and both directions with prefixes, QoS kept up to the
 * topic's maximum, retained kept retained, no loop with `both`, and store-and-forward of a QoS 1 stream
 * across an upstream restart with nothing lost, within the queue bound; over the bound, dropped and counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../lib/broker/broker";
import { Bridge, type BridgeTopic } from "../lib/broker/bridge";
import { realClock } from "../sim/clock";
import { NodeTransport } from "../sim/node-transport";
import { startBroker } from "../sim/broker/main";
import { validateConfig } from "../sim/broker/config";
import { MemClient } from "./helpers/broker-mem";
import { MOSQUITTO_SKIP, Mosquitto, skipWithoutMosquitto } from "./helpers/mosquitto";
import { peer, peerEnd, peerSub, seq, sleep, tally, uid, waitFor, type Peer } from "./helpers/peers";

const skip = skipWithoutMosquitto("test/broker.bridge.test.ts");
const note = skip ? " [SKIPPED: " + MOSQUITTO_SKIP + "]" : "";

interface Site { broker: Broker; bridge: Bridge; log: string[]; local(id: string): MemClient; stop(): Promise<void> }

function site(port: number, topics: BridgeTopic[], queue = 100): Site {
  const log: string[] = [];
  const broker = new Broker({ sysInterval: 0, log: (l) => log.push(l) }, realClock);
  broker.start();
  const clients: MemClient[] = [];
  const bridge = new Bridge(broker, {
    remote: { host: "127.0.0.1", port, clientId: uid("bridge"), keepalive: 5, reconnect: 100, reconnectMax: 400 },
    topics, queue, log: (l) => log.push(l),
  }, new NodeTransport(), realClock);
  bridge.start();
  return {
    broker, bridge, log,
    local(id: string): MemClient {
      const m = new MemClient(broker);
      m.connect(id);
      clients.push(m);
      return m;
    },
    async stop() {
      bridge.stop();
      for (const c of clients) c.down();
      await sleep(50);
      broker.close();
    },
  };
}

describe.skipIf(skip)("bridge to a real Mosquitto upstream" + note, () => {
  let m: Mosquitto;
  beforeAll(async () => { m = await Mosquitto.start({}); });
  afterAll(async () => { await m?.dispose(); });

  it("out: local messages reach upstream under the remote prefix, QoS capped, retained kept retained; in: upstream messages arrive locally", async () => {
    const p = uid("s");
    const s = site(m.port, [
      { pattern: "sensors/#", direction: "out", qos: 1, remotePrefix: p + "/" },
      { pattern: "cmd/#", direction: "in", qos: 2, localPrefix: "from-up/", remotePrefix: p + "/" },
    ]);
    let up: Peer | null = null;
    try {
      up = await peer(m.port);
      await peerSub(up, p + "/#", 2);
      await waitFor(() => s.bridge.remote_.connected && s.bridge.local_.connected, 3000, () => "bridge up\n" + s.log.join("\n"));
      await sleep(100); // the bridge's SUBSCRIBEs
      const dev = s.local("dev");
      const sub = s.local("sub");
      sub.send({ type: 8, id: 1, filters: ["from-up/#"], qoss: [2] });
      dev.send({ type: 3, topic: "sensors/t", payload: "21.5", qos: 2, id: 1 });
      dev.send({ type: 6, id: 1 });
      dev.send({ type: 3, topic: "sensors/status", payload: "online", qos: 1, id: 2, retain: true });
      dev.send({ type: 3, topic: "other/x", payload: "not bridged", qos: 0 });
      await waitFor(() => up!.msgs.length >= 2, 3000, () => JSON.stringify(up!.msgs));
      const byTopic = Object.fromEntries(up.msgs.map((x) => [x.topic, x]));
      expect(byTopic[p + "/sensors/t"]).toMatchObject({ payload: "21.5", qos: 1 }); // capped at the topic's QoS 1
      expect(byTopic[p + "/sensors/status"]).toMatchObject({ payload: "online", retain: false });
      // the retained one is retained upstream: a new subscriber gets it with the retain flag
      const late = await peer(m.port);
      await peerSub(late, p + "/sensors/status", 1);
      await waitFor(() => late.msgs.length > 0, 2000, () => "retained upstream");
      expect(late.msgs[0]).toMatchObject({ payload: "online", retain: true });
      await peerEnd(late);
      // in: upstream -> local under the local prefix
      await up.m.publishAsync(p + "/cmd/led", "on", { qos: 2 });
      await waitFor(() => sub.got.some((g) => g.type == 3), 3000, () => JSON.stringify(sub.got));
      expect(sub.publishes().map((g) => [g.topic, g.payload])).toEqual([["from-up/cmd/led", "on"]]);
      await sleep(200);
      expect(up.msgs.filter((x) => x.topic.includes("other"))).toEqual([]);
      expect(s.bridge.stats).toMatchObject({ out: 2, in: 1, dropped: 0 });
    } finally {
      await peerEnd(up);
      await s.stop();
    }
  });

  it("both: a message crosses once each way and does not loop", async () => {
    const p = uid("b");
    const s = site(m.port, [{ pattern: "shared/#", direction: "both", qos: 1, remotePrefix: p + "/" }]);
    let up: Peer | null = null;
    try {
      up = await peer(m.port);
      await peerSub(up, p + "/#", 1);
      await waitFor(() => s.bridge.remote_.connected && s.bridge.local_.connected, 3000, () => "bridge up");
      await sleep(100);
      const sub = s.local("lsub");
      sub.send({ type: 8, id: 1, filters: ["shared/#"], qoss: [1] });
      const dev = s.local("ldev");
      dev.send({ type: 3, topic: "shared/a", payload: "from-local", qos: 1, id: 1 });
      await up.m.publishAsync(p + "/shared/b", "from-up", { qos: 1 });
      await sleep(600); // time for any loop to show
      expect(up.payloads().sort()).toEqual(["from-local", "from-up"]); // each once upstream
      expect(sub.publishes().map((g) => g.payload).sort()).toEqual(["from-local", "from-up"]); // each once here
      expect(s.bridge.stats.echoes).toBe(1); // our own message came back from Mosquitto and was dropped
    } finally {
      await peerEnd(up);
      await s.stop();
    }
  });

  it("store and forward: a QoS 1 stream across an upstream restart loses nothing; over the queue bound, dropped and counted", async () => {
    const p = uid("sf");
    const s = site(m.port, [{ pattern: "t/#", direction: "out", qos: 1, remotePrefix: p + "/" }], 40);
    let up: Peer | null = null;
    try {
      // a persistent upstream subscriber: Mosquitto queues for it while it is away too
      const subId = uid("upsub");
      up = await peer(m.port, { clientId: subId, clean: false });
      await peerSub(up, p + "/#", 1);
      await waitFor(() => s.bridge.remote_.connected && s.bridge.local_.connected, 3000, () => "bridge up");
      await sleep(100); // the bridge's local SUBSCRIBE
      const dev = s.local("sfdev");
      const want = seq("m", 60);
      for (let i = 0; i < 20; i++) dev.send({ type: 3, topic: "t/x", payload: want[i]!, qos: 1, id: i + 1 });
      await waitFor(() => up!.msgs.length >= 20, 3000, () => "first 20: " + up!.msgs.length);
      // a clean end (its PUBACKs and DISCONNECT go first): a forced one may leave the last PUBACKs unsent, and
      // Mosquitto then rightly sends those messages again (at least once), which is not what is tested here
      await peerEnd(up);
      up = null;
      await m.stop();
      await waitFor(() => !s.bridge.remote_.connected, 3000, () => "bridge sees the outage");
      for (let i = 20; i < 60; i++) dev.send({ type: 3, topic: "t/x", payload: want[i]!, qos: 1, id: i + 1 });
      await sleep(100);
      expect(s.bridge.pending).toBe(40); // the bound: 40 held
      dev.send({ type: 3, topic: "t/x", payload: "over", qos: 1, id: 99 });
      await sleep(100);
      expect(s.bridge.stats.dropped).toBe(1);
      expect(s.log.some((l) => l.includes("queue full"))).toBe(true);
      await m.start();
      up = await peer(m.port, { clientId: subId, clean: false });
      await waitFor(() => s.bridge.pending == 0, 8000, () => "queue flushed: " + s.bridge.pending + "\n" + s.log.join("\n"));
      await waitFor(() => up!.msgs.length >= 40, 5000, () => "after restart: " + up!.msgs.length);
      await sleep(200);
      const t = tally(up.payloads(), want.slice(20));
      expect(t.missing).toEqual([]);
      expect(t.extra).toEqual([]);
      expect(up.payloads()).toEqual(want.slice(20)); // in order, once each (nothing was in flight at the stop)
    } finally {
      await peerEnd(up);
      await s.stop();
    }
  }, 30000);

  it("from the config: startBroker runs the configured bridge (MQTT.js on both sides)", async () => {
    const p = uid("cfg");
    const run = await startBroker(validateConfig({
      port: 0,
      bridges: [{ url: "mqtt://127.0.0.1:" + m.port, clientId: uid("gw"), queue: 10, topics: [{ pattern: "up/#", direction: "out", qos: 1, remotePrefix: p + "/" }] }],
    }, "test.json"));
    let up: Peer | null = null;
    let local: Peer | null = null;
    try {
      up = await peer(m.port);
      await peerSub(up, p + "/#", 1);
      const b = run.bridges[0]!;
      await waitFor(() => b.remote_.connected && b.local_.connected, 3000, () => "bridge up");
      await sleep(100);
      local = await peer(run.ports.mqtt);
      await local.m.publishAsync("up/x", "hello", { qos: 1 });
      await waitFor(() => up!.msgs.length > 0, 3000, () => "upstream got it");
      expect(up.msgs.map((x) => [x.topic, x.payload])).toEqual([[p + "/up/x", "hello"]]);
    } finally {
      await peerEnd(local);
      await peerEnd(up);
      await run.stop();
    }
  });
});
