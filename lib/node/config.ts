/**
 * The telemetry node's configuration (issue 7, requirement 1): its type, `validate` and `merge`.
 *
 * One JSON object per node. `validate(obj, caps, chipId)` checks it against the board's capabilities, fills the
 * defaults and returns every problem as `path: message` (`sensors[1].address: must be 0x76 or 0x77 for
 * bme280`); unknown keys are refused at every level, so a typo never passes silently. A validated config is
 * itself a valid input (validate is idempotent), which is what lets `merge(base, overrideText)` apply an
 * override read from Storage on the device: the override is merged into the base and the result validated
 * again; on any error the base stays in force.
 *
 * Written in the Espruino subset: it runs at build time and on the device.
 *
 * Shape (defaults in brackets):
 *   wifi            { ssid, password [""] } or null [null]: null means the network is already up (Linux build)
 *   broker          { url: "mqtt://host[:1883]" | "mqtts://host[:8883]", username [""], password [""] }
 *   clientId        [chipId given by the caller, else "": the firmware then uses the chip id at run time]
 *   prefix          ["espnode"], node (required): topics are `<prefix>/<node>/state|status|diag|set`
 *   sensors         [{ type, name [type], bus [from type], pins, address, rom, options }], at least one
 *   intervalMs [60000], diagIntervalMs [300000, 0 = off], qos [0, 1 in battery mode], retain [false]
 *   filters         [{ field, average, delta, minIntervalMs, maxIntervalMs }] (each but field optional); with
 *                   filters, a reading is published when a filtered field is due (lib/node/app.ts)
 *   queue           { size [32], storage [false] }
 *   battery         { sleepMs, awakeMaxMs [30000] } or null [null]
 */
import { isDs18b20Rom } from "../drivers/ds18b20";
import { bool, ident, int, mergeOverride, rec, Rec, str } from "./check";

export type SensorType = "bme280" | "sht3x" | "aht20" | "dht22" | "dht11" | "ds18b20";
export type SensorBus = "i2c" | "onewire" | "pin";

/** GPIO numbers. I2C: `sda` and `scl` (both, or neither for the board's default bus); onewire/pin: `data`. */
export interface SensorPins {
  sda?: number;
  scl?: number;
  data?: number;
}

export interface SensorConfig {
  type: SensorType;
  /** [A-Za-z0-9_-], unique in the node; default: the type. Prefixes the state fields when there are several. */
  name: string;
  bus: SensorBus;
  /** Absent: the board's default I2C bus or single-wire pin. */
  pins?: SensorPins;
  /** I2C sensors only; filled with the chip's default address. */
  address?: number;
  /** DS18B20 only: the ROM (16 hex digits, Espruino's form); absent when the sensor is alone on its wire. */
  rom?: string;
  /** Driver options, checked per type (bme280: osrsT/osrsP/osrsH, timeoutMs; sht3x: repeatability; ...). */
  options?: { [k: string]: number | string };
}

export interface FilterConfig {
  /** A state field of this node (see stateFields). */
  field: string;
  /** Moving average over this many readings (2..16). */
  average?: number;
  /** Publish only when the value moved more than this since the last publish. */
  delta?: number;
  /** Never publish this field more often than this. */
  minIntervalMs?: number;
  /** Publish at least this often, changed or not (heartbeat). */
  maxIntervalMs?: number;
}

export interface NodeConfig {
  wifi: { ssid: string; password: string } | null;
  broker: { url: string; username: string; password: string };
  clientId: string;
  prefix: string;
  node: string;
  sensors: SensorConfig[];
  intervalMs: number;
  diagIntervalMs: number;
  qos: 0 | 1;
  retain: boolean;
  filters: FilterConfig[];
  queue: { size: number; storage: boolean };
  /** Deep sleep between readings; a wake that cannot publish gives up after awakeMaxMs [30000]. */
  battery: { sleepMs: number; awakeMaxMs: number } | null;
}

/** What the board offers (lib/hal/board.ts, reduced to booleans). `net: "wifi"` makes `wifi` required. */
export interface BoardCaps {
  tls: boolean;
  i2c: boolean;
  wire1: boolean;
  net?: "wifi" | "up";
  /** Buses carry simulated chips (the Linux board): single-wire DHT sensors cannot be simulated in real time. */
  sim?: boolean;
}

