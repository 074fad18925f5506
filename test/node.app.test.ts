/**
 * The telemetry node's logic (lib/node/app.ts; issue 7, requirements 2-5) on a virtual clock, with a recording
 * client in place of the MQTT one (the wire is proven end to end in firmware.node.test.ts and
 * sim.sandbox.test.ts): what is published when, in what order, with which sequence numbers and timestamps.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import type { Reading, ReadCallback, Sensor } from "../lib/drivers/types";
import type { Client } from "../lib/mqtt/client";
import { NodeApp, fixed } from "../lib/node/app";
import { validate, type NodeConfig } from "../lib/node/config";
import { VirtualClock } from "../sim/clock";
import { SimStorage } from "../sim/hal/storage";

interface Pub { topic: string; payload: string; qos: number; retain: boolean }

/** Records publishes; `room` messages accepted before Err.NoMemory (until `ack()`); QoS 1 counted pending. */
class Recorder {
  connected = false;
  reconnects = 0;
  dropped = 0;
  room = Infinity;
  pub: Pub[] = [];
  subs: string[] = [];
  ended = false;
  private h: Record<string, (a?: unknown, b?: unknown) => void> = {};
  private unacked = 0;
  on(e: string, f: (a?: unknown, b?: unknown) => void): this { this.h[e] = f; return this; }
  get pending(): number { return this.unacked; }
  publish(topic: string, payload: string, qos: number, retain: boolean): number {
    if (this.room <= 0) return Err.NoMemory;
    this.room--;
    if (qos) this.unacked++;
    this.pub.push({ topic, payload, qos, retain });
    return qos ? this.pub.length : 0;
  }
  subscribe(f: string): number { this.subs.push(f); return 1; }
  connect(): void { /* the test says when */ }
  end(): void { this.ended = true; this.connected = false; }
  private ups = 0;
  up(): void { this.connected = true; (this.ups++ ? this.h.reconnect : this.h.connect)?.(false); }
  down(): void { this.connected = false; this.h.offline?.(); }
  ack(n = 1): void { for (let i = 0; i < n; i++) { this.unacked = Math.max(0, this.unacked - 1); this.room++; this.h.ack?.(i); } }
  message(topic: string, payload: string): void { this.h.message?.(topic, new TextEncoder().encode(payload)); }
  states(): { [k: string]: number }[] { return this.pub.filter((p) => p.topic.endsWith("/state")).map((p) => JSON.parse(p.payload)); }
}

/** A sensor that answers after 10 ms with the next value of `temps` (null: fails with Err.Timeout). */
class Fake implements Sensor {
  i = 0;
  constructor(private readonly clock: VirtualClock, private readonly temps: (number | null)[]) {}
  read(cb: ReadCallback): void {
    const v = this.temps[Math.min(this.i++, this.temps.length - 1)];
    this.clock.after(10, () => (v === null ? cb(Err.Timeout, null) : cb(Err.Ok, { tempC: v, rhPct: 50 } as Reading)));
  }
  close(): void { /* nothing held */ }
}

const CAPS = { tls: true, i2c: true, wire1: true, net: "up" as const };

function config(patch: object): NodeConfig {
  const v = validate({ wifi: null, broker: { url: "mqtt://127.0.0.1:1883" }, prefix: "p", node: "n", sensors: [{ type: "sht3x" }],
    intervalMs: 1000, diagIntervalMs: 0, ...patch }, CAPS);
  expect(v.errors).toEqual([]);
  return v.config;
}

function rig(patch: object, temps: (number | null)[], o: { wall?: boolean; storage?: SimStorage } = {}) {
  const clock = new VirtualClock(0);
  const cl = new Recorder();
  const log: string[] = [];
  const calls: string[] = [];
  const app = new NodeApp(config(patch), cl as unknown as Client, [new Fake(clock, temps)], {
    clock, wifi: null, storage: o.storage ?? null,
    freeVars: () => 1234, wallMs: () => (o.wall === false ? -1 : 1.7e12 + clock.now()), timeSync: () => calls.push("timeSync"),
    identify: () => calls.push("identify"), restart: () => calls.push("restart"), sleep: (ms) => calls.push("sleep " + ms),
    log: (s) => log.push(s),
  }, { model: "test", manufacturer: "us", swVersion: "1" });
  return { clock, cl, app, log, calls };
}

