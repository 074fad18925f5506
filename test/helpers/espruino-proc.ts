/**
 * One Espruino interpreter process for the client's device tests (test/espruino.client.test.ts) and the
 * footprint script (tools/footprint.mjs): started directly (or as `qemu-i386 BIN` when the kernel cannot run a
 * 32-bit build), standard input a pipe held open (never /dev/null: Espruino misbehaves on a closed stdin),
 * output read as lines, ended by its pid with SIGKILL. Programs that must run from the emulated flash are
 * stored through a loopback socket (only one short line is typed into the console: long typed-in lines are
 * garbled now and then by the Linux build's console thread) and started with `load()`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";

/** Output lines that show the interpreter itself failed (as ../shared/tools/espruino/run.sh reads them). */
export const FAILED = /Uncaught|Out of Memory|ERROR:|Execution Interrupted|New interpreter error|Segmentation fault/i;

const prefixes: { [bin: string]: string[] } = {};

/** `[bin]`, or `["qemu-i386", bin]` when the kernel cannot run it (32-bit builds here). */
export function commandFor(bin: string): string[] {
  if (!prefixes[bin]) {
    const r = spawnSync(bin, ["-h"], { input: "", timeout: 10_000, encoding: "latin1" });
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    const native = !code && /Usage/.test(String(r.stdout) + String(r.stderr));
    prefixes[bin] = native || (code && code != "ENOEXEC" && code != "EACCES") ? [bin] : ["qemu-i386", bin];
  }
  return prefixes[bin]!;
}

export class Proc {
  readonly lines: string[] = [];
  private partial = "";
  private seen = 0;
  private wake: (() => void) | null = null;
  private readonly p: ChildProcess;
  private done = false;
  private readonly closed: Promise<{ code: number | null; killed: boolean }>;
  private killed = false;

  /** `native`: run `bin` as it is (a tool such as valgrind), without the qemu probe. */
  constructor(bin: string, args: string[], cwd: string, native = false) {
    const cmd = (native ? [bin] : commandFor(bin)).concat(args);
    this.p = spawn(cmd[0]!, cmd.slice(1), { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const take = (d: Buffer): void => {
      // the console's prompt and terminal escapes ("\x1b[J") are not part of what a program prints
      const parts = (this.partial + d.toString("latin1")).replace(/\r|\x1b\[[0-9;]*[A-Za-z]/g, "").split("\n").map((l) => l.replace(/^>+/, ""));
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      if (this.wake) this.wake();
    };
    this.p.stdout!.on("data", take);
    this.p.stderr!.on("data", take);
    this.p.stdin!.on("error", () => { /* it ended; reported by close */ });
    this.closed = new Promise((resolve) => {
      this.p.on("error", (e) => { this.lines.push("spawn error: " + e.message); });
      this.p.on("close", (code) => {
        if (this.partial) this.lines.push(this.partial);
        this.partial = "";
        this.done = true;
        if (this.wake) this.wake();
        resolve({ code, killed: this.killed });
      });
    });
  }

  /** Types a short line into the console. */
  send(line: string): void {
    this.p.stdin!.write(line + "\n");
  }

  /**
   * The next line (after the last one returned) matching `re`, as a match; throws on a line matching `fail`
   * first, when the process ends, or after `ms`.
   */
  async expect(re: RegExp, ms: number, fail: RegExp = FAILED): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (; this.seen < this.lines.length; this.seen++) {
        const l = this.lines[this.seen]!;
        const m = re.exec(l);
        if (m) { this.seen++; return m; }
        if (fail.test(l)) throw new Error("interpreter: " + l + "\n" + this.tail());
      }
      const left = deadline - Date.now();
      if (this.done || left <= 0) throw new Error("expected " + re + (this.done ? "; the interpreter ended" : " within " + ms + " ms") + "\n" + this.tail());
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); this.wake = null; r(); };
      });
    }
  }

  tail(n = 15): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Resolves when the process ends by itself, or kills it (by its pid) after `ms`. */
  exit(ms: number): Promise<{ code: number | null; killed: boolean }> {
    const t = setTimeout(() => this.kill(), ms);
    return this.closed.finally(() => clearTimeout(t));
  }

  kill(): void {
    if (this.p.exitCode === null && this.p.signalCode === null) { this.killed = true; this.p.kill("SIGKILL"); }
  }
}

/**
 * Stores `code` as the boot code (.bootcde) in the interpreter's emulated flash (the file espruino.flash in its
 * working directory) and runs it with `load()`, as a device runs a program saved to flash: function code then
 * stays in flash, not in variables. The interpreter fetches the code from a one-shot loopback server in pieces,
 * so a 1,700-variable build can store a program several times its free memory.
 */
export async function bootFromFlash(e: Proc, code: string, ms: number): Promise<void> {
  const bytes = Buffer.from(code, "latin1");
  let sent: () => void = () => {};
  const written = new Promise<void>((r) => { sent = r; });
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    s.on("close", () => sent());
    s.end(bytes);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    e.send("echo(0);var S=require('Storage'),o=0;require('net').connect({host:'127.0.0.1',port:" + port + "}," +
      "function(s){s.on('data',function(d){if(o)S.write('.bootcde',d,o);else S.write('.bootcde',d,0," + bytes.length + ");" +
      "o+=d.length;if(o>=" + bytes.length + ")setTimeout(load,20)})})");
    const t = setTimeout(() => sent(), ms);
    await written;
    clearTimeout(t);
  } finally {
    srv.close();
  }
}
