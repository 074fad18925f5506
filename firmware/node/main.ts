/**
 * The telemetry node (issue 7): the firmware a sensor board runs, built once per board (dist/<board>/node.js)
 * with "@board" pointing at boards/<board>.ts and "@config" at the node's validated config (tools/build.mjs).
 *
 * Boot: the config built in, overridden by the Storage file `node.json` when there is one (merged and validated
 * again on the device; a bad override is reported and ignored), then the sensors, the client and the node
 * (lib/node/app.ts). One line is printed at boot and one per event worth knowing in the field.
 */
import { board, platform } from "@board";
import { config, drivers, version } from "@config";
import { Client } from "../../lib/mqtt/client";
import { NodeApp, clientOptions } from "../../lib/node/app";
import { merge, NodeConfig, parseBrokerUrl } from "../../lib/node/config";
import { makeSensors } from "./sensors";

const p = platform;
let cfg = config as NodeConfig;
const st = p.storage();
const over = st ? st.read("node.json") : undefined;
if (over) {
  const caps = { tls: board.tls, i2c: !!board.i2c, wire1: !!board.wire1, net: board.net, sim: board.name == "linux" };
  const m = merge(cfg, over, caps);
  if (m.errors.length) p.log("node.json ignored: " + m.errors.join("; "));
  else cfg = m.config;
}
const client = new Client(clientOptions(cfg, p.chipId()), p.net(parseBrokerUrl(cfg.broker.url)!.tls), p.clock);
const node = new NodeApp(cfg, client, makeSensors(cfg.sensors, p, drivers), {
  clock: p.clock,
  wifi: p.wifi(),
  storage: st,
  freeVars: () => p.freeVars(),
  wallMs: () => p.wallMs(),
  timeSync: () => p.timeSync(),
  identify: () => p.identify(),
  restart: () => p.restart(),
  sleep: (ms) => p.sleep(ms),
  log: (s) => p.log(s),
}, { model: board.title, manufacturer: "Espruino", swVersion: version });
p.log("boot " + board.name + " node " + cfg.node + " v" + version + " free=" + p.freeVars());
node.start();
