/**
 * The micro-broker on Node: `npm run broker -- [--port 1883] [--host 127.0.0.1] [--ws-port 8080]
 * [--tls-port 8883] [--config broker.json]`, and `npm run broker -- passwd NAME [--password PW]`.
 *
 * Flags override the config file (config.ts). Prints one `listening <scheme>://<host>:<port>` line per listener
 * (the real port when 0 was asked: tests parse it), then the broker's log lines (connects, disconnects,
 * refusals, limits hit) with an ISO timestamp. Restores the persistence snapshot at start, saves it every
 * `persistence.interval` ms and at shutdown. SIGINT/SIGTERM: stop listening, close the broker, save, exit 0
 * (a second signal exits 1 at once). A bad flag or config: one line on stderr, exit 2; a failure to start
 * (port taken, damaged snapshot): one line on stderr, exit 1.
 *
 * `startBroker(config)` runs the same in-process, for the simulator and tests.
 */
import { readFileSync, realpathSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Acl } from "../../lib/broker/acl";
import { Broker } from "../../lib/broker/broker";
import { Bridge } from "../../lib/broker/bridge";
import { NodeTransport } from "../node-transport";
import type { Auth, BrokerOptions } from "../../lib/broker/types";
import type { Clock } from "../../lib/hal/net";
import { realClock } from "../clock";
import { checkDistinct, ConfigError, defaultConfig, loadConfig, type Config } from "./config";
import { listenTcp, listenTls, listenWs, type Listener } from "./listeners";
import { hashPassword, makeVerify } from "./passwd";
import { load, save } from "./persist";

export interface StartOptions {
  /** Where the broker's log lines go (default: none). */
  log?: (line: string) => void;
  /** Default: the real clock. */
  clock?: Clock;
  /** Failures that are not a connection's own end (a throwing Link, a server error); default: to `log`, else console.error. */
  onError?: (e: unknown) => void;
}

export interface RunningBroker {
  broker: Broker;
  config: Config;
  /** The ports bound (the real ones when 0 was asked). */
  ports: { mqtt: number; ws?: number; tls?: number };
  /** The bridges of `config.bridges`, started. */
  bridges: Bridge[];
  /** Stops listening, closes the broker, saves the snapshot. Idempotent. */
  stop(): Promise<void>;
}

const VERSION = "espruino-mqtt-runtime " + readVersion();

function readVersion(): string {
  try {
    return String(JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version);
  } catch {
    return "unknown";
  }
}

/** The broker's Auth from the config: none (full access) when there is nothing to check. */
export function authOf(c: Config): Auth | undefined {
  const names = Object.keys(c.users);
  if (names.length == 0 && c.anonymous && c.acl === null) return undefined;
  return new Acl({ users: names, anonymous: c.anonymous, rules: c.acl, verify: makeVerify(c.users) });
}

function readPem(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(field + ": cannot read " + file + " (" + ((e as NodeJS.ErrnoException).code ?? String(e)) + ")");
  }
}

const hostPort = (host: string, port: number): string => (net.isIPv6(host) ? "[" + host + "]" : host) + ":" + port;

async function listenAll(c: Config, b: Broker, pem: Pem | null, onError: (e: unknown) => void): Promise<{ ls: Listener[]; ports: RunningBroker["ports"] }> {
  const accept = b.accept.bind(b);
  const base = { host: c.host, limit: c.outbound, onError };
  const ls: Listener[] = [];
  const bound = async (what: string, port: number, p: () => Promise<Listener>): Promise<number> => {
    try {
      const l = await p();
      ls.push(l);
      return l.port;
    } catch (e) {
      await Promise.all(ls.map((l) => l.close()));
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error("cannot listen for " + what + " on " + hostPort(c.host, port) + " (" + (code ?? (e as Error).message) + ")");
    }
  };
  const ports: RunningBroker["ports"] = { mqtt: await bound("mqtt", c.port, () => listenTcp({ ...base, port: c.port }, accept)) };
  if (c.wsPort !== undefined) {
    const port = c.wsPort;
    ports.ws = await bound("ws", port, () => listenWs({ ...base, port, maxMessage: Math.max(2 * (c.limits.maxPacket ?? 65536), 65536) }, accept));
  }
  if (c.tlsPort !== undefined && pem) {
    const port = c.tlsPort;
    ports.tls = await bound("mqtts", port, () => listenTls({ ...base, port, ...pem }, accept));
  }
  return { ls, ports };
}

