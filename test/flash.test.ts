/**
 * The flash tool, tools/flash.mjs (issue 7, requirement 8).
 *
 * - Refusals, always run: unknown or missing board, missing port, a serial port that does not exist, a
 *   malformed tcp:// port, a missing config file, an invalid config (its validation lines), a bundle over the
 *   budget. Each exits with 2 and says why on stderr; where a port is given it is a loopback listener of the
 *   test's own, which must see no connection (nothing was written to a board).
 * - --dry-run prints the build result and the exact espruino CLI command, and connects to nothing.
 * - With ESPRUINO_BIN (the 64-bit Linux build) and Mosquitto: the interpreter runs with its telnet console
 *   (`--telnet`, fixed at port 2323 by the Linux build) in a temp dir of its own, `npm run flash -- --board linux
 *   --port tcp://127.0.0.1:2323 --config <temp config for the test's Mosquitto>` uploads the node to Storage
 *   `.bootcde`, and an MQTT.js subscriber sees `<prefix>/<node>/status` retained "online" and
 *   `<prefix>/<node>/state` JSON with tempC. Then the interpreter is killed and started again in the same
 *   folder with no program: the node boots from flash and says "online" again.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUILD_HINT, Espruino, scratch } from "./helpers/espruino";
import { Mosquitto, MOSQUITTO_SKIP } from "./helpers/mosquitto";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = process.env.ESPRUINO_BIN;
/** The Linux build's telnet console port (libs/network/telnet/jswrap_telnet.c: `#define PORT 2323`). */
const TELNET = 2323;

interface Run { code: number | null; out: string; err: string }

/** Runs `cmd args` in the project folder, killed by its pid after `ms`. */
function run(cmd: string, args: string[], ms: number): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
    p.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
    const t = setTimeout(() => p.kill("SIGKILL"), ms);
    p.on("close", (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}

const flash = (args: string[], ms = 60_000) => run(process.execPath, [path.join(ROOT, "tools/flash.mjs"), ...args], ms);

/** A loopback listener standing in for a board's telnet console: counts connections. */
class Board {
  connections = 0;
  private readonly server = net.createServer((s) => { this.connections++; s.destroy(); });
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  get url(): string { return "tcp://127.0.0.1:" + this.port; }
  close(): void { this.server.close(); }
}

/** True when something accepts a connection on 127.0.0.1:port within `ms`. */
function listening(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const t = setTimeout(() => { s.destroy(); resolve(false); }, ms);
    s.once("connect", () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once("error", () => { clearTimeout(t); s.destroy(); resolve(false); });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), "flash-test-"));
/** Where the bundles go: the test's own file, not dist/ (other tests read dist/ meanwhile). */
const outFile = (): string => path.join(dir, "node.js");
const board = new Board();
const okConfig = path.join(dir, "ok.json");
const badConfig = path.join(dir, "bad.json");

beforeAll(async () => {
  await board.start();
  writeFileSync(okConfig, JSON.stringify({ broker: { url: "mqtt://127.0.0.1:1883" }, node: "n1", prefix: "t0", intervalMs: 1000, sensors: [{ type: "sht3x" }] }));
  writeFileSync(badConfig, JSON.stringify({ broker: { url: "ftp://x" }, node: "n1", intervalMs: 5, sensors: [{ type: "nope" }] }));
});

