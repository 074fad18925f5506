/**
 * Issue 7, requirement 1: the node configuration (lib/node/config.ts): defaults, every error message with its
 * field path, unknown keys, board capabilities, idempotence, and merge() of a Storage override that keeps the
 * base in force when it is bad.
 */
import { describe, expect, test } from "vitest";
import { crc8Maxim } from "../lib/drivers/crc8maxim";
import { merge, nodeTopic, parseBrokerUrl, stateFields, validate, type BoardCaps } from "../lib/node/config";

const ESP32: BoardCaps = { tls: true, i2c: true, wire1: true, net: "wifi" };
const ESP8266: BoardCaps = { tls: false, i2c: true, wire1: true, net: "wifi" };
const LINUX: BoardCaps = { tls: false, i2c: false, wire1: false, net: "up" };

function rom(): string {
  const b = new Uint8Array([0x28, 1, 2, 3, 4, 5, 6, 0]);
  b[7] = crc8Maxim(b, 0, 7);
  let s = "";
  for (const v of b) s += v.toString(16).padStart(2, "0");
  return s;
}

function minimal(): Record<string, unknown> {
  return {
    wifi: { ssid: "home", password: "secret123" },
    broker: { url: "mqtt://10.0.0.2" },
    node: "kitchen",
    sensors: [{ type: "bme280" }],
  };
}

function errorsOf(patch: Record<string, unknown>, caps: BoardCaps = ESP32): string[] {
  return validate(Object.assign(minimal(), patch), caps, "a1b2c3").errors;
}

describe("validate: defaults", () => {
  test("a minimal config gets every default", () => {
    const v = validate(minimal(), ESP32, "a1b2c3");
    expect(v.errors).toEqual([]);
    expect(v.config).toEqual({
      wifi: { ssid: "home", password: "secret123" },
      broker: { url: "mqtt://10.0.0.2", username: "", password: "" },
      clientId: "a1b2c3",
      prefix: "espnode",
      node: "kitchen",
      sensors: [{ type: "bme280", name: "bme280", bus: "i2c", address: 0x76 }],
      intervalMs: 60000,
      diagIntervalMs: 300000,
      qos: 0,
      retain: false,
      filters: [],
      queue: { size: 32, storage: false },
      battery: null,
    });
  });

  test("clientId is empty (chip id at run time) when the caller gives none", () => {
    expect(validate(minimal(), ESP32).config.clientId).toBe("");
  });

  test("default addresses per chip, default bus per type", () => {
    const v = validate(Object.assign(minimal(), {
      sensors: [{ type: "sht3x" }, { type: "aht20" }, { type: "dht22" }, { type: "dht11" }, { type: "ds18b20" }],
    }), ESP32);
    expect(v.config.sensors.map((s) => [s.name, s.bus, s.address])).toEqual([
      ["sht3x", "i2c", 0x44], ["aht20", "i2c", 0x38], ["dht22", "pin", undefined], ["dht11", "pin", undefined],
      ["ds18b20", "onewire", undefined],
    ]);
    // 9 fields: one more than a reading holds (lib/node/ring.ts RING_FIELDS_MAX)
    expect(v.errors).toEqual(["sensors: 9 fields in all, at most 8 (one reading holds 8)"]);
  });

  test("DHT sensors are refused on a board with simulated buses (the Linux build)", () => {
    expect(validate(Object.assign(minimal(), { wifi: null, sensors: [{ type: "dht22" }] }), { tls: false, i2c: true, wire1: true, net: "up", sim: true }).errors)
      .toEqual(["sensors[0].type: dht22 is not simulated on this board (its microsecond edges need the simulator's virtual clock)"]);
  });

  test("battery mode defaults QoS to 1", () => {
    expect(validate(Object.assign(minimal(), { battery: { sleepMs: 600000 } }), ESP32).config.qos).toBe(1);
  });

  test("no wifi on a board whose network is up", () => {
    const o = minimal();
    delete o.wifi;
    o.sensors = [{ type: "dht22", pins: { data: 4 } }];
    const v = validate(o, LINUX);
    expect(v.errors).toEqual([]);
    expect(v.config.wifi).toBeNull();
  });

  test("validate is idempotent: a validated config is a valid input", () => {
    const o = Object.assign(minimal(), {
      sensors: [{ type: "bme280", name: "in", address: 0x77, options: { osrsT: 2 } }, { type: "ds18b20", name: "out", rom: rom() }],
      filters: [{ field: "in_tempC", average: 4, delta: 0.2, minIntervalMs: 10000, maxIntervalMs: 600000 }],
      queue: { size: 100, storage: true },
    });
    const a = validate(o, ESP32, "x");
    expect(a.errors).toEqual([]);
    const b = validate(JSON.parse(JSON.stringify(a.config)), ESP32, "y");
    expect(b.errors).toEqual([]);
    expect(b.config).toEqual(a.config);
  });
});

