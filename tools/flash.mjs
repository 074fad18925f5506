#!/usr/bin/env node
/**
 * npm run flash -- --board esp32 --port /dev/ttyUSB0 [--config node.json] [--role node] [--baud 115200] [--dry-run]
 *
 * Builds one firmware bundle (tools/build.mjs buildFirmware) and uploads it with the EspruinoTools CLI
 * (node_modules/.bin/espruino) so that it runs from flash and starts at boot: `--config SAVE_ON_SEND=1` makes the
 * CLI write the bundle to Storage as `.bootcde` in 1 kB `require("Storage").write` chunks and then call `load()`,
 * which restarts the interpreter and runs `.bootcde` from flash, as it does at every boot.
 *
 * `--port` is a serial device (it must exist) or `tcp://HOST:PORT`: the board's telnet console (port 23 on an
 * ESP8266/ESP32 with Wi-Fi, 2323 on Espruino's Linux build started with `--telnet`), so a deployed node is
 * updated without a cable.
 *
 * Every refusal (unknown board or role, missing or invalid config, a bundle over the board's budget, missing or
 * non-existent serial port, malformed tcp port) is printed on stderr and exits with code 2 before anything is
 * sent to the board. An upload that fails exits with 1.
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "node_modules", ".bin", "espruino");
/** How long an upload may take in all (a 60 kB bundle over 115200 baud takes well under a minute). */
const UPLOAD_MS = 180_000;
/** After the CLI says "Upload Complete": how long to let it show the board's first output before ending it. */
const SHOW_MS = 1_500;

const HELP = `usage: npm run flash -- --board BOARD --port PORT [options]

Builds the firmware bundle for BOARD and ROLE and writes it to the board's flash (Storage ".bootcde") with the
EspruinoTools CLI, so it runs from flash and starts at every boot.

  --board BOARD      esp32, esp8266 or linux (required)
  --role ROLE        node (default) or gateway
  --config FILE      the node's JSON config (default firmware/<role>/config/<board>.json)
  --port PORT        a serial device (/dev/ttyUSB0) or tcp://HOST:PORT for the board's telnet console
                     (required unless --dry-run)
  --baud N           serial baud rate (default 115200)
  --budget BYTES     refuse bundles over BYTES instead of the board's own budget (may only lower it)
  --out FILE         write the bundle there instead of dist/<board>/<role>.js
  --dry-run          build, check the size and print the upload command; send nothing to the board
  --help             this text

Refusals exit with code 2 before anything is written to the board; a failed upload exits with 1.`;

class Refusal extends Error {}

function refuse(msg) {
  throw new Refusal(msg);
}

/** The command line as flags; refuses unknown flags and missing values. */
export function parseArgs(argv) {
  const o = { role: "node", baud: 115200, dryRun: false, help: false };
  const takes = { "--board": "board", "--role": "role", "--config": "config", "--port": "port", "--baud": "baud", "--budget": "budget", "--out": "out" };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a == "--help" || a == "-h") o.help = true;
    else if (a == "--dry-run" || a == "-n") o.dryRun = true;
    else if (takes[a]) {
      if (v === undefined) {
        v = argv[++i];
        if (v === undefined || v.startsWith("--")) refuse(`${a} needs a value`);
      }
      o[takes[a]] = v;
    } else refuse(`unknown option "${a}" (see --help)`);
  }
  for (const k of ["baud", "budget"]) {
    if (o[k] === undefined || typeof o[k] == "number") continue;
    if (!/^[1-9][0-9]*$/.test(o[k])) refuse(`--${k} must be a positive whole number, not "${o[k]}"`);
    o[k] = Number(o[k]);
  }
  return o;
}

/**
 * A port as the CLI takes it: `{ kind: "tcp", host, port, url }` or `{ kind: "serial", path }`; refuses a
 * malformed tcp:// address and a serial device that does not exist.
 */
export function checkPort(p) {
  if (/^[a-z]+:\/\//i.test(p)) {
    const m = /^tcp:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$/.exec(p);
    if (!m || +m[2] < 1 || +m[2] > 65535) {
      refuse(`--port "${p}" is not a network port: write tcp://HOST:PORT with PORT 1-65535 (e.g. tcp://192.168.1.50:23)`);
    }
    return { kind: "tcp", host: m[1], port: +m[2], url: p };
  }
  if (!existsSync(p)) refuse(`--port "${p}" does not exist (a serial device such as /dev/ttyUSB0, or tcp://HOST:PORT)`);
  const s = statSync(p);
  if (s.isDirectory() || s.isFile()) refuse(`--port "${p}" is a ${s.isDirectory() ? "directory" : "regular file"}, not a serial device`);
  return { kind: "serial", path: p };
}