export interface Validated {
  config: NodeConfig;
  errors: string[];
}

/** Bounds shared with the command topic (lib/node/commands.ts). */
export const INTERVAL_MIN_MS = 1000;
export const INTERVAL_MAX_MS = 86400000;



/** Per sensor type: bus, I2C addresses (first is the default), state fields, allowed option names. */
interface TypeInfo {
  bus: SensorBus;
  addr: number[];
  fields: string[];
  opts: string[];
}

const TYPES: { [t: string]: TypeInfo } = {
  bme280: { bus: "i2c", addr: [0x76, 0x77], fields: ["tempC", "rhPct", "pressurePa"], opts: ["osrsT", "osrsP", "osrsH", "timeoutMs"] },
  sht3x: { bus: "i2c", addr: [0x44, 0x45], fields: ["tempC", "rhPct"], opts: ["repeatability"] },
  aht20: { bus: "i2c", addr: [0x38], fields: ["tempC", "rhPct"], opts: [] },
  dht22: { bus: "pin", addr: [], fields: ["tempC", "rhPct"], opts: ["timeoutMs"] },
  dht11: { bus: "pin", addr: [], fields: ["tempC", "rhPct"], opts: ["timeoutMs"] },
  ds18b20: { bus: "onewire", addr: [], fields: ["tempC"], opts: ["resolution"] },
};

const TOP_KEYS = ["wifi", "broker", "clientId", "prefix", "node", "sensors", "intervalMs", "diagIntervalMs", "qos",
  "retain", "filters", "queue", "battery"];
const SENSOR_KEYS = ["type", "name", "bus", "pins", "address", "rom", "options"];
const FILTER_KEYS = ["field", "average", "delta", "minIntervalMs", "maxIntervalMs"];

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** Host, port and TLS of a broker URL `mqtt://host[:port]` or `mqtts://host[:port]`; null when malformed. */
export function parseBrokerUrl(url: string): { host: string; port: number; tls: boolean } | null {
  // by hand: Espruino's regular expressions get `s?` and alternatives wrong (2v29: /^mqtts?:/ fails "mqtt:")
  const tls = url.indexOf("mqtts://") == 0;
  if (!tls && url.indexOf("mqtt://") != 0) return null;
  let rest = url.substring(tls ? 8 : 7);
  if (rest.charAt(rest.length - 1) == "/") rest = rest.substring(0, rest.length - 1);
  let host = rest;
  let port = "";
  const bracket = rest.charAt(0) == "[";
  const end = bracket ? rest.indexOf("]") + 1 : rest.indexOf(":");
  if (bracket && end <= 0) return null;
  if (end > 0 && end < rest.length) {
    if (rest.charAt(end) != ":") return null;
    host = rest.substring(0, end);
    port = rest.substring(end + 1);
    if (!port.length || port.length > 5 || !only(port, "0123456789")) return null;
  }
  const inner = bracket ? host.substring(1, host.length - 1) : host;
  if (!inner.length || !only(inner.toLowerCase(), bracket ? "0123456789abcdef:." : "abcdefghijklmnopqrstuvwxyz0123456789.-")) return null;
  const n = port ? parseInt(port, 10) : tls ? 8883 : 1883;
  if (n < 1 || n > 65535) return null;
  return { host: host, port: n, tls: tls };
}

/** Whether every character of `s` is in `set`. */
function only(s: string, set: string): boolean {
  for (let i = 0; i < s.length; i++) if (set.indexOf(s.charAt(i)) < 0) return false;
  return true;
}

/** `wifi` of a node's or a gateway's config: { ssid, password } or null (required where the board joins WiFi). */
export function checkWifi(errs: string[], v: unknown, caps: BoardCaps): NodeConfig["wifi"] {
  if (v === undefined || v === null) {
    if (caps.net == "wifi") errs.push("wifi: required on this board");
    return null;
  }
  const o = rec(errs, v, "wifi", ["ssid", "password"]);
  if (!o) return null;
  const ssid = str(errs, o.ssid, "wifi.ssid", undefined, 32);
  if (!ssid) errs.push("wifi.ssid: must not be empty");
  const pw = str(errs, o.password, "wifi.password", "", 64);
  if (pw && pw.length < 8) errs.push("wifi.password: must be empty (open network) or 8-64 characters");
  return { ssid: ssid, password: pw };
}