afterAll(() => {
  board.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("flash: refusals (exit 2, one line, nothing sent to the board)", () => {
  const cases: [string, () => string[], RegExp][] = [
    ["unknown board", () => ["--board", "esp99", "--port", board.url], /^flash: refused: unknown board "esp99" \(boards: esp32, esp8266, linux\)$/m],
    ["missing board", () => ["--port", board.url], /^flash: refused: --board is missing/m],
    ["missing port", () => ["--board", "linux", "--config", okConfig, "--out", outFile()], /^flash: refused: --port is missing/m],
    ["serial port that does not exist", () => ["--board", "esp32", "--port", "/dev/ttyNOPE9"], /^flash: refused: --port "\/dev\/ttyNOPE9" does not exist/m],
    ["a regular file as serial port", () => ["--board", "esp32", "--port", okConfig], /^flash: refused: --port ".*ok\.json" is a regular file, not a serial device$/m],
    ["malformed tcp port", () => ["--board", "esp32", "--port", "tcp://127.0.0.1"], /^flash: refused: --port "tcp:\/\/127\.0\.0\.1" is not a network port/m],
    ["tcp port out of range", () => ["--board", "esp32", "--port", "tcp://127.0.0.1:70000"], /^flash: refused: --port "tcp:\/\/127\.0\.0\.1:70000" is not a network port/m],
    ["missing config file", () => ["--board", "linux", "--port", board.url, "--config", path.join(dir, "none.json")], /^flash: refused: config .*none\.json: no such file$/m],
    ["invalid config", () => ["--board", "linux", "--port", board.url, "--config", badConfig], /^flash: refused: .*bad\.json: broker\.url: .+$/m],
    ["bundle over the budget", () => ["--board", "linux", "--port", board.url, "--config", okConfig, "--out", outFile(), "--budget", "1000"],
      /^flash: refused: .*node\.js is \d+ bytes, over the linux budget of 1000 bytes$/m],
  ];
  for (const [name, args, line] of cases) {
    test(name, async () => {
      const before = board.connections;
      const r = await flash(args());
      expect(r.code, r.out + r.err).toBe(2);
      expect(r.err).toMatch(line);
      expect(r.out).not.toMatch(/uploading|Connecting/);
      expect(board.connections).toBe(before);
    }, 60_000);
  }

  test("an invalid config lists every problem as file: field: problem", async () => {
    const r = await flash(["--board", "linux", "--port", board.url, "--config", badConfig]);
    expect(r.code).toBe(2);
    const lines = r.err.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l).toMatch(/^flash: refused: .*bad\.json: [A-Za-z0-9_.[\]]+: .+$/);
    expect(r.err).toMatch(/sensors\[0\]\.type: /);
    expect(r.err).toMatch(/intervalMs: /);
  }, 60_000);
});

describe("flash: --dry-run", () => {
  test("prints the size against the budget and the exact espruino command, and connects to nothing", async () => {
    const before = board.connections;
    const r = await flash(["--board", "linux", "--port", board.url, "--config", okConfig, "--out", outFile(), "--dry-run"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^flash: bundle \S*node\.js: \d+ bytes of the linux budget of \d+ \(\d+%\)$/m);
    const cmd = r.out.split("\n").find((l) => l.startsWith("node_modules/.bin/espruino "));
    expect(cmd).toBe("node_modules/.bin/espruino --no-ble -p " + board.url + " -b 115200 --config SAVE_ON_SEND=1 " +
      "--config STORE_LINE_NUMBERS=false --config SET_TIME_ON_WRITE=false " + outFile());
    expect(r.out).toMatch(/^flash: dry run: nothing was sent to the board$/m);
    expect(board.connections).toBe(before);
  }, 60_000);

  test("--dry-run needs no port; --help exits 0", async () => {
    const r = await flash(["--board", "linux", "--config", okConfig, "--out", outFile(), "--dry-run"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/ -p PORT /);
    const h = await flash(["--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^usage: npm run flash/);
  }, 60_000);
});

// ---------------------------------------------------------------- the real interpreter over telnet

const why = !BIN ? "ESPRUINO_BIN is not set (the 64-bit Linux build of Espruino; " + BUILD_HINT + ")" : MOSQUITTO_SKIP;
if (why) console.warn("SKIPPED flash to Espruino's Linux build over telnet: " + why);

describe.skipIf(!!why)("flash: over telnet to Espruino's Linux build", () => {
  let broker: Mosquitto;
  let e: Espruino | null = null;
  let sub: mqtt.MqttClient | null = null;
  const work = BIN ? scratch("flash") : "";

  beforeAll(async () => { broker = await Mosquitto.start(); });
  afterAll(async () => {
    e?.kill();
    await sub?.endAsync(true);
    await broker?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("npm run flash uploads the node to flash; it publishes, and starts again at boot", async () => {
    if (await listening(TELNET, 500)) {
      throw new Error("127.0.0.1:" + TELNET + " is already taken: the Linux build's telnet console has that port fixed, " +
        "so another interpreter with --telnet (or something else) is in the way");
    }
    const prefix = "t" + process.pid;
    const config = path.join(dir, "node.json");
    writeFileSync(config, JSON.stringify({ broker: { url: "mqtt://127.0.0.1:" + broker.port }, node: "n1", prefix, intervalMs: 1000, sensors: [{ type: "sht3x" }] }));

    e = new Espruino(BIN!, ["--telnet"], work);
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await listening(TELNET, 200);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    expect(up, "the interpreter's telnet console never listened:\n" + e.out.tail()).toBe(true);

    const r = await run("npm", ["run", "-s", "flash", "--", "--board", "linux", "--port", "tcp://127.0.0.1:" + TELNET, "--config", config, "--out", outFile()], 90_000);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^flash: uploading to the telnet console at tcp:\/\/127\.0\.0\.1:2323: /m);
    expect(r.out).toMatch(/^Upload Complete/m);
    expect(r.out).toMatch(/^flash: done: \d+ bytes stored as \.bootcde/m);

    // what the node publishes
    const got: { topic: string; payload: string; retain: boolean }[] = [];
    sub = await mqtt.connectAsync({ host: "127.0.0.1", port: broker.port, clientId: "flash-test-" + process.pid, reconnectPeriod: 0 });
    sub.on("message", (topic, payload, packet) => { got.push({ topic, payload: payload.toString(), retain: packet.retain }); });
    await sub.subscribeAsync(prefix + "/n1/#", { qos: 1 });
    const wait = async (ok: () => boolean, ms: number, what: string) => {
      const t0 = Date.now();
      while (!ok() && Date.now() - t0 < ms) await new Promise((res) => setTimeout(res, 50));
      expect(ok(), what + "; got:\n" + got.map((g) => g.topic + " " + g.payload).join("\n") + "\ninterpreter:\n" + e!.out.tail()).toBe(true);
    };
    const status = (from: number) => got.slice(from).filter((g) => g.topic == prefix + "/n1/status" && g.payload == "online");
    const states = () => got.filter((g) => g.topic == prefix + "/n1/state");
    await wait(() => status(0).some((g) => g.retain), 10_000, "no retained online status");
    await wait(() => states().length > 0, 10_000, "no state reading");
    const reading = JSON.parse(states()[0]!.payload);
    expect(typeof reading.tempC).toBe("number");

    // starts at boot: the same flash file, a new interpreter with no program given
    e.kill();
    await e.exit(5_000);
    const mark = got.length;
    e = new Espruino(BIN!, [], work);
    await wait(() => status(mark).length > 0, 10_000, "the node did not start from flash at boot");
  }, 120_000);
});
