/**
 * Issue 6, requirements 2-6, DHT22 (AM2302) and DHT11: lib/drivers/dht.ts against the datasheets' example frames,
 * against frames fed as edge times, and against the simulated chip (sim/chips/dht.ts) on a simulated pin
 * (sim/hal/pin.ts) over virtual time: readings for both types, every fault to its Err with the driver usable
 * afterwards, the minimum interval between reads, the watch removed on every exit path.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { connect, dhtChecksumOk, dhtDecode, type Dht } from "../lib/drivers/dht";
import type { Reading } from "../lib/drivers/types";
import type { Edge, PinIo, WatchOptions } from "../lib/hal/pin";
import { DhtChip, dhtEncode } from "../sim/chips/dht";
import { Scenario } from "../sim/chips/scenario";
import { VirtualClock } from "../sim/clock";
import { SimPin } from "../sim/hal/pin";

/** 40 bits written as in the datasheets ("0000 0010 1000 1100 ...") → 5 bytes. */
function bits(s: string): Uint8Array {
  const d = s.replace(/\s+/g, "");
  expect(d).toMatch(/^[01]{40}$/);
  const b = new Uint8Array(5);
  for (let i = 0; i < 40; i++) b[i >> 3] = (b[i >> 3]! << 1) | Number(d[i]);
  return b;
}

function decode(type: number, b: Uint8Array): { err: Err; r: Reading } {
  const r: Reading = { tempC: NaN, rhPct: NaN };
  return { err: dhtDecode(type, b, r), r };
}

describe("golden frames (datasheets)", () => {
  test("AM2302 §7 example: 0x028C 0x015F 0xEE = 65.2 %RH, 35.1 °C", () => {
    const b = bits("0000 0010 1000 1100 0000 0001 0101 1111 1110 1110");
    expect([...b]).toEqual([0x02, 0x8c, 0x01, 0x5f, 0xee]);
    expect(dhtChecksumOk(b)).toBe(true);
    expect(decode(22, b)).toEqual({ err: Err.Ok, r: { tempC: 35.1, rhPct: 65.2 } });
    expect([...dhtEncode(22, 35.1, 65.2, new Uint8Array(5))]).toEqual([...b]); // the sim's encoder agrees
  });

  test("AM2302 §7 negative temperature: 0x8065 = −10.1 °C (bit 15 is the sign)", () => {
    const b = new Uint8Array([0x02, 0x8c, 0x80, 0x65, (0x02 + 0x8c + 0x80 + 0x65) & 0xff]);
    expect(b[4]).toBe(0x73);
    expect(decode(22, b)).toEqual({ err: Err.Ok, r: { tempC: -10.1, rhPct: 65.2 } });
    expect([...dhtEncode(22, -10.1, 65.2, new Uint8Array(5))]).toEqual([...b]);
    // sign bit with a zero magnitude is 0 °C, not −0
    expect(Object.is(decode(22, new Uint8Array([0, 100, 0x80, 0, 0xe4])).r.tempC, 0)).toBe(true);
  });

  test("DHT11 §5.1 example: 0x35 0x00 0x18 0x00 0x4D = 53 %RH, 24 °C; 0x49 is a checksum error", () => {
    const b = bits("0011 0101 0000 0000 0001 1000 0000 0000 0100 1101");
    expect(decode(11, b)).toEqual({ err: Err.Ok, r: { tempC: 24, rhPct: 53 } });
    expect([...dhtEncode(11, 24, 53, new Uint8Array(5))]).toEqual([...b]);
    const bad = bits("0011 0101 0000 0000 0001 1000 0000 0000 0100 1001");
    expect(decode(11, bad).err).toBe(Err.Checksum);
  });

  test("DHT11 decimal parts: tenths of °C in byte 3, bit 7 below 0 °C", () => {
    const f = (b0: number, b1: number, b2: number, b3: number) =>
      decode(11, new Uint8Array([b0, b1, b2, b3, (b0 + b1 + b2 + b3) & 0xff]));
    expect(f(45, 0, 22, 7)).toEqual({ err: Err.Ok, r: { tempC: 22.7, rhPct: 45 } });
    expect(f(45, 5, 22, 0).r.rhPct).toBe(45.5);
    expect(f(45, 0, 1, 0x85).err).toBe(Err.Range); // −1.5 °C: not +13.3 °C
    expect(f(45, 0, 1, 0x85).r.tempC).toBe(-1.5);
  });

  test("checksum: the low 8 bits of the sum (AM2302 §7), any other byte → Err.Checksum", () => {
    const b = new Uint8Array([0x02, 0x8c, 0x01, 0x5f, 0xee]);
    for (let v = 0; v < 256; v++) {
      b[4] = v;
      expect(decode(22, b).err).toBe(v == 0xee ? Err.Ok : Err.Checksum);
    }
  });

  test("out of range → Err.Range: DHT22 −40..80 °C, 0..100 %RH; DHT11 0..50 °C, 20..90 %RH", () => {
    const e = (type: number, t: number, rh: number) => decode(type, dhtEncode(type, t, rh, new Uint8Array(5))).err;
    expect([e(22, -40, 0), e(22, 80, 100), e(22, 20, 50)]).toEqual([Err.Ok, Err.Ok, Err.Ok]);
    expect([e(22, -40.1, 50), e(22, 80.1, 50), e(22, 20, 100.1)]).toEqual([Err.Range, Err.Range, Err.Range]);
    expect([e(11, 0, 20), e(11, 50, 90)]).toEqual([Err.Ok, Err.Ok]);
    expect([e(11, -1, 50), e(11, 51, 50), e(11, 25, 19), e(11, 25, 91)]).toEqual([Err.Range, Err.Range, Err.Range, Err.Range]);
    expect(decode(33, new Uint8Array(5)).err).toBe(Err.Argument);
  });
});