function checkBroker(errs: string[], v: unknown, caps: BoardCaps): NodeConfig["broker"] {
  const o = rec(errs, v, "broker", ["url", "username", "password"]) || {};
  const url = str(errs, o.url, "broker.url", undefined, 128);
  const u = parseBrokerUrl(url);
  if (typeof o.url == "string" && !u) errs.push("broker.url: must be mqtt://host[:port] or mqtts://host[:port]");
  if (u && u.tls && !caps.tls) errs.push("broker.url: mqtts:// needs TLS, which this board does not have");
  const user = str(errs, o.username, "broker.username", "", 64);
  const pw = str(errs, o.password, "broker.password", "", 64);
  if (pw && !user) errs.push("broker.password: needs a username (MQTT 3.1.1 [MQTT-3.1.2-22])");
  return { url: url, username: user, password: pw };
}

function checkPin(errs: string[], v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  return int(errs, v, path, undefined, 0, 48);
}

function checkPins(errs: string[], v: unknown, p: string, bus: SensorBus, caps: BoardCaps): SensorPins | undefined {
  const i2c = bus == "i2c";
  if (v === undefined) {
    if (i2c && !caps.i2c) errs.push(p + ".pins: required: this board has no default I2C bus (give sda and scl)");
    if (!i2c && !caps.wire1) errs.push(p + ".pins: required: this board has no default data pin (give data)");
    return undefined;
  }
  const o = rec(errs, v, p + ".pins", i2c ? ["sda", "scl"] : ["data"]);
  if (!o) return undefined;
  const r: SensorPins = {};
  if (i2c) {
    r.sda = checkPin(errs, o.sda, p + ".pins.sda");
    r.scl = checkPin(errs, o.scl, p + ".pins.scl");
    if (r.sda === undefined || r.scl === undefined) errs.push(p + ".pins: give both sda and scl");
    else if (r.sda == r.scl) errs.push(p + ".pins: sda and scl must differ");
  } else {
    r.data = checkPin(errs, o.data, p + ".pins.data");
    if (r.data === undefined) errs.push(p + ".pins.data: required");
  }
  return r;
}

function checkAddress(errs: string[], v: unknown, p: string, type: string, t: TypeInfo): number | undefined {
  if (!t.addr.length) {
    if (v !== undefined) errs.push(p + ".address: not used by " + type);
    return undefined;
  }
  if (v === undefined) return t.addr[0];
  if (typeof v != "number" || t.addr.indexOf(v) < 0) {
    errs.push(p + ".address: must be " + t.addr.map(hex).join(" or ") + " for " + type);
    return t.addr[0];
  }
  return v;
}

function checkRom(errs: string[], v: unknown, p: string, type: string): string | undefined {
  if (v === undefined) return undefined;
  if (type != "ds18b20") errs.push(p + ".rom: not used by " + type);
  else if (!isDs18b20Rom(v)) errs.push(p + ".rom: must be a DS18B20 ROM: 16 hex digits, family 28, valid CRC");
  else return v as string;
  return undefined;
}

const OSRS = [1, 2, 4, 8, 16];
const REPEAT = ["high", "medium", "low"];

function checkOption(errs: string[], k: string, v: unknown, p: string): void {
  if (k == "repeatability") {
    if (typeof v != "string" || REPEAT.indexOf(v) < 0) errs.push(p + ": must be high, medium or low");
  } else if (k == "resolution") int(errs, v, p, undefined, 9, 12);
  else if (k == "timeoutMs") int(errs, v, p, undefined, 1, 10000);
  else if (typeof v != "number" || OSRS.indexOf(v) < 0) errs.push(p + ": must be 1, 2, 4, 8 or 16");
}

function checkOptions(errs: string[], v: unknown, p: string, t: TypeInfo): SensorConfig["options"] {
  if (v === undefined) return undefined;
  const o = rec(errs, v, p + ".options", t.opts);
  if (!o) return undefined;
  const r: { [k: string]: number | string } = {};
  for (const k of Object.keys(o)) {
    if (t.opts.indexOf(k) < 0) continue;
    checkOption(errs, k, o[k], p + ".options." + k);
    r[k] = o[k] as number | string;
  }
  return r;
}