describe("node app: connect sequence and readings", () => {
  test("status online (retained, QoS 1), the command subscription, one discovery message per field, then state", () => {
    const { clock, cl, app } = rig({}, [21.5]);
    app.start();
    cl.up();
    clock.advance(20);
    expect(cl.pub.map((p) => [p.topic, p.qos, p.retain])).toEqual([
      ["p/n/status", 1, true],
      ["homeassistant/sensor/n/tempC/config", 1, true],
      ["homeassistant/sensor/n/rhPct/config", 1, true],
      ["p/n/state", 0, false],
    ]);
    expect(cl.pub[0]!.payload).toBe("online");
    expect(cl.subs).toEqual(["p/n/set"]);
    expect(cl.pub[3]!.payload).toBe("{\"tempC\":21.50,\"rhPct\":50.00,\"ts\":1700000000010,\"seq\":0}");
  });

  test("delta filter: only changes beyond 0.5 are published; the heartbeat publishes anyway after maxIntervalMs", () => {
    const { clock, cl, app } = rig({ filters: [{ field: "tempC", delta: 0.5, maxIntervalMs: 5000 }] }, [20, 20.1, 20.2, 20.8, 20.9, 20.9, 20.9, 20.9, 20.9]);
    cl.up();
    app.start();
    clock.advance(8500);
    const s = cl.states();
    // 0 s: first; 3 s: 20.8 (> 0.5 from 20); 8 s: heartbeat (5 s after 3 s)
    expect(s.map((x) => [x.tempC, x.seq, x.ts! - 1.7e12])).toEqual([[20, 0, 10], [20.8, 1, 3010], [20.9, 2, 8010]]);
  });

  test("moving average over 4 readings", () => {
    const { clock, cl, app } = rig({ filters: [{ field: "tempC", average: 4 }] }, [20, 22, 24, 26, 28]);
    cl.up();
    app.start();
    clock.advance(4500);
    expect(cl.states().map((x) => x.tempC)).toEqual([20, 21, 22, 23, 25]);
  });

  test("a failed read is not published; it shows in diag with its error", () => {
    const { clock, cl, app } = rig({ diagIntervalMs: 2000 }, [21, null, 22]);
    cl.up();
    app.start();
    clock.advance(2500);
    expect(cl.states().map((x) => x.tempC)).toEqual([21, 22]);
    const diag = cl.pub.filter((p) => p.topic == "p/n/diag").map((p) => JSON.parse(p.payload));
    // diag at 2 s runs before the 2 s reading completes (10 ms later): one published by then
    expect(diag).toEqual([{ freeVars: 1234, uptimeS: 2, reconnects: 0, queued: 0, dropped: 0, published: 1, acked: 0, sensorErrors: 1, lastError: "sht3x:Timeout" }]);
  });

  test("without a set clock the timestamp is relative (ms since boot) and marked", () => {
    const { clock, cl, app } = rig({}, [21], { wall: false });
    cl.up();
    app.start();
    clock.advance(20);
    expect(cl.states()[0]).toEqual({ tempC: 21, rhPct: 50, ts: 10, rel: 1, seq: 0 });
  });

  test("fixed(): decimals without float tails, negatives, rounding", () => {
    expect([fixed(21.005, 2), fixed(-0.004, 2), fixed(-3.14159, 1), fixed(101325.04, 1), fixed(7, 0), fixed(0.1 + 0.2, 2)])
      .toEqual(["21.01", "0.00", "-3.1", "101325.0", "7", "0.30"]);
  });
});

describe("node app: reconnects", () => {
  test("after a reconnect ('reconnect' event) status online and discovery go again, then the queued readings", () => {
    const { clock, cl, app } = rig({ qos: 1 }, [20, 21, 22]);
    cl.up();
    app.start();
    clock.advance(20);
    cl.down();
    clock.advance(1500);
    cl.pub = [];
    cl.up();
    expect(cl.pub.map((p) => p.topic)).toEqual(["p/n/status", "homeassistant/sensor/n/tempC/config", "homeassistant/sensor/n/rhPct/config", "p/n/state"]);
    expect(cl.states().map((s) => s.seq)).toEqual([1]);
  });
});

describe("node app: store and forward", () => {
  test("readings taken offline are published in order once connected, with their own times and consecutive numbers", () => {
    const { clock, cl, app } = rig({ qos: 1 }, [20, 21, 22, 23, 24]);
    app.start();
    clock.advance(3500); // 4 readings, offline
    expect(cl.states()).toEqual([]);
    expect(app.ring.length).toBe(4);
    cl.up();
    const s = cl.states();
    expect(s.map((x) => [x.tempC, x.seq, x.ts! - 1.7e12])).toEqual([[20, 0, 10], [21, 1, 1010], [22, 2, 2010], [23, 3, 3010]]);
    expect(cl.pub.filter((p) => p.topic == "p/n/state").every((p) => p.qos == 1)).toBe(true);
  });

  test("a full ring drops the oldest, counts it, and the consumer sees the gap in the numbers", () => {
    const { clock, cl, app } = rig({ queue: { size: 3 }, diagIntervalMs: 10000 }, [20, 21, 22, 23, 24]);
    app.start();
    clock.advance(4500); // 5 readings into a ring of 3
    cl.up();
    expect(cl.states().map((x) => x.seq)).toEqual([2, 3, 4]);
    clock.advance(5500);
    const diag = JSON.parse(cl.pub.find((p) => p.topic == "p/n/diag")!.payload);
    expect(diag.dropped).toBe(2);
  });

  test("a full client outbox leaves readings in the ring until an acknowledgment makes room", () => {
    const { clock, cl, app } = rig({ qos: 1 }, [20, 21, 22, 23]);
    cl.room = 4; // status + 2 discovery + 1 state
    cl.up();
    app.start();
    clock.advance(2500);
    expect(cl.states().map((x) => x.seq)).toEqual([0]);
    expect(app.ring.length).toBe(2);
    cl.ack(2);
    expect(cl.states().map((x) => x.seq)).toEqual([0, 1, 2]);
    expect(app.ring.length).toBe(0);
  });
});