interface Pem { cert: Buffer; key: Buffer }

/** Reads and checks the TLS files before anything is bound, so a bad one is a config error (exit 2). */
function readTls(c: Config): Pem | null {
  if (c.tlsPort === undefined || !c.tls) return null;
  const cert = readPem(c.tls.cert, "tls.cert");
  const key = readPem(c.tls.key, "tls.key");
  try {
    tls.createSecureContext({ cert, key }); // parses both and checks that the key belongs to the certificate
  } catch (e) {
    throw new ConfigError("tls: the certificate or key cannot be used (" + (e as Error).message + ")");
  }
  return { cert, key };
}

/** Starts a broker with its listeners and persistence, as the CLI does. */
export async function startBroker(c: Config, o: StartOptions = {}): Promise<RunningBroker> {
  const log = o.log;
  const onError = o.onError ?? ((e: unknown) => (log ? log("error: " + ((e as Error)?.stack ?? String(e))) : console.error(e)));
  const pem = readTls(c);
  const utf8 = new TextDecoder();
  // topics and client ids are checked UTF-8 already (the codec): Node's decoder instead of the portable loop
  const opts: BrokerOptions = { ...c.limits, version: VERSION, text: (b) => utf8.decode(b) };
  if (c.sysInterval !== undefined) opts.sysInterval = c.sysInterval;
  const auth = authOf(c);
  if (auth) opts.auth = auth;
  if (log) opts.log = log;
  const broker = new Broker(opts, o.clock ?? realClock);
  const p = c.persistence;
  if (p) {
    const s = load(p.file);
    if (s) {
      broker.restore(s);
      log?.("restored " + s.retained.length + " retained messages and " + s.sessions.length + " sessions from " + p.file);
    }
  }
  broker.start();
  let ls: Listener[];
  let ports: RunningBroker["ports"];
  try {
    ({ ls, ports } = await listenAll(c, broker, pem, onError));
  } catch (e) {
    broker.close();
    throw e;
  }
  const persist = (): void => {
    if (!p) return;
    try {
      save(p.file, broker.snapshot());
    } catch (e) {
      onError(e);
    }
  };
  const bridges = c.bridges.map((bc) => startBridge(broker, bc, o.clock ?? realClock, log));
  const timer = p && p.interval > 0 ? setInterval(persist, p.interval) : null;
  timer?.unref();
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => stopped ??= (async () => {
    if (timer) clearInterval(timer);
    for (const b of bridges) b.stop(); // DISCONNECT upstream: the persistent session there keeps what is queued
    const closing = ls.map((l) => l.close()); // stops accepting now; the connections go with broker.close()
    broker.close();
    await Promise.all(closing);
    if (p) save(p.file, broker.snapshot()); // throws at shutdown: the caller says it and exits non-zero
  })();
  return { broker, config: c, ports, bridges, stop };
}

/** A bridge of the config, connected upstream with Node's net or tls (mqtts://). */
function startBridge(broker: Broker, bc: Config["bridges"][number], clock: Clock, log?: (l: string) => void): Bridge {
  const u = new URL(bc.url);
  const secure = u.protocol == "mqtts:";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = u.port ? Number(u.port) : secure ? 8883 : 1883;
  const b = new Bridge(broker, {
    remote: { host, port, clientId: bc.clientId, username: bc.username, password: bc.password, clean: bc.clean, keepalive: 60 },
    topics: bc.topics, queue: bc.queue, log,
  }, new NodeTransport(secure ? { tls: {} } : {}), clock);
  b.start();
  return b;
}

// ---- the command line ----

class UsageError extends Error {}

const USAGE = "usage: npm run broker -- [--port N] [--host H] [--ws-port N] [--tls-port N] [--config FILE]\n" +
  "       npm run broker -- passwd NAME [--password PW]   (else the password is read from stdin)";

function portFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(flag + ": must be an integer from 0 to 65535 (got " + JSON.stringify(v) + ")");
  return Number(v);
}

