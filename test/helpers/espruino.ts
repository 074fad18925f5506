/**
 * Running programs on the real Espruino interpreter (Node side), for the tests that read ESPRUINO_BIN (the
 * 64-bit Linux build) and ESPRUINO_BIN_ESP8266 / ESPRUINO_BIN_ESP32 (32-bit device-shaped builds) made by
 * ../shared/tools/espruino/build.sh, and for the footprint script (tools/footprint.ts).
 *
 * An interpreter is started directly, or as `qemu-i386 BIN` when the kernel cannot run a 32-bit build. Standard
 * input is always a pipe held open (never /dev/null: Espruino misbehaves on a closed stdin); output is read as
 * lines; a run is ended by its pid with SIGKILL.
 *
 * Only short lines are typed into the interpreter's console: the Linux build reads it in a second thread that
 * races the interpreter on its event queue, and in about one run in four, 16 kB typed in garbled a line or
 * crashed the interpreter (measured under qemu-i386). Bulk data goes over a loopback socket instead; programs
 * that must run from the emulated flash are stored that way and started with `load()` (`bootFromFlash`).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** How to build the interpreter, for skip messages. */
export const BUILD_HINT = "build it with ../shared/tools/espruino/build.sh (see ../shared/tools/espruino/README.md) " +
  "and point the variable at the binary it prints";

/** Output lines that show the interpreter itself failed (as ../shared/tools/espruino/run.sh reads them). */
export const INTERPRETER_ERROR = /Uncaught|OUT OF MEMORY|Out of Memory|ERROR:|Execution Interrupted|New interpreter error|Segmentation fault/i;

// ---------------------------------------------------------------- bundles and scratch folders

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** dist/<rel> (absolute), built by tools/build.mjs when it is missing or older than its sources. */
export function built(rel: string): string {
  const file = path.join(ROOT, "dist", rel);
  const sources = Math.max(...["lib", "boards", "sim", "test/device", "test/fixtures"].map((d) => newest(path.join(ROOT, d))));
  if (!existsSync(file) || statSync(file).mtimeMs < sources) {
    execFileSync(process.execPath, [path.join(ROOT, "tools/build.mjs")], { cwd: ROOT, stdio: "pipe" });
  }
  return file;
}

/** A new empty folder for one interpreter (its emulated flash, espruino.flash, is made there). */
export function scratch(name: string): string {
  return mkdtempSync(path.join(os.tmpdir(), "espruino-" + name + "-"));
}

// ---------------------------------------------------------------- the interpreter

const commands: { [bin: string]: string[] } = {};

/**
 * Command line for `bin`: itself, or `qemu-i386 bin` when the kernel cannot run it (a 32-bit build where IA32
 * emulation is off). Probed once with `bin -h`: ENOEXEC/EACCES, or no Espruino usage text, means qemu. (Node
 * starts children with execvp, which hands a file the kernel refuses with ENOEXEC to /bin/sh as a script, so
 * the failure usually shows as a shell "Syntax error" rather than as ENOEXEC.)
 */
export function command(bin: string): string[] {
  if (!commands[bin]) {
    const r = spawnSync(bin, ["-h"], { input: "", timeout: 10_000, encoding: "latin1" });
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    const ours = !code && /Usage/.test(String(r.stdout) + String(r.stderr));
    commands[bin] = ours || (code && code != "ENOEXEC" && code != "EACCES") ? [bin] : ["qemu-i386", bin];
  }
  return commands[bin]!;
}

/**
 * Text arriving in pieces, as lines (CR dropped). With `console`, the text is an interpreter's console output:
 * its prompt (">" at the start of a line) and terminal escapes ("\x1b[J") are dropped too, as they are not part
 * of what a program prints. `waitFor` and `expect` read on from where the last of them stopped.
 */
export class Lines {
  readonly all: string[] = [];
  private partial = "";
  private seen = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly what: string, private readonly console = false) {}

  push(text: string): void {
    const joined = this.partial + text;
    let parts = (this.console ? joined.replace(/\r|\x1b\[[0-9;]*[A-Za-z]/g, "") : joined.replace(/\r/g, "")).split("\n");
    if (this.console) parts = parts.map((l) => l.replace(/^>+/, ""));
    this.partial = parts.pop()!;
    for (const p of parts) this.all.push(p);
    if (this.wake) this.wake();
  }

  end(): void {
    if (this.partial) this.all.push(this.partial);
    this.partial = "";
    this.ended = true;
    if (this.wake) this.wake();
  }

  /** The lines from where the last wait stopped up to the first that satisfies `done`; rejects after `ms`. */
  waitFor(done: (line: string) => boolean, ms: number): Promise<string[]> {
    const start = this.seen;
    return this.next((l) => (done(l) ? this.all.slice(start, this.seen) : undefined), "an answer", ms);
  }

  /**
   * The next line matching `re`, as a match; rejects on a line matching `fail` first, when the text ends, or
   * after `ms`.
   */
  expect(re: RegExp, ms: number, fail: RegExp = INTERPRETER_ERROR): Promise<RegExpExecArray> {
    return this.next((l) => {
      const m = re.exec(l);
      if (m) return m;
      if (fail.test(l)) throw new Error(this.what + " failed: " + l + "\n" + this.tail());
      return undefined;
    }, String(re), ms);
  }

  tail(n = 15): string {
    return this.all.slice(-n).join("\n");
  }

  /** The first result of `take` on the lines not yet seen, waiting up to `ms` for more. */
  private async next<T>(take: (line: string) => T | undefined, expected: string, ms: number): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.seen < this.all.length) {
        const r = take(this.all[this.seen++]!);
        if (r !== undefined) return r;
      }
      const left = deadline - Date.now();
      if (this.ended || left <= 0) {
        throw new Error(this.what + ": expected " + expected + (this.ended ? ", but it ended" : " within " + ms + " ms") +
          "; last lines:\n" + this.tail());
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); this.wake = null; r(); };
      });
    }
  }
}

