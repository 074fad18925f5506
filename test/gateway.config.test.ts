/**
 * Issue 7, requirement 6: the gateway configuration (lib/node/gateway-config.ts): defaults, every refusal naming
 * its field, unknown keys, board capabilities, the gateway's own sensors checked by the node's rules,
 * idempotence, mergeGateway() of a Storage override, and the mapping onto the broker's and bridge's options.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  bridgeOptions, brokerOptions, gatewayTopic, mergeGateway, ownNodeConfig, upstreamTopic, validateGateway,
  type GatewayConfig,
} from "../lib/node/gateway-config";
import type { BoardCaps } from "../lib/node/config";

const ESP32: BoardCaps = { tls: true, i2c: true, wire1: true, net: "wifi" };
const ESP8266: BoardCaps = { tls: false, i2c: true, wire1: true, net: "wifi" };
const LINUX: BoardCaps = { tls: false, i2c: true, wire1: true, net: "up", sim: true }; // boards/linux.ts: simulated buses

function minimal(): Record<string, unknown> {
  return { wifi: { ssid: "home", password: "secret123" }, node: "gw" };
}

function errorsOf(patch: Record<string, unknown>, caps: BoardCaps = ESP32): string[] {
  return validateGateway(Object.assign(minimal(), patch), caps).errors;
}

const BRIDGE = { url: "mqtt://10.0.0.2", topics: [{ pattern: "espnode/#", direction: "out" }] };

describe("validateGateway: defaults", () => {
  test("a minimal config gets every default", () => {
    const v = validateGateway(minimal(), ESP32);
    expect(v.errors).toEqual([]);
    expect(v.config).toEqual({
      wifi: { ssid: "home", password: "secret123" },
      node: "gw",
      prefix: "espnode",
      listen: { port: 1883 },
      limits: {
        clients: 20, sessions: 40, subscriptions: 160, subscriptionsPerClient: 8, retained: 64, retainedBytes: 8192,
        queued: 16, inflight: 8, maxPacket: 1024, connectTimeoutMs: 10000,
      },
      users: [],
      bridge: null,
      sensors: [],
      intervalMs: 60000,
      filters: [],
      diagIntervalMs: 60000,
    });
  });

  test("a bridge gets its defaults; its client id is the chip id, else the node name", () => {
    const v = validateGateway(Object.assign(minimal(), { bridge: BRIDGE }), ESP32, "a1b2c3");
    expect(v.errors).toEqual([]);
    expect(v.config.bridge).toEqual({
      url: "mqtt://10.0.0.2", username: "", password: "", clientId: "a1b2c3", keepalive: 60, clean: false, queue: 32,
      queueBytes: 4096, topics: [{ pattern: "espnode/#", direction: "out", qos: 1, localPrefix: "", remotePrefix: "" }],
    });
    expect(validateGateway(Object.assign(minimal(), { bridge: BRIDGE }), ESP32).config.bridge!.clientId).toBe("gw");
  });

  test("sessions and subscriptions follow clients", () => {
    const c = validateGateway(Object.assign(minimal(), { limits: { clients: 4 } }), ESP32).config;
    expect(c.limits.sessions).toBe(8);
    expect(c.limits.subscriptions).toBe(32);
  });

  test("the default configs of firmware/gateway/config validate for their boards", () => {
    const esp32 = validateGateway(JSON.parse(readFileSync("firmware/gateway/config/esp32.json", "utf8")), ESP32);
    expect(esp32.errors).toEqual([]);
    expect(esp32.config.bridge!.topics.length).toBeGreaterThan(0);
    const linux = validateGateway(JSON.parse(readFileSync("firmware/gateway/config/linux.json", "utf8")), LINUX);
    expect(linux.errors).toEqual([]);
    expect(linux.config.wifi).toBeNull();
  });

  test("idempotent: a validated config validates to itself", () => {
    const full = Object.assign(minimal(), {
      users: [{ username: "n1", password: "pw" }], bridge: BRIDGE,
      sensors: [{ type: "sht3x" }], filters: [{ field: "tempC", delta: 0.2 }], intervalMs: 5000,
    });
    const a = validateGateway(full, ESP32, "x");
    expect(a.errors).toEqual([]);
    const b = validateGateway(JSON.parse(JSON.stringify(a.config)), ESP32, "y");
    expect(b.errors).toEqual([]);
    expect(b.config).toEqual(a.config);
  });
});

describe("validateGateway: each refusal names its field", () => {
  const cases: [string, Record<string, unknown>, string, BoardCaps?][] = [
    ["not an object", { listen: 5 }, "listen: must be an object"],
    ["unknown top-level key", { brokr: {} }, "brokr: unknown key"],
    ["node missing", { node: undefined }, "node: required"],
    ["node with a slash", { node: "a/b" }, "node: must be 1-32 characters of A-Z a-z 0-9 _ -"],
    ["prefix with a wildcard", { prefix: "a+" }, "prefix: must be 1-32 characters of A-Z a-z 0-9 _ -"],
    ["wifi missing on a Wi-Fi board", { wifi: undefined }, "wifi: required on this board", ESP8266],
    ["wifi ssid empty", { wifi: { ssid: "" } }, "wifi.ssid: must not be empty"],
    ["wifi password short", { wifi: { ssid: "a", password: "short" } }, "wifi.password: must be empty (open network) or 8-64 characters"],
    ["wifi unknown key", { wifi: { ssid: "a", pass: "x" } }, "wifi.pass: unknown key"],
    ["listen port 0", { listen: { port: 0 } }, "listen.port: must be an integer from 1 to 65535"],
    ["listen port text", { listen: { port: "1883" } }, "listen.port: must be an integer from 1 to 65535"],
    ["listen unknown key", { listen: { host: "0.0.0.0" } }, "listen.host: unknown key"],
    ["clients 0", { limits: { clients: 0 } }, "limits.clients: must be an integer from 1 to 64"],
    ["clients 65", { limits: { clients: 65 } }, "limits.clients: must be an integer from 1 to 64"],
    ["sessions below clients", { limits: { clients: 10, sessions: 5 } }, "limits.sessions: must be an integer from 10 to 256"],
    ["retained 0", { limits: { retained: 0 } }, "limits.retained: must be an integer from 1 to 1024"],
    ["maxPacket too small", { limits: { maxPacket: 64 } }, "limits.maxPacket: must be an integer from 128 to 65536"],
    ["fractional queued", { limits: { queued: 1.5 } }, "limits.queued: must be an integer from 1 to 1000"],
    ["inflight above queued", { limits: { queued: 4, inflight: 8 } }, "limits.inflight: must not be above limits.queued (in-flight messages are queued ones)"],
    ["limits unknown key", { limits: { maxClients: 4 } }, "limits.maxClients: unknown key"],
    ["users not a list", { users: {} }, "users: must be a list of 0 to 16 entries"],
    ["user without password", { users: [{ username: "a" }] }, "users[0].password: must be a string of up to 64 characters"],
    ["user empty name", { users: [{ username: "", password: "x" }] }, "users[0].username: must not be empty"],
    ["user twice", { users: [{ username: "a", password: "x" }, { username: "a", password: "y" }] }, "users[1].username: \"a\" is used twice"],
    ["user unknown key", { users: [{ username: "a", password: "x", acl: [] }] }, "users[0].acl: unknown key"],
    ["bridge url missing", { bridge: { topics: BRIDGE.topics } }, "bridge.url: must be a string of up to 128 characters"],
    ["bridge url http", { bridge: { url: "http://x", topics: BRIDGE.topics } }, "bridge.url: must be mqtt://host[:port] or mqtts://host[:port]"],
    ["bridge mqtts without TLS", { bridge: { url: "mqtts://x", topics: BRIDGE.topics } }, "bridge.url: mqtts:// needs TLS, which this board does not have", ESP8266],
    ["bridge password without user", { bridge: { url: "mqtt://x", password: "p", topics: BRIDGE.topics } }, "bridge.password: needs a username (MQTT 3.1.1 [MQTT-3.1.2-22])"],
    ["bridge client id too long", { bridge: { url: "mqtt://x", clientId: "x".repeat(24), topics: BRIDGE.topics } }, "bridge.clientId: must be a string of up to 23 characters"],
    ["bridge client id empty", { bridge: { url: "mqtt://x", clientId: "", topics: BRIDGE.topics } }, "bridge.clientId: must not be empty (the bridge keeps a persistent session)"],
    ["bridge keepalive negative", { bridge: { url: "mqtt://x", keepalive: -1, topics: BRIDGE.topics } }, "bridge.keepalive: must be an integer from 0 to 65535"],
    ["bridge clean not boolean", { bridge: { url: "mqtt://x", clean: 1, topics: BRIDGE.topics } }, "bridge.clean: must be true or false"],
    ["bridge queue 0", { bridge: { url: "mqtt://x", queue: 0, topics: BRIDGE.topics } }, "bridge.queue: must be an integer from 1 to 256"],
    ["bridge queueBytes small", { bridge: { url: "mqtt://x", queueBytes: 100, topics: BRIDGE.topics } }, "bridge.queueBytes: must be an integer from 1024 to 65536"],
    ["bridge without topics", { bridge: { url: "mqtt://x" } }, "bridge.topics: must be a list of 1 to 16 entries"],
    ["bridge with no topic", { bridge: { url: "mqtt://x", topics: [] } }, "bridge.topics: must be a list of 1 to 16 entries"],
    ["bridge unknown key", { bridge: { url: "mqtt://x", topics: BRIDGE.topics, tls: true } }, "bridge.tls: unknown key"],
    ["topic without direction", { bridge: { url: "mqtt://x", topics: [{ pattern: "a/#" }] } }, "bridge.topics[0].direction: must be in, out or both"],
    ["topic direction up", { bridge: { url: "mqtt://x", topics: [{ pattern: "a/#", direction: "up" }] } }, "bridge.topics[0].direction: must be in, out or both"],
    ["topic pattern a/#/b", { bridge: { url: "mqtt://x", topics: [{ pattern: "a/#/b", direction: "in" }] } }, "bridge.topics[0].pattern: must be a topic filter (+ as a whole level, # as the whole last level)"],
    ["topic pattern a+", { bridge: { url: "mqtt://x", topics: [{ pattern: "a+", direction: "in" }] } }, "bridge.topics[0].pattern: must be a topic filter (+ as a whole level, # as the whole last level)"],
    ["topic pattern empty", { bridge: { url: "mqtt://x", topics: [{ pattern: "", direction: "in" }] } }, "bridge.topics[0].pattern: must be a topic filter (+ as a whole level, # as the whole last level)"],
    ["topic qos 3", { bridge: { url: "mqtt://x", topics: [{ pattern: "a", direction: "in", qos: 3 }] } }, "bridge.topics[0].qos: must be an integer from 0 to 2"],
    ["topic prefix with a wildcard", { bridge: { url: "mqtt://x", topics: [{ pattern: "a", direction: "in", localPrefix: "+/" }] } }, "bridge.topics[0].localPrefix: must not contain + or #"],
    ["topic remote prefix with #", { bridge: { url: "mqtt://x", topics: [{ pattern: "a", direction: "in", remotePrefix: "#" }] } }, "bridge.topics[0].remotePrefix: must not contain + or #"],
    ["topic unknown key", { bridge: { url: "mqtt://x", topics: [{ pattern: "a", direction: "in", retain: true }] } }, "bridge.topics[0].retain: unknown key"],
    ["diag 500 ms", { diagIntervalMs: 500 }, "diagIntervalMs: must be 0 (off) or at least 1000"],
    ["intervalMs without sensors, out of range", { intervalMs: 10 }, "intervalMs: must be an integer from 1000 to 86400000"],
    ["filters without sensors", { filters: [{ field: "tempC", delta: 1 }] }, "filters: the gateway has no sensors to filter"],
    ["sensor of an unknown type (node rules)", { sensors: [{ type: "bmp180" }] }, "sensors[0].type: must be one of bme280, sht3x, aht20, dht22, dht11, ds18b20"],
    ["sensors not a list (node rules)", { sensors: {} }, "sensors: must be a list of 1 to 8 sensors"],
    ["filter on a field the sensors lack (node rules)", { sensors: [{ type: "ds18b20" }], filters: [{ field: "rhPct", delta: 1 }] }, "filters[0].field: \"rhPct\" is not a field of this node (tempC)"],
    ["intervalMs with sensors (node rules)", { sensors: [{ type: "sht3x" }], intervalMs: 10 }, "intervalMs: must be an integer from 1000 to 86400000"],
  ];
  for (const [what, patch, msg, caps] of cases) {
    test(what + " -> " + msg.split(":")[0], () => {
      const errs = errorsOf(patch, caps);
      expect(errs).toContain(msg);
      for (const e of errs) expect(e).toMatch(/^[A-Za-z\[\]0-9.]+: /);
    });
  }

  test("not an object at all", () => {
    expect(validateGateway(null, ESP32).errors).toContain("config: must be an object");
    expect(validateGateway([], ESP32).errors).toContain("config: must be an object");
  });

  test("every problem is reported, not only the first", () => {
    const errs = errorsOf({ node: "", listen: { port: 0 }, limits: { clients: 0 }, bridge: { url: "x" } });
    expect(errs.length).toBeGreaterThanOrEqual(4);
  });

  test("the node's own errors for broker and node fields are not reported for the gateway's sensors", () => {
    const errs = errorsOf({ sensors: [{ type: "sht3x" }] });
    expect(errs).toEqual([]);
  });
});

describe("mergeGateway: an override from Storage", () => {
  const base = (): GatewayConfig => validateGateway(Object.assign(minimal(), { bridge: BRIDGE }), ESP32).config;

  test("merges objects key by key and validates the whole", () => {
    const m = mergeGateway(base(), JSON.stringify({ listen: { port: 1884 }, bridge: { url: "mqtt://10.0.0.9:1884" } }), ESP32);
    expect(m.errors).toEqual([]);
    expect(m.config.listen.port).toBe(1884);
    expect(m.config.bridge!.url).toBe("mqtt://10.0.0.9:1884");
    expect(m.config.bridge!.topics).toEqual(base().bridge!.topics);
  });

  test("null turns the bridge off", () => {
    expect(mergeGateway(base(), "{\"bridge\":null}", ESP32).config.bridge).toBeNull();
  });

  test("a bad override keeps the base, and says why, prefixed override", () => {
    const b = base();
    const m = mergeGateway(b, JSON.stringify({ limits: { clients: 500 } }), ESP32);
    expect(m.config).toBe(b);
    expect(m.errors).toEqual(["override limits.clients: must be an integer from 1 to 64"]);
    expect(mergeGateway(b, "{nope", ESP32)).toEqual({ config: b, errors: ["override: not valid JSON"] });
    expect(mergeGateway(b, "[1]", ESP32)).toEqual({ config: b, errors: ["override: must be a JSON object"] });
  });
});

describe("the options it maps onto", () => {
  test("brokerOptions: every limit, plus one client and session for the bridge's local connection", () => {
    const c = validateGateway(minimal(), ESP32).config;
    expect(brokerOptions(c)).toEqual({
      maxClients: 20, maxSessions: 40, maxPacket: 1024, maxSubsPerClient: 8, maxSubs: 160, maxRetained: 64,
      maxRetainedBytes: 8192, maxQueue: 16, maxInflight: 8, connectTimeout: 10000,
    });
    const b = validateGateway(Object.assign(minimal(), { bridge: BRIDGE }), ESP32).config;
    expect(brokerOptions(b).maxClients).toBe(21);
    expect(brokerOptions(b).maxSessions).toBe(41);
  });

  test("upstreamTopic: the first out/both topic that carries it, with the prefixes", () => {
    const b = validateGateway(Object.assign(minimal(), {
      bridge: {
        url: "mqtt://x", topics: [
          { pattern: "espnode/#", direction: "in" },
          { pattern: "+/status", direction: "out", localPrefix: "espnode/", remotePrefix: "site1/" },
          { pattern: "#", direction: "both" },
        ],
      },
    }), ESP32).config.bridge!;
    expect(upstreamTopic(b, "espnode/gw/status")).toBe("site1/gw/status");
    expect(upstreamTopic(b, "other/x")).toBe("other/x");
    const none = validateGateway(Object.assign(minimal(), { bridge: { url: "mqtt://x", topics: [{ pattern: "a/#", direction: "out" }] } }), ESP32).config.bridge!;
    expect(upstreamTopic(none, "espnode/gw/status")).toBeNull();
  });

  test("bridgeOptions: the upstream host, port, credentials, will and topics", () => {
    const b = validateGateway(Object.assign(minimal(), {
      bridge: { url: "mqtt://10.0.0.2:1884", username: "gw", password: "pw", clientId: "gw1", topics: BRIDGE.topics },
    }), ESP32).config.bridge!;
    const log = (): void => {};
    const o = bridgeOptions(b, "espnode/gw/status", log);
    expect(o.remote).toMatchObject({ host: "10.0.0.2", port: 1884, clientId: "gw1", clean: false, keepalive: 60, username: "gw", password: "pw" });
    expect(o.remote.will).toEqual({ topic: "espnode/gw/status", payload: "offline", qos: 1, retain: true });
    expect(o.queue).toBe(32);
    expect(o.queueBytes).toBe(4096);
    expect(o.topics).toEqual([{ pattern: "espnode/#", direction: "out", qos: 1, localPrefix: "", remotePrefix: "" }]);
    expect(bridgeOptions(b, null, log).remote.will).toBeUndefined();
  });

  test("gatewayTopic and ownNodeConfig (the hook for the gateway's own sensors)", () => {
    const c = validateGateway(Object.assign(minimal(), { prefix: "home", sensors: [{ type: "sht3x" }], intervalMs: 5000 }), ESP32).config;
    expect(gatewayTopic(c, "status")).toBe("home/gw/status");
    const n = ownNodeConfig(c)!;
    expect(n).toMatchObject({ node: "gw", prefix: "home", intervalMs: 5000, diagIntervalMs: 0, wifi: null });
    expect(n.sensors).toEqual([{ type: "sht3x", name: "sht3x", bus: "i2c", address: 0x44 }]);
    expect(ownNodeConfig(validateGateway(minimal(), ESP32).config)).toBeNull();
  });
});
