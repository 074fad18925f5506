/**
 * `npm run sim`: the desktop simulation of a whole site (issue 8; see sim/sim.ts for what runs).
 *
 *   npm run sim -- [--seconds N] [--nodes N] [--speed K] [--seed S] [--scenario NAME] [--broker mqtt://HOST:PORT]
 *                  [--interval MS] [--json FILE|-] [--web PORT]
 *   npm run sim -- --scenario list
 *
 * A live view (redrawn every second on a terminal, a progress line every 5 s otherwise), a summary at the end
 * (after --seconds of virtual time, or on Ctrl-C). `--json` writes one JSON event per line (readings, status,
 * faults, device lines, the summary). `--web PORT` serves the dashboard (sim/web.ts) on 127.0.0.1:PORT.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { SCENARIOS, Simulation, type NodeStats, type SimEvent } from "./sim";
import { startDashboard, type Dashboard } from "./web";

const USAGE = "usage: npm run sim -- [--seconds N] [--nodes N] [--speed K] [--seed S] [--scenario NAME|list] " +
  "[--broker mqtt://HOST:PORT] [--interval MS] [--json FILE|-] [--web PORT]";

class UsageError extends Error {}

export interface Flags { seconds: number; nodes: number; speed: number; seed: number; scenario: string; broker?: string; interval: number; json?: string; web?: number }

export function parseArgs(argv: string[]): Flags {
  const f: Flags = { seconds: 0, nodes: 5, speed: 1, seed: 1, scenario: "default", interval: 5000 };
  const num = (k: string, v: string | undefined, lo: number, hi: number): number => {
    if (v === undefined || !/^[0-9]+(\.[0-9]+)?$/.test(v) || +v < lo || +v > hi) throw new UsageError(k + ": must be a number from " + lo + " to " + hi + " (got " + JSON.stringify(v) + ")");
    return +v;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (k == "--seconds") f.seconds = num(k, v, 1, 86400 * 30);
    else if (k == "--nodes") f.nodes = Math.floor(num(k, v, 1, 500));
    else if (k == "--speed") f.speed = num(k, v, 0.1, 100);
    else if (k == "--seed") f.seed = Math.floor(num(k, v, 0, 2 ** 31));
    else if (k == "--interval") f.interval = Math.floor(num(k, v, 1000, 3600000));
    else if (k == "--scenario") { if (v === undefined) throw new UsageError(k + ": needs a name"); f.scenario = v; }
    else if (k == "--broker") { if (v === undefined) throw new UsageError(k + ": needs mqtt://HOST:PORT"); f.broker = v; }
    else if (k == "--web") f.web = Math.floor(num(k, v, 0, 65535));
    else if (k == "--json") { if (v === undefined) throw new UsageError(k + ": needs a file name or -"); f.json = v; }
    else throw new UsageError("unknown argument " + JSON.stringify(k));
    i++;
  }
  if (f.web !== undefined && f.broker) throw new UsageError("--web: needs the simulator's own broker (its WebSocket listener), not --broker");
  if (f.scenario != "list" && !SCENARIOS[f.scenario]) throw new UsageError("--scenario: unknown \"" + f.scenario + "\" (" + Object.keys(SCENARIOS).join(", ") + ", list)");
  return f;
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);
const padE = (s: string | number, n: number): string => String(s).padEnd(n);

function fmt(v: number | undefined, d: number): string {
  return v === undefined ? "-" : v.toFixed(d);
}

/** The live table. */
export function view(sim: Simulation, flags: Flags): string {
  const rows = sim.nodes.map((n) => n.stats);
  const t = Math.round(sim.elapsed / 1000);
  const head = `espruino-mqtt-runtime sim: ${rows.length} nodes, scenario ${flags.scenario}, seed ${flags.seed}, speed ${flags.speed}x, ` +
    `virtual ${t}s${flags.seconds ? " of " + flags.seconds + "s" : ""}, broker ${sim.brokerUrl}`;
  const lines = [head, "",
    padE("node", 8) + padE("sensors", 14) + padE("status", 8) + pad("tempC", 7) + pad("rhPct", 7) + pad("QoS", 4) + pad("sent", 6) +
    pad("acked", 6) + pad("recv", 6) + pad("lost", 5) + pad("dup", 4) + pad("queued", 7) + pad("errors", 7)];
  for (const s of rows.slice(0, 40)) {
    const temp = Object.keys(s.last).find((k) => k.endsWith("tempC"));
    const rh = Object.keys(s.last).find((k) => k.endsWith("rhPct"));
    lines.push(padE(s.name, 8) + padE(s.kind, 14) + padE(s.online ? "online" : "offline", 8) + pad(fmt(temp ? s.last[temp] : undefined, 2), 7) +
      pad(fmt(rh ? s.last[rh] : undefined, 1), 7) + pad(s.qos, 4) + pad(s.published, 6) + pad(s.acked, 6) + pad(s.received, 6) + pad(s.lost, 5) +
      pad(s.duplicated, 4) + pad(s.queued, 7) + pad(s.sensorErrors, 7));
  }
  if (rows.length > 40) lines.push("... and " + (rows.length - 40) + " more");
  if (sim.faultLog.length) lines.push("", "faults:", ...sim.faultLog.slice(-6).map((l) => "  " + l));
  return lines.join("\n");
}

