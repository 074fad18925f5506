/**
 * The gateway's configuration (issue 7, requirement 6): its type, `validateGateway`, `mergeGateway` and the
 * mapping onto the broker's and the bridge's options.
 *
 * Same rules as the node's config (lib/node/config.ts): one JSON object, every problem as `path: message`,
 * unknown keys refused at every level, defaults filled, idempotent (a validated config validates again to
 * itself), so an override from Storage (`gateway.json`) is merged into the built-in config and validated again on
 * the device; on any error the built-in config stays in force.
 *
 * Written in the Espruino subset: it runs at build time and on the device.
 *
 * Shape (defaults in brackets):
 *   wifi          { ssid, password [""] } or null [null]; required where the board joins WiFi (ESP32)
 *   node          (required) the gateway's name; prefix ["espnode"]: its topics are `<prefix>/<node>/status|diag`
 *   listen        { port [1883] }
 *   limits        { clients [20], sessions [2 x clients], subscriptions [8 x clients], subscriptionsPerClient [8],
 *                   retained [64], retainedBytes [8192], queued [16], inflight [8], maxPacket [1024],
 *                   connectTimeoutMs [10000] }: BrokerOptions (lib/broker/types.ts), see brokerOptions()
 *   users         [{ username, password }] [[]]: with users, a client must log in as one of them (no anonymous
 *                 access); passwords are compared as plain text on the device (see gateway firmware)
 *   bridge        null [null] or { url: "mqtt://host[:1883]" | "mqtts://host[:8883]" (TLS boards only),
 *                 username [""], password [""], clientId [chip id, else node], keepalive [60], clean [false],
 *                 queue [32] messages and queueBytes [4096] held for upstream during an outage (each of the
 *                 bridge's two clients has an outbox of queueBytes: RAM), topics: [{ pattern, direction "in"|"out"|"both", qos [1], localPrefix [""],
 *                 remotePrefix [""] }] (1 to 16; lib/broker/bridge.ts) }
 *   sensors       the gateway's own sensors, as a node's ([] : none); intervalMs [60000] and filters [[]] with them
 *   diagIntervalMs [60000, 0 = off]: the diag line and `<prefix>/<node>/diag`
 */
import type { BrokerOptions } from "../broker/types";
import type { BridgeOptions, BridgeTopic } from "../broker/bridge";
import { matches } from "../broker/match";
import { bool, ident, int, isInt, isRec, mergeOverride, rec, Rec, str } from "./check";
import { BoardCaps, checkWifi, FilterConfig, INTERVAL_MAX_MS, INTERVAL_MIN_MS, NodeConfig, nodeTopic, parseBrokerUrl, SensorConfig, validate } from "./config";

export interface GatewayLimits {
  clients: number;
  sessions: number;
  subscriptions: number;
  subscriptionsPerClient: number;
  retained: number;
  retainedBytes: number;
  queued: number;
  inflight: number;
  maxPacket: number;
  connectTimeoutMs: number;
}

export interface GatewayUser {
  username: string;
  password: string;
}

export interface GatewayBridgeTopic {
  pattern: string;
  direction: "in" | "out" | "both";
  qos: number;
  localPrefix: string;
  remotePrefix: string;
}

export interface GatewayBridge {
  url: string;
  username: string;
  password: string;
  clientId: string;
  keepalive: number;
  clean: boolean;
  queue: number;
  queueBytes: number;
  topics: GatewayBridgeTopic[];
}

export interface GatewayConfig {
  wifi: { ssid: string; password: string } | null;
  node: string;
  prefix: string;
  listen: { port: number };
  limits: GatewayLimits;
  users: GatewayUser[];
  bridge: GatewayBridge | null;
  sensors: SensorConfig[];
  intervalMs: number;
  filters: FilterConfig[];
  diagIntervalMs: number;
}

export interface GatewayValidated {
  config: GatewayConfig;
  errors: string[];
}



const TOP_KEYS = ["wifi", "node", "prefix", "listen", "limits", "users", "bridge", "sensors", "intervalMs", "filters",
  "diagIntervalMs"];
const LIMIT_KEYS = ["clients", "sessions", "subscriptions", "subscriptionsPerClient", "retained", "retainedBytes",
  "queued", "inflight", "maxPacket", "connectTimeoutMs"];
const BRIDGE_KEYS = ["url", "username", "password", "clientId", "keepalive", "clean", "queue", "queueBytes", "topics"];
const TOPIC_KEYS = ["pattern", "direction", "qos", "localPrefix", "remotePrefix"];
const DIRECTIONS = ["in", "out", "both"];