/** A pin that records calls and lets the test feed edges (times in seconds) to the watch. */
class FeedPin implements PinIo {
  fn: ((e: Edge) => void) | null = null;
  calls: string[] = [];
  level = true;
  throwOn = "";
  read(): boolean { return this.level; }
  write(v: boolean): void { this.call("write " + +v); }
  mode(m: string): void { this.call("mode " + m); }
  pulse(v: boolean, ms: number | number[]): void { this.call("pulse " + +v + " " + ms); }
  watch(fn: (e: Edge) => void, o: WatchOptions): unknown {
    this.call("watch " + o.edge + " " + o.repeat + " " + o.debounce);
    this.fn = fn;
    return 7;
  }
  unwatch(h: unknown): void { this.call("unwatch " + h); this.fn = null; }
  private call(s: string) { this.calls.push(s); if (this.throwOn && s.startsWith(this.throwOn)) throw new Error(s); }
  /** Falling edges of a frame from `t0` (s): [host edge], response, 40 bits, end; lastTime deliberately junk. */
  feed(b: Uint8Array, t0: number, o: { host?: boolean; bits?: number } = {}) {
    const times: number[] = [];
    let t = t0;
    if (o.host) times.push(t - 0.002);
    times.push(t); // response low
    t += 160e-6;
    times.push(t); // bit 0 low
    const n = o.bits ?? 40;
    for (let i = 0; i < n; i++) {
      t += 50e-6 + ((b[i >> 3]! >> (7 - (i & 7))) & 1 ? 70e-6 : 27e-6);
      times.push(t);
    }
    for (const x of times) if (this.fn) this.fn({ state: false, time: x, lastTime: -5 });
  }
}

