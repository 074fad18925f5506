/**
 * Home Assistant MQTT discovery for the telemetry node (issue 7, requirement 2): one retained message per state
 * field, single-component discovery as Home Assistant documents it (integrations/mqtt, "Discovery messages"):
 *
 *   topic   homeassistant/sensor/<node>/<key>/config          (<node>, <key> are [A-Za-z0-9_-]: config.ts)
 *   payload {"unit_of_measurement":"°C","name":"Temperature","unique_id":"<node>_<key>",
 *            "device_class":"temperature","state_class":"measurement","state_topic":"<prefix>/<node>/state",
 *            "value_template":"{{ value_json.<key> }}","availability_topic":"<prefix>/<node>/status",
 *            "payload_available":"online","payload_not_available":"offline",
 *            "device":{"identifiers":["<node>"],"name":..,"model":..,"manufacturer":..,"sw_version":..},
 *            "origin":{"name":"espruino-mqtt-runtime","sw_version":..}}
 *
 * Units: temperature °C (tempC), humidity % (rhPct), pressure Pa (pressurePa, published as measured: Pa is one
 * of the units Home Assistant accepts for device_class pressure, and users can show hPa in its UI).
 * unique_id is built from the node name, not the chip id, so a replaced board keeps its entities.
 *
 * Memory: one message is built at a time and handed to `emit(topic, payload)`; `discoveryMessage(c, info, i,
 * emit)` lets the caller publish message i only when the previous one has left (one payload in RAM). The payload
 * is pure ASCII: "°" is written as the JSON escape \u00b0, because Espruino builds without Unicode strings would
 * otherwise stringify its two UTF-8 bytes as two characters.
 * Publish with retain set; `remove` sends the empty retained payloads that delete the entities.
 */
import { NodeConfig, nodeTopic, stateFields } from "./config";

export interface DeviceInfo {
  /** The device's name in Home Assistant; default: the node name. */
  name?: string;
  model: string;
  manufacturer: string;
  /** The firmware version. */
  swVersion: string;
}

export type Emit = (topic: string, payload: string) => void;

export const DISCOVERY_PREFIX = "homeassistant";

const FIELDS = ["tempC", "rhPct", "pressurePa"];
const CLASSES = ["temperature", "humidity", "pressure"];
const TITLES = ["Temperature", "Humidity", "Pressure"];
/** unit_of_measurement as JSON text, ASCII only. */
const UNITS = ["\"\\u00b0C\"", "\"%\"", "\"Pa\""];

/** How many discovery messages the node has: one per state field. */
export function discoveryCount(c: NodeConfig): number {
  return stateFields(c.sensors).length;
}

/** The discovery topic of state field `key`. */
export function discoveryTopic(c: NodeConfig, key: string): string {
  return DISCOVERY_PREFIX + "/sensor/" + c.node + "/" + key + "/config";
}

/** The payload of discovery message `i` (0 .. discoveryCount-1); "" when there is no such message. */
export function discoveryPayload(c: NodeConfig, info: DeviceInfo, i: number): string {
  const f = stateFields(c.sensors)[i];
  if (!f) return "";
  const k = FIELDS.indexOf(f.field);
  const title = c.sensors.length == 1 ? TITLES[k]! : c.sensors[f.sensor]!.name + " " + TITLES[k]!;
  const rest = JSON.stringify({
    name: title,
    unique_id: c.node + "_" + f.key,
    device_class: CLASSES[k],
    state_class: "measurement",
    state_topic: nodeTopic(c, "state"),
    value_template: "{{ value_json." + f.key + " }}",
    availability_topic: nodeTopic(c, "status"),
    payload_available: "online",
    payload_not_available: "offline",
    device: {
      identifiers: [c.node],
      name: info.name ?? c.node,
      model: info.model,
      manufacturer: info.manufacturer,
      sw_version: info.swVersion,
    },
    origin: { name: "espruino-mqtt-runtime", sw_version: info.swVersion },
  });
  return "{\"unit_of_measurement\":" + UNITS[k]! + "," + rest.substring(1);
}

/**
 * Hands discovery message `i` to `emit` (with `remove`: its empty payload, which deletes the entity). False,
 * and nothing emitted, when `i` is past the last message.
 */
export function discoveryMessage(c: NodeConfig, info: DeviceInfo, i: number, emit: Emit, remove?: boolean): boolean {
  const f = stateFields(c.sensors)[i];
  if (!f) return false;
  emit(discoveryTopic(c, f.key), remove ? "" : discoveryPayload(c, info, i));
  return true;
}

/** Emits every discovery message in order, one at a time; returns how many. */
export function writeDiscovery(c: NodeConfig, info: DeviceInfo, emit: Emit, remove?: boolean): number {
  let i = 0;
  while (discoveryMessage(c, info, i, emit, remove)) i++;
  return i;
}