describe("validate: every error names its field", () => {
  const cases: [string, Record<string, unknown>, string[], BoardCaps?][] = [
    ["unknown top-level key", { intervall: 5 }, ["intervall: unknown key"]],
    ["unknown nested key", { broker: { url: "mqtt://h", user: "x" } }, ["broker.user: unknown key"]],
    ["missing wifi on a wifi board", { wifi: undefined }, ["wifi: required on this board"]],
    ["empty ssid", { wifi: { ssid: "" } }, ["wifi.ssid: must not be empty"]],
    ["short wifi password", { wifi: { ssid: "a", password: "short" } },
      ["wifi.password: must be empty (open network) or 8-64 characters"]],
    ["broker url missing", { broker: {} }, ["broker.url: must be a string of up to 128 characters"]],
    ["broker url scheme", { broker: { url: "http://h" } }, ["broker.url: must be mqtt://host[:port] or mqtts://host[:port]"]],
    ["broker url port", { broker: { url: "mqtt://h:70000" } }, ["broker.url: must be mqtt://host[:port] or mqtts://host[:port]"]],
    ["mqtts without TLS", { broker: { url: "mqtts://h" } }, ["broker.url: mqtts:// needs TLS, which this board does not have"], ESP8266],
    ["password without username", { broker: { url: "mqtt://h", password: "p" } },
      ["broker.password: needs a username (MQTT 3.1.1 [MQTT-3.1.2-22])"]],
    ["clientId too long", { clientId: "x".repeat(24) }, ["clientId: must be a string of up to 23 characters"]],
    ["node missing", { node: undefined }, ["node: required"]],
    ["node with a slash", { node: "a/b" }, ["node: must be 1-32 characters of A-Z a-z 0-9 _ -"]],
    ["prefix with a wildcard", { prefix: "#" }, ["prefix: must be 1-32 characters of A-Z a-z 0-9 _ -"]],
    ["no sensors", { sensors: [] }, ["sensors: must be a list of 1 to 8 sensors"]],
    ["sensor not an object", { sensors: [3] }, ["sensors[0]: must be an object"]],
    ["unknown sensor type", { sensors: [{ type: "bmp180" }] },
      ["sensors[0].type: must be one of bme280, sht3x, aht20, dht22, dht11, ds18b20"]],
    ["bme280 address", { sensors: [{ type: "sht3x" }, { type: "bme280", address: 0x40 }] },
      ["sensors[1].address: must be 0x76 or 0x77 for bme280"]],
    ["sht3x address", { sensors: [{ type: "sht3x", address: 0x76 }] }, ["sensors[0].address: must be 0x44 or 0x45 for sht3x"]],
    ["aht20 address", { sensors: [{ type: "aht20", address: 0x39 }] }, ["sensors[0].address: must be 0x38 for aht20"]],
    ["address on a pin sensor", { sensors: [{ type: "dht22", address: 0x38 }] }, ["sensors[0].address: not used by dht22"]],
    ["wrong bus", { sensors: [{ type: "ds18b20", bus: "i2c" }] }, ["sensors[0].bus: must be onewire for ds18b20"]],
    ["bad ROM", { sensors: [{ type: "ds18b20", rom: "28ffffffffffffff" }] },
      ["sensors[0].rom: must be a DS18B20 ROM: 16 hex digits, family 28, valid CRC"]],
    ["ROM on an I2C sensor", { sensors: [{ type: "aht20", rom: "x" }] }, ["sensors[0].rom: not used by aht20"]],
    ["duplicate names", { sensors: [{ type: "sht3x", name: "a" }, { type: "aht20", name: "a" }] },
      ["sensors[1].name: \"a\" is used twice"]],
    ["bad sensor name", { sensors: [{ type: "aht20", name: "a b" }] }, ["sensors[0].name: must be 1-32 characters of A-Z a-z 0-9 _ -"]],
    ["i2c pins incomplete", { sensors: [{ type: "aht20", pins: { sda: 21 } }] }, ["sensors[0].pins: give both sda and scl"]],
    ["i2c pins equal", { sensors: [{ type: "aht20", pins: { sda: 21, scl: 21 } }] }, ["sensors[0].pins: sda and scl must differ"]],
    ["data pin on an i2c sensor", { sensors: [{ type: "aht20", pins: { data: 4, sda: 1, scl: 2 } }] }, ["sensors[0].pins.data: unknown key"]],
    ["pin out of range", { sensors: [{ type: "dht11", pins: { data: 99 } }] }, ["sensors[0].pins.data: must be an integer from 0 to 48"]],
    ["no default i2c", { wifi: undefined, sensors: [{ type: "bme280" }] },
      ["sensors[0].pins: required: this board has no default I2C bus (give sda and scl)"], LINUX],
    ["no default data pin", { wifi: undefined, sensors: [{ type: "ds18b20" }] },
      ["sensors[0].pins: required: this board has no default data pin (give data)"], LINUX],
    ["unknown option", { sensors: [{ type: "aht20", options: { osrsT: 2 } }] }, ["sensors[0].options.osrsT: unknown key"]],
    ["bad oversampling", { sensors: [{ type: "bme280", options: { osrsP: 3 } }] }, ["sensors[0].options.osrsP: must be 1, 2, 4, 8 or 16"]],
    ["bad repeatability", { sensors: [{ type: "sht3x", options: { repeatability: "max" } }] },
      ["sensors[0].options.repeatability: must be high, medium or low"]],
    ["bad resolution", { sensors: [{ type: "ds18b20", options: { resolution: 8 } }] },
      ["sensors[0].options.resolution: must be an integer from 9 to 12"]],
    ["interval too short", { intervalMs: 10 }, ["intervalMs: must be an integer from 1000 to 86400000"]],
    ["interval not an integer", { intervalMs: 1500.5 }, ["intervalMs: must be an integer from 1000 to 86400000"]],
    ["diag interval", { diagIntervalMs: 5 }, ["diagIntervalMs: must be 0 (off) or at least 1000"]],
    ["qos 2", { qos: 2 }, ["qos: must be 0 or 1"]],
    ["qos 0 in battery mode", { qos: 0, battery: { sleepMs: 60000 } },
      ["qos: must be 1 in battery mode (the node sleeps after the acknowledgment)"]],
    ["battery without sleepMs", { battery: {} }, ["battery.sleepMs: must be an integer from 1000 to 86400000"]],
    ["retain not boolean", { retain: "yes" }, ["retain: must be true or false"]],
    ["queue size", { queue: { size: -1 } }, ["queue.size: must be an integer from 0 to 1024"]],
    ["queue storage", { queue: { storage: 1 } }, ["queue.storage: must be true or false"]],
    ["filter on an unknown field", { filters: [{ field: "co2" }] },
      ["filters[0].field: \"co2\" is not a field of this node (tempC, rhPct, pressurePa)"]],
    ["filter average", { filters: [{ field: "tempC", average: 1 }] }, ["filters[0].average: must be an integer from 2 to 16"]],
    ["filter delta", { filters: [{ field: "tempC", delta: 0 }] }, ["filters[0].delta: must be a number above 0"]],
    ["filter min over max", { filters: [{ field: "tempC", minIntervalMs: 60000, maxIntervalMs: 30000 }] },
      ["filters[0].maxIntervalMs: must not be below minIntervalMs"]],
    ["two filters on one field", { filters: [{ field: "rhPct" }, { field: "rhPct", delta: 1 }] },
      ["filters[1].field: \"rhPct\" has a filter already"]],
    ["filters not a list", { filters: {} }, ["filters: must be a list of up to 16 filters"]],
  ];
  for (const c of cases) {
    test(c[0], () => {
      expect(errorsOf(c[1], c[3] ?? ESP32)).toEqual(c[2]);
    });
  }

  test("not an object at all", () => {
    expect(validate([], ESP32).errors[0]).toBe("config: must be an object");
  });

  test("every problem is reported, not only the first", () => {
    const e = errorsOf({ qos: 3, intervalMs: 0, sensors: [{ type: "bme280", address: 1 }] });
    expect(e).toEqual([
      "sensors[0].address: must be 0x76 or 0x77 for bme280",
      "intervalMs: must be an integer from 1000 to 86400000",
      "qos: must be 0 or 1",
    ]);
  });

  test("mqtts is accepted where the board has TLS", () => {
    expect(errorsOf({ broker: { url: "mqtts://broker.lan" } }, ESP32)).toEqual([]);
  });
});

