/**
 * The broker as the Node host runs it (sim/broker/main.ts's startBroker, in-process), with MQTT.js as the
 * independent client over each listener: plain TCP, WebSocket and TLS (a certificate made by openssl for this
 * run), messages crossing between them, users and ACL from the config, and the snapshot carried across a
 * restart. Loopback only; ports chosen by the OS.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../sim/broker/config";
import { startBroker, type RunningBroker } from "../sim/broker/main";
import { hashPassword } from "../sim/broker/passwd";
import { makeCerts, type TlsFiles } from "./helpers/mosquitto";
import { waitFor } from "./helpers/peers";

let dir = "";
let certs: TlsFiles;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "broker-node-"));
  certs = makeCerts(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const brokers: RunningBroker[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function start(obj: object): Promise<RunningBroker> {
  const b = await startBroker(validateConfig({ host: "127.0.0.1", port: 0, ...obj }, "test.json", dir));
  brokers.push(b);
  return b;
}

interface Got { topic: string; payload: string; retain: boolean }

/** Connects MQTT.js (no reconnect) and records its messages; rejects on a refusal. */
async function client(url: string, o: IClientOptions = {}): Promise<{ c: MqttClient; got: Got[] }> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
  clients.push(c);
  const got: Got[] = [];
  c.on("message", (topic, payload, p) => got.push({ topic, payload: payload.toString(), retain: p.retain }));
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
    c.once("close", () => reject(new Error("closed before CONNACK")));
  });
  return { c, got };
}

describe("broker on Node: MQTT.js over each listener", () => {
  it("TCP, WebSocket and TLS: a message published on one reaches subscribers on all three", async () => {
    const b = await start({ wsPort: 0, tlsPort: 0, tls: { cert: certs.cert, key: certs.key } });
    const tcp = await client("mqtt://127.0.0.1:" + b.ports.mqtt);
    const ws = await client("ws://127.0.0.1:" + b.ports.ws + "/mqtt");
    const tls = await client("mqtts://127.0.0.1:" + b.ports.tls, { ca: certs.caPem, servername: "localhost" });
    for (const x of [tcp, ws, tls]) await x.c.subscribeAsync("room/#", { qos: 1 });
    await tcp.c.publishAsync("room/tcp", "from tcp", { qos: 1 });
    await ws.c.publishAsync("room/ws", "from ws", { qos: 1 });
    await tls.c.publishAsync("room/tls", "from tls", { qos: 0 });
    for (const x of [tcp, ws, tls]) {
      await waitFor(() => x.got.length == 3, 5000, () => JSON.stringify(x.got));
      expect(x.got.map((g) => g.payload).sort()).toEqual(["from tcp", "from tls", "from ws"]);
    }
  });

  it("users and ACL from the config: wrong password refused, topics limited per user", async () => {
    const b = await start({
      users: { alice: hashPassword("wonderland") },
      acl: [{ user: "alice", access: "readwrite", topic: "home/%u/#" }],
    });
    const url = "mqtt://127.0.0.1:" + b.ports.mqtt;
    await expect(client(url, { username: "alice", password: "nope" })).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(client(url)).rejects.toThrow(/Not authorized|Bad username or password/i);
    const a = await client(url, { username: "alice", password: "wonderland" });
    expect((await a.c.subscribeAsync("home/alice/#", { qos: 1 }))[0]!.qos).toBe(1);
    await expect(a.c.subscribeAsync("home/bob/#", { qos: 1 })).rejects.toThrow(/Subscribe error/); // SUBACK 0x80
    await a.c.publishAsync("home/bob/t", "not mine", { qos: 1 }); // acknowledged, dropped
    await a.c.publishAsync("home/alice/t", "mine", { qos: 1 });
    await waitFor(() => a.got.length == 1, 5000, () => JSON.stringify(a.got));
    expect(a.got[0]!.payload).toBe("mine");
    expect(b.broker.stats.refusedAuth).toBe(2);
    expect(b.broker.stats.subscribeDenied).toBe(1);
    expect(b.broker.stats.publishDenied).toBe(1);
  });

  it("persistence: a retained message survives a restart", async () => {
    const file = path.join(dir, "restart.db.json");
    rmSync(file, { force: true });
    const cfg = { persistence: { file, interval: 0 } };
    const b1 = await start(cfg);
    const p = await client("mqtt://127.0.0.1:" + b1.ports.mqtt);
    await p.c.publishAsync("keep/me", "kept", { qos: 1, retain: true });
    await p.c.endAsync();
    await b1.stop();
    const b2 = await start(cfg);
    const s = await client("mqtt://127.0.0.1:" + b2.ports.mqtt);
    await s.c.subscribeAsync("keep/#", { qos: 1 });
    await waitFor(() => s.got.length == 1, 5000, () => JSON.stringify(s.got));
    expect(s.got[0]).toEqual({ topic: "keep/me", payload: "kept", retain: true });
  });
});