function checkSensor(errs: string[], v: unknown, i: number, caps: BoardCaps): SensorConfig | null {
  const p = "sensors[" + i + "]";
  const o = rec(errs, v, p, SENSOR_KEYS);
  if (!o) return null;
  const type = o.type;
  const t = typeof type == "string" && TYPES.hasOwnProperty(type) ? TYPES[type] : undefined;
  if (!t) {
    errs.push(p + ".type: must be one of " + Object.keys(TYPES).join(", "));
    return null;
  }
  const s: SensorConfig = { type: type as SensorType, name: ident(errs, o.name, p + ".name", type as string), bus: t.bus };
  if (o.bus !== undefined && o.bus !== t.bus) errs.push(p + ".bus: must be " + t.bus + " for " + type);
  if (caps.sim && t.bus == "pin") {
    errs.push(p + ".type: " + type + " is not simulated on this board (its microsecond edges need the simulator's virtual clock)");
  }
  const pins = checkPins(errs, o.pins, p, t.bus, caps);
  if (pins) s.pins = pins;
  const a = checkAddress(errs, o.address, p, type as string, t);
  if (a !== undefined) s.address = a;
  const rom = checkRom(errs, o.rom, p, type as string);
  if (rom !== undefined) s.rom = rom;
  const opts = checkOptions(errs, o.options, p, t);
  if (opts) s.options = opts;
  return s;
}

function checkSensors(errs: string[], v: unknown, caps: BoardCaps): SensorConfig[] {
  const out: SensorConfig[] = [];
  if (!Array.isArray(v) || v.length < 1 || v.length > 8) {
    errs.push("sensors: must be a list of 1 to 8 sensors");
    return out;
  }
  const names: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s = checkSensor(errs, v[i], i, caps);
    if (!s) continue;
    if (names.indexOf(s.name) >= 0) errs.push("sensors[" + i + "].name: \"" + s.name + "\" is used twice");
    names.push(s.name);
    out.push(s);
  }
  const n = stateFields(out).length;
  if (n > 8) errs.push("sensors: " + n + " fields in all, at most 8 (one reading holds 8)");
  return out;
}

/**
 * The keys of the node's state JSON, one per sensor field: the bare field (`tempC`) when the node has one
 * sensor, else `<sensor name>_<field>` (`attic_tempC`). Filters, discovery and the firmware all use these.
 */
export function stateFields(sensors: SensorConfig[]): { key: string; field: string; sensor: number }[] {
  const out: { key: string; field: string; sensor: number }[] = [];
  for (let i = 0; i < sensors.length; i++) {
    const s = sensors[i]!;
    const fs = TYPES[s.type]!.fields;
    for (const f of fs) out.push({ key: sensors.length == 1 ? f : s.name + "_" + f, field: f, sensor: i });
  }
  return out;
}

function checkFilter(errs: string[], v: unknown, i: number, keys: string[]): FilterConfig | null {
  const p = "filters[" + i + "]";
  const o = rec(errs, v, p, FILTER_KEYS);
  if (!o) return null;
  const f: FilterConfig = { field: str(errs, o.field, p + ".field", undefined, 64) };
  if (typeof o.field == "string" && keys.indexOf(o.field) < 0) {
    errs.push(p + ".field: \"" + o.field + "\" is not a field of this node (" + keys.join(", ") + ")");
  }
  if (o.average !== undefined) f.average = int(errs, o.average, p + ".average", undefined, 2, 16);
  if (o.delta !== undefined) {
    if (typeof o.delta != "number" || !(o.delta > 0) || !isFinite(o.delta)) errs.push(p + ".delta: must be a number above 0");
    else f.delta = o.delta;
  }
  if (o.minIntervalMs !== undefined) f.minIntervalMs = int(errs, o.minIntervalMs, p + ".minIntervalMs", undefined, 0, INTERVAL_MAX_MS);
  if (o.maxIntervalMs !== undefined) f.maxIntervalMs = int(errs, o.maxIntervalMs, p + ".maxIntervalMs", undefined, INTERVAL_MIN_MS, INTERVAL_MAX_MS);
  if (f.minIntervalMs !== undefined && f.maxIntervalMs !== undefined && f.minIntervalMs > f.maxIntervalMs) {
    errs.push(p + ".maxIntervalMs: must not be below minIntervalMs");
  }
  return f;
}

