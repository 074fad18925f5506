/**
 * The broker on the real interpreter (issue 5, requirement 7), driven by test/espruino.broker.test.ts, which puts
 * `var CFG = {...}` in front of this bundle, plays the clients (MQTT.js, mosquitto_pub, mosquitto_sub) and
 * asks for a measurement by sending a byte to a control socket on CFG.ctl (not by typing `mem()` into the
 * console: the Linux build dropped typed characters under load). The control server and its one connection are
 * made before the first measurement and kept, so they are in every usage figure alike.
 *
 * Starts a BrokerCore (the device broker: no $SYS, no persistence, flat subscription list) on the Espruino clock, listening on CFG.port through boards/adapters/espruino-server.ts (what
 * dist/modules/broker.js's `start` does), and prints `READY`. `mem()` prints
 *   MEM <usage> clients=<n> subs=<n> retained=<n> free=<n>
 * with `process.memory()` taken after a garbage collection (process.memory() runs one), and the broker's counts
 * of connected clients, subscriptions and retained messages, so the test can divide usage differences by them.
 */
import { BrokerCore as Broker } from "../../lib/broker/core";
import { BrokerOptions, St } from "../../lib/broker/types";
import { espruinoClock } from "../../boards/adapters/espruino-net";
import { listen } from "../../boards/adapters/espruino-server";

declare const CFG: {
  port: number; ctl?: number; maxClients: number; maxSubs: number; maxRetained: number; maxPacket: number;
  maxSubsPerClient?: number; maxQueue?: number; maxInflight?: number; maxInbound?: number; writeLimit?: number; log?: boolean;
  pad?: number;
};

// CFG is the options object itself (a copy would take another 20 variables on the 1,700-variable shape); the
// core broker has no $SYS statistics, so no sysInterval
const o = CFG as unknown as BrokerOptions;
if (CFG.log) o.log = (l) => console.log("LOG " + l);
else delete o.log;
const b = new Broker(o, espruinoClock);
b.start();
listen(CFG.port, b.accept, { writeLimit: CFG.writeLimit || 1072 + CFG.maxPacket });

function mem(): void {
  const m = process.memory();
  console.log("MEM " + m.usage + " clients=" + b.st_[St.ClientsConnected] + " subs=" + b.subs_.size + " retained=" +
    b.ret_.count + " free=" + m.free);
}
(global as unknown as { mem: () => void }).mem = mem;
if (CFG.ctl) {
  const g = global as unknown as { require(m: string): { createServer(f: (c: { on(e: string, f: () => void): void }) => void): { listen(p: number): void } } };
  g.require("net").createServer((c) => { c.on("data", mem); }).listen(CFG.ctl);
}

// CFG.pad: that many variables taken out of the store at start (an array of small numbers, one variable each),
// so a build with more variables can stand in for a smaller one: how far short the 1,700-variable shape is, is
// found by running on a bigger build with less and less padding (see test/espruino.broker.test.ts)
if (CFG.pad) {
  const P: number[] = [];
  for (let i = 0; i < CFG.pad; i++) P.push(i & 7);
  (global as unknown as { PAD: number[] }).PAD = P;
}
console.log("READY");