function list(errs: string[], v: unknown, path: string, lo: number, hi: number): unknown[] | null {
  if (!Array.isArray(v) || v.length < lo || v.length > hi) {
    errs.push(path + ": must be a list of " + lo + " to " + hi + " entries");
    return null;
  }
  return v;
}

function checkListen(errs: string[], v: unknown): GatewayConfig["listen"] {
  const o = v === undefined ? {} : rec(errs, v, "listen", ["port"]) || {};
  return { port: int(errs, o.port, "listen.port", 1883, 1, 65535) };
}

function checkLimits(errs: string[], v: unknown): GatewayLimits {
  const o = v === undefined ? {} : rec(errs, v, "limits", LIMIT_KEYS) || {};
  const p = "limits.";
  const clients = int(errs, o.clients, p + "clients", 20, 1, 64);
  const l: GatewayLimits = {
    clients: clients,
    sessions: int(errs, o.sessions, p + "sessions", 2 * clients, clients, 256),
    subscriptions: int(errs, o.subscriptions, p + "subscriptions", 8 * clients, 1, 2048),
    subscriptionsPerClient: int(errs, o.subscriptionsPerClient, p + "subscriptionsPerClient", 8, 1, 64),
    retained: int(errs, o.retained, p + "retained", 64, 1, 1024),
    retainedBytes: int(errs, o.retainedBytes, p + "retainedBytes", 8192, 64, 262144),
    queued: int(errs, o.queued, p + "queued", 16, 1, 1000),
    inflight: int(errs, o.inflight, p + "inflight", 8, 1, 64),
    // 16 + 4 for the fixed header: the smallest packet that holds a CONNECT with a short client id and will
    maxPacket: int(errs, o.maxPacket, p + "maxPacket", 1024, 128, 65536),
    connectTimeoutMs: int(errs, o.connectTimeoutMs, p + "connectTimeoutMs", 10000, 1000, 120000),
  };
  if (l.inflight > l.queued) errs.push(p + "inflight: must not be above limits.queued (in-flight messages are queued ones)");
  return l;
}

function checkUsers(errs: string[], v: unknown): GatewayUser[] {
  const out: GatewayUser[] = [];
  if (v === undefined) return out;
  const a = list(errs, v, "users", 0, 16);
  if (!a) return out;
  for (let i = 0; i < a.length; i++) {
    const p = "users[" + i + "]";
    const o = rec(errs, a[i], p, ["username", "password"]);
    if (!o) continue;
    const u = str(errs, o.username, p + ".username", undefined, 64);
    if (typeof o.username == "string" && !u) errs.push(p + ".username: must not be empty");
    const pw = str(errs, o.password, p + ".password", undefined, 64);
    for (const x of out) if (u && x.username == u) errs.push(p + ".username: \"" + u + "\" is used twice");
    out.push({ username: u, password: pw });
  }
  return out;
}

/**
 * Whether `f` is a valid topic filter [MQTT-4.7.1-2] [MQTT-4.7.1-3] (`wild`) or a topic name without wildcards
 * (a prefix). Empty levels are allowed, as the spec allows them.
 */
function topicOk(f: string, wild: boolean): boolean {
  const lv = f.split("/");
  for (let i = 0; i < lv.length; i++) {
    const l = lv[i]!;
    if (l.indexOf("+") < 0 && l.indexOf("#") < 0) continue;
    if (!wild) return false;
    if (l == "+" || (l == "#" && i == lv.length - 1)) continue;
    return false;
  }
  return true;
}

function checkTopic(errs: string[], v: unknown, i: number): GatewayBridgeTopic | null {
  const p = "bridge.topics[" + i + "]";
  const o = rec(errs, v, p, TOPIC_KEYS);
  if (!o) return null;
  const pattern = str(errs, o.pattern, p + ".pattern", undefined, 128);
  if (typeof o.pattern == "string" && (!pattern || !topicOk(pattern, true))) {
    errs.push(p + ".pattern: must be a topic filter (+ as a whole level, # as the whole last level)");
  }
  const d = o.direction;
  if (typeof d != "string" || DIRECTIONS.indexOf(d) < 0) errs.push(p + ".direction: must be in, out or both");
  const t: GatewayBridgeTopic = {
    pattern: pattern,
    direction: (typeof d == "string" && DIRECTIONS.indexOf(d) >= 0 ? d : "out") as GatewayBridgeTopic["direction"],
    qos: int(errs, o.qos, p + ".qos", 1, 0, 2),
    localPrefix: str(errs, o.localPrefix, p + ".localPrefix", "", 64),
    remotePrefix: str(errs, o.remotePrefix, p + ".remotePrefix", "", 64),
  };
  if (!topicOk(t.localPrefix, false)) errs.push(p + ".localPrefix: must not contain + or #");
  if (!topicOk(t.remotePrefix, false)) errs.push(p + ".remotePrefix: must not contain + or #");
  return t;
}

