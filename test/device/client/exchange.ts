/**
 * The device side of the client exchange of test/espruino.client.test.ts (see test/device/mqtt-client.ts for
 * the protocol), for any client with the 3.1.1 Client's API: the 3.1.1 Client (test/device/mqtt-client.ts) and
 * the level-5 Client5 (test/device/mqtt5-client.ts) run the same exchange.
 */
import { Err } from "../../../lib/errors";
import { Client } from "../../../lib/mqtt/client";

declare const CFG: { host: string; port: number; id: string; prefix: string; n: number; rx: number; writeLimit?: number };

/** Runs the exchange with `c` (not yet connected); `pub` publishes (the level-5 client adds properties). */
export function exchange(c: Client, pub: (topic: string, payload: string, qos: number) => number): void {
  const P = CFG.prefix;
  let rx = 0;
  let acked = 0;
  let sent = 0;
  let syncs = 0;
  let failed = 0;

  function usage(): number {
    return process.memory().usage;
  }

  /** Publishes until the outbox is full or everything is out. */
  function pump(): void {
    while (sent < 2 * CFG.n) {
      const q = sent < CFG.n ? 1 : 2;
      const r = pub(P + "out/" + q, "" + sent, q);
      if (r == Err.NoMemory) return;
      if (r < 0) { failed++; console.log("PUBLISH ERROR " + r); }
      sent++;
    }
  }

  function check(): void {
    if (rx == CFG.rx && acked == 2 * CFG.n) console.log("RUN rx=" + rx + " acked=" + acked);
  }

  function sync(): void {
    syncs++;
    // after the idle loop has run the events that are still queued
    setTimeout(() => {
      if (syncs == 1) {
        console.log("BASE " + usage());
        pump();
      } else {
        console.log("END " + usage() + " rx=" + rx + " acked=" + acked + " dropped=" + c.dropped + " failed=" + failed);
        c.end();
      }
    }, 50);
  }

  c.on("connect", () => { c.subscribe(P + "in/#", 2); });
  c.on("suback", (f, q) => { console.log(q == 2 ? "READY" : "SUBACK " + f + " " + q); });
  c.on("message", (topic) => {
    if (topic == P + "in/sync") return sync();
    rx++;
    check();
  });
  c.on("ack", (id, reason) => {
    if (reason) console.log("ACK REASON " + id + " " + (reason as { name: string }).name);
    acked++;
    pump();
    check();
  });
  c.on("error", (e, t) => { console.log("CLIENT ERROR " + e + " " + t); });
  c.on("offline", () => { console.log("OFFLINE"); });
  c.on("close", () => { console.log("CLOSED"); });
  c.connect();
}