describe("decoding from falling-edge times", () => {
  const golden = new Uint8Array([0x02, 0x8c, 0x01, 0x5f, 0xee]);
  function run(o: { host?: boolean; bits?: number }, t0 = 1234.5) {
    const clock = new VirtualClock();
    const pin = new FeedPin();
    const d = connect(pin, { clock, type: 22 });
    const got: [Err, Reading | null][] = [];
    d.read((e, r) => got.push([e, r && { ...r }]));
    pin.feed(golden, t0, o);
    clock.advance(100);
    return { got, pin };
  }

  test("the AM2302 example frame, with and without the host's own falling edge, at any time base", () => {
    for (const host of [false, true]) for (const t0 of [0.01, 1234.5, 1.7e9]) {
      const { got, pin } = run({ host }, t0);
      expect(got).toEqual([[Err.Ok, { tempC: 35.1, rhPct: 65.2 }]]);
      expect(pin.calls).toEqual(["write 1", "mode opendrain", "watch falling true 0", "pulse 0 2", "unwatch 7"]);
    }
  });

  test("a frame without the response edge is not decoded shifted: Err.Timeout", () => {
    const clock = new VirtualClock();
    const pin = new FeedPin();
    const d = connect(pin, { clock, type: 22 });
    const got: Err[] = [];
    d.read((e) => got.push(e));
    // bit edges only (the response interval missing)
    let t = 5;
    for (let i = 0; i < 42; i++) { pin.fn!({ state: false, time: t, lastTime: 0 }); t += 77e-6; }
    clock.advance(100);
    expect(got).toEqual([Err.Timeout]);
    expect(pin.fn).toBe(null);
  });

  test("39 bits → Err.Timeout after the bounded wait, not before", () => {
    const clock = new VirtualClock();
    const pin = new FeedPin();
    const d = connect(pin, { clock, type: 22, timeoutMs: 10 });
    const got: Err[] = [];
    d.read((e) => got.push(e));
    pin.feed(golden, 3, { bits: 39 });
    clock.advance(11.9);
    expect(got).toEqual([]);
    clock.advance(0.1);
    expect(got).toEqual([Err.Timeout]);
    expect(pin.fn).toBe(null);
  });

  test("a pin call that throws → Err.Bus, the watch removed, the driver usable after", () => {
    for (const where of ["pulse", "watch", "mode"]) {
      const clock = new VirtualClock();
      const pin = new FeedPin();
      const d = connect(pin, { clock, type: 22 });
      pin.throwOn = where;
      const got: Err[] = [];
      d.read((e) => got.push(e));
      expect(got).toEqual([Err.Bus]);
      expect(pin.fn).toBe(null); // removed, or never set
      pin.throwOn = "";
      clock.advance(2000);
      d.read((e) => got.push(e));
      pin.feed(golden, 9);
      expect(got).toEqual([Err.Bus, Err.Ok]);
    }
  });
});

interface Rig { clock: VirtualClock; pin: SimPin; chip: DhtChip; d: Dht; got: [Err, Reading | null, number][] }

function rig(type: 22 | 11, seed = 7): Rig {
  const clock = new VirtualClock(1000);
  const pin = new SimPin(clock);
  const chip = new DhtChip(pin, { type, scenario: new Scenario({ seed }), seed });
  const d = connect(pin, { clock, type });
  return { clock, pin, chip, d, got: [] };
}

/** Starts a read; its result is appended to `k.got` with the clock time it arrived. */
function read(k: Rig) {
  k.d.read((e, r) => k.got.push([e, r && { ...r }, k.clock.now()]));
}

/** Reads once (advancing past the interval first), returns the result. */
function once(k: Rig): [Err, Reading | null] {
  k.clock.advance(3000);
  const n = k.got.length;
  read(k);
  k.clock.advance(60);
  expect(k.got.length).toBe(n + 1);
  expect(k.pin.watching).toBe(0);
  expect(k.pin.watches).toBe(k.pin.unwatches);
  const g = k.got[n]!;
  return [g[0], g[1]];
}

/** The independent decoding of the bytes the chip sent. */
function expected(type: number, f: Uint8Array): Reading {
  if (type == 22) {
    const t = (((f[2]! & 0x7f) << 8) | f[3]!) / 10;
    return { tempC: f[2]! & 0x80 ? -t : t, rhPct: ((f[0]! << 8) | f[1]!) / 10 };
  }
  return { tempC: f[2]! + f[3]! / 10, rhPct: f[0]! };
}

