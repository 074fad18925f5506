/**
 * The Node broker's JSON config: loaded, validated field by field, and refused with a message naming the field
 * (`broker.json: limits.maxClients: must be an integer >= 1`). Unknown keys are refused too, so a typo is not
 * silently a default. Every field is optional:
 *
 * ```json
 * { "host": "127.0.0.1", "port": 1883, "wsPort": 8080, "tlsPort": 8883,
 *   "tls": { "cert": "path.pem", "key": "path.pem" },
 *   "limits": { "maxClients": 64, "maxSessions": 128, "maxPacket": 65536, "maxSubsPerClient": 32, "maxSubs": 1024,
 *               "maxRetained": 256, "maxRetainedBytes": 65536, "maxQueue": 100, "maxInflight": 20, "maxInbound": 32,
 *               "connectTimeout": 10000, "outbound": 65536 },
 *   "sysInterval": 10000,
 *   "anonymous": false,
 *   "users": { "alice": "scrypt$16384$8$1$<saltB64>$<hashB64>" },
 *   "acl": [ { "user": "alice", "access": "readwrite", "topic": "home/%u/#" }, { "access": "read", "topic": "$SYS/#" } ],
 *   "persistence": { "file": "broker.db.json", "interval": 60000 },
 *   "bridges": [ { "url": "mqtt://127.0.0.1:1884", "clientId": "gw1", "username": "u", "password": "p", "clean": false,
 *                  "queue": 100, "topics": [ { "pattern": "sensors/#", "direction": "out", "qos": 1,
 *                                              "localPrefix": "", "remotePrefix": "site1/" } ] } ] }
 * ```
 *
 * - `host` (default 127.0.0.1) and `port` (default 1883) are the plain MQTT listener; `wsPort` adds MQTT over
 *   WebSocket, `tlsPort` MQTT over TLS (needs `tls.cert` and `tls.key`, PEM files). Port 0: any free port.
 * - `limits`: `outbound` is each connection's bound on unsent bytes (at least `maxPacket`); the others are
 *   lib/broker/types.ts's BrokerOptions of the same names (absent: the broker's defaults). `sysInterval` (ms, 0:
 *   off) too.
 * - `users`: name -> stored password hash (`npm run broker -- passwd NAME` makes one; see passwd.ts).
 *   `anonymous` (clients without a user name) defaults to true when there are no users, false once there are.
 * - `acl`: rules in order (lib/broker/acl.ts); `user` absent: anyone; `%u`/`%c` in a topic: the user name /
 *   client id. Absent: every accepted client may do everything.
 * - `persistence`: retained messages and persistent sessions saved to `file` every `interval` ms (default
 *   60000; 0: only at shutdown) and at shutdown, restored at start.
 * - `bridges`: connections to other brokers, validated here and run elsewhere (defaults: `clean` false,
 *   `queue` 100, `qos` 0, prefixes "").
 *
 * Relative paths (`tls.*`, `persistence.file`) resolve against the config file's folder.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { BrokerOptions } from "../../lib/broker/types";
import { parseStored } from "./passwd";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Access = "read" | "write" | "readwrite" | "deny";

/** As lib/broker/acl.ts's AclRule. */
export interface AclRuleConfig {
  user?: string;
  access: Access;
  topic: string;
}

/** The broker limits: BrokerOptions fields of the same names (undefined: the broker's default). */
export type Limits = Pick<BrokerOptions, "maxClients" | "maxSessions" | "maxPacket" | "maxSubsPerClient" | "maxSubs" |
  "maxRetained" | "maxRetainedBytes" | "maxQueue" | "maxInflight" | "maxInbound" | "connectTimeout">;

export type Direction = "in" | "out" | "both";

export interface BridgeTopic {
  pattern: string;
  direction: Direction;
  qos: 0 | 1 | 2;
  localPrefix: string;
  remotePrefix: string;
}

export interface BridgeConfig {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  clean: boolean;
  queue: number;
  topics: BridgeTopic[];
}