describe("helpers", () => {
  test("parseBrokerUrl", () => {
    expect(parseBrokerUrl("mqtt://h")).toEqual({ host: "h", port: 1883, tls: false });
    expect(parseBrokerUrl("mqtts://b.lan:8884/")).toEqual({ host: "b.lan", port: 8884, tls: true });
    expect(parseBrokerUrl("mqtt://[::1]:1884")).toEqual({ host: "[::1]", port: 1884, tls: false });
    expect(parseBrokerUrl("mqtt://h/path")).toBeNull();
    expect(parseBrokerUrl("mqtt://h:0")).toBeNull();
  });

  test("stateFields: bare with one sensor, prefixed with several", () => {
    const one = validate(minimal(), ESP32).config;
    expect(stateFields(one.sensors).map((f) => f.key)).toEqual(["tempC", "rhPct", "pressurePa"]);
    const two = validate(Object.assign(minimal(), { sensors: [{ type: "aht20", name: "in" }, { type: "ds18b20", name: "out" }] }), ESP32).config;
    expect(stateFields(two.sensors).map((f) => f.key)).toEqual(["in_tempC", "in_rhPct", "out_tempC"]);
    expect(nodeTopic(two, "state")).toBe("espnode/kitchen/state");
  });
});

describe("merge: a Storage override", () => {
  const base = validate(minimal(), ESP32, "chip").config;

  test("a good override is applied and validated", () => {
    const m = merge(base, "{\"intervalMs\":30000,\"broker\":{\"username\":\"u\",\"password\":\"p\"}}", ESP32, "chip");
    expect(m.errors).toEqual([]);
    expect(m.config.intervalMs).toBe(30000);
    expect(m.config.broker).toEqual({ url: "mqtt://10.0.0.2", username: "u", password: "p" });
    expect(base.intervalMs).toBe(60000); // the base is not modified
  });

  test("lists are replaced, not merged", () => {
    const m = merge(base, "{\"sensors\":[{\"type\":\"ds18b20\"}]}", ESP32);
    expect(m.errors).toEqual([]);
    expect(m.config.sensors).toEqual([{ type: "ds18b20", name: "ds18b20", bus: "onewire" }]);
  });

  test("text that is not JSON keeps the base", () => {
    const m = merge(base, "{intervalMs:30000", ESP32);
    expect(m.errors).toEqual(["override: not valid JSON"]);
    expect(m.config).toBe(base);
  });

  test("JSON that is not an object keeps the base", () => {
    const m = merge(base, "[1]", ESP32);
    expect(m.errors).toEqual(["override: must be a JSON object"]);
    expect(m.config).toBe(base);
  });

  test("an invalid override keeps the base and says why", () => {
    const m = merge(base, "{\"intervalMs\":5,\"sensors\":[{\"type\":\"bme280\",\"address\":64}],\"x\":1}", ESP32);
    expect(m.errors).toEqual([
      "override x: unknown key",
      "override sensors[0].address: must be 0x76 or 0x77 for bme280",
      "override intervalMs: must be an integer from 1000 to 86400000",
    ]);
    expect(m.config).toBe(base);
    expect(m.config.intervalMs).toBe(60000);
  });

  test("an override asking for TLS on a board without it keeps the base", () => {
    const b = validate(minimal(), ESP8266).config;
    const m = merge(b, "{\"broker\":{\"url\":\"mqtts://h\"}}", ESP8266);
    expect(m.errors).toEqual(["override broker.url: mqtts:// needs TLS, which this board does not have"]);
    expect(m.config).toBe(b);
  });
});