describe.each([22, 11] as const)("DHT%i driver against the simulated chip", (type) => {
  test("readings follow the scenario, decoded exactly from what the chip sent (jitter, many frames)", () => {
    for (const seed of [1, 2, 3]) {
      const k = rig(type, seed);
      for (let i = 0; i < 20; i++) {
        const [e, r] = once(k);
        expect(e).toBe(Err.Ok);
        expect(r).toEqual(expected(type, k.chip.frame));
        const t = k.clock.now();
        expect(Math.abs(r!.tempC - k.chip.o.scenario.tempC(t))).toBeLessThan(0.3);
      }
      expect(k.chip.frames).toBe(20);
      expect(k.chip.tooSoon).toBe(0);
      expect(k.pin.contention).toBe(0);
      expect(k.pin.log.slice(-5)).toEqual(["write 1", "mode opendrain", "watch", "pulse 0 " + (type == 22 ? 2 : 20), "unwatch"]);
    }
  });

  test("golden values through the wire", () => {
    const k = rig(type);
    k.chip.values = type == 22 ? { tempC: 35.1, rhPct: 65.2 } : { tempC: 24, rhPct: 53 };
    expect(once(k)).toEqual([Err.Ok, type == 22 ? { tempC: 35.1, rhPct: 65.2 } : { tempC: 24, rhPct: 53 }]);
    expect([...k.chip.frame]).toEqual(type == 22 ? [0x02, 0x8c, 0x01, 0x5f, 0xee] : [0x35, 0x00, 0x18, 0x00, 0x4d]);
    if (type == 22) {
      k.chip.values = { tempC: -10.1, rhPct: 65.2 };
      expect(once(k)).toEqual([Err.Ok, { tempC: -10.1, rhPct: 65.2 }]);
    }
  });

  test("the read ends at the 40th bit, not after a fixed sleep", () => {
    const k = rig(type);
    k.clock.advance(3000);
    const t0 = k.clock.now();
    read(k);
    k.clock.advance(60);
    const dt = k.got[0]![2] - t0;
    expect(dt).toBeGreaterThan(type == 22 ? 2 + 3.5 : 20 + 3.5);
    expect(dt).toBeLessThan(type == 22 ? 2 + 6 : 20 + 6);
    expect(k.clock.armed).toBe(0);
  });

  test("every fault → its Err, the watch removed, the next read good", () => {
    const k = rig(type);
    const good = () => expect(once(k)[0]).toBe(Err.Ok);
    good();

    k.chip.unplugged = true;
    expect(once(k)).toEqual([Err.NoDevice, null]);
    k.chip.unplugged = false;
    good();

    k.chip.badChecksum = true;
    expect(once(k)).toEqual([Err.Checksum, null]);
    k.chip.badChecksum = false;
    good();

    for (const n of [0, 1, 8, 20, 39]) {
      k.chip.truncateAfter = n;
      expect(once(k)).toEqual([Err.Timeout, null]);
    }
    k.chip.truncateAfter = -1;
    good();

    k.chip.stuckLow(true);
    expect(once(k)).toEqual([Err.Bus, null]);
    expect(once(k)).toEqual([Err.Bus, null]);
    k.chip.stuckLow(false);
    good();

    k.chip.slowUs = 500; // late, beyond the datasheet's T_go, still inside the bounded wait
    good();
    k.chip.slowUs = 18000; // the frame starts but cannot end inside the wait
    expect(once(k)).toEqual([Err.Timeout, null]);
    k.chip.slowUs = 30000; // nothing inside the wait
    expect(once(k)).toEqual([Err.NoDevice, null]);
    k.chip.slowUs = 0;
    good();

    k.chip.values = type == 22 ? { tempC: 85, rhPct: 50 } : { tempC: 25, rhPct: 95 };
    expect(once(k)).toEqual([Err.Range, null]);
    k.chip.values = type == 22 ? { tempC: -41, rhPct: 50 } : { tempC: 25, rhPct: 10 };
    expect(once(k)).toEqual([Err.Range, null]);
    k.chip.values = null;
    good();

    expect(k.chip.tooSoon).toBe(0);
    expect(k.clock.armed).toBe(0);
  });

  test("the minimum interval: a read asked for too early is scheduled when allowed", () => {
    const k = rig(type);
    const gap = type == 22 ? 2000 : 1000;
    read(k);
    const t0 = k.clock.now();
    k.clock.advance(100);
    expect(k.got.length).toBe(1);
    // asked for right away (from the callback too): started gap ms after the previous start signal
    k.d.read((e, r) => {
      k.got.push([e, r && { ...r }, k.clock.now()]);
      read(k);
    });
    k.clock.advance(gap - 200);
    expect(k.got.length).toBe(1);
    expect(k.chip.frames).toBe(1);
    k.clock.advance(150);
    expect(k.got.length).toBe(2);
    expect(k.got[1]![0]).toBe(Err.Ok);
    expect(k.got[1]![2] - t0).toBeGreaterThanOrEqual(gap);
    expect(k.got[1]![2] - t0).toBeLessThan(gap + 30);
    k.clock.advance(gap);
    expect(k.got.length).toBe(3);
    expect(k.got[2]![2] - k.got[1]![2]).toBeGreaterThanOrEqual(gap - 30);
    expect(k.chip.tooSoon).toBe(0);
    // after a failed read too
    k.chip.unplugged = true;
    k.clock.advance(5000);
    read(k);
    k.clock.advance(100);
    k.chip.unplugged = false;
    const f = k.chip.frames;
    read(k);
    k.clock.advance(gap - 150);
    expect(k.chip.frames).toBe(f);
    k.clock.advance(100);
    expect(k.chip.frames).toBe(f + 1);
    expect(k.got.map((g) => g[0])).toEqual([Err.Ok, Err.Ok, Err.Ok, Err.NoDevice, Err.Ok]);
    expect(k.chip.tooSoon).toBe(0);
  });

  test("one read at a time (Err.Argument), close() ends a scheduled or running read with Err.Closed", () => {
    const k = rig(type);
    read(k);
    read(k);
    expect(k.got.map((g) => g[0])).toEqual([Err.Argument]);
    k.clock.advance(100);
    expect(k.got.map((g) => g[0])).toEqual([Err.Argument, Err.Ok]);

    read(k); // scheduled
    k.d.close();
    expect(k.got.map((g) => g[0])).toEqual([Err.Argument, Err.Ok, Err.Closed]);
    expect(k.clock.armed).toBe(0);

    const k2 = rig(type);
    read(k2);
    k2.clock.advance(type == 22 ? 3 : 21); // mid-frame
    expect(k2.pin.watching).toBe(1);
    k2.d.close();
    k2.d.close();
    expect(k2.got.map((g) => g[0])).toEqual([Err.Closed]);
    expect(k2.pin.watching).toBe(0);
    k2.clock.advance(100); // the rest of the frame goes nowhere
    read(k2);
    expect(k2.got.map((g) => g[0])).toEqual([Err.Closed, Err.Closed]);
    expect(k2.got.every((g) => g[1] === null)).toBe(true);
  });
});

