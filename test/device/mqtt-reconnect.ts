/**
 * Reconnects must not leak (issue 4, requirement 8): the client connects through a proxy that closes every
 * connection right after the broker's CONNACK (test/espruino.client.test.ts starts it and Mosquitto, and puts
 * `var CFG = {...}` in front of this bundle), so each cycle is a connect, a CONNACK, a lost connection, a wait
 * of 5-10 ms and a reconnect.
 *
 * `process.memory().usage` is taken at the same point of every cycle: 1 ms after the client reports the
 * connection lost ('offline'), when the dead socket's events have all run and the client waits to reconnect
 * (taken inside a socket event instead, it would count whatever other events happen to be queued at that
 * instant, a few variables each). FIRST is that value after the first connect, CYCLE every 100 cycles, END
 * after CFG.cycles, with the lowest and highest value seen; then the client ends and, with nothing left
 * running, so does the interpreter. (A line is printed before the first measurement: Espruino's first
 * console output keeps a few variables for good, which would otherwise show as a difference.) Sized for the 1,700-variable ESP8266 shape, where it runs from flash.
 */
import { Client } from "../../lib/mqtt/client";
import { EspruinoNet, espruinoClock } from "../../boards/adapters/espruino-net";

declare const CFG: { host: string; port: number; id: string; cycles: number };

let n = 0; // connections lost so far
let first = 0;
let lo = 0;
let hi = 0;
let stop = false;

const c = new Client({
  host: CFG.host, port: CFG.port, clientId: CFG.id, keepalive: 60,
  maxPacket: 128, outbox: 128, slots: 4, inflight: 2, inbound: 4, reconnect: 20, reconnectMax: 20,
}, new EspruinoNet({ writeLimit: 256 }), espruinoClock);

function measure(): void {
  const u = process.memory().usage;
  if (n == 1) first = lo = hi = u;
  if (u < lo) lo = u;
  if (u > hi) hi = u;
  if (n == 1) console.log("FIRST " + u);
  else if (n % 100 == 0) console.log("CYCLE " + n + " " + u);
  if (n < CFG.cycles) return;
  console.log("END " + u + " first=" + first + " min=" + lo + " max=" + hi + " free=" + process.memory().free);
  stop = true;
}

// the interpreter's first console output allocates a few variables for good: print before measuring
console.log("START");
c.on("offline", () => {
  n++;
  setTimeout(measure, 1);
});
c.on("reconnect", () => { if (stop) c.end(); });
c.on("error", (e, t) => { console.log("CLIENT ERROR " + e + " " + t); });
c.on("close", () => { console.log("CLOSED"); });
c.connect();
