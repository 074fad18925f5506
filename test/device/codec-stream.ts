/**
 * The codec self-test with the rows streamed in, for memories too small to hold the fixture tables (the
 * 1,700-variable ESP8266 shape; the tables alone take about 12,000 variables). Meant to run from flash
 * (.bootcde). It connects to 127.0.0.1 on the port stored in the Storage file "selftest.port" and reads one
 * JSON message per line, answering each with its result lines (FAIL/SKIP, as check.ts prints them) and then
 * a line `#`. Each row is decoded whole and split at two points only (see fewCuts):
 *
 *   {"g":[name, hex, packet]}              a golden row; a byte field of `packet` is {"h": "<hex>"}
 *   {"v":[name, hex, err, type, max]}      an invalid row (`max` null when absent)
 *   {"s":1}                                the summary, as codec-selftest.ts prints it
 *
 * test/espruino.codec.test.ts drives it. The rows come over a socket, not the console: the Linux build's
 * console input thread races the interpreter and now and then garbles or crashes on long typed-in lines.
 */
import { PacketInput } from "../../lib/mqtt/encode";
import { fewCuts, fromHex, golden, invalid, setOutput, summary } from "./codec/check";

interface Socket {
  on(event: string, f: (d: string) => void): void;
  write(s: string): void;
}

/**
 * Espruino's built-in modules, reached through `global.require`: a plain `require("net")` is a module that
 * esbuild tries to bundle (and fails to find).
 */
const modules = global as unknown as {
  require(name: "net"): { connect(o: { host: string; port: number }, cb: (s: Socket) => void): Socket };
  require(name: "Storage"): { read(name: string): string | undefined };
};

/** A parsed message with its {"h": hex} byte fields turned into Uint8Arrays (recursively). */
function unpack(v: unknown): unknown {
  if (typeof v != "object" || v === null) return v;
  const o = v as { [k: string]: unknown };
  if (typeof o.h == "string") return fromHex(o.h);
  for (const k in o) o[k] = unpack(o[k]);
  return o;
}

function run(line: string): void {
  const m = JSON.parse(line) as { g?: [string, string, unknown]; v?: [string, string, number, number, number | null]; s?: number };
  if (m.g) golden(m.g[0], m.g[1], unpack(m.g[2]) as PacketInput);
  else if (m.v) invalid(m.v[0], m.v[1], m.v[2], m.v[3], m.v[4] === null ? undefined : m.v[4]);
  else if (m.s) summary();
}

fewCuts(); // each row whole and split at two points (the Linux run splits at up to six)
let rest = "";
const port = Number(modules.require("Storage").read("selftest.port"));
modules.require("net").connect({ host: "127.0.0.1", port: port }, function (s: Socket): void {
  setOutput(function (line: string): void {
    s.write(line + "\n");
  });
  s.on("data", function (d: string): void {
    rest += d;
    for (let i = rest.indexOf("\n"); i >= 0; i = rest.indexOf("\n")) {
      const line = rest.substr(0, i);
      rest = rest.substr(i + 1);
      run(line);
      s.write("#\n");
    }
  });
});
