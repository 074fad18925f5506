/**
 * Footprint of the MQTT client on the real interpreter (issue 4, requirement 9), beside Espruino's own MQTT
 * modules measured the same way in the same run:
 *
 * - free variables on the 1,700-variable ESP8266 shape (ESPRUINO_BIN_ESP8266) after the module is loaded and
 *   while connected, with the program loaded from RAM (run as a file: its text is parsed in variables, as when
 *   typed or uploaded into the REPL) and from flash (stored as .bootcde and started with load(), as a device
 *   runs a saved program: function code then stays in flash);
 * - interpreter instructions per QoS 0 publish under callgrind on the 64-bit build (ESPRUINO_BIN): the same
 *   program run with 0 and with 200 publishes (topic "fp/t", payload "0123456789", in one loop once connected;
 *   the run ends 100 ms later, after the socket has sent them), the difference of the medians of three runs
 *   each divided by 200.
 *
 * Each module is stored as Espruino's tools upload one, `Modules.addCached(name, function () {...})`, then
 * required: ours is dist/modules/mqtt-client.js (npm run build), the peers are modules/MQTT.js and modules/tinyMQTT.js
 * from a checkout of github:espruino/EspruinoDocs given as ESPRUINO_DOCS, minified with terser -c -m (their
 * code is read from there, never copied into this project). Our client is configured for an ESP8266 (packets up
 * to 128 bytes, a 256-byte outbox, 4 slots); the peers have no buffers of their own.
 *
 *   npm run footprint            (needs Mosquitto; ESPRUINO_BIN, ESPRUINO_BIN_ESP8266, valgrind; ESPRUINO_DOCS)
 *
 * Whatever is missing is said plainly and that part is skipped.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";
import { bootFromFlash, command, Espruino, INTERPRETER_ERROR } from "../test/helpers/espruino";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = process.env.ESPRUINO_BIN;
const BIN8266 = process.env.ESPRUINO_BIN_ESP8266;
const DOCS = process.env.ESPRUINO_DOCS;
const PUBLISHES = 200;
const RUNS = 3;
const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"].find((p) => existsSync(p)) ?? "mosquitto";

interface Subject {
  name: string;
  module: string; // the name it is stored under
  code: string; // minified module text
  /** Program after the module is stored: prints LOADED <free>, CONNECTED <free>, publishes N, then quits. */
  program(port: number, n: number): string;
}

/** The common tail: once connected (and its CONNACK in), measure, publish n times, quit. */
function tail(publish: string, n: number): string {
  return "function up(){setTimeout(function(){print('CONNECTED '+process.memory().free);" +
    "for(var i=0;i<" + n + ";i++)" + publish + ";setTimeout(function(){print('DONE');quit()},100)},200)}";
}

function subjects(): { list: Subject[]; missing: string[] } {
  const list: Subject[] = [];
  const missing: string[] = [];
  const ours = path.join(ROOT, "dist/modules/mqtt-client.js");
  if (!existsSync(ours)) execFileSync(process.execPath, [path.join(ROOT, "tools/build.mjs")], { cwd: ROOT, stdio: "ignore" });
  list.push({
    name: "ours (dist/modules/mqtt-client.js)", module: "mqtt-client", code: readFileSync(ours, "latin1"),
    program: (port, n) => "var M=require('mqtt-client');print('LOADED '+process.memory().free);" +
      "var c=M.connect({host:'127.0.0.1',port:" + port + ",clientId:'fp-ours',maxPacket:128,outbox:256,slots:4,inflight:2," +
      "inbound:4,writeLimit:8192});" + tail("c.publish('fp/t','0123456789')", n) + "c.on('connect',up);",
  });
  if (!DOCS) {
    missing.push("Espruino's MQTT and tinyMQTT modules: ESPRUINO_DOCS is not set (a checkout of github:espruino/EspruinoDocs)");
    return { list, missing };
  }
  const peers: [string, string, (port: number, n: number) => string][] = [
    ["MQTT", "modules/MQTT.js", (port, n) => "var m=require('MQTT').create('127.0.0.1',{port:" + port + ",client_id:'fp-mqtt'});" +
      "print('LOADED '+process.memory().free);" + tail("m.publish('fp/t','0123456789')", n) + "m.on('connected',up);m.connect();"],
    ["tinyMQTT", "modules/tinyMQTT.js", (port, n) => "var m=require('tinyMQTT').create('127.0.0.1',{port:" + port +
      ",reconnect_interval:50});print('LOADED '+process.memory().free);" + tail("m.publish('fp/t','0123456789')", n) +
      "m.on('connected',up);m.connect();"],
  ];
  for (const [module, file, program] of peers) {
    const p = path.join(DOCS, file);
    if (!existsSync(p)) { missing.push(module + ": " + p + " not found"); continue; }
    list.push({ name: "Espruino " + file, module, code: readFileSync(p, "utf8"), program });
  }
  return { list, missing };
}

/** The program file: the module stored as the Espruino tools upload it, then the subject's program. */
function programText(s: Subject, port: number, n: number): string {
  return "echo(0);Modules.addCached(" + JSON.stringify(s.module) + ",function(){" + s.code + "\n});\n" + s.program(port, n) + "\n";
}