/** The end-of-run summary: per node, then per QoS. */
export function summaryText(rows: NodeStats[]): string {
  const lines = ["", "summary (delivery to a subscriber, by sequence number):",
    padE("node", 8) + padE("sensors", 14) + pad("QoS", 4) + pad("published", 10) + pad("received", 9) + pad("lost", 6) + pad("dup", 5) +
    pad("max latency ms", 15) + pad("restarts", 9)];
  for (const s of rows) {
    lines.push(padE(s.name, 8) + padE(s.kind, 14) + pad(s.qos, 4) + pad(s.published, 10) + pad(s.received, 9) + pad(s.lost, 6) +
      pad(s.duplicated, 5) + pad(s.maxLatencyMs, 15) + pad(s.restarts, 9));
  }
  for (const q of [1, 0]) {
    const r = rows.filter((s) => s.qos == q);
    if (!r.length) continue;
    const sum = (f: (s: NodeStats) => number): number => r.reduce((a, s) => a + f(s), 0);
    lines.push(`QoS ${q}: ${r.length} nodes, published ${sum((s) => s.published)}, received ${sum((s) => s.received)}, ` +
      `lost ${sum((s) => s.lost)}, duplicated ${sum((s) => s.duplicated)}, max latency ${Math.max(...r.map((s) => s.maxLatencyMs))} ms`);
  }
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let flags: Flags;
  try {
    flags = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) { console.error(e.message + "\n" + USAGE); return 2; }
    throw e;
  }
  if (flags.scenario == "list") {
    for (const [k, v] of Object.entries(SCENARIOS)) console.log(padE(k, 16) + v.about);
    return 0;
  }
  let out: WriteStream | NodeJS.WriteStream | null = null;
  if (flags.json) out = flags.json == "-" ? process.stdout : createWriteStream(flags.json);
  const tty = !!process.stdout.isTTY && flags.json != "-";
  let sim: Simulation;
  try {
    sim = new Simulation({ nodes: flags.nodes, seconds: flags.seconds, speed: flags.speed, seed: flags.seed, broker: flags.broker,
      scenario: flags.scenario, intervalMs: flags.interval, web: flags.web !== undefined, event: out ? (e: SimEvent) => out!.write(JSON.stringify(e) + "\n") : undefined });
  } catch (e) {
    console.error((e as Error).message + "\n" + USAGE);
    return 2;
  }
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await sim.start();
  let web: Dashboard | null = null;
  if (flags.web !== undefined) {
    web = await startDashboard(sim, flags.web);
    console.log("dashboard: http://127.0.0.1:" + web.port + "/");
  }
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => { done = r; });
  // Ctrl-C reaches the whole process group (npm, tsx and this process, which tsx also forwards it to): the first
  // ones end the run and print the summary; a third forces the exit
  let signals = 0;
  const stopSignal = (): void => { if (++signals >= 3) process.exit(130); done(); };
  process.on("SIGINT", stopSignal);
  process.on("SIGTERM", stopSignal);
  process.on("SIGHUP", stopSignal);
  const tick = setInterval(() => {
    if (tty) process.stdout.write("\x1b[H\x1b[2J" + view(sim, flags) + "\n");
    if (flags.seconds && sim.elapsed >= flags.seconds * 1000) done();
  }, tty ? 1000 : 250);
  const progress = tty || flags.json == "-" ? null : setInterval(() => {
    const r = sim.summary();
    console.log(`t=${Math.round(sim.elapsed / 1000)}s online ${r.filter((s) => s.online).length}/${r.length}, ` +
      `received ${r.reduce((a, s) => a + s.received, 0)}, lost ${r.reduce((a, s) => a + s.lost, 0)}`);
  }, 5000);
  await finished;
  clearInterval(tick);
  if (progress) clearInterval(progress);
  const rows = await sim.stop(Math.min(2000, 20000 / flags.speed));
  await web?.close();
  const cpu = process.cpuUsage(cpu0);
  const wall = (Date.now() - t0) / 1000;
  if (tty) process.stdout.write("\x1b[H\x1b[2J" + view(sim, flags) + "\n");
  if (flags.json != "-") {
    console.log(summaryText(rows));
    if (sim.shares.length) console.log("shared consumers (readings each): " + sim.shares.join(", "));
    const x = sim.expiry;
    if (x.backAt) {
      const away = [...x.relayed.values()].filter((t) => t >= x.awayAt && t < x.backAt).length;
      const back = x.got.filter((g) => g.at >= x.backAt && (x.relayed.get(g.key) ?? 0) < x.backAt).length;
      console.log(`dashboard (MQTT 5, expiry ${x.expirySec} s): ${away} readings relayed while it was away, ${back} delivered ` +
        `when it came back, ${x.droppedAfter - x.droppedBefore} dropped by the broker as expired`);
    }
    if (sim.faultLog.length) console.log("faults: " + sim.faultLog.join("; "));
    console.log(`run: ${wall.toFixed(1)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${(100 * (cpu.user + cpu.system) / 1e6 / wall).toFixed(0)} %), ` +
      `heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB, RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
  }
  if (out && out !== process.stdout) await new Promise<void>((r) => (out as WriteStream).end(r));
  return 0;
}

const isEntry = (): boolean => !!process.argv[1] && /sim[\\/]main\.ts$/.test(process.argv[1]);
if (isEntry()) main(process.argv.slice(2)).then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
