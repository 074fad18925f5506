/**
 * `npm run sim -- --web PORT` (issue 8, requirement 4): a dashboard served on 127.0.0.1:PORT. The page connects to
 * the simulation's broker over MQTT over WebSocket (MQTT.js's browser build, served from node_modules) and draws,
 * per node, live temperature and humidity charts from `<prefix>/<node>/state` and the availability from
 * `<prefix>/<node>/status` (retained; `offline` is the node's will). Delivery counters (published, received,
 * lost, duplicated, queued) come from the simulator itself, at /stats.
 *
 *   GET /             the page (no build step, no framework: one HTML file with its script)
 *   GET /mqtt.min.js  MQTT.js for browsers
 *   GET /config.json  { ws: "ws://127.0.0.1:<port>", prefix }
 *   GET /stats        the simulator's per-node figures
 */
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Simulation } from "./sim";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>espruino-mqtt-runtime: site</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; } #conn { color: #666; margin-bottom: 12px; }
#nodes { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; }
.node { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: 10px; }
.node h2 { font-size: 15px; margin: 0 0 6px; display: flex; justify-content: space-between; }
.status { font-size: 12px; padding: 1px 6px; border-radius: 8px; background: #ccc; }
.status.online { background: #b8e6c1; } .status.offline { background: #f3c0c0; }
.now { font-size: 20px; margin: 4px 0; } .counters { color: #555; font-size: 12px; }
svg { width: 100%; height: 90px; background: #fafbfc; border: 1px solid #eef; }
.t { stroke: #d2553f; fill: none; stroke-width: 1.5; } .h { stroke: #3f7fd2; fill: none; stroke-width: 1.5; }
</style></head>
<body><h1>Site</h1><div id="conn">connecting...</div><div id="nodes"></div>
<script src="/mqtt.min.js"></script>
<script>
const nodes = {};
const N = 120;
function card(name) {
  if (nodes[name]) return nodes[name];
  const el = document.createElement("div");
  el.className = "node";
  el.dataset.node = name;
  el.innerHTML = '<h2><span>' + name + '</span><span class="status">?</span></h2>' +
    '<div class="now"><span class="temp">-</span> &deg;C &nbsp; <span class="rh">-</span> %</div>' +
    '<svg viewBox="0 0 ' + N + ' 100" preserveAspectRatio="none"><polyline class="t"/><polyline class="h"/></svg>' +
    '<div class="counters">-</div>';
  const list = document.getElementById("nodes");
  const after = Array.from(list.children).find((c) => c.dataset.node.localeCompare(name, undefined, { numeric: true }) > 0);
  list.insertBefore(el, after || null);
  return nodes[name] = { el, temps: [], rhs: [] };
}
function line(values, lo, hi) {
  return values.map((v, i) => i + "," + (100 - (v - lo) / (hi - lo || 1) * 100).toFixed(1)).join(" ");
}
function draw(n) {
  const ts = n.temps, hs = n.rhs;
  const lo = Math.min(...ts) - 0.5, hi = Math.max(...ts) + 0.5;
  n.el.querySelector(".t").setAttribute("points", line(ts, lo, hi));
  n.el.querySelector(".h").setAttribute("points", line(hs, 0, 100));
}
fetch("/config.json").then((r) => r.json()).then((cfg) => {
  const c = mqtt.connect(cfg.ws, { clientId: "dashboard-" + Math.random().toString(16).slice(2, 8) });
  c.on("connect", () => {
    document.getElementById("conn").textContent = "connected to " + cfg.ws;
    c.subscribe([cfg.prefix + "/+/state", cfg.prefix + "/+/status"]);
  });
  c.on("close", () => { document.getElementById("conn").textContent = "disconnected, retrying"; });
  c.on("message", (topic, payload) => {
    const parts = topic.split("/");
    const n = card(parts[1]);
    const text = payload.toString();
    if (parts[2] == "status") {
      const s = n.el.querySelector(".status");
      s.textContent = text; s.className = "status " + text;
      return;
    }
    let j; try { j = JSON.parse(text); } catch (e) { return; }
    const tk = Object.keys(j).find((k) => /tempC$/.test(k)), hk = Object.keys(j).find((k) => /rhPct$/.test(k));
    if (tk) { n.temps.push(j[tk]); n.el.querySelector(".temp").textContent = j[tk].toFixed(2); }
    if (hk) { n.rhs.push(j[hk]); n.el.querySelector(".rh").textContent = j[hk].toFixed(1); }
    if (n.temps.length > N) n.temps.shift();
    if (n.rhs.length > N) n.rhs.shift();
    draw(n);
  });
});
setInterval(() => fetch("/stats").then((r) => r.json()).then((rows) => {
  for (const s of rows) {
    const n = card(s.name);
    n.el.querySelector(".counters").textContent = "QoS " + s.qos + ": published " + s.published + ", received " + s.received +
      ", lost " + s.lost + ", duplicated " + s.duplicated + ", queued " + s.queued + ", sensor errors " + s.sensorErrors;
  }
}), 1000);
</script></body></html>
`;

export interface Dashboard { port: number; close(): Promise<void> }

/** Serves the dashboard for `sim` on 127.0.0.1:`port` (0: a free port). */
export function startDashboard(sim: Simulation, port: number): Promise<Dashboard> {
  const mqttJs = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve("mqtt/package.json")), "dist/mqtt.min.js"));
  const srv: Server = createServer((req, res) => {
    const url = (req.url || "/").split("?")[0];
    if (url == "/") { res.writeHead(200, { "content-type": "text/html; charset=utf-8" }); res.end(PAGE); return; }
    if (url == "/mqtt.min.js") { res.writeHead(200, { "content-type": "text/javascript" }); res.end(mqttJs); return; }
    if (url == "/config.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ws: "ws://127.0.0.1:" + sim.wsPort, prefix: "site" }));
      return;
    }
    if (url == "/stats") { res.writeHead(200, { "content-type": "application/json" }); res.end(JSON.stringify(sim.summary())); return; }
    res.writeHead(404);
    res.end("not found");
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => {
      const a = srv.address();
      resolve({
        port: typeof a == "object" && a ? a.port : port,
        close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
      });
    });
  });
}
