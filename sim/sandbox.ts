/**
 * One simulated device: a device bundle (dist/<board>/node.js, exactly as flashed) run in its own Node `vm`
 * context that offers Espruino's globals and nothing else (issue 8, requirement 2; issue 7, requirement 10).
 *
 * - The context's own built-ins that Espruino 2v29 lacks (Map, Set, WeakMap, WeakSet, Symbol, Proxy, Reflect,
 *   BigInt, Intl, WeakRef, ...) are deleted, so a bundle that uses one fails here as it fails on the device
 *   ("Map is not defined").
 * - Espruino's globals are backed by the HAL mocks: `require("net")` makes real loopback TCP sockets that behave
 *   as Espruino's (binary-string 'data', 'drain' once written, 'error' then 'end' and 'close', handlers called
 *   with the socket as `this`; any host that is not loopback is refused); `require("Wifi")` is a SimWifi;
 *   `require("Storage")` a SimStorage; `new I2C()` / `new OneWire(pin)` are the simulated buses the site put the
 *   chips on (by pins); timers, `getTime()` and `Date.now()` run on a clock `speed` times faster than real time.
 * - `load()` (restart) and deep sleep end the device and report it; `process.memory()` reports the variables as
 *   unmeasured (the Node heap says nothing about an interpreter's variables: the Espruino tests measure those).
 * Typed arrays handed to the bundle are made inside its context, so `instanceof` holds as on the device.
 */
import net from "node:net";
import vm from "node:vm";
import type { Clock } from "../lib/hal/net";
import type { I2cBus } from "../lib/hal/i2c";
import type { OneWireBus } from "../lib/hal/onewire";
import { SimWifi } from "./hal/wifi";
import type { SimPin } from "./hal/pin";
import type { SimClock } from "./hal/clock";
import { SimStorage } from "./hal/storage";

/** Globals a Node context has and Espruino 2v29 does not: deleted from every sandbox. */
export const NOT_ON_ESPRUINO = ["Map", "Set", "WeakMap", "WeakSet", "Symbol", "Proxy", "Reflect", "BigInt", "BigInt64Array",
  "BigUint64Array", "Intl", "WeakRef", "FinalizationRegistry", "Atomics", "SharedArrayBuffer", "TextEncoder", "TextDecoder",
  "structuredClone", "queueMicrotask", "AggregateError", "globalThis"];

/** A clock `speed` times faster than real time, from `startMs` (virtual ms since 1970). */
export class ScaledClock implements Clock {
  private r0 = performance.now();
  constructor(readonly speed: number, readonly startMs: number = Date.now()) {}
  /** Back to `startMs` (before anything runs on it: timers already set keep their real delays). */
  rewind(): void { this.r0 = performance.now(); }
  now(): number { return this.startMs + (performance.now() - this.r0) * this.speed; }
  after(ms: number, fn: () => void): unknown { return setTimeout(fn, Math.max(0, ms) / this.speed); }
  cancel(h: unknown): void { clearTimeout(h as NodeJS.Timeout); }
}

/** What the device's buses carry: a bus per pin (or pin pair), made by the site. */
export interface SiteBuses {
  i2c?(sda: number, scl: number): I2cBus;
  onewire?(pin: number): OneWireBus;
  /**
   * A single-wire pin with a device on it (a DHT): a SimPin on its own virtual clock. Its microsecond edges
   * cannot come from real timers, so the sandbox plays them out on that clock at once after each
   * `digitalPulse`, with the edge times the device would record (the DHT driver reads only their differences).
   */
  pin?(n: number): { pin: SimPin; clock: SimClock } | null;
}

/** Network faults the simulator sets per device (see sim/faults). */
export interface NetFaults {
  /** Connects fail and open sockets are cut (a partition between this device and the broker). */
  partitioned?: boolean;
  /** Extra one-way delay per chunk, virtual ms. */
  latencyMs?: number;
  /** Share of chunks (0..1) lost once and retransmitted 300 virtual ms later (TCP keeps the order). */
  loss?: number;
}