export interface Config {
  host: string;
  port: number;
  wsPort?: number;
  tlsPort?: number;
  /** Absolute paths. */
  tls?: { cert: string; key: string };
  limits: Limits;
  /** Per-connection bound on unsent bytes, for the listeners (default 65,536). */
  outbound: number;
  sysInterval?: number;
  anonymous: boolean;
  /** name -> stored password hash. */
  users: Record<string, string>;
  /** null: no ACL (full access for every accepted client). */
  acl: AclRuleConfig[] | null;
  /** `file` absolute. */
  persistence?: { file: string; interval: number };
  bridges: BridgeConfig[];
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 1883;
export const DEFAULT_OUTBOUND = 65536;
export const DEFAULT_PERSIST_INTERVAL = 60000;
const DEFAULT_MAX_PACKET = 65536;
/** Largest MQTT packet: 1 byte of type, 4 of remaining length, 268,435,455 bytes [MQTT-2.2.3]. */
const MQTT_MAX_PACKET = 268435460;
const MAX_INT = 0x7fffffff;

type Obj = Record<string, unknown>;

/** Walks a parsed JSON value, throwing ConfigError("<name>: <field>: <why>"). */
class Check {
  constructor(private readonly name: string, readonly dir: string) {}

  fail(field: string, why: string): never {
    throw new ConfigError(this.name + ": " + (field ? field + ": " : "") + why);
  }

  obj(v: unknown, field: string, keys: readonly string[]): Obj {
    if (typeof v != "object" || v === null || Array.isArray(v)) this.fail(field, "must be an object");
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.fail(join(field, k), "unknown key (expected one of: " + keys.join(", ") + ")");
    return v as Obj;
  }

  arr(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, "must be an array");
    return v;
  }

  int(v: unknown, field: string, min: number, max = MAX_INT): number {
    if (typeof v != "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, "must be an integer " + (max == MAX_INT ? ">= " + min : "from " + min + " to " + max));
    }
    return v;
  }