// ---------------------------------------------------------------- broker

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startBroker(dir: string): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, "user " + os.userInfo().username + "\nlistener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\n" +
    "log_dest none\n");
  const p = spawn(MOSQUITTO, ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => { s.destroy(); r(true); });
      s.on("error", () => r(false));
    });
    if (up) return { port, stop: () => { if (p.exitCode === null) p.kill("SIGTERM"); } };
    await new Promise((r) => setTimeout(r, 50));
  }
  p.kill("SIGKILL");
  throw new Error("mosquitto did not start (" + MOSQUITTO + ")");
}

// ---------------------------------------------------------------- runs

interface Memory { loaded: string; connected: string }

function memoryOf(lines: string[]): Memory {
  const loaded = lines.map((l) => /^LOADED (\d+)/.exec(l)).find((m) => m);
  const connected = lines.map((l) => /^CONNECTED (\d+)/.exec(l)).find((m) => m);
  const oom = lines.some((l) => /out of memory/i.test(l));
  const fail = lines.find((l) => INTERPRETER_ERROR.test(l));
  const why = oom ? "out of memory" : fail ? "error: " + fail.slice(0, 60) : "no answer";
  return { loaded: loaded ? loaded[1]! : why, connected: connected ? connected[1]! : loaded ? why : "-" };
}

async function fromRam(s: Subject, port: number): Promise<Memory> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fp-ram-"));
  const file = path.join(dir, "prog.js");
  writeFileSync(file, programText(s, port, 0));
  const e = new Espruino(BIN8266!, [file], dir);
  try {
    await e.expect(/^DONE$/, 30_000).catch(() => undefined);
    return memoryOf(e.lines);
  } finally {
    e.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fromFlash(s: Subject, port: number): Promise<Memory> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fp-flash-"));
  const e = new Espruino(BIN8266!, [], dir);
  try {
    await bootFromFlash(e, programText(s, port, 0), 30_000);
    await e.expect(/^DONE$/, 30_000).catch(() => undefined);
    return memoryOf(e.lines);
  } finally {
    e.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Instructions of one run under callgrind, or an error text. */
async function instructions(s: Subject, port: number, n: number): Promise<number | string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fp-cg-"));
  const file = path.join(dir, "prog.js");
  writeFileSync(file, programText(s, port, n));
  const log = path.join(dir, "cg.log");
  const e = new Espruino("valgrind", ["--tool=callgrind", "--callgrind-out-file=" + path.join(dir, "cg.out"), "--log-file=" + log, BIN!, file], dir, true);
  try {
    const r = await e.exit(180_000);
    const done = e.lines.includes("DONE");
    const m = existsSync(log) ? /Collected : (\d+)/.exec(readFileSync(log, "utf8")) : null;
    if (!done || !m) return "failed (" + (r.killed ? "timeout" : e.lines.find((l) => INTERPRETER_ERROR.test(l)) ?? "no DONE") + ")";
    return +m[1]!;
  } finally {
    e.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The median of RUNS runs (a run with sockets varies by the idle loop's turns while it waits). */
async function median(s: Subject, port: number, n: number): Promise<number | string> {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await instructions(s, port, n);
    if (typeof r != "number") return r;
    runs.push(r);
  }
  return runs.sort((x, y) => x - y)[RUNS >> 1]!;
}

async function perPublish(s: Subject, port: number): Promise<string> {
  const a = await median(s, port, 0);
  const b = await median(s, port, PUBLISHES);
  if (typeof a != "number") return a;
  if (typeof b != "number") return b;
  return Math.round((b - a) / PUBLISHES).toLocaleString("en-US");
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  const { list, missing } = subjects();
  for (const s of list) if (s.module != "mqtt-client") s.code = (await minify(s.code, { compress: true, mangle: true })).code!;
  if (!BIN8266) missing.push("free variables: ESPRUINO_BIN_ESP8266 is not set (the 1,700-variable 32-bit build)");
  if (!BIN) missing.push("instructions per publish: ESPRUINO_BIN is not set (the 64-bit Linux build)");
  if (BIN && spawnSync("valgrind", ["--version"]).status !== 0) missing.push("instructions per publish: valgrind is not installed");
  if (BIN8266) command(BIN8266);
  if (!BIN8266 && !BIN) {
    for (const m of missing) console.log("not measured: " + m);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "fp-broker-"));
  const broker = await startBroker(dir);
  const rows: string[][] = [];
  try {
    for (const s of list) {
      const ram = BIN8266 ? await fromRam(s, broker.port) : { loaded: "-", connected: "-" };
      const flash = BIN8266 ? await fromFlash(s, broker.port) : { loaded: "-", connected: "-" };
      const ir = BIN && !missing.some((m) => m.includes("valgrind")) ? await perPublish(s, broker.port) : "-";
      rows.push([s.name, String(Buffer.byteLength(s.code)), ram.loaded, ram.connected, flash.loaded, flash.connected, ir]);
      console.error("measured " + s.name);
    }
  } finally {
    broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log("Footprint on the real interpreter (free variables of 1,700 on the ESP8266 shape; instructions per QoS 0 " +
    "publish under callgrind, 64-bit build, " + PUBLISHES + " publishes minus none):");
  console.log(table(["module", "bytes", "RAM: loaded", "RAM: connected", "flash: loaded", "flash: connected", "instr/publish"], rows));
  for (const m of missing) console.log("not measured: " + m);
}

await main();
