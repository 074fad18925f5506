/**
 * The Node broker's config (sim/broker/config.ts), password hashes (passwd.ts) and snapshot file (persist.ts):
 * every field's refusal message, defaults, path resolution; hash round trips and refusals; atomic saves and
 * damaged files named in the error.
 */
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Snapshot } from "../lib/broker/types";
import { ConfigError, loadConfig, validateConfig } from "../sim/broker/config";
import { authOf } from "../sim/broker/main";
import { hashPassword, makeVerify, parseStored, verifyPassword } from "../sim/broker/passwd";
import { load, PersistError, save } from "../sim/broker/persist";

const dir = mkdtempSync(path.join(os.tmpdir(), "broker-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// one hash for the whole file: scrypt is slow on purpose
const ALICE = hashPassword("wonderland");
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

const refuse = (obj: unknown): string => {
  try {
    validateConfig(obj, "broker.json", dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("accepted: " + JSON.stringify(obj));
};

describe("config: refusals name the field", () => {
  const cases: [string, unknown, string][] = [
    ["not an object", [], "broker.json: must be an object"],
    ["unknown top-level key", { prot: 1 }, "broker.json: prot: unknown key"],
    ["host", { host: 5 }, "broker.json: host: must be a string"],
    ["host empty", { host: "" }, "broker.json: host: must not be empty"],
    ["port", { port: 65536 }, "broker.json: port: must be an integer from 0 to 65535"],
    ["port not integer", { port: 1.5 }, "broker.json: port: must be an integer from 0 to 65535"],
    ["port as string", { port: "1883" }, "broker.json: port: must be an integer from 0 to 65535"],
    ["wsPort", { wsPort: -1 }, "broker.json: wsPort: must be an integer from 0 to 65535"],
    ["wsPort clash", { port: 1883, wsPort: 1883 }, "broker.json: wsPort: must differ from port (1883)"],
    ["tlsPort without tls", { tlsPort: 8883 }, "broker.json: tlsPort: needs tls.cert and tls.key"],
    ["tlsPort", { tlsPort: "x", tls: { cert: "c", key: "k" } }, "broker.json: tlsPort: must be an integer from 0 to 65535"],
    ["tls not object", { tls: "c.pem" }, "broker.json: tls: must be an object"],
    ["tls.cert missing", { tls: { key: "k" } }, "broker.json: tls.cert: missing"],
    ["tls.key missing", { tls: { cert: "c" } }, "broker.json: tls.key: missing"],
    ["tls unknown", { tls: { cert: "c", key: "k", ca: "x" } }, "broker.json: tls.ca: unknown key"],
    ["limits unknown", { limits: { maxclients: 3 } }, "broker.json: limits.maxclients: unknown key"],
    ["limits.maxClients", { limits: { maxClients: 0 } }, "broker.json: limits.maxClients: must be an integer >= 1"],
    ["limits.maxSessions", { limits: { maxSessions: 2.5 } }, "broker.json: limits.maxSessions: must be an integer >= 1"],
    ["limits.maxPacket", { limits: { maxPacket: 8 } }, "broker.json: limits.maxPacket: must be an integer from 32 to 268435460"],
    ["limits.maxSubsPerClient", { limits: { maxSubsPerClient: 0 } }, "broker.json: limits.maxSubsPerClient: must be an integer >= 1"],
    ["limits.maxSubs", { limits: { maxSubs: null } }, "broker.json: limits.maxSubs: must be an integer >= 1"],
    ["limits.maxRetained", { limits: { maxRetained: -1 } }, "broker.json: limits.maxRetained: must be an integer >= 0"],
    ["limits.maxRetainedBytes", { limits: { maxRetainedBytes: "1k" } }, "broker.json: limits.maxRetainedBytes: must be an integer >= 0"],
    ["limits.maxQueue", { limits: { maxQueue: 0 } }, "broker.json: limits.maxQueue: must be an integer >= 1"],
    ["limits.maxInflight", { limits: { maxInflight: 70000 } }, "broker.json: limits.maxInflight: must be an integer from 1 to 65535"],
    ["limits.maxInbound", { limits: { maxInbound: 0 } }, "broker.json: limits.maxInbound: must be an integer from 1 to 65535"],
    ["limits.connectTimeout", { limits: { connectTimeout: 0 } }, "broker.json: limits.connectTimeout: must be an integer >= 1"],
    ["limits.outbound", { limits: { outbound: 0 } }, "broker.json: limits.outbound: must be an integer >= 1"],
    ["limits.outbound below maxPacket", { limits: { maxPacket: 4096, outbound: 1024 } }, "broker.json: limits.outbound: must be >= limits.maxPacket (4096)"],
    ["sysInterval", { sysInterval: -5 }, "broker.json: sysInterval: must be an integer >= 0"],
    ["anonymous", { anonymous: "no" }, "broker.json: anonymous: must be true or false"],
    ["users", { users: [] }, "broker.json: users: must be an object"],
    ["users.x not a hash", { users: { bob: "secret" } }, "broker.json: users.bob: not a password hash"],
    ["users.x bad scrypt", { users: { bob: "scrypt$1000$8$1$AAAA$AAAA" } }, "broker.json: users.bob: scrypt N must be a power of 2 >= 2"],
    ["users.x bad pbkdf2", { users: { bob: "pbkdf2$0$AAAA$AAAA" } }, "broker.json: users.bob: pbkdf2 iterations must be an integer"],
    ["users.x not base64", { users: { bob: "pbkdf2$10$!!$AAAA" } }, "broker.json: users.bob: pbkdf2 salt and hash must be base64"],
    ["acl", { acl: {} }, "broker.json: acl: must be an array"],
    ["acl[i].access", { acl: [{ access: "all", topic: "#" }] }, "broker.json: acl[0].access: must be one of \"read\", \"write\", \"readwrite\", \"deny\""],
    ["acl[i].topic missing", { acl: [{ access: "read" }] }, "broker.json: acl[0].topic: must be a string"],
    ["acl[i].topic #", { acl: [{ access: "read", topic: "a/#/b" }] }, "broker.json: acl[0].topic: '#' must be a whole level and the last one [MQTT-4.7.1-2]"],
    ["acl[i].topic +", { acl: [{ access: "read", topic: "a/b+" }] }, "broker.json: acl[0].topic: '+' must be a whole level [MQTT-4.7.1-3]"],
    ["acl[i].user unknown", { acl: [{ user: "bob", access: "read", topic: "#" }] }, "broker.json: acl[0].user: no user \"bob\" in users"],
    ["acl[i] unknown key", { acl: [{ access: "read", topic: "#", pattern: 1 }] }, "broker.json: acl[0].pattern: unknown key"],
    ["persistence.file", { persistence: {} }, "broker.json: persistence.file: missing"],
    ["persistence.interval", { persistence: { file: "x", interval: -1 } }, "broker.json: persistence.interval: must be an integer >= 0"],
    ["persistence unknown", { persistence: { file: "x", every: 1 } }, "broker.json: persistence.every: unknown key"],
    ["bridges", { bridges: {} }, "broker.json: bridges: must be an array"],
    ["bridges[i].url missing", { bridges: [{ clientId: "g", topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].url: missing"],
    ["bridges[i].url scheme", { bridges: [{ url: "http://h:1", clientId: "g", topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].url: scheme must be one of mqtt://, mqtts://, ws://, wss://"],
    ["bridges[i].url bad", { bridges: [{ url: "not a url", clientId: "g", topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].url: not a URL"],
    ["bridges[i].clientId", { bridges: [{ url: "mqtt://h", clientId: "", topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].clientId: must not be empty"],
    ["bridges[i].clean", { bridges: [{ url: "mqtt://h", clientId: "g", clean: 0, topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].clean: must be true or false"],
    ["bridges[i].queue", { bridges: [{ url: "mqtt://h", clientId: "g", queue: -1, topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].queue: must be an integer >= 0"],
    ["bridges[i].password alone", { bridges: [{ url: "mqtt://h", clientId: "g", password: "p", topics: [{ pattern: "#" }] }] }, "broker.json: bridges[0].password: needs a username [MQTT-3.1.2-22]"],
    ["bridges[i].topics empty", { bridges: [{ url: "mqtt://h", clientId: "g", topics: [] }] }, "broker.json: bridges[0].topics: must not be empty"],
    ["bridges[i].topics[j].pattern", { bridges: [{ url: "mqtt://h", clientId: "g", topics: [{ pattern: "a#" }] }] }, "broker.json: bridges[0].topics[0].pattern: '#' must be a whole level"],
    ["bridges[i].topics[j].direction", { bridges: [{ url: "mqtt://h", clientId: "g", topics: [{ pattern: "#", direction: "up" }] }] }, "broker.json: bridges[0].topics[0].direction: must be one of \"in\", \"out\", \"both\""],
    ["bridges[i].topics[j].qos", { bridges: [{ url: "mqtt://h", clientId: "g", topics: [{ pattern: "#", qos: 3 }] }] }, "broker.json: bridges[0].topics[0].qos: must be an integer from 0 to 2"],
    ["bridges[i].topics[j].remotePrefix", { bridges: [{ url: "mqtt://h", clientId: "g", topics: [{ pattern: "#", remotePrefix: "a/+/" }] }] }, "broker.json: bridges[0].topics[0].remotePrefix: must not contain wildcards"],
    ["bridges[i] unknown key", { bridges: [{ url: "mqtt://h", clientId: "g", topics: [{ pattern: "#" }], keepalive: 5 }] }, "broker.json: bridges[0].keepalive: unknown key"],
  ];
  for (const [what, obj, msg] of cases) {
    it(what, () => expect(refuse(obj)).toContain(msg));
  }
});

describe("config: accepted", () => {
  it("defaults: loopback, 1883, anonymous, no ACL, outbound 64 KiB", () => {
    const c = validateConfig({}, "broker.json", dir);
    expect(c).toMatchObject({ host: "127.0.0.1", port: 1883, anonymous: true, acl: null, outbound: 65536, bridges: [], limits: {} });
    expect(c.wsPort).toBeUndefined();
    expect(c.persistence).toBeUndefined();
  });

  it("the full example, with relative paths resolved against the config's folder", () => {
    const example = {
      host: "127.0.0.1", port: 1883, wsPort: 8080, tlsPort: 8883,
      tls: { cert: "path.pem", key: "/abs/key.pem" },
      limits: { maxClients: 64, maxSessions: 128, maxPacket: 65536, maxSubsPerClient: 32, maxSubs: 1024, maxRetained: 256,
        maxRetainedBytes: 65536, maxQueue: 100, maxInflight: 20, maxInbound: 32, connectTimeout: 10000, outbound: 65536 },
      sysInterval: 10000,
      anonymous: false,
      users: { alice: ALICE },
      acl: [{ user: "alice", access: "readwrite", topic: "home/%u/#" }, { access: "read", topic: "$SYS/#" }],
      persistence: { file: "broker.db.json", interval: 60000 },
      bridges: [{ url: "mqtt://127.0.0.1:1884", clientId: "gw1", username: "u", password: "p", clean: false, queue: 100,
        topics: [{ pattern: "sensors/#", direction: "out", qos: 1, localPrefix: "", remotePrefix: "site1/" }] }],
    };
    writeFileSync(path.join(dir, "broker.json"), JSON.stringify(example));
    const c = loadConfig(path.join(dir, "broker.json"));
    expect(c.tls).toEqual({ cert: path.join(dir, "path.pem"), key: "/abs/key.pem" });
    expect(c.persistence).toEqual({ file: path.join(dir, "broker.db.json"), interval: 60000 });
    expect(c.limits).toEqual({ ...example.limits, outbound: undefined });
    expect(c.outbound).toBe(65536);
    expect([c.port, c.wsPort, c.tlsPort, c.sysInterval, c.anonymous]).toEqual([1883, 8080, 8883, 10000, false]);
    expect(c.users).toEqual({ alice: ALICE });
    expect(c.acl).toEqual(example.acl);
    expect(c.bridges).toEqual(example.bridges);
  });

  it("anonymous: true without users, false once there are users, unless said", () => {
    expect(validateConfig({ users: { alice: ALICE } }, "b", dir).anonymous).toBe(false);
    expect(validateConfig({ users: { alice: ALICE }, anonymous: true }, "b", dir).anonymous).toBe(true);
    expect(validateConfig({ users: {} }, "b", dir).anonymous).toBe(true);
  });

  it("bridge defaults: clean false, queue 100, direction both, qos 0, prefixes empty", () => {
    const c = validateConfig({ bridges: [{ url: "mqtts://h:8883", clientId: "g", topics: [{ pattern: "a/+" }] }] }, "b", dir);
    expect(c.bridges[0]).toEqual({ url: "mqtts://h:8883", clientId: "g", clean: false, queue: 100,
      topics: [{ pattern: "a/+", direction: "both", qos: 0, localPrefix: "", remotePrefix: "" }] });
  });

  it("outbound grows with maxPacket when not given; persistence interval defaults to 60 s", () => {
    const c = validateConfig({ limits: { maxPacket: 200000 }, persistence: { file: "db.json" } }, "b", dir);
    expect(c.outbound).toBe(200000);
    expect(c.persistence!.interval).toBe(60000);
  });

  it("loadConfig: a missing file and bad JSON are named", () => {
    expect(() => loadConfig(path.join(dir, "none.json"))).toThrow(/none\.json: cannot read \(ENOENT\)/);
    writeFileSync(path.join(dir, "bad.json"), "{ port: 1 }");
    expect(() => loadConfig(path.join(dir, "bad.json"))).toThrow(/bad\.json: not valid JSON/);
  });
});

describe("passwd", () => {
  it("scrypt round trip: the right password matches, a wrong one does not; string or bytes", () => {
    expect(ALICE).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(verifyPassword(ALICE, "wonderland")).toBe(true);
    expect(verifyPassword(ALICE, bytes("wonderland"))).toBe(true);
    expect(verifyPassword(ALICE, "Wonderland")).toBe(false);
    expect(verifyPassword(ALICE, "")).toBe(false);
  });

  it("a new salt each time", () => {
    const a = hashPassword("x"), b = hashPassword("x");
    expect(a).not.toBe(b);
    expect(verifyPassword(a, "x") && verifyPassword(b, "x")).toBe(true);
  });

  it("bytes that are not UTF-8 (a CONNECT password is binary data)", () => {
    const pw = new Uint8Array([0xff, 0x00, 0xfe, 0x80]);
    const h = hashPassword(pw);
    expect(verifyPassword(h, pw)).toBe(true);
    expect(verifyPassword(h, new Uint8Array([0xff, 0x00, 0xfe]))).toBe(false);
  });

  it("pbkdf2$iterations$salt$hash (SHA-256) is accepted", () => {
    const salt = randomBytes(12);
    const stored = "pbkdf2$1000$" + salt.toString("base64") + "$" + pbkdf2Sync("pw", salt, 1000, 32, "sha256").toString("base64");
    expect(typeof parseStored(stored)).toBe("object");
    expect(verifyPassword(stored, "pw")).toBe(true);
    expect(verifyPassword(stored, "pW")).toBe(false);
  });

  it("a malformed stored form never matches", () => {
    expect(verifyPassword("plain", "plain")).toBe(false);
    expect(verifyPassword("scrypt$16384$8$1$$", "")).toBe(false);
    expect(typeof parseStored("scrypt$3$8$1$AAAA$AAAA")).toBe("string");
  });

  it("makeVerify: unknown user and null password refused; a remembered match does not hide a wrong password", () => {
    const v = makeVerify({ alice: ALICE });
    expect(v("alice", bytes("wonderland"))).toBe(true);
    expect(v("alice", bytes("wonderland"))).toBe(true); // remembered
    expect(v("alice", bytes("wrong"))).toBe(false);
    expect(v("alice", null)).toBe(false);
    expect(v("bob", bytes("wonderland"))).toBe(false);
    expect(v("__proto__", bytes("x"))).toBe(false);
  });

  it("wired into lib/broker/acl.ts: login codes 0, 4 and 5", () => {
    const c = validateConfig({ users: { alice: ALICE }, acl: [{ user: "alice", access: "readwrite", topic: "home/%u/#" }] }, "b", dir);
    const auth = authOf(c)!;
    expect(auth.login("c1", "alice", bytes("wonderland"))).toBe(0);
    expect(auth.login("c1", "alice", bytes("nope"))).toBe(4);
    expect(auth.login("c1", "mallory", bytes("wonderland"))).toBe(4);
    expect(auth.login("c1", null, null)).toBe(5);
    expect(auth.canWrite("c1", "alice", "home/alice/t")).toBe(true);
    expect(auth.canWrite("c1", "alice", "home/bob/t")).toBe(false);
    expect(authOf(validateConfig({}, "b", dir))).toBeUndefined();
  });
});

describe("persist", () => {
  const snap: Snapshot = {
    retained: [{ topic: "a/b", payload: [0, 1, 255], qos: 1, retain: true }],
    sessions: [{ clientId: "c1", filters: ["a/#", "b"], qoss: [1, 2], queue: [{ topic: "a/x", payload: [104, 105], qos: 2, retain: false }] }],
  };

  it("round trip; no temp file left behind", () => {
    const d = mkdtempSync(path.join(dir, "p-"));
    const f = path.join(d, "broker.db.json");
    save(f, snap);
    expect(load(f)).toEqual(snap);
    save(f, { retained: [], sessions: [] }); // over an existing file
    expect(load(f)).toEqual({ retained: [], sessions: [] });
    expect(readdirSync(d)).toEqual(["broker.db.json"]);
  });

  it("a missing file is null (a first start)", () => {
    expect(load(path.join(dir, "never.json"))).toBeNull();
  });

  it("a damaged file is an error naming the file and the field", () => {
    const f = path.join(dir, "damaged.json");
    writeFileSync(f, JSON.stringify({ ...snap, format: "espruino-mqtt-broker/1" }).slice(0, 40));
    expect(() => load(f)).toThrow(PersistError);
    expect(() => load(f)).toThrow(f + ": not a valid broker snapshot");
    writeFileSync(f, JSON.stringify({ format: "espruino-mqtt-broker/1", retained: [{ topic: "t", payload: [256], qos: 0, retain: true }], sessions: [] }));
    expect(() => load(f)).toThrow(/damaged\.json: not a valid broker snapshot \(retained\[0\]\.payload\[0\]: not a byte\)/);
    writeFileSync(f, JSON.stringify({ retained: [], sessions: [] }));
    expect(() => load(f)).toThrow(/format: not "espruino-mqtt-broker\/1"/);
    writeFileSync(f, JSON.stringify({ format: "espruino-mqtt-broker/1", retained: [], sessions: [{ clientId: "c", filters: ["a"], qoss: [], queue: [] }] }));
    expect(() => load(f)).toThrow(/sessions\[0\]\.qoss: not as long as filters/);
  });

  it("a failed save leaves the old file and no temp file", () => {
    const d = mkdtempSync(path.join(dir, "q-"));
    const f = path.join(d, "db.json");
    save(f, snap);
    const before = readFileSync(f, "utf8");
    expect(() => save(path.join(d, "missing-dir", "db.json"), snap)).toThrow(/cannot save the broker snapshot \(ENOENT\)/);
    expect(readFileSync(f, "utf8")).toBe(before);
    expect(existsSync(path.join(d, "missing-dir"))).toBe(false);
    expect(readdirSync(d)).toEqual(["db.json"]);
  });
});