/** The EspruinoTools arguments that write `file` to Storage as .bootcde over `port` and load() it. */
export function uploadArgs(file, port, baud) {
  return [
    "--no-ble", // no Bluetooth scan
    "-p", port,
    "-b", String(baud),
    "--config", "SAVE_ON_SEND=1", // "Direct to Flash (execute code at boot)": Storage .bootcde, then load()
    "--config", "STORE_LINE_NUMBERS=false",
    "--config", "SET_TIME_ON_WRITE=false",
    file,
  ];
}

/** A shell-quoted command line, for printing. */
function shown(cmd, args) {
  return [cmd, ...args].map((a) => (/^[A-Za-z0-9_./:=@,+-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'")).join(" ");
}

const step = (msg) => console.log("flash: " + msg);

/** Runs the CLI, its output passed through; resolves true once it reported the upload complete. */
function upload(args) {
  return new Promise((resolve) => {
    const p = spawn(CLI, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let done = false;
    let failed = "";
    let ended = false;
    let text = "";
    const stop = (why) => {
      if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
      if (why) failed ||= why;
    };
    const timer = setTimeout(() => stop(`no "Upload Complete" from the espruino CLI within ${UPLOAD_MS / 1000} s`), UPLOAD_MS);
    let showTimer = null;
    const see = (chunk, out) => {
      out.write(chunk);
      text += chunk.toString("latin1");
      const lines = text.split("\n");
      text = lines.pop();
      for (const l of lines) {
        if (/^Upload Complete/.test(l) && !done) {
          done = true;
          // the CLI only exits after the board has been quiet for 0.5 s; a running node may never be
          showTimer = setTimeout(() => stop(""), SHOW_MS);
        } else if (/Unable to connect|upload failed|SEND ERROR|Prompt not detected/i.test(l)) {
          failed ||= l.trim();
        }
      }
    };
    p.stdout.on("data", (d) => see(d, process.stdout));
    p.stderr.on("data", (d) => see(d, process.stderr));
    p.on("error", (e) => { failed ||= "cannot start " + CLI + ": " + e.message; });
    p.on("close", () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      if (showTimer) clearTimeout(showTimer);
      if (failed || !done) {
        console.error("flash: upload failed: " + (failed || "the espruino CLI ended without \"Upload Complete\""));
        resolve(false);
      } else resolve(true);
    });
  });
}

export async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
    if (o.help) { console.log(HELP); return 0; }
    if (!o.board) refuse("--board is missing (esp32, esp8266 or linux; see --help)");
    const build = await import("./build.mjs");
    const boards = build.boardNames();
    if (!boards.includes(o.board)) refuse(`unknown board "${o.board}" (boards: ${boards.join(", ")})`);
    if (!build.ROLES.includes(o.role)) refuse(`unknown role "${o.role}" (roles: ${build.ROLES.join(", ")})`);
    let port = null;
    if (o.port !== undefined) port = checkPort(o.port);
    else if (!o.dryRun) refuse("--port is missing: a serial device such as /dev/ttyUSB0, or tcp://HOST:PORT");
    const config = o.config ? path.resolve(o.config) : build.defaultConfig(o.role, o.board);
    if (!existsSync(config)) refuse(`config ${path.relative(process.cwd(), config) || config}: no such file`);
    let budget = await build.boardBudget(o.board);
    if (o.budget !== undefined) {
      if (o.budget > budget) refuse(`--budget ${o.budget} is above the ${o.board} budget of ${budget} bytes`);
      budget = o.budget;
    }

    step(`building ${o.role} for ${o.board} with ${path.relative(process.cwd(), config) || config}`);
    let r;
    try {
      r = await build.buildFirmware({ board: o.board, role: o.role, config, out: o.out });
    } catch (e) {
      refuse(String(e && e.message ? e.message : e));
    }
    const rel = path.relative(process.cwd(), r.out) || r.out;
    if (r.bytes > budget) refuse(`${rel} is ${r.bytes} bytes, over the ${o.board} budget of ${budget} bytes`);
    step(`bundle ${rel}: ${r.bytes} bytes of the ${o.board} budget of ${budget} (${Math.round((r.bytes / budget) * 100)}%)`);

    const args = uploadArgs(r.out, port ? (port.kind == "tcp" ? port.url : port.path) : "PORT", o.baud);
    const cmd = shown(path.relative(process.cwd(), CLI) || CLI, args);
    if (o.dryRun) {
      step("dry run: would write it to Storage as .bootcde and load() it with:");
      console.log(cmd);
      step("dry run: nothing was sent to the board");
      return 0;
    }
    step(`uploading to ${port.kind == "tcp" ? "the telnet console at " + port.url : "serial " + port.path + " at " + o.baud + " baud"}: ${cmd}`);
    const ok = await upload(args);
    if (!ok) return 1;
    step(`done: ${r.bytes} bytes stored as .bootcde on ${o.port}; it runs now and at every boot`);
    return 0;
  } catch (e) {
    if (e instanceof Refusal) {
      console.error("flash: refused: " + e.message.split("\n").join("\nflash: refused: "));
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
