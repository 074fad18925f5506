/**
 * Running bundles on the real Espruino interpreter (Node side), for the tests that read ESPRUINO_BIN (the 64-bit
 * Linux build) and ESPRUINO_BIN_ESP8266 / ESPRUINO_BIN_ESP32 (32-bit device-shaped builds) made by
 * ../shared/tools/espruino/build.sh. Standard input is always a pipe held open (Espruino misbehaves on a closed
 * or /dev/null stdin); a run that outlives its time limit is ended with SIGKILL.
 *
 * Only short lines are typed into the interpreter's console: the Linux build reads it in a second thread that
 * races the interpreter on its event queue, and in about one run in four, 16 kB typed in garbled a line or
 * crashed the interpreter (measured under qemu-i386). Bulk data goes over a loopback socket instead.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import net from "node:net";

/** How to build the interpreter, for skip messages. */
export const BUILD_HINT = "build it with ../shared/tools/espruino/build.sh (see ../shared/tools/espruino/README.md) " +
  "and point the variable at the binary it prints";

/** Output lines that show the interpreter itself failed (as ../shared/tools/espruino/run.sh reads them). */
export const INTERPRETER_ERROR = /Uncaught|OUT OF MEMORY|Out of Memory|ERROR:|Execution Interrupted|New interpreter error|Segmentation fault/i;

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

/** Text arriving in pieces, as lines (CR dropped); `waitFor` resolves with the next lines up to a match. */
export class Lines {
  readonly all: string[] = [];
  private partial = "";
  private seen = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly what: string) {}

  push(text: string): void {
    const parts = (this.partial + text).replace(/\r/g, "").split("\n");
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
  async waitFor(done: (line: string) => boolean, ms: number): Promise<string[]> {
    const start = this.seen;
    const deadline = Date.now() + ms;
    for (;;) {
      for (; this.seen < this.all.length; this.seen++) {
        if (done(this.all[this.seen]!)) return this.all.slice(start, ++this.seen);
      }
      const left = deadline - Date.now();
      if (this.ended || left <= 0) {
        throw new Error(this.what + (this.ended ? " ended" : " gave no answer in " + ms + " ms") + "; last lines:\n" +
          this.all.slice(-10).join("\n"));
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

/** An interpreter process; `out` collects its output (stdout and stderr) as lines. */
export class Espruino {
  readonly out = new Lines("the interpreter");
  private readonly proc: ChildProcess;
  private readonly exited: Promise<Exit>;
  private killed = false;

  constructor(bin: string, args: string[], cwd: string) {
    const cmd = command(bin).concat(args);
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

  /** Types a (short) line into the interpreter's console. */
  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }

  /** Resolves when the process ends on its own, or SIGKILLs it after `ms`. */
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

/** A loopback TCP server whose connections are taken one at a time with `next()`. */
export class Server {
  private readonly server: net.Server;
  private readonly queue: net.Socket[] = [];
  private wake: (() => void) | null = null;

  constructor() {
    this.server = net.createServer((s) => { this.queue.push(s); if (this.wake) this.wake(); });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve((this.server.address() as net.AddressInfo).port)));
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
 * Stores `code` as the boot code (.bootcde) in the interpreter's emulated flash and runs it with `load()`, as a
 * device does after "save on send": its functions then stay in flash, not in variables. One short console line
 * starts a loader that takes the code over a socket from `server` (the one at `port`) and writes it to
 * Storage piece by piece, so a 1,700-variable build can take a bundle several times its free memory. The port
 * is left in the Storage file "selftest.port" for the booted code.
 */
export async function bootFromFlash(e: Espruino, server: Server, port: number, code: string, ms: number): Promise<void> {
  const n = Buffer.byteLength(code, "latin1");
  e.send("echo(0);var S=require('Storage'),o=0;S.write('selftest.port','" + port + "');" +
    "require('net').connect({host:'127.0.0.1',port:" + port + "},function(s){s.on('data',function(d){" +
    "if(o)S.write('.bootcde',d,o);else S.write('.bootcde',d,0," + n + ");o+=d.length;" +
    "if(o>=" + n + "){s.end();setTimeout(load,20)}})})");
  const s = await server.next(ms);
  const done = new Promise<void>((resolve) => { s.on("close", () => resolve()); s.on("error", () => resolve()); });
  s.write(Buffer.from(code, "latin1"));
  await done;
}
