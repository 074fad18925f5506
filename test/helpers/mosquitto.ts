/**
 * A real Mosquitto for interop and fault tests, started by the test itself: a generated config in a temp dir,
 * a free loopback port (127.0.0.1 only), optional password file and TLS listener (CA and server certificate
 * made by openssl for this run), persistence in the temp dir so a restart keeps sessions. Stopped and
 * restarted by pid; never anything else.
 *
 * When Mosquitto is not installed the tests skip and say why (`MOSQUITTO_SKIP`); with
 * MQTT_INTEROP_REQUIRED=1 (CI) a missing broker fails the run instead.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** Where Mosquitto is looked for: $MOSQUITTO, then the Debian location, then PATH. */
function findBinary(name: string, env: string | undefined, dirs: string[]): string | null {
  if (env) return existsSync(env) ? env : null;
  const all = dirs.concat((process.env.PATH ?? "").split(path.delimiter));
  for (const d of all) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  return null;
}

export const MOSQUITTO_BIN = findBinary("mosquitto", process.env.MOSQUITTO, ["/usr/sbin", "/usr/local/sbin"]);
export const MOSQUITTO_PASSWD_BIN = findBinary("mosquitto_passwd", undefined, ["/usr/bin", "/usr/local/bin"]);
const OPENSSL_BIN = findBinary("openssl", undefined, ["/usr/bin"]);

/** Why the Mosquitto tests cannot run here, or null. */
export const MOSQUITTO_SKIP: string | null = MOSQUITTO_BIN
  ? null
  : "Mosquitto is not installed (looked in $MOSQUITTO, /usr/sbin, /usr/local/sbin and PATH; `apt-get install mosquitto`)";

/**
 * Call at the top of a test file: prints plainly why the file is skipped, and throws instead when
 * MQTT_INTEROP_REQUIRED=1 (so CI cannot pass by skipping). Returns true when the tests should be skipped.
 */
export function skipWithoutMosquitto(what: string): boolean {
  if (!MOSQUITTO_SKIP) return false;
  if (process.env.MQTT_INTEROP_REQUIRED == "1") throw new Error(what + ": " + MOSQUITTO_SKIP + ", and MQTT_INTEROP_REQUIRED=1");
  console.warn("SKIPPED " + what + ": " + MOSQUITTO_SKIP);
  return true;
}

/** A port the OS says is free on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a == "object" && a ? a.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True when something accepts a TCP connection on 127.0.0.1:port within `ms`. */
function probe(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const t = setTimeout(() => { s.destroy(); resolve(false); }, ms);
    s.once("connect", () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once("error", () => { clearTimeout(t); s.destroy(); resolve(false); });
  });
}

/**
 * A password file line in Mosquitto 2's own format, for when mosquitto_passwd is missing:
 * `user:$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512 hash>` (12-byte salt, 64-byte hash).
 */
export function passwdLine(user: string, password: string, iterations = 101): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, "sha512");
  return user + ":$7$" + iterations + "$" + salt.toString("base64") + "$" + hash.toString("base64");
}

export interface TlsFiles { ca: string; cert: string; key: string; caPem: Buffer; certPem: Buffer; keyPem: Buffer }

