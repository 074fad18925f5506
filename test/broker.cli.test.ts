/**
 * `npm run broker` as a process (node_modules/.bin/tsx sim/broker/main.ts): exit code 2 and one line on stderr
 * for a bad flag or config, the `passwd` sub-command, and a start on a free loopback port (the `listening`
 * line gives it) that SIGTERM ends with exit 0 after saving the snapshot. Every process is started here and
 * stopped by its own pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../sim/broker/passwd";
import { load } from "../sim/broker/persist";

const ROOT = path.resolve(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const MAIN = path.join(ROOT, "sim", "broker", "main.ts");
const dir = mkdtempSync(path.join(os.tmpdir(), "broker-cli-"));

const live = new Set<ChildProcess>();
afterAll(() => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Run { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }

function run(args: string[], stdin?: string): Run {
  const proc = spawn(TSX, [MAIN, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  live.add(proc);
  let out = "", err = "";
  proc.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
  if (stdin !== undefined) proc.stdin!.end(stdin);
  // "close", not "exit": the child may have exited before its last stderr bytes reached us through the pipe
  const exit = new Promise<number | null>((r) => proc.once("close", (code) => { live.delete(proc); r(code); }));
  return { proc, out: () => out, err: () => err, exit };
}

/** Runs to the end (killed after 20 s); exit code and output. */
async function finish(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  const r = run(args, stdin);
  const t = setTimeout(() => r.proc.kill("SIGKILL"), 20000);
  const code = await r.exit;
  clearTimeout(t);
  return { code, out: r.out(), err: r.err() };
}

const oneLine = (s: string): string[] => s.split("\n").filter((l) => l.trim() != "");

async function waitOut(r: Run, re: RegExp, ms = 15000): Promise<RegExpMatchArray> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const m = r.out().match(re);
    if (m) return m;
    if (r.proc.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error("no " + re + " in stdout:\n" + r.out() + "\nstderr:\n" + r.err());
}

describe.concurrent("broker CLI: refusals exit 2 with one line", () => {
  const bad: [string, string[], RegExp][] = [
    ["an unknown flag", ["--bogus"], /^broker: Unknown option '--bogus'/],
    ["a port out of range", ["--port", "70000"], /^broker: --port: must be an integer from 0 to 65535/],
    ["a port that is not a number", ["--ws-port", "http"], /^broker: --ws-port: must be an integer from 0 to 65535/],
    ["a flag without its value", ["--port"], /^broker: Option '--port <value>' argument missing/],
    ["--tls-port without certificates", ["--tls-port", "0"], /^broker: --tls-port: needs tls.cert and tls.key/],
    ["a missing config file", ["--config", "/nonexistent/broker.json"], /^broker: \/nonexistent\/broker.json: cannot read \(ENOENT\)/],
    ["passwd without a name", ["passwd"], /^broker: passwd: give one user NAME/],
  ];
  for (const [what, args, re] of bad) {
    it(what, async ({ expect }) => {
      const r = await finish(args);
      expect(r.code, r.err).toBe(2);
      expect(oneLine(r.err)).toHaveLength(1);
      expect(r.err).toMatch(re);
    });
  }

  it("a config with a bad field", async ({ expect }) => {
    const f = path.join(dir, "bad.json");
    writeFileSync(f, JSON.stringify({ port: 1883, limits: { maxClients: 0 } }));
    const r = await finish(["--config", f]);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toEqual(["broker: " + f + ": limits.maxClients: must be an integer >= 1"]);
  });

  it("a TLS certificate file that is missing", async ({ expect }) => {
    const f = path.join(dir, "tls.json");
    writeFileSync(f, JSON.stringify({ tls: { cert: "nope.crt", key: "nope.key" } }));
    const r = await finish(["--config", f, "--port", "0", "--tls-port", "0"]);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toEqual(["broker: tls.cert: cannot read " + path.join(dir, "nope.crt") + " (ENOENT)"]);
  });
});

describe.concurrent("broker CLI: passwd", () => {
  it("reads the password from stdin and prints a users line that verifies", async ({ expect }) => {
    const r = await finish(["passwd", "alice"], "s3cret\n");
    expect(r.code, r.err).toBe(0);
    const m = r.out.trim().match(/^"alice": "(scrypt\$[^"]+)"$/);
    expect(m, r.out).not.toBeNull();
    expect(verifyPassword(m![1]!, "s3cret")).toBe(true);
    expect(verifyPassword(m![1]!, "s3cret\n")).toBe(false);
  });

  it("--password", async ({ expect }) => {
    const r = await finish(["passwd", "bob", "--password", "pw"]);
    expect(r.code, r.err).toBe(0);
    const stored = JSON.parse("{" + r.out.trim() + "}").bob as string;
    expect(verifyPassword(stored, "pw")).toBe(true);
  });

  it("an empty password is refused", async ({ expect }) => {
    const r = await finish(["passwd", "bob"], "\n");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/empty password/);
  });
});

describe("broker CLI: runs", () => {
  it("listens on a free loopback port, says where, accepts a TCP connection, SIGTERM: saves and exits 0", async () => {
    const db = path.join(dir, "db", "broker.db.json");
    const f = path.join(dir, "run.json");
    writeFileSync(f, JSON.stringify({ host: "127.0.0.1", port: 1, persistence: { file: "db/broker.db.json", interval: 0 } }));
    rmSync(path.dirname(db), { recursive: true, force: true });
    mkdirSync(path.dirname(db));
    const r = run(["--config", f, "--port", "0", "--ws-port", "0"]); // the flag overrides the file's port
    const m = await waitOut(r, /^listening mqtt:\/\/127\.0\.0\.1:(\d+)$/m);
    const port = Number(m[1]);
    expect(port).toBeGreaterThan(1);
    const ws = await waitOut(r, /^listening ws:\/\/127\.0\.0\.1:(\d+)$/m);
    expect(Number(ws[1])).not.toBe(port);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => { s.destroy(); resolve(); });
      s.once("error", reject);
    });
    r.proc.kill("SIGTERM");
    const code = await r.exit;
    expect(code, r.out() + r.err()).toBe(0);
    expect(r.out()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z stopping \(SIGTERM\)$/m);
    expect(existsSync(db)).toBe(true);
    expect(load(db)).not.toBeNull();
  });

  it("a damaged snapshot file: exit 1, one line naming it", async () => {
    const db = path.join(dir, "damaged.db.json");
    writeFileSync(db, "{\"format\": \"espruino-mqtt-broker/1\", \"retained\": [");
    const f = path.join(dir, "damaged.json");
    writeFileSync(f, JSON.stringify({ port: 0, persistence: { file: "damaged.db.json" } }));
    const r = await finish(["--config", f]);
    expect(r.code).toBe(1);
    expect(oneLine(r.err)).toHaveLength(1);
    expect(r.err).toContain("broker: " + db + ": not a valid broker snapshot");
  });

  it("a port already taken: exit 1, one line naming it", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const r = await finish(["--port", String(port)]);
      expect(r.code).toBe(1);
      expect(oneLine(r.err)).toEqual(["broker: cannot listen for mqtt on 127.0.0.1:" + port + " (EADDRINUSE)"]);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
