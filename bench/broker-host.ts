/**
 * One broker in a process of its own, for `npm run bench:broker` (bench/broker.ts), so that its CPU time and
 * memory are measured alone. The parent bundles this file with esbuild (dependencies left in node_modules) and
 * runs it with plain `node --expose-gc <bundle> ours|aedes|net`: no TypeScript loader in the measured process.
 *
 * Listens on a free loopback port, then talks to its parent over the IPC channel:
 *   -> { ready: port }
 *   <- { id, cmd: "usage" }            -> { id, cpuUs, rss, heapUsed, external, arrayBuffers }
 *   <- { id, cmd: "gc" }               the same, after two full collections and a short pause
 *   <- { id, cmd: "stop" }             -> { id } after the broker and its listener have closed; then exits
 * and exits by itself when the parent goes away (the IPC channel closes).
 *
 * `ours` is sim/broker/main.ts's startBroker() with the default config, only the limits a 1,000-connection,
 * 1,000-retained-message run needs raised (see OUR_LIMITS). `aedes` is aedes on a Node `net` server with Nagle
 * off, as our listener and the bench's Mosquitto config have it. `net` is no broker: a Node `net` server that
 * answers every CONNECT with CONNACK and ignores the rest, the floor under any broker that keeps one
 * net.Socket per connection (used for idle connections only).
 */
import net from "node:net";

const kind = process.argv[2];
const g = globalThis as { gc?: () => void };

/** Raised from the defaults so the scenarios fit; everything else (in-flight 20, queue 100, 64 KiB outbound) as shipped. */
const OUR_LIMITS = { maxClients: 2000, maxSessions: 4000, maxRetained: 2000, maxRetainedBytes: 1 << 20 };

interface Running { port: number; stop: () => Promise<void> }

async function ours(): Promise<Running> {
  const { startBroker } = await import("../sim/broker/main");
  const { defaultConfig } = await import("../sim/broker/config");
  const c = defaultConfig();
  c.host = "127.0.0.1";
  c.port = 0;
  c.limits = { ...c.limits, ...OUR_LIMITS };
  const rb = await startBroker(c, { onError: (e) => console.error("broker-host ours:", e) });
  return { port: rb.ports.mqtt, stop: () => rb.stop() };
}

async function aedes(): Promise<Running> {
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  const server = net.createServer((s) => { s.setNoDelay(true); broker.handle(s); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  return {
    port: typeof a == "object" && a ? a.port : 0,
    stop: async () => {
      const closing = new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
      await closing;
    },
  };
}

/** A CONNECT arrives whole in one chunk on loopback: a fixed CONNACK for each chunk starting with one. */
async function floor(): Promise<Running> {
  const connack = Buffer.from([0x20, 2, 0, 0]);
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.once("close", () => open.delete(s));
    s.setNoDelay(true);
    s.on("data", (d) => { if (d[0] == 0x10) s.write(connack); });
    s.on("error", () => { /* closed */ });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  return { port: typeof a == "object" && a ? a.port : 0, stop: () => new Promise<void>((r) => { server.close(() => r()); for (const c of open) c.destroy(); }) };
}

function usage(): { cpuUs: number; rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  const c = process.cpuUsage();
  const m = process.memoryUsage();
  return { cpuUs: c.user + c.system, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function main(): Promise<void> {
  if (!process.send) throw new Error("broker-host: run by bench/broker.ts (needs an IPC channel)");
  const r = kind == "ours" ? await ours() : kind == "aedes" ? await aedes() : kind == "net" ? await floor() : null;
  if (!r) throw new Error("broker-host: ours, aedes or net, not " + kind);
  process.on("disconnect", () => process.exit(0));
  process.on("message", (m: { id: number; cmd: string }) => {
    if (m.cmd == "usage") process.send!({ id: m.id, ...usage() });
    else if (m.cmd == "gc") {
      if (g.gc) { g.gc(); g.gc(); }
      setTimeout(() => process.send!({ id: m.id, ...usage() }), 50);
    } else if (m.cmd == "stop") {
      r.stop().finally(() => process.send!({ id: m.id }, () => process.exit(0)));
    }
  });
  process.send({ ready: r.port });
}

main().catch((e) => { console.error(e); process.exit(1); });