export interface Exit {
  out: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when the time limit ended it */
  killed: boolean;
}

/** An interpreter process; `out` collects its output (stdout and stderr) as console lines. */
export class Espruino {
  readonly out = new Lines("the interpreter", true);
  private readonly proc: ChildProcess;
  private readonly exited: Promise<Exit>;
  private killed = false;

  /** `native`: run `bin` as it is (a tool such as valgrind), without the qemu probe. */
  constructor(bin: string, args: string[], cwd: string, native = false) {
    const cmd = (native ? [bin] : command(bin)).concat(args);
    this.proc = spawn(cmd[0]!, cmd.slice(1), { cwd, stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdout!.on("data", (d: Buffer) => this.out.push(d.toString("latin1")));
    this.proc.stderr!.on("data", (d: Buffer) => this.out.push(d.toString("latin1")));
    this.proc.stdin!.on("error", () => { /* the process ended: its exit is reported below */ });
    this.exited = new Promise((resolve) => {
      this.proc.on("error", (e) => { this.out.push("spawn error: " + e.message + "\n"); });
      this.proc.on("close", (code, signal) => {
        this.out.end();
        resolve({ out: this.out.all.join("\n"), code, signal, killed: this.killed });
      });
    });
  }

  /** Every output line so far. */
  get lines(): string[] {
    return this.out.all;
  }

  /** See `Lines.expect`. */
  expect(re: RegExp, ms: number, fail: RegExp = INTERPRETER_ERROR): Promise<RegExpExecArray> {
    return this.out.expect(re, ms, fail);
  }

  /** Types a (short) line into the interpreter's console. */
  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }

  /** Resolves when the process ends on its own, or kills it (by its pid, SIGKILL) after `ms`. */
  exit(ms: number): Promise<Exit> {
    const t = setTimeout(() => this.kill(), ms);
    return this.exited.finally(() => clearTimeout(t));
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) { this.killed = true; this.proc.kill("SIGKILL"); }
  }
}

/** Runs `file` to its natural end (or SIGKILL after `ms`) and returns its output. */
export function runFile(bin: string, file: string, cwd: string, ms: number): Promise<Exit> {
  return new Espruino(bin, [file], cwd).exit(ms);
}

// ---------------------------------------------------------------- sockets

/** A loopback TCP server whose connections are taken one at a time with `next()`. */
export class Server {
  private readonly server: net.Server;
  private readonly queue: net.Socket[] = [];
  private wake: (() => void) | null = null;
  private port: Promise<number> | null = null;

  constructor() {
    this.server = net.createServer((s) => { this.queue.push(s); if (this.wake) this.wake(); });
  }

  /** Starts listening (once) and gives the port. */
  listen(): Promise<number> {
    this.port ??= new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve((this.server.address() as net.AddressInfo).port)));
    return this.port;
  }

  async next(ms: number): Promise<net.Socket> {
    const deadline = Date.now() + ms;
    while (!this.queue.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no connection from the interpreter in " + ms + " ms");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); this.wake = null; r(); };
      });
    }
    return this.queue.shift()!;
  }

  close(): void {
    for (const s of this.queue) s.destroy();
    this.server.close();
  }
}

/** The lines a socket receives. */
export function socketLines(s: net.Socket, what: string): Lines {
  const l = new Lines(what);
  s.on("data", (d: Buffer) => l.push(d.toString("latin1")));
  s.on("close", () => l.end());
  s.on("error", () => l.end());
  return l;
}

/**
 * Stores `code` as the boot code (.bootcde) in the interpreter's emulated flash (the file espruino.flash in its
 * working directory) and runs it with `load()`, as a device runs a program saved to flash: its functions then
 * stay in flash, not in variables. One short console line starts a loader that takes the code over a loopback
 * socket and writes it to Storage piece by piece, so a 1,700-variable build can store a program several times
 * its free memory.
 *
 * The loader connects to `server` when one is given, and its port is then left in the Storage file
 * "selftest.port" for the booted program to connect back to; otherwise to a server of its own, closed
 * afterwards. Resolves true once the code is stored, false when that has not happened within `ms`.
 */
export async function bootFromFlash(e: Espruino, code: string, ms: number, server?: Server): Promise<boolean> {
  const deadline = Date.now() + ms;
  const bytes = Buffer.from(code, "latin1");
  const srv = server ?? new Server();
  try {
    const port = await srv.listen();
    e.send("echo(0);var S=require('Storage'),o=0;" + (server ? "S.write('selftest.port','" + port + "');" : "") +
      "require('net').connect({host:'127.0.0.1',port:" + port + "},function(s){s.on('data',function(d){" +
      "if(o)S.write('.bootcde',d,o);else S.write('.bootcde',d,0," + bytes.length + ");o+=d.length;" +
      "if(o>=" + bytes.length + ")setTimeout(load,20)})})");
    const s = await srv.next(ms).catch(() => null);
    if (!s) return false;
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), deadline - Date.now());
      s.on("error", () => { /* followed by close */ });
      s.on("close", () => { clearTimeout(t); resolve(true); });
      s.end(bytes);
    });
  } finally {
    if (!server) srv.close();
  }
}