export interface DeviceOptions {
  name: string;
  /** The bundle's text. */
  code: string;
  clock: ScaledClock;
  wifi: SimWifi | null;
  storage: SimStorage;
  buses: SiteBuses;
  /** Every console line the device prints. */
  out(line: string): void;
  /** The device ended: "restart" (load()), "sleep <ms>", "error <message>", or "quit". */
  ended?(why: string): void;
  faults?: NetFaults;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|\[::1\])$/;

/** An Espruino-shaped socket over a Node one. */
class EspSocket {
  private readonly h: { [e: string]: ((this: EspSocket, d?: unknown) => void) | undefined } = {};
  private s: net.Socket | null;
  private closed = false;

  constructor(private readonly dev: Device, host: string, port: number, onConnect?: (this: EspSocket) => void) {
    const d = dev;
    if (!LOOPBACK.test(host) || d.faults.partitioned) {
      this.s = null;
      // Espruino reports a failed connect as 'error' then 'close', after the call returns
      d.later(10, () => { this.emit("error", { code: -1, message: "connection refused" }); this.finish(); });
      return;
    }
    const s = this.s = net.connect({ host: host.replace(/^\[|\]$/g, ""), port });
    s.setNoDelay(true);
    s.on("connect", () => {
      d.run(() => { if (onConnect) onConnect.call(this); this.emit("drain"); });
    });
    s.on("data", (b: Buffer) => {
      const str = b.toString("latin1");
      const w = this.delay(true);
      if (w > 0) d.later(w, () => this.emit("data", str));
      else d.run(() => this.emit("data", str));
    });
    s.on("error", (e) => d.run(() => this.emit("error", { code: -1, message: e.message })));
    s.on("close", () => d.run(() => this.finish()));
    d.sockets.add(this);
  }

  on(e: string, fn: (this: EspSocket, d?: unknown) => void): void { this.h[e] = fn; }

  private inAt = 0; // virtual time the last delayed chunk in each direction is due: order is kept
  private outAt = 0;

  /** Virtual ms to hold a chunk (latency, a lost-and-retransmitted chunk), never ahead of an earlier one. */
  private delay(inbound: boolean): number {
    const f = this.dev.faults;
    let d = f.latencyMs || 0;
    if (f.loss && Math.random() < f.loss) d += 300;
    const now = this.dev.now();
    const prev = inbound ? this.inAt : this.outAt;
    if (!d && prev <= now) return 0;
    const at = Math.max(now + d, prev);
    if (inbound) this.inAt = at; else this.outAt = at;
    return at - now;
  }

  private emit(e: string, arg?: unknown): void {
    const f = this.h[e];
    if (f) f.call(this, arg);
  }

  write(data: string): boolean {
    if (this.closed || !this.s) throw new Error("This socket is closed.");
    if (this.dev.faults.partitioned) { this.cut(); return false; }
    const b = Buffer.from(String(data), "latin1");
    const sock = this.s;
    const put = (): void => { if (!sock.destroyed) sock.write(b, () => this.dev.run(() => { if (!this.closed) this.emit("drain"); })); };
    const w = this.delay(false);
    if (w > 0) this.dev.later(w, put);
    else put();
    return false;
  }

  end(): void {
    if (this.s && !this.closed) this.s.end();
  }

  /** Cuts the connection at once (a partition, or the device stopping). */
  cut(): void {
    if (this.s) this.s.destroy();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.dev.sockets.delete(this);
    this.emit("end");
    this.emit("close");
  }
}

/** A pin object as Espruino's `D<n>`. */
class EspPin {
  constructor(readonly n: number) {}
  getInfo(): { num: number } { return { num: this.n }; }
  toString(): string { return "D" + this.n; }
}

export class Device {
  readonly sockets = new Set<EspSocket>();
  readonly faults: NetFaults;
  private readonly timers = new Set<NodeJS.Timeout>();
  private ctx: vm.Context | null = null;
  private ended = false;
  private readonly o: DeviceOptions;

  constructor(o: DeviceOptions) {
    this.o = o;
    this.faults = o.faults || {};
  }

  get running(): boolean { return !!this.ctx && !this.ended; }

  /** The device's clock, virtual ms. */
  now(): number { return this.o.clock.now(); }