describe("node app: commands", () => {
  test("publish-now publishes even when the filter would hold; interval changes the cadence; replies on set/reply", () => {
    const { clock, cl, app } = rig({ filters: [{ field: "tempC", delta: 5 }] }, [20, 20.1, 20.2, 20.3, 20.4, 20.5, 20.6]);
    cl.up();
    app.start();
    clock.advance(1500);
    expect(cl.states().length).toBe(1);
    cl.message("p/n/set", "publish");
    clock.advance(20);
    expect(cl.states().length).toBe(2);
    cl.message("p/n/set", "{\"interval\":3000,\"id\":\"x\"}");
    const before = (cl as Recorder).pub.length;
    clock.advance(2900);
    expect(cl.pub.length).toBe(before + 0);
    const replies = cl.pub.filter((p) => p.topic == "p/n/set/reply").map((p) => JSON.parse(p.payload));
    expect(replies).toEqual([{ ok: true, cmd: "publish" }, { ok: true, cmd: "interval", intervalMs: 3000, id: "x" }]);
  });

  test("identify, restart (after its reply, the ring flushed), and a bad command's error", () => {
    const { clock, cl, app, calls } = rig({}, [20]);
    cl.up();
    app.start();
    cl.message("p/n/set", "identify");
    cl.message("p/n/set", "reboot");
    cl.message("p/n/set", "restart");
    expect(calls).toEqual(["identify"]);
    clock.advance(600);
    expect(calls).toEqual(["identify", "restart"]);
    expect(cl.pub.filter((p) => p.topic == "p/n/set/reply").map((p) => JSON.parse(p.payload))).toEqual([
      { ok: true, cmd: "identify" },
      { ok: false, error: "payload: unknown command \"reboot\" (interval, publish, identify, restart)" },
      { ok: true, cmd: "restart" },
    ]);
  });
});

describe("node app: battery mode", () => {
  test("one reading at QoS 1, then diag with the awake time once acknowledged, then sleep", () => {
    const st = new SimStorage(16384);
    const { clock, cl, app, calls } = rig({ battery: { sleepMs: 60000 } }, [20], { storage: st });
    app.start();
    clock.advance(300);
    cl.up();
    expect(cl.states().map((x) => x.seq)).toEqual([0]);
    expect(calls).toEqual([]);
    cl.ack(3);
    expect(cl.pub.filter((p) => p.topic == "p/n/diag")).toEqual([]);
    cl.ack(1); // status, 2 discovery, state: all acknowledged -> diag
    const diag = cl.pub.filter((p) => p.topic == "p/n/diag").map((p) => JSON.parse(p.payload));
    expect(diag.length).toBe(1);
    expect(diag[0].awakeMs).toBe(300);
    expect(cl.pub.filter((p) => p.topic == "p/n/diag")[0]!.qos).toBe(1);
    cl.ack(1);
    clock.advance(200);
    expect(calls).toEqual(["sleep 60000"]);
    expect(cl.ended).toBe(true);
    // the next wake does not send discovery again
    const b = rig({ battery: { sleepMs: 60000 } }, [21], { storage: st });
    b.app.start();
    b.clock.advance(20);
    b.cl.up();
    expect(b.cl.pub.map((p) => p.topic)).toEqual(["p/n/status", "p/n/state"]);
    expect(b.cl.states()[0]!.seq).toBe(1);
  });

  test("no broker within awakeMaxMs: the reading is kept in Storage and the node sleeps; the next wake numbers on", () => {
    const st = new SimStorage(16384);
    const a = rig({ battery: { sleepMs: 60000, awakeMaxMs: 2000 } }, [20], { storage: st });
    a.app.start();
    a.clock.advance(2200);
    expect(a.calls).toEqual(["sleep 60000"]);
    expect(a.cl.pub).toEqual([]);
    const b = rig({ battery: { sleepMs: 60000, awakeMaxMs: 2000 } }, [21], { storage: st });
    b.app.start();
    b.clock.advance(100);
    b.cl.up();
    expect(b.cl.states().map((x) => [x.tempC, x.seq])).toEqual([[20, 0], [21, 1]]);
  });
});
