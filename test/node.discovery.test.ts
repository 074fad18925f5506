/**
 * Issue 7, requirement 2: Home Assistant MQTT discovery (lib/node/discovery.ts). Each payload is parsed and
 * checked key by key against the single-component discovery schema Home Assistant documents for an MQTT sensor
 * (integrations/mqtt: state_topic required; unique_id required for a device block; a device needs identifiers
 * or connections; availability_topic with payload_available/payload_not_available; device_class, state_class,
 * unit_of_measurement, value_template), and topics against `<prefix>/<component>/[<node_id>/]<object_id>/config`
 * with ids of [a-zA-Z0-9_-].
 */
import { describe, expect, test } from "vitest";
import { validate, type BoardCaps } from "../lib/node/config";
import { discoveryCount, discoveryMessage, writeDiscovery, type DeviceInfo } from "../lib/node/discovery";

const CAPS: BoardCaps = { tls: true, i2c: true, wire1: true };
const INFO: DeviceInfo = { model: "ESP32 DevKitC", manufacturer: "Espressif", swVersion: "0.1.0" };

function config(sensors: unknown[]) {
  const v = validate({ broker: { url: "mqtt://h" }, node: "kitchen", prefix: "home", sensors: sensors }, CAPS, "c0ffee");
  expect(v.errors).toEqual([]);
  return v.config;
}

function collect(c: ReturnType<typeof config>, remove?: boolean): [string, string][] {
  const out: [string, string][] = [];
  const n = writeDiscovery(c, INFO, (t, p) => { out.push([t, p]); }, remove);
  expect(n).toBe(out.length);
  return out;
}

const ALLOWED = ["unit_of_measurement", "name", "unique_id", "device_class", "state_class", "state_topic", "value_template",
  "availability_topic", "payload_available", "payload_not_available", "device", "origin"];

describe("discovery messages", () => {
  test("one BME280: three entities with the documented keys", () => {
    const msgs = collect(config([{ type: "bme280" }]));
    expect(msgs.map((m) => m[0])).toEqual([
      "homeassistant/sensor/kitchen/tempC/config",
      "homeassistant/sensor/kitchen/rhPct/config",
      "homeassistant/sensor/kitchen/pressurePa/config",
    ]);
    const want = [
      ["tempC", "Temperature", "temperature", "°C"],
      ["rhPct", "Humidity", "humidity", "%"],
      ["pressurePa", "Pressure", "pressure", "Pa"],
    ];
    for (let i = 0; i < 3; i++) {
      const p = JSON.parse(msgs[i]![1]);
      const w = want[i]!;
      expect(Object.keys(p).sort()).toEqual([...ALLOWED].sort());
      expect(typeof p.state_topic).toBe("string"); // required by the sensor platform
      expect(p.unique_id).toBe("kitchen_" + w[0]); // required for the device block
      expect(p.name).toBe(w[1]);
      expect(p.device_class).toBe(w[2]);
      expect(p.unit_of_measurement).toBe(w[3]);
      expect(p.state_class).toBe("measurement");
      expect(p.state_topic).toBe("home/kitchen/state");
      expect(p.value_template).toBe("{{ value_json." + w[0] + " }}");
      expect(p.availability_topic).toBe("home/kitchen/status");
      expect(p.payload_available).toBe("online");
      expect(p.payload_not_available).toBe("offline");
      expect(p.device).toEqual({
        identifiers: ["kitchen"], name: "kitchen", model: "ESP32 DevKitC", manufacturer: "Espressif", sw_version: "0.1.0",
      });
      expect(p.origin).toEqual({ name: "espruino-mqtt-runtime", sw_version: "0.1.0" });
    }
  });

  test("payloads are ASCII (the degree sign is a JSON escape)", () => {
    for (const m of collect(config([{ type: "bme280" }]))) {
      expect(/^[\x20-\x7e]*$/.test(m[1])).toBe(true);
    }
    expect(collect(config([{ type: "ds18b20" }]))[0]![1]).toContain("\"unit_of_measurement\":\"\\u00b0C\"");
  });

  test("topic levels are valid Home Assistant ids", () => {
    for (const m of collect(config([{ type: "sht3x", name: "in" }, { type: "ds18b20", name: "out-door" }]))) {
      expect(m[0]).toMatch(/^homeassistant\/sensor\/[a-zA-Z0-9_-]+\/[a-zA-Z0-9_-]+\/config$/);
    }
  });

  test("several sensors: prefixed keys and names, unique ids", () => {
    const msgs = collect(config([{ type: "sht3x", name: "in" }, { type: "ds18b20", name: "out" }]));
    const p = msgs.map((m) => JSON.parse(m[1]));
    expect(msgs.map((m) => m[0])).toEqual([
      "homeassistant/sensor/kitchen/in_tempC/config",
      "homeassistant/sensor/kitchen/in_rhPct/config",
      "homeassistant/sensor/kitchen/out_tempC/config",
    ]);
    expect(p.map((x) => x.name)).toEqual(["in Temperature", "in Humidity", "out Temperature"]);
    expect(p.map((x) => x.value_template)).toEqual([
      "{{ value_json.in_tempC }}", "{{ value_json.in_rhPct }}", "{{ value_json.out_tempC }}",
    ]);
    expect(new Set(p.map((x) => x.unique_id)).size).toBe(3);
  });

  test("device name from the caller", () => {
    const c = config([{ type: "aht20" }]);
    let payload = "";
    expect(discoveryMessage(c, Object.assign({ name: "Kitchen node" }, INFO), 0, (_t, p) => { payload = p; })).toBe(true);
    expect(JSON.parse(payload).device.name).toBe("Kitchen node");
  });

  test("one message at a time, by index; past the end emits nothing", () => {
    const c = config([{ type: "aht20" }]);
    expect(discoveryCount(c)).toBe(2);
    let calls = 0;
    expect(discoveryMessage(c, INFO, 2, () => { calls++; })).toBe(false);
    expect(calls).toBe(0);
  });

  test("remove: empty payloads on the same topics", () => {
    const c = config([{ type: "aht20" }]);
    expect(collect(c, true)).toEqual([
      ["homeassistant/sensor/kitchen/tempC/config", ""],
      ["homeassistant/sensor/kitchen/rhPct/config", ""],
    ]);
  });
});