function checkBridge(errs: string[], v: unknown, caps: BoardCaps, defId: string): GatewayBridge | null {
  if (v === undefined || v === null) return null;
  const o = rec(errs, v, "bridge", BRIDGE_KEYS);
  if (!o) return null;
  const url = str(errs, o.url, "bridge.url", undefined, 128);
  const u = parseBrokerUrl(url);
  if (typeof o.url == "string" && !u) errs.push("bridge.url: must be mqtt://host[:port] or mqtts://host[:port]");
  if (u && u.tls && !caps.tls) errs.push("bridge.url: mqtts:// needs TLS, which this board does not have");
  const user = str(errs, o.username, "bridge.username", "", 64);
  const pw = str(errs, o.password, "bridge.password", "", 64);
  if (pw && !user) errs.push("bridge.password: needs a username (MQTT 3.1.1 [MQTT-3.1.2-22])");
  const id = str(errs, o.clientId, "bridge.clientId", defId, 23);
  if (typeof o.clientId == "string" && !id) errs.push("bridge.clientId: must not be empty (the bridge keeps a persistent session)");
  const topics: GatewayBridgeTopic[] = [];
  const a = list(errs, o.topics, "bridge.topics", 1, 16);
  if (a) {
    for (let i = 0; i < a.length; i++) {
      const t = checkTopic(errs, a[i], i);
      if (t) topics.push(t);
    }
  }
  return {
    url: url, username: user, password: pw, clientId: id,
    keepalive: int(errs, o.keepalive, "bridge.keepalive", 60, 0, 65535),
    clean: bool(errs, o.clean, "bridge.clean", false),
    queue: int(errs, o.queue, "bridge.queue", 32, 1, 256),
    queueBytes: int(errs, o.queueBytes, "bridge.queueBytes", 4096, 1024, 65536),
    topics: topics,
  };
}

/** Keys of the node checks (lib/node/config.ts) that are the gateway's own sensors. */
const SENSOR_PATHS = /^(sensors|intervalMs|filters)\b/;

/**
 * The gateway's own sensors, checked as a node's (lib/node/config.ts validate: one set of rules for both), with
 * only their errors kept. No sensors ([] or absent): intervalMs and filters keep their defaults.
 */
function checkOwn(errs: string[], o: Rec, caps: BoardCaps, node: string, prefix: string): NodeConfig | null {
  const none = o.sensors === undefined || (Array.isArray(o.sensors) && !o.sensors.length);
  if (none) {
    if (Array.isArray(o.filters) && o.filters.length) errs.push("filters: the gateway has no sensors to filter");
    if (o.intervalMs !== undefined) int(errs, o.intervalMs, "intervalMs", 60000, INTERVAL_MIN_MS, INTERVAL_MAX_MS);
    return null;
  }
  const v = validate({
    broker: { url: "mqtt://127.0.0.1" }, node: node || "gateway", prefix: prefix || "espnode", sensors: o.sensors,
    intervalMs: o.intervalMs, filters: o.filters, diagIntervalMs: 0,
  }, { tls: caps.tls, i2c: caps.i2c, wire1: caps.wire1, net: "up", sim: caps.sim });
  for (const e of v.errors) if (SENSOR_PATHS.test(e)) errs.push(e);
  return v.config;
}

/**
 * Checks `obj` (parsed JSON) for a board with `caps`; `chipId` is the default bridge client id (else the node
 * name). Returns the config with the defaults filled and every error as `path: message`; the config is only
 * meaningful without errors.
 */