function parseFlags(argv: string[]): { values: Record<string, string | boolean | undefined> } {
  try {
    return parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        port: { type: "string" }, host: { type: "string" }, "ws-port": { type: "string" }, "tls-port": { type: "string" },
        config: { type: "string" }, help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]!);
  }
}

/** The config the command line asks for: the file's (or defaults), then the flags over it. Null: --help. */
export function configFromArgs(argv: string[]): Config | null {
  const v = parseFlags(argv).values;
  if (v.help) return null;
  const c = typeof v.config == "string" ? loadConfig(v.config) : defaultConfig();
  if (typeof v.host == "string") {
    if (!v.host) throw new UsageError("--host: must not be empty");
    c.host = v.host;
  }
  const port = portFlag(v.port as string | undefined, "--port");
  const ws = portFlag(v["ws-port"] as string | undefined, "--ws-port");
  const tlsPort = portFlag(v["tls-port"] as string | undefined, "--tls-port");
  if (port !== undefined) c.port = port;
  if (ws !== undefined) c.wsPort = ws;
  if (tlsPort !== undefined) {
    if (!c.tls) throw new UsageError("--tls-port: needs tls.cert and tls.key in a --config file");
    c.tlsPort = tlsPort;
  }
  checkDistinct(c, (field, why) => { throw new UsageError(field + ": " + why); });
  return c;
}

const stamp = (line: string): void => console.log(new Date().toISOString() + " " + line);

async function runBroker(argv: string[]): Promise<number> {
  const c = configFromArgs(argv);
  if (!c) {
    console.log(USAGE);
    return 0;
  }
  const b = await startBroker(c, { log: stamp });
  console.log("listening mqtt://" + hostPort(c.host, b.ports.mqtt));
  if (b.ports.ws !== undefined) console.log("listening ws://" + hostPort(c.host, b.ports.ws));
  if (b.ports.tls !== undefined) console.log("listening mqtts://" + hostPort(c.host, b.ports.tls));
  return new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.once("SIGINT", () => process.exit(1));
      process.once("SIGTERM", () => process.exit(1));
      stamp("stopping (" + sig + ")");
      b.stop().then(() => { stamp("stopped"); resolve(0); }, (e: Error) => { console.error("broker: " + e.message); resolve(1); });
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

/** Reads one line from stdin (without echo on a terminal). */
async function readPassword(prompt: string): Promise<string> {
  const input = process.stdin;
  const tty = input.isTTY;
  if (tty) {
    process.stderr.write(prompt);
    input.setRawMode(true);
  }
  let got = "";
  try {
    for await (const chunk of input) {
      const s = String(chunk);
      if (tty && s.includes("\u0003")) throw new UsageError("interrupted");
      got += s;
      if (/[\r\n]/.test(got)) break;
    }
  } finally {
    if (tty) {
      input.setRawMode(false);
      process.stderr.write("\n");
    }
    input.pause();
  }
  return got.split(/\r?\n|\r/)[0]!;
}

async function runPasswd(argv: string[]): Promise<number> {
  let v: { values: { password?: string | undefined }; positionals: string[] };
  try {
    v = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { password: { type: "string" } } });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]!);
  }
  const name = v.positionals[0];
  if (v.positionals.length != 1 || !name) throw new UsageError("passwd: give one user NAME");
  if (name.includes("\0")) throw new UsageError("passwd: NAME must not contain U+0000");
  const pw = v.values.password ?? await readPassword("password for " + name + ": ");
  if (pw.length == 0) throw new UsageError("passwd: empty password");
  // a line to paste into the config's "users"
  console.log(JSON.stringify(name) + ": " + JSON.stringify(hashPassword(pw)));
  return 0;
}

/** The CLI: returns the exit code (2: usage or config, 1: failed to start or to save). */
export async function main(argv: string[]): Promise<number> {
  try {
    return argv[0] == "passwd" ? await runPasswd(argv.slice(1)) : await runBroker(argv);
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof ConfigError;
    console.error("broker: " + (e instanceof Error ? e.message : String(e)));
    return usage ? 2 : 1;
  }
}

function isEntry(): boolean {
  const a = process.argv[1];
  if (!a) return false;
  try {
    return pathToFileURL(realpathSync(a)).href == import.meta.url;
  } catch {
    return false;
  }
}

if (isEntry()) main(process.argv.slice(2)).then((code) => process.exit(code));
