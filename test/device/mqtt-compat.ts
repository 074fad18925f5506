/**
 * A program written against Espruino's own MQTT module API (`require("MQTT").create(...)`, events 'connected',
 * 'publish', 'subscribed', 'puback', 'pubcomp'), run with our compatibility module stored under that name:
 * test/espruino.client.test.ts puts `Modules.addCached("MQTT", <dist/modules/MQTT.js>)` and
 * `var CFG = {...}` in front of it. Same exchange as mqtt-client.ts (READY, BASE, RUN, END, CLOSED); the
 * module is reached with Espruino's `require` at run time, so nothing of it is bundled here.
 */
declare const CFG: { host: string; port: number; id: string; prefix: string; n: number; rx: number };

interface Pub { topic: string; message: string; qos: number }
interface CompatClient {
  on(event: string, f: (a: never) => void): void;
  connect(): void;
  disconnect(): void;
  publish(topic: string, message: string, o: { qos: number }): number;
  subscribe(topic: string, o: { qos: number }): void;
}

const MQTT = (global as unknown as { require(m: string): { create(server: string, o: object): CompatClient } }).require("MQTT");
const P = CFG.prefix;
let rx = 0;
let acked = 0;
let sent = 0;
let syncs = 0;
let failed = 0;

const mqtt = MQTT.create(CFG.host, { port: CFG.port, client_id: CFG.id, keep_alive: 30 });

function pump(): void {
  while (sent < 2 * CFG.n) {
    const q = sent < CFG.n ? 1 : 2;
    const r = mqtt.publish(P + "out/" + q, "" + sent, { qos: q });
    if (r == -1) return; // the outbox is full (Err.NoMemory): wait for an ack
    if (r < 0) { failed++; console.log("PUBLISH ERROR " + r); }
    sent++;
  }
}

function check(): void {
  if (rx == CFG.rx && acked == 2 * CFG.n) console.log("RUN rx=" + rx + " acked=" + acked);
}

function acks(): void {
  acked++;
  pump();
  check();
}

function sync(): void {
  syncs++;
  setTimeout(() => {
    const usage = process.memory().usage;
    if (syncs == 1) {
      console.log("BASE " + usage);
      pump();
    } else {
      console.log("END " + usage + " rx=" + rx + " acked=" + acked + " dropped=0 failed=" + failed);
      mqtt.disconnect();
    }
  }, 50);
}

mqtt.on("connected", () => { mqtt.subscribe(P + "in/#", { qos: 2 }); });
mqtt.on("subscribed", () => { console.log("READY"); });
mqtt.on("subscribed_fail", () => { console.log("SUBSCRIBE ERROR"); });
mqtt.on("publish", (p: Pub) => {
  if (p.topic == P + "in/sync") return sync();
  if (p.topic != P + "in/m" || p.message.charAt(0) != "m") console.log("MESSAGE ERROR " + p.topic + " " + p.message);
  rx++;
  check();
});
mqtt.on("puback", acks);
mqtt.on("pubcomp", acks);
mqtt.on("error", (e: string) => { console.log("MQTT ERROR " + e); });
mqtt.on("close", () => { console.log("CLOSED"); });
mqtt.connect();