  /** Runs `fn` as device code: an exception ends the device (as an uncaught error stops an Espruino program's task). */
  run(fn: () => void): void {
    if (this.ended) return;
    try {
      fn();
    } catch (e) {
      this.o.out("Uncaught " + String((e as Error)?.message ?? e));
    }
  }

  /** A device timer, in virtual ms. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => { this.timers.delete(t); this.run(fn); }, Math.max(0, ms) / this.o.clock.speed);
    this.timers.add(t);
    return t;
  }

  /** Boots the bundle. Throws what the bundle throws at its top level (e.g. "Map is not defined"). */
  start(): void {
    const o = this.o;
    const dev = this;
    const clock = o.clock;
    const g: Record<string, unknown> = {};
    const ctx = vm.createContext(g, { name: o.name, codeGeneration: { strings: true, wasm: false } });
    vm.runInContext(NOT_ON_ESPRUINO.map((n) => "delete this." + n + ";").join(""), ctx);
    // made inside the context: typed arrays of its realm
    const toU8 = vm.runInContext("(function (s) { var a = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i) & 255; return a; })", ctx);
    const toStr = vm.runInContext("(function () { var s = ''; for (var k = 0; k < arguments.length; k++) { var d = arguments[k];" +
      " if (typeof d == 'number') s += String.fromCharCode(d & 255); else if (typeof d == 'string') s += d;" +
      " else for (var i = 0; i < d.length; i++) s += String.fromCharCode(d[i] & 255); } return s; })", ctx);
    const U8 = vm.runInContext("Uint8Array", ctx) as typeof Uint8Array;
    const print = (...a: unknown[]): void => { o.out(a.map((x) => (typeof x == "string" ? x : JSON.stringify(x))).join(" ")); };
    const timers: { [id: number]: NodeJS.Timeout } = {};
    let tid = 1;
    const setT = (fn: () => void, ms?: number, repeat?: boolean): number => {
      const id = tid++;
      const arm = (): void => {
        timers[id] = this.later(ms || 0, () => { if (repeat) arm(); else delete timers[id]; fn(); });
      };
      arm();
      return id;
    };
    const clearT = (id: number): void => {
      const t = timers[id];
      if (t) { clearTimeout(t); this.timers.delete(t); delete timers[id]; }
    };
    const buses: { [k: string]: unknown } = {};
    const wires: { [n: number]: { pin: SimPin; clock: SimClock } | null } = {};
    const wire = (n: number): { pin: SimPin; clock: SimClock } | null => {
      if (!(n in wires)) wires[n] = o.buses.pin ? o.buses.pin(n) : null;
      return wires[n]!;
    };
    const watches: { [id: number]: { w: { pin: SimPin }; h: unknown } } = {};
    let watchId = 1;
    const pinNum = (p: unknown): number => (p instanceof EspPin ? p.n : Number(p));
    function I2C(this: { bus?: I2cBus }) { /* set up by setup() */ }
    I2C.prototype.setup = function (this: { bus?: I2cBus }, s: { sda: unknown; scl: unknown }) {
      const sda = pinNum(s.sda), scl = pinNum(s.scl);
      const k = "i" + sda + "," + scl;
      if (!buses[k]) {
        if (!o.buses.i2c) throw new Error("no I2C bus on D" + sda + "/D" + scl);
        buses[k] = o.buses.i2c(sda, scl);
      }
      this.bus = buses[k] as I2cBus;
    };
    I2C.prototype.writeTo = function (this: { bus?: I2cBus }, a: number, d: number | number[] | Uint8Array) {
      if (!this.bus) throw new Error("I2C not set up");
      this.bus.writeTo(a, d);
    };
    I2C.prototype.readFrom = function (this: { bus?: I2cBus }, a: number, n: number) {
      if (!this.bus) throw new Error("I2C not set up");
      const r = this.bus.readFrom(a, n);
      return new U8(Array.from(r));
    };
    function OneWire(this: { bus: OneWireBus }, pin: unknown) {
      const n = pinNum(pin);
      const k = "o" + n;
      if (!buses[k]) {
        if (!o.buses.onewire) throw new Error("no OneWire bus on D" + n);
        buses[k] = o.buses.onewire(n);
      }
      this.bus = buses[k] as OneWireBus;
    }
    for (const m of ["reset", "select", "skip", "write", "search"]) {
      (OneWire.prototype as Record<string, unknown>)[m] = function (this: { bus: OneWireBus }, ...a: unknown[]) {
        return (this.bus as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a);
      };
    }
    (OneWire.prototype as Record<string, unknown>).read = function (this: { bus: OneWireBus }, n?: number) {
      if (n === undefined) return this.bus.read();
      const r = this.bus.read(n);
      return new U8(Array.from(r));
    };
    const end = (why: string): void => {
      if (this.ended) return;
      this.stop();
      if (o.ended) o.ended(why);
    };
    const modules: { [k: string]: unknown } = {
      net: { connect: (opt: { host: string; port: number }, cb?: (this: EspSocket) => void) => new EspSocket(dev, String(opt.host), Number(opt.port), cb) },
      Storage: o.storage,
    };
    if (o.wifi) modules.Wifi = o.wifi;
    Object.assign(g, {
      console: { log: print, warn: print, error: print },
      print,
      setTimeout: (fn: () => void, ms?: number) => setT(fn, ms, false),
      setInterval: (fn: () => void, ms?: number) => setT(fn, ms, true),
      clearTimeout: clearT,
      clearInterval: clearT,
      getTime: () => clock.now() / 1000,
      E: { toUint8Array: (s: string) => toU8(String(s)), toString: toStr, on: () => undefined },
      process: { memory: () => ({ free: null, usage: null, total: null }), version: "2v29-sim", env: { VERSION: "2v29-sim", BOARD: "SIM" } },
      require: (name: string) => {
        if (!(name in modules)) throw new Error("Module " + name + " not found");
        return modules[name];
      },
      I2C, OneWire,
      digitalPulse: (p: unknown, v: boolean, ms: number | number[]) => {
        const w = wire(pinNum(p));
        if (!w) return;
        // the pin's own clock first catches up with the device's, then plays the pulse and the answer out
        const lag = clock.now() - w.clock.now();
        if (lag > 0) w.clock.advance(lag);
        w.pin.pulse(v, ms);
        setImmediate(() => this.run(() => w.clock.advance(40)));
      },
      setWatch: (fn: (e: unknown) => void, p: unknown, o: { edge?: string; repeat?: boolean; debounce?: number }) => {
        const w = wire(pinNum(p));
        if (!w) return 0;
        const id = watchId++;
        watches[id] = { w, h: w.pin.watch((e) => this.run(() => fn(e)), { edge: (o.edge || "both") as "rising", repeat: !!o.repeat, debounce: o.debounce || 0 }) };
        return id;
      },
      clearWatch: (id?: number) => {
        const x = id === undefined ? undefined : watches[id];
        if (x) { x.w.pin.unwatch(x.h); delete watches[id!]; }
      },
      load: () => end("restart"),
      reset: () => end("restart"),
      quit: () => end("quit"),
      ESP32: { deepSleep: (us: number) => end("sleep " + Math.round(us / 1000)) },
      ESP8266: { deepSleep: (us: number) => end("sleep " + Math.round(us / 1000)) },
    });
    for (let n = 0; n < 48; n++) {
      const pin = new EspPin(n);
      // Pin's own read/write/mode reach the single-wire device when there is one on this pin
      Object.assign(pin, {
        read: () => { const w = wire(n); return w ? w.pin.read() : false; },
        write: (v: boolean) => { const w = wire(n); if (w) w.pin.write(!!v); },
        mode: (m: string) => { const w = wire(n); if (w) w.pin.mode(m); },
      });
      g["D" + n] = pin;
    }
    g.global = g;
    vm.runInContext("(function (f) { Date.now = function () { return f(); }; })", ctx)(() => Math.floor(clock.now()));
    this.ctx = ctx;
    vm.runInContext(o.code, ctx, { filename: o.name + ".js" });
  }

  /** A network partition on (connects fail, open sockets are cut at once) or off. */
  partition(on: boolean): void {
    this.faults.partitioned = on;
    if (on) for (const s of this.sockets) s.cut();
  }

  /** Stops the device: timers cleared, sockets cut (as power off). */
  stop(): void {
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.cut();
    this.sockets.clear();
  }
}