/** A CA and a server certificate for 127.0.0.1 / ::1 / localhost signed by it (EC P-256, valid 2 days). */
export function makeCerts(dir: string): TlsFiles {
  if (!OPENSSL_BIN) throw new Error("openssl not found");
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync(OPENSSL_BIN, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 20000 });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(["req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "2", "-subj", "/CN=mqtt-test-ca",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  run(["req", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost"]);
  writeFileSync(f("server.ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\n" +
    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n");
  run(["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial",
    "-out", f("server.crt"), "-days", "2", "-extfile", f("server.ext")]);
  return {
    ca: f("ca.crt"), cert: f("server.crt"), key: f("server.key"),
    caPem: readFileSync(f("ca.crt")), certPem: readFileSync(f("server.crt")), keyPem: readFileSync(f("server.key")),
  };
}

export interface MosquittoOptions {
  /** allow_anonymous (default true). */
  anonymous?: boolean;
  /** user -> password; written to a password_file. */
  users?: { [user: string]: string };
  /** Write the password file ourselves even when mosquitto_passwd exists (tests the fallback). */
  ownPasswd?: boolean;
  /** Add a TLS listener with a certificate made for this run. */
  tls?: boolean;
  /** persistence (default true): sessions and queued messages survive a restart. */
  persistence?: boolean;
  /** More configuration lines, after the plain listener (so listener options such as `max_qos 1` apply to it). */
  extra?: string[];
}

/** One Mosquitto process, its temp dir and its ports. */
export class Mosquitto {
  port = 0;
  tlsPort = 0;
  tls: TlsFiles | null = null;
  private proc: ChildProcess | null = null;
  private stderr = "";
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string, private readonly o: MosquittoOptions) {}

  /** Starts a broker and waits until it accepts connections. */
  static async start(o: MosquittoOptions = {}): Promise<Mosquitto> {
    if (!MOSQUITTO_BIN) throw new Error(MOSQUITTO_SKIP!);
    const m = new Mosquitto(mkdtempSync(path.join(os.tmpdir(), "mqtt-mosq-")), o);
    live.add(m);
    try {
      if (o.users) m.writePasswd(o.users);
      if (o.tls) m.tls = makeCerts(m.dir);
      // a port can be taken between freePort() and the bind: try a few
      for (let attempt = 0; ; attempt++) {
        m.port = await freePort();
        if (o.tls) m.tlsPort = await freePort();
        try {
          await m.launch();
          return m;
        } catch (e) {
          if (attempt >= 3 || !/Address already in use/i.test(String(e))) throw e;
        }
      }
    } catch (e) {
      await m.dispose();
      throw e;
    }
  }

  get pid(): number | undefined { return this.proc?.pid; }

  /** The broker's log so far (for failure messages). */
  log(): string {
    const f = path.join(this.dir, "mosquitto.log");
    return (existsSync(f) ? readFileSync(f, "utf8") : "") + this.stderr;
  }

  /** Waits (bounded) until the broker's log matches `re`. */
  async waitLog(re: RegExp, ms = 5000): Promise<void> {
    const t0 = Date.now();
    for (let i = 0; i < 10000 && Date.now() - t0 < ms; i++) {
      if (re.test(this.log())) return;
      await sleep(10);
    }
    throw new Error("mosquitto log never matched " + re + ":\n" + this.log());
  }

  private writePasswd(users: { [user: string]: string }): void {
    const file = path.join(this.dir, "passwd");
    if (MOSQUITTO_PASSWD_BIN && !this.o.ownPasswd) {
      let first = true;
      for (const u of Object.keys(users)) {
        const args = first ? ["-c", "-b", file, u, users[u]!] : ["-b", file, u, users[u]!];
        execFileSync(MOSQUITTO_PASSWD_BIN, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10000 });
        first = false;
      }
    } else {
      writeFileSync(file, Object.keys(users).map((u) => passwdLine(u, users[u]!)).join("\n") + "\n", { mode: 0o600 });
    }
  }

  private config(): string {
    const o = this.o;
    const d = this.dir;
    const lines = [
      // root would otherwise switch to the `mosquitto` user, who cannot read this temp dir
      "user " + os.userInfo().username,
      "per_listener_settings false",
      "allow_anonymous " + (o.anonymous ?? true),
      "persistence " + (o.persistence ?? true),
      "persistence_location " + d + path.sep,
      "autosave_interval 0", // saved on exit (SIGTERM), which is how stop() ends it
      "log_dest file " + path.join(d, "mosquitto.log"),
      "log_type error", "log_type warning", "log_type notice", "log_type information",
      "connection_messages true",
      "log_timestamp_format %H:%M:%S",
      "set_tcp_nodelay true",
      "max_queued_messages 10000",
      "listener " + this.port + " 127.0.0.1",
      ...(o.extra ?? []),
    ];
    if (o.users) lines.push("password_file " + path.join(d, "passwd"));
    if (this.tls) {
      lines.push("listener " + this.tlsPort + " 127.0.0.1", "cafile " + this.tls.ca, "certfile " + this.tls.cert, "keyfile " + this.tls.key);
    }
    return lines.join("\n") + "\n";
  }

  /** Spawns with the current config and waits (at most 5 s) until the plain listener accepts connections. */
  private async launch(): Promise<void> {
    const conf = path.join(this.dir, "mosquitto.conf");
    writeFileSync(conf, this.config());
    this.stderr = "";
    const p = spawn(MOSQUITTO_BIN!, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = p;
    let gone = false;
    p.stderr!.on("data", (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((r) => p.once("exit", () => { gone = true; r(); }));
    p.once("error", (e) => { this.stderr += String(e); gone = true; });
    const t0 = Date.now();
    for (let i = 0; i < 200 && Date.now() - t0 < 5000; i++) {
      if (gone) break;
      if (await probe(this.port, 500) && (!this.tls || await probe(this.tlsPort, 500))) return;
      await sleep(25);
    }
    const why = this.log();
    await this.stop();
    throw new Error("mosquitto did not start (pid " + p.pid + "):\n" + why);
  }

  /** SIGTERM (Mosquitto saves its persistence file on the way out), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = null;
    if (p.exitCode === null && p.signalCode === null && p.pid) {
      p.kill("SIGTERM");
      const late = setTimeout(() => { if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL"); }, 5000);
      await this.exited;
      clearTimeout(late);
    }
  }

  /** Stops and starts again on the same ports with the same persistence file. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Starts again after stop() (same ports, same files). */
  async start(): Promise<void> {
    if (this.proc) return;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.launch();
      } catch (e) {
        // the old listener's port can take a moment to be free again
        if (attempt >= 10 || !/Address already in use/i.test(String(e))) throw e;
        await sleep(100);
      }
    }
  }

  /** Stops the broker and removes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// brokers still running when the worker exits (a test failed before its afterAll): killed by pid
const live = new Set<Mosquitto>();
process.once("exit", () => {
  for (const m of live) {
    const pid = m.pid;
    if (pid) try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
  }
});