describe("simulated pin", () => {
  test("watch edges carry seconds and Espruino's lastTime (the pin's previous change, either direction)", () => {
    const clock = new VirtualClock(500);
    const pin = new SimPin(clock);
    const seen: Edge[] = [];
    const h = pin.watch((e) => seen.push(e), { edge: "falling", repeat: true, debounce: 0 });
    pin.pullAt(501, true);
    pin.pullAt(501.08, false);
    pin.pullAt(501.2, true);
    clock.advance(10);
    expect(seen.length).toBe(2);
    expect(seen[0]!.time).toBeCloseTo(0.501, 12);
    expect(seen[1]!.time).toBeCloseTo(0.5012, 12);
    expect(seen[1]!.lastTime).toBeCloseTo(0.50108, 12);
    pin.unwatch(h);
    expect(pin.watching).toBe(0);
    expect(() => pin.unwatch(h)).toThrow();
  });

  test("open drain: the host's low and a device's low are wired-AND; a pulse releases the line after ms", () => {
    const clock = new VirtualClock();
    const pin = new SimPin(clock);
    const host: [boolean, number][] = [];
    pin.attach({ host: (low, at) => host.push([low, at]) });
    pin.mode("opendrain");
    expect(pin.read()).toBe(true);
    pin.pulse(false, 2);
    expect(pin.read()).toBe(false);
    clock.advance(2);
    expect(pin.read()).toBe(true);
    expect(host).toEqual([[true, 0], [false, 2]]);
    pin.pull(true);
    expect(pin.read()).toBe(false);
    pin.mode("output"); // push-pull high against the device: counted
    expect(pin.contention).toBe(1);
    expect(pin.log).toEqual(["mode opendrain", "pulse 0 2", "mode output"]);
  });
});
