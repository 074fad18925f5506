/**
 * The gateway (issue 7, requirement 6): an ESP32 that runs the micro-broker for the nodes around it, bridges to
 * an upstream broker, and reports on itself. Built once per board (dist/<board>/gateway.js) with "@board"
 * pointing at boards/<board>.ts and "@config" at the validated gateway config (lib/node/gateway-config.ts).
 *
 * Boot: the config built in, overridden by the Storage file `gateway.json` when there is one (merged and
 * validated again on the device; a bad override is reported and ignored); Wi-Fi where the board needs it; then
 * the broker (lib/broker/core.ts, the device broker) on `listen.port` through Espruino's net server
 * (boards/adapters/espruino-server.ts, reached as "@board"'s `listen`), and the bridge (lib/broker/bridge.ts)
 * when one is configured. The gateway publishes into its own broker, with the broker's local publish:
 * `<prefix>/<node>/status` retained `online` (and, when the bridge carries that topic upstream, the bridge's will
 * there is a retained `offline`), and `<prefix>/<node>/diag` every `diagIntervalMs`, beside the console line
 *
 *   diag free=<free variables> clients=<connected> sessions=<kept> in=<msgs> out=<msgs> dropped=<n> [bridge=<out>/<in>/<dropped>/<pending>]
 *
 * (`clients` counts the bridge's local connection too: 21 with 20 nodes and a bridge; the limit leaves room for
 * it, see brokerOptions.)
 *
 * Users: with `users`, a client must log in as one of them (lib/node/gateway.ts plainAuth); passwords are
 * compared as plain text. The board
 * has no password hashing to spare (scrypt or PBKDF2 in JavaScript on the interpreter takes seconds per login
 * and RAM), and the passwords sit in the bundle in flash either way: a hash would only hide them from someone
 * who reads the flash, who can then also replace the firmware. Treat the local network as the boundary.
 */
import { board, listen, platform } from "@board";
import { config, drivers, version } from "@config";
import { Bridge, LocalTransport } from "../../lib/broker/bridge";
import { Client } from "../../lib/mqtt/client";
import { NodeApp, clientOptions } from "../../lib/node/app";
import { makeSensors } from "../node/sensors";
import { BrokerCore } from "../../lib/broker/core";
import type { BrokerOptions } from "../../lib/broker/types";
import type { BoardCaps } from "../../lib/node/config";
import { utf8Length, writeUtf8 } from "../../lib/mqtt/utf8";
import { joinWifi, plainAuth } from "../../lib/node/gateway";
import {
  bridgeOptions, brokerOptions, GatewayConfig, gatewayTopic, mergeGateway, ownNodeConfig, upstreamTopic,
} from "../../lib/node/gateway-config";

const p = platform;
const caps: BoardCaps = { tls: board.tls, i2c: !!board.i2c, wire1: !!board.wire1, net: board.net, sim: board.name == "linux" };

/** The built-in config, or it merged with the Storage override `gateway.json`. */
function loadConfig(): GatewayConfig {
  const base = config as GatewayConfig;
  const st = p.storage();
  const over = st ? st.read("gateway.json") : undefined;
  if (!over) return base;
  const m = mergeGateway(base, over, caps);
  if (m.errors.length) p.log("gateway.json ignored: " + m.errors.join("; "));
  return m.config;
}

const cfg = loadConfig();

/** UTF-8 bytes of `s`. */
function bytes(s: string): Uint8Array {
  const b = new Uint8Array(utf8Length(s));
  writeUtf8(b, 0, s);
  return b;
}

const opts: BrokerOptions = brokerOptions(cfg);
if (cfg.users.length) opts.auth = plainAuth(cfg.users);
opts.log = (l: string): void => p.log("broker: " + l);
const broker = new BrokerCore(opts, p.clock);
const statusTopic = gatewayTopic(cfg, "status");
const diagTopic = gatewayTopic(cfg, "diag");
let bridge: Bridge | null = null;

/** Publishes into the local broker, as a client with every right would (the bridge carries it on if it matches). */
function publishLocal(topic: string, text: string, qos: number, retain: boolean): void {
  broker.publish(topic, bytes(text), qos, retain);
}

const online = (): void => publishLocal(statusTopic, "online", 1, true);

function diag(): void {
  const s = broker.stats;
  const free = p.freeVars();
  const up = Math.floor((p.clock.now() - broker.started) / 1000);
  const b = bridge;
  p.log("diag free=" + free + " clients=" + s.clientsConnected + " sessions=" + s.clientsTotal + " in=" + s.msgsReceived +
    " out=" + s.msgsSent + " dropped=" + s.msgsDropped +
    (b ? " bridge=" + b.stats.out + "/" + b.stats.in + "/" + b.stats.dropped + "/" + b.pending : ""));
  publishLocal(diagTopic, JSON.stringify({
    freeVars: free, uptimeS: up, clients: s.clientsConnected, sessions: s.clientsTotal, msgsReceived: s.msgsReceived,
    msgsSent: s.msgsSent, msgsDropped: s.msgsDropped, refused: s.refusedClients + s.refusedAuth,
    bridge: b ? { out: b.stats.out, in: b.stats.in, dropped: b.stats.dropped, pending: b.pending } : null,
  }), 0, false);
  if (cfg.diagIntervalMs) p.clock.after(cfg.diagIntervalMs, diag);
}

/**
 * The gateway's own sensors: lib/node/app.ts's NodeApp with ownNodeConfig(cfg), its client on an in-memory
 * connection into `broker` (as the bridge's local client is), so its readings reach local subscribers and,
 * through the bridge, upstream, with the node's topics under the gateway's name.
 */
function startOwnSensors(): void {
  const n = ownNodeConfig(cfg);
  if (!n) return;
  const c = new Client(clientOptions(n, n.clientId), new LocalTransport(broker, p.clock), p.clock);
  const app = new NodeApp(n, c, makeSensors(n.sensors, p, drivers), {
    clock: p.clock, wifi: null, storage: p.storage(), freeVars: () => p.freeVars(), wallMs: () => p.wallMs(),
    timeSync: () => undefined, identify: () => p.identify(), restart: () => p.restart(), sleep: () => undefined,
    log: (s) => p.log("sensors: " + s),
  }, { model: board.title + " gateway", manufacturer: "Espruino", swVersion: version });
  app.start();
}

function start(): void {
  broker.start();
  listen(cfg.listen.port, broker.accept, { writeLimit: 1072 + cfg.limits.maxPacket });
  online();
  const bc = cfg.bridge;
  if (bc) {
    bridge = new Bridge(broker, bridgeOptions(bc, upstreamTopic(bc, statusTopic), (l) => p.log(l), online),
      p.net(bc.url.indexOf("mqtts:") == 0), p.clock);
    bridge.start();
  }
  startOwnSensors();
  p.log("boot " + board.name + " gateway " + cfg.node + " v" + version + " port=" + cfg.listen.port + " clients<=" +
    cfg.limits.clients + (bc ? " bridge=" + bc.url : "") + " free=" + p.freeVars());
  if (cfg.diagIntervalMs) p.clock.after(cfg.diagIntervalMs, diag);
}

// started from a timer, not while the program's text is still being run: loaded from RAM (not from flash), the
// interpreter holds that text until the top level has run, and the broker's and bridge's buffers are better
// allocated after it is freed
p.clock.after(10, () => joinWifi(p.wifi(), cfg.wifi, p.clock, (l) => p.log(l), start));