export function validateGateway(obj: unknown, caps: BoardCaps, chipId?: string): GatewayValidated {
  const errs: string[] = [];
  const o = rec(errs, obj, "", TOP_KEYS) || {};
  const node = ident(errs, o.node, "node", undefined);
  const prefix = ident(errs, o.prefix, "prefix", "espnode");
  const own = checkOwn(errs, o, caps, node, prefix);
  const diag = int(errs, o.diagIntervalMs, "diagIntervalMs", 60000, 0, INTERVAL_MAX_MS);
  if (diag > 0 && diag < INTERVAL_MIN_MS) errs.push("diagIntervalMs: must be 0 (off) or at least " + INTERVAL_MIN_MS);
  const config: GatewayConfig = {
    wifi: checkWifi(errs, o.wifi, caps),
    node: node,
    prefix: prefix,
    listen: checkListen(errs, o.listen),
    limits: checkLimits(errs, o.limits),
    users: checkUsers(errs, o.users),
    bridge: checkBridge(errs, o.bridge, caps, chipId || node),
    sensors: own ? own.sensors : [],
    intervalMs: own ? own.intervalMs : typeof o.intervalMs == "number" && isInt(o.intervalMs) ? o.intervalMs : 60000,
    filters: own ? own.filters : [],
    diagIntervalMs: diag,
  };
  return { config: config, errors: errs };
}

/**
 * Applies an override (JSON text, e.g. the Storage file `gateway.json`) to a validated `base`. The result is
 * validated as a whole; with any error the returned config is `base`, unchanged, and `errors` says why (paths
 * prefixed "override"). `null` in the override replaces (e.g. `"bridge": null` turns the bridge off).
 */
export function mergeGateway(base: GatewayConfig, overrideText: string, caps: BoardCaps, chipId?: string): GatewayValidated {
  return mergeOverride(base, overrideText, (o) => validateGateway(o, caps, chipId));
}

/** `<prefix>/<node>/<leaf>`: the gateway's own topics (`status`, `diag`, and `state` for its sensors). */
export const gatewayTopic: (c: GatewayConfig, leaf: string) => string = nodeTopic;

/**
 * The broker's options for these limits (lib/broker/types.ts). The bridge's local connection is one more client
 * and session: it does not take a node's place.
 */
export function brokerOptions(c: GatewayConfig): BrokerOptions {
  const l = c.limits;
  // in-memory local connections beside the nodes': the bridge's, and the one of the gateway's own sensors
  const b = (c.bridge ? 1 : 0) + (c.sensors.length ? 1 : 0);
  return {
    maxClients: l.clients + b, maxSessions: l.sessions + b, maxPacket: l.maxPacket, maxSubsPerClient: l.subscriptionsPerClient,
    maxSubs: l.subscriptions, maxRetained: l.retained, maxRetainedBytes: l.retainedBytes, maxQueue: l.queued,
    maxInflight: l.inflight, connectTimeout: l.connectTimeoutMs,
  };
}

/**
 * Where the local topic `topic` goes upstream: the remote topic of the first `out`/`both` bridge topic that
 * carries it, or null when none does.
 */
export function upstreamTopic(b: GatewayBridge, topic: string): string | null {
  for (const t of b.topics) {
    if (t.direction == "in" || topic.indexOf(t.localPrefix) != 0) continue;
    if (matches(t.localPrefix + t.pattern, topic)) return t.remotePrefix + topic.slice(t.localPrefix.length);
  }
  return null;
}

/**
 * The bridge's options (lib/broker/bridge.ts) for this config; `will` is the upstream will (the gateway's
 * status going `offline` there), or null; `up` is called each time the upstream connection is made.
 */
export function bridgeOptions(b: GatewayBridge, will: string | null, log: (l: string) => void, up?: () => void): BridgeOptions {
  const u = parseBrokerUrl(b.url)!;
  const topics: BridgeTopic[] = [];
  for (const t of b.topics) {
    topics.push({ pattern: t.pattern, direction: t.direction, qos: t.qos, localPrefix: t.localPrefix, remotePrefix: t.remotePrefix });
  }
  return {
    remote: {
      host: u.host, port: u.port, clientId: b.clientId, clean: b.clean, keepalive: b.keepalive,
      username: b.username || undefined, password: b.password || undefined,
      will: will ? { topic: will, payload: "offline", qos: 1, retain: true } : undefined,
    },
    topics: topics, queue: b.queue, queueBytes: b.queueBytes, log: log, up: up,
  };
}

/**
 * The node config of the gateway's own sensors, for lib/node/app.ts's NodeApp running inside the gateway over an
 * in-memory connection to the local broker; null without sensors. Its diagnostics are the gateway's (off here).
 */
export function ownNodeConfig(c: GatewayConfig): NodeConfig | null {
  if (!c.sensors.length) return null;
  return {
    wifi: null, broker: { url: "mqtt://127.0.0.1", username: "", password: "" }, clientId: c.node + "-sensors", prefix: c.prefix,
    node: c.node, sensors: c.sensors, intervalMs: c.intervalMs, diagIntervalMs: 0, qos: 0, retain: false,
    filters: c.filters, queue: { size: 8, storage: false }, battery: null,
  };
}