function checkFilters(errs: string[], v: unknown, sensors: SensorConfig[]): FilterConfig[] {
  const out: FilterConfig[] = [];
  if (v === undefined) return out;
  if (!Array.isArray(v) || v.length > 16) {
    errs.push("filters: must be a list of up to 16 filters");
    return out;
  }
  const keys = stateFields(sensors).map((f) => f.key);
  const seen: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const f = checkFilter(errs, v[i], i, keys);
    if (!f) continue;
    if (seen.indexOf(f.field) >= 0) errs.push("filters[" + i + "].field: \"" + f.field + "\" has a filter already");
    seen.push(f.field);
    out.push(f);
  }
  return out;
}

function checkQueue(errs: string[], v: unknown): NodeConfig["queue"] {
  const o = v === undefined ? {} : rec(errs, v, "queue", ["size", "storage"]) || {};
  return { size: int(errs, o.size, "queue.size", 32, 0, 1024), storage: bool(errs, o.storage, "queue.storage", false) };
}

function checkBattery(errs: string[], v: unknown): NodeConfig["battery"] {
  if (v === undefined || v === null) return null;
  const o = rec(errs, v, "battery", ["sleepMs", "awakeMaxMs"]);
  if (!o) return null;
  return {
    sleepMs: int(errs, o.sleepMs, "battery.sleepMs", undefined, INTERVAL_MIN_MS, INTERVAL_MAX_MS),
    awakeMaxMs: int(errs, o.awakeMaxMs, "battery.awakeMaxMs", 30000, 1000, 300000),
  };
}

function checkQos(errs: string[], v: unknown, battery: boolean): 0 | 1 {
  if (v === undefined) return battery ? 1 : 0;
  if (v !== 0 && v !== 1) {
    errs.push("qos: must be 0 or 1");
    return 0;
  }
  if (battery && v === 0) errs.push("qos: must be 1 in battery mode (the node sleeps after the acknowledgment)");
  return v;
}

/**
 * Checks `obj` (parsed JSON) for a board with `caps`; `chipId` is the default client id. Returns the config
 * with the defaults filled and every error as `path: message`; the config is only meaningful without errors.
 */
export function validate(obj: unknown, caps: BoardCaps, chipId?: string): Validated {
  const errs: string[] = [];
  const o = rec(errs, obj, "", TOP_KEYS) || {};
  const battery = checkBattery(errs, o.battery);
  const sensors = checkSensors(errs, o.sensors, caps);
  const diag = int(errs, o.diagIntervalMs, "diagIntervalMs", 300000, 0, INTERVAL_MAX_MS);
  if (diag > 0 && diag < INTERVAL_MIN_MS) errs.push("diagIntervalMs: must be 0 (off) or at least " + INTERVAL_MIN_MS);
  const config: NodeConfig = {
    wifi: checkWifi(errs, o.wifi, caps),
    broker: checkBroker(errs, o.broker, caps),
    clientId: str(errs, o.clientId, "clientId", chipId ?? "", 23),
    prefix: ident(errs, o.prefix, "prefix", "espnode"),
    node: ident(errs, o.node, "node", undefined),
    sensors: sensors,
    intervalMs: int(errs, o.intervalMs, "intervalMs", 60000, INTERVAL_MIN_MS, INTERVAL_MAX_MS),
    diagIntervalMs: diag,
    qos: checkQos(errs, o.qos, !!battery),
    retain: bool(errs, o.retain, "retain", false),
    filters: checkFilters(errs, o.filters, sensors),
    queue: checkQueue(errs, o.queue),
    battery: battery,
  };
  return { config: config, errors: errs };
}

/**
 * Applies an override (JSON text, e.g. from Storage) to a validated `base`. The result is validated as a
 * whole; with any error (text that is not JSON, not an object, or a merged config that does not validate) the
 * returned config is `base`, unchanged, and `errors` says why (paths prefixed "override").
 */
export function merge(base: NodeConfig, overrideText: string, caps: BoardCaps, chipId?: string): Validated {
  return mergeOverride(base, overrideText, (o) => validate(o, caps, chipId));
}

/** `<prefix>/<node>/<leaf>`: the node's topics (`state`, `status`, `diag`, `set`, `set/reply`). */
export function nodeTopic(c: { prefix: string; node: string }, leaf: string): string {
  return c.prefix + "/" + c.node + "/" + leaf;
}