  str(v: unknown, field: string, empty = false): string {
    if (typeof v != "string") this.fail(field, "must be a string");
    if (!empty && v.length == 0) this.fail(field, "must not be empty");
    if (v.includes("\0")) this.fail(field, "must not contain U+0000");
    return v;
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v != "boolean") this.fail(field, "must be true or false");
    return v;
  }

  oneOf<T extends string>(v: unknown, field: string, options: readonly T[]): T {
    if (typeof v != "string" || !(options as readonly string[]).includes(v)) this.fail(field, "must be one of " + options.map((o) => JSON.stringify(o)).join(", "));
    return v as T;
  }

  file(v: unknown, field: string): string {
    return path.resolve(this.dir, this.str(v, field));
  }

  /** A topic filter: `#` only as the whole last level, `+` only as a whole level [MQTT-4.7.1-2] [MQTT-4.7.1-3]. */
  filter(v: unknown, field: string): string {
    const f = this.str(v, field);
    const levels = f.split("/");
    levels.forEach((l, i) => {
      if (l.includes("#") && (l != "#" || i != levels.length - 1)) this.fail(field, "'#' must be a whole level and the last one [MQTT-4.7.1-2]");
      if (l.includes("+") && l != "+") this.fail(field, "'+' must be a whole level [MQTT-4.7.1-3]");
    });
    if (Buffer.byteLength(f) > 65535) this.fail(field, "longer than 65,535 bytes");
    return f;
  }

  /** A topic prefix for bridges: no wildcards. */
  prefix(v: unknown, field: string): string {
    const p = this.str(v, field, true);
    if (/[#+]/.test(p)) this.fail(field, "must not contain wildcards");
    return p;
  }
}

const join = (a: string, b: string): string => (a ? a + "." + b : b);

const LIMIT_MIN: { readonly [k in keyof Limits]-?: readonly [number, number] } = {
  maxClients: [1, MAX_INT],
  maxSessions: [1, MAX_INT],
  maxPacket: [32, MQTT_MAX_PACKET],
  maxSubsPerClient: [1, MAX_INT],
  maxSubs: [1, MAX_INT],
  maxRetained: [0, MAX_INT],
  maxRetainedBytes: [0, MAX_INT],
  maxQueue: [1, MAX_INT],
  maxInflight: [1, 65535],
  maxInbound: [1, 65535],
  connectTimeout: [1, MAX_INT],
};
const LIMIT_KEYS = [...Object.keys(LIMIT_MIN), "outbound"];

function limits(c: Check, v: unknown): { limits: Limits; outbound: number } {
  const out: Limits = {};
  if (v === undefined) return { limits: out, outbound: DEFAULT_OUTBOUND };
  const o = c.obj(v, "limits", LIMIT_KEYS);
  for (const k of Object.keys(LIMIT_MIN) as (keyof Limits)[]) {
    const [min, max] = LIMIT_MIN[k];
    if (o[k] !== undefined) out[k] = c.int(o[k], "limits." + k, min, max);
  }
  const maxPacket = out.maxPacket ?? DEFAULT_MAX_PACKET;
  const outbound = o.outbound === undefined ? Math.max(DEFAULT_OUTBOUND, maxPacket) : c.int(o.outbound, "limits.outbound", 1);
  // the broker writes a packet only when it fits whole: a bound below the largest packet would stall it
  if (outbound < maxPacket) c.fail("limits.outbound", "must be >= limits.maxPacket (" + maxPacket + ")");
  return { limits: out, outbound };
}

function users(c: Check, v: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (v === undefined) return out;
  const o = c.obj(v, "users", Object.keys(v as Obj ?? {}));
  for (const name of Object.keys(o)) {
    const field = "users." + name;
    if (name.length == 0) c.fail("users", "a user name must not be empty");
    if (Buffer.byteLength(name) > 65535) c.fail(field, "user name longer than 65,535 bytes");
    const stored = c.str(o[name], field);
    const parsed = parseStored(stored);
    if (typeof parsed == "string") c.fail(field, parsed + "; make one with `npm run broker -- passwd " + name + "`");
    out[name] = stored;
  }
  return out;
}

const ACCESS: readonly Access[] = ["read", "write", "readwrite", "deny"];

function acl(c: Check, v: unknown, known: Record<string, string>): AclRuleConfig[] | null {
  if (v === undefined || v === null) return null;
  return c.arr(v, "acl").map((r, i) => {
    const f = "acl[" + i + "]";
    const o = c.obj(r, f, ["user", "access", "topic"]);
    const rule: AclRuleConfig = { access: c.oneOf(o.access, f + ".access", ACCESS), topic: c.filter(o.topic, f + ".topic") };
    if (o.user !== undefined) {
      rule.user = c.str(o.user, f + ".user");
      if (!Object.prototype.hasOwnProperty.call(known, rule.user)) c.fail(f + ".user", "no user " + JSON.stringify(rule.user) + " in users");
    }
    return rule;
  });
}

function tlsFiles(c: Check, v: unknown): { cert: string; key: string } | undefined {
  if (v === undefined) return undefined;
  const o = c.obj(v, "tls", ["cert", "key"]);
  if (o.cert === undefined) c.fail("tls.cert", "missing (a PEM certificate file)");
  if (o.key === undefined) c.fail("tls.key", "missing (a PEM private key file)");
  return { cert: c.file(o.cert, "tls.cert"), key: c.file(o.key, "tls.key") };
}

function persistence(c: Check, v: unknown): Config["persistence"] {
  if (v === undefined) return undefined;
  const o = c.obj(v, "persistence", ["file", "interval"]);
  if (o.file === undefined) c.fail("persistence.file", "missing");
  return {
    file: c.file(o.file, "persistence.file"),
    interval: o.interval === undefined ? DEFAULT_PERSIST_INTERVAL : c.int(o.interval, "persistence.interval", 0),
  };
}

const BRIDGE_SCHEMES = ["mqtt:", "mqtts:", "ws:", "wss:"];

function bridgeTopic(c: Check, v: unknown, f: string): BridgeTopic {
  const o = c.obj(v, f, ["pattern", "direction", "qos", "localPrefix", "remotePrefix"]);
  return {
    pattern: c.filter(o.pattern, f + ".pattern"),
    direction: c.oneOf(o.direction ?? "both", f + ".direction", ["in", "out", "both"] as const),
    qos: (o.qos === undefined ? 0 : c.int(o.qos, f + ".qos", 0, 2)) as 0 | 1 | 2,
    localPrefix: o.localPrefix === undefined ? "" : c.prefix(o.localPrefix, f + ".localPrefix"),
    remotePrefix: o.remotePrefix === undefined ? "" : c.prefix(o.remotePrefix, f + ".remotePrefix"),
  };
}

function bridgeUrl(c: Check, v: unknown, f: string): string {
  const s = c.str(v, f);
  let u: URL;
  try { u = new URL(s); } catch { return c.fail(f, "not a URL"); }
  if (!BRIDGE_SCHEMES.includes(u.protocol)) c.fail(f, "scheme must be one of " + BRIDGE_SCHEMES.map((p) => p + "//").join(", "));
  if (!u.hostname) c.fail(f, "needs a host");
  return s;
}

function bridge(c: Check, v: unknown, i: number): BridgeConfig {
  const f = "bridges[" + i + "]";
  const o = c.obj(v, f, ["url", "clientId", "username", "password", "clean", "queue", "topics"]);
  if (o.url === undefined) c.fail(f + ".url", "missing");
  if (o.clientId === undefined) c.fail(f + ".clientId", "missing");
  if (o.topics === undefined) c.fail(f + ".topics", "missing");
  const b: BridgeConfig = {
    url: bridgeUrl(c, o.url, f + ".url"),
    clientId: c.str(o.clientId, f + ".clientId"),
    clean: o.clean === undefined ? false : c.bool(o.clean, f + ".clean"),
    queue: o.queue === undefined ? 100 : c.int(o.queue, f + ".queue", 0),
    topics: c.arr(o.topics, f + ".topics").map((t, j) => bridgeTopic(c, t, f + ".topics[" + j + "]")),
  };
  if (b.topics.length == 0) c.fail(f + ".topics", "must not be empty");
  if (o.username !== undefined) b.username = c.str(o.username, f + ".username");
  if (o.password !== undefined) {
    // [MQTT-3.1.2-22]: a password needs a user name
    if (b.username === undefined) c.fail(f + ".password", "needs a username [MQTT-3.1.2-22]");
    b.password = c.str(o.password, f + ".password", true);
  }
  return b;
}

const TOP_KEYS = ["host", "port", "wsPort", "tlsPort", "tls", "limits", "sysInterval", "anonymous", "users", "acl", "persistence", "bridges"];

function ports(c: Check, o: Obj, cfg: Config): void {
  if (o.port !== undefined) cfg.port = c.int(o.port, "port", 0, 65535);
  if (o.wsPort !== undefined) cfg.wsPort = c.int(o.wsPort, "wsPort", 0, 65535);
  if (o.tlsPort !== undefined) cfg.tlsPort = c.int(o.tlsPort, "tlsPort", 0, 65535);
  if (cfg.tlsPort !== undefined && !cfg.tls) c.fail("tlsPort", "needs tls.cert and tls.key");
  checkDistinct(cfg, (field, why) => c.fail(field, why));
}

/** Two listeners on one fixed port cannot both bind: said before trying. Port 0 (any free port) is never a clash. */
export function checkDistinct(cfg: Config, fail: (field: string, why: string) => never): void {
  if (cfg.wsPort && cfg.wsPort == cfg.port) fail("wsPort", "must differ from port (" + cfg.port + ")");
  if (cfg.tlsPort && (cfg.tlsPort == cfg.port || cfg.tlsPort == cfg.wsPort)) fail("tlsPort", "must differ from port and wsPort");
}

/** Checks a parsed config (`name` goes in front of every message; relative paths resolve against `dir`). */
export function validateConfig(obj: unknown, name: string, dir = path.dirname(path.resolve(name))): Config {
  const c = new Check(name, dir);
  const o = c.obj(obj, "", TOP_KEYS);
  const host = o.host === undefined ? DEFAULT_HOST : c.str(o.host, "host");
  const l = limits(c, o.limits);
  const u = users(c, o.users);
  const cfg: Config = {
    host, port: DEFAULT_PORT, limits: l.limits, outbound: l.outbound,
    anonymous: o.anonymous === undefined ? Object.keys(u).length == 0 : c.bool(o.anonymous, "anonymous"),
    users: u, acl: acl(c, o.acl, u), bridges: o.bridges === undefined ? [] : c.arr(o.bridges, "bridges").map((b, i) => bridge(c, b, i)),
  };
  const tls = tlsFiles(c, o.tls);
  if (tls) cfg.tls = tls;
  ports(c, o, cfg);
  if (o.sysInterval !== undefined) cfg.sysInterval = c.int(o.sysInterval, "sysInterval", 0);
  const p = persistence(c, o.persistence);
  if (p) cfg.persistence = p;
  return cfg;
}

/** Reads and checks a config file (messages start with `file` as given). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file + ": cannot read (" + ((e as NodeJS.ErrnoException).code ?? String(e)) + ")");
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file + ": not valid JSON (" + (e as Error).message + ")");
  }
  return validateConfig(obj, file);
}

/** The config of a broker given no file: defaults only. */
export function defaultConfig(): Config {
  return validateConfig({}, "(defaults)", process.cwd());
}
