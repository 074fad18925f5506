/**
 * Issue 6, DS18B20 (requirements 2-6): CRC-8/MAXIM golden values from Maxim's Application Note 27 and the
 * datasheet's power-on scratchpad, Table 1's temperature/data pairs, ROM search (AN187) over several sensors on
 * one simulated bus, resolution against Table 2's conversion times, and every fault of the simulated chip
 * leading to the right Err with the driver reading again afterwards. All on virtual time.
 */
import { describe, expect, it } from "vitest";
import { Err } from "../lib/errors";
import { crc8Maxim } from "../lib/drivers/crc8maxim";
import { connect, conversionMs, find, isDs18b20Rom, sixteenths, type Ds18b20 } from "../lib/drivers/ds18b20";
import type { OneWireBus } from "../lib/hal/onewire";
import { dowCrc, SimDs18b20 } from "../sim/chips/ds18b20";
import { Scenario } from "../sim/chips/scenario";
import { VirtualClock } from "../sim/clock";
import { SimOneWire, type OneWireDevice } from "../sim/hal/onewire";

const u8 = (a: number[]) => new Uint8Array(a);
/** A scenario holding one temperature, no swing, no noise. */
const steady = (c: number) => new Scenario({ meanC: c, swingC: 0, noiseC: 0 });

interface Got { err: Err; tempC: number | null; ms: number }

/** Starts a read and runs the clock until it has called back (or `limit` ms passed). */
function readOnce(s: Ds18b20, clock: VirtualClock, limit = 10000): Got | null {
  let got: Got | null = null;
  const t0 = clock.now();
  s.read((err, r) => {
    got = { err, tempC: r ? r.tempC : null, ms: clock.now() - t0 };
  });
  clock.advance(limit);
  return got;
}

function rig(c = 21.5, o: Partial<ConstructorParameters<typeof SimDs18b20>[0]> = {}) {
  const clock = new VirtualClock();
  const bus = new SimOneWire();
  const chip = new SimDs18b20(Object.assign({ clock, scenario: steady(c), serial: 0x0000123456 }, o));
  bus.attach(chip);
  return { clock, bus, chip };
}

describe("CRC-8/MAXIM (AN27)", () => {
  it("AN27's example ROM 02 1C B8 01 00 00 00 gives A2", () => {
    expect(crc8Maxim(u8([0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00]), 0, 7)).toBe(0xa2);
    expect(dowCrc(u8([0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00]), 7)).toBe(0xa2);
    // the whole ROM including its CRC leaves the register at 0 (AN27)
    expect(crc8Maxim(u8([0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xa2]), 0, 8)).toBe(0);
  });

  it("catalogue check value: \"123456789\" gives A1", () => {
    expect(crc8Maxim(new TextEncoder().encode("123456789"), 0, 9)).toBe(0xa1);
  });

  it("the power-on scratchpad 50 05 4B 46 7F FF 0C 10 has CRC 1C", () => {
    expect(crc8Maxim(u8([0x50, 0x05, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10]), 0, 8)).toBe(0x1c);
  });

  it("agrees with the simulator's bit-serial form (Figure 10) on random data", () => {
    let x = 12345;
    for (let n = 0; n < 500; n++) {
      const b = new Uint8Array(1 + (n % 16));
      for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
      expect(crc8Maxim(b, 0, b.length)).toBe(dowCrc(b, b.length));
    }
  });

  it("ROM strings: family 28h and a right CRC only", () => {
    const chip = new SimDs18b20({ clock: new VirtualClock(), scenario: steady(20), serial: 0x1c_b801 });
    expect(isDs18b20Rom(chip.romHex)).toBe(true);
    expect(isDs18b20Rom(chip.romHex.toUpperCase())).toBe(true);
    expect(isDs18b20Rom("021cb801000000a2")).toBe(false); // AN27's ROM: right CRC, family 02h
    expect(isDs18b20Rom(chip.romHex.slice(0, 14) + "00")).toBe(false);
    expect(isDs18b20Rom(chip.romHex.slice(0, 15))).toBe(false);
    expect(isDs18b20Rom("28zz000000000000")).toBe(false);
  });
});

// Datasheet Table 1: temperature/data relationship (12 bits)
const TABLE1: [number, number][] = [
  [125, 0x07d0], [85, 0x0550], [25.0625, 0x0191], [10.125, 0x00a2], [0.5, 0x0008], [0, 0x0000],
  [-0.5, 0xfff8], [-10.125, 0xff5e], [-25.0625, 0xfe6f], [-55, 0xfc90],
];

describe("temperature register (Table 1)", () => {
  it.each(TABLE1)("%s °C <-> %s", (c, raw) => {
    expect(sixteenths(raw, 12) / 16).toBe(c);
  });

  it.each(TABLE1)("the simulated chip holds %s °C as its Table 1 register, the driver reads it back", (c, raw) => {
    const r = rig(c);
    const got = readOnce(connect(r.bus, { clock: r.clock, rom: r.chip.romHex }), r.clock)!;
    const sp = r.chip.scratchpad();
    expect(sp[0]! | (sp[1]! << 8)).toBe(raw);
    // +85.0000 °C is the power-on value: refused after one fresh conversion (documented in the driver)
    if (raw == 0x0550) expect([got.err, got.tempC, r.chip.conversions]).toEqual([Err.Range, null, 2]);
    else expect([got.err, got.tempC]).toEqual([Err.Ok, c]);
  });

  it("lower resolutions clear the undefined low bits (two's complement: towards -inf)", () => {
    expect(sixteenths(0xff5e, 9) / 16).toBe(-10.5);
    expect(sixteenths(0x0191, 11) / 16).toBe(25);
    expect(sixteenths(0x0197, 10) / 16).toBe(25.25);
  });
});

describe("ROM search and several sensors on one bus", () => {
  function three() {
    const clock = new VirtualClock();
    const bus = new SimOneWire();
    // serials chosen so the ROMs first differ at several bit positions (the search must branch)
    const temps = [21.5, -7.25, 36.0625];
    const chips = [0x0001a2, 0x0001a3, 0x7f00a2].map((serial, i) => new SimDs18b20({ clock, scenario: steady(temps[i]!), serial }));
    for (const c of chips) bus.attach(c);
    return { clock, bus, chips, temps };
  }

  it("search() finds all three, in Espruino's ROM string form", () => {
    const t = three();
    const roms = t.bus.search();
    expect(roms.slice().sort()).toEqual(t.chips.map((c) => c.romHex).sort());
    for (const r of roms) expect(r).toMatch(/^28[0-9a-f]{14}$/);
    expect(t.chips[0]!.romHex).toBe("28a20100000000" + t.chips[0]!.rom[7]!.toString(16).padStart(2, "0"));
  });

  it("find() keeps DS18B20s with a right ROM CRC, leaves out other families and bad CRCs", () => {
    const t = three();
    const other = (rom: number[]): OneWireDevice => ({
      rom: u8(rom), reset: () => true, alarm: () => false, write: () => {}, read: () => 0xff,
    });
    const ds18s20 = [0x10, 1, 2, 3, 4, 5, 6, 0];
    ds18s20[7] = crc8Maxim(u8(ds18s20), 0, 7);
    t.bus.attach(other(ds18s20));
    t.bus.attach(other([0x28, 9, 9, 9, 0, 0, 0, 0x55])); // wrong CRC
    expect(t.bus.search()).toHaveLength(5);
    expect(find(t.bus).sort()).toEqual(t.chips.map((c) => c.romHex).sort());
  });

  it("each sensor reads its own temperature, one after another and all at once", () => {
    const t = three();
    const sensors = find(t.bus).map((rom) => connect(t.bus, { clock: t.clock, rom }));
    const byRom = (rom: string) => t.temps[t.chips.findIndex((c) => c.romHex == rom)];
    const roms = find(t.bus);
    for (let i = 0; i < 3; i++) {
      const got = readOnce(sensors[i]!, t.clock)!;
      expect([got.err, got.tempC]).toEqual([Err.Ok, byRom(roms[i]!)]);
    }
    const got: (number | null)[] = [];
    for (let i = 0; i < 3; i++) sensors[i]!.read((e, r) => { got[i] = e ? e : r!.tempC; });
    t.clock.advance(1000);
    expect(got).toEqual(roms.map(byRom));
  });

  it("all at once at 9, 11 and 12 bits: each waits its own Table 2 time (the completion check is not fooled)", () => {
    const t = three();
    const roms = find(t.bus);
    const bits = [9, 11, 12] as const;
    const got: [Err, number | null, number][] = [];
    roms.forEach((rom, i) => {
      connect(t.bus, { clock: t.clock, rom, resolution: bits[i] }).read((e, r) => { got[i] = [e, r ? r.tempC : null, t.clock.now()]; });
    });
    t.clock.advance(2000);
    const want = roms.map((rom, i) => {
      const c = t.temps[t.chips.findIndex((ch) => ch.romHex == rom)]!;
      const step = 1 / (1 << (bits[i]! - 8));
      return [Err.Ok, Math.floor(c / step) * step, conversionMs(bits[i]!)];
    });
    expect(got).toEqual(want);
  });

  it("ALARM SEARCH [ECh] finds only the sensor whose temperature passed TH/TL", () => {
    const clock = new VirtualClock();
    const bus = new SimOneWire();
    // TH 75 °C (factory 4Bh); TL -10 °C (the factory 46h, +70 °C, would flag both)
    const hot = new SimDs18b20({ clock, scenario: steady(80), serial: 5, tl: 0xf6 });
    const ok = new SimDs18b20({ clock, scenario: steady(20), serial: 6, tl: 0xf6 });
    bus.attach(hot);
    bus.attach(ok);
    for (const rom of find(bus)) readOnce(connect(bus, { clock, rom }), clock);
    expect(bus.search(0xec)).toEqual([hot.romHex]);
  });

  it("SKIP ROM: right with one sensor, a Checksum error when several answer at once", () => {
    const r = rig(19.75);
    expect(readOnce(connect(r.bus, { clock: r.clock }), r.clock)).toMatchObject({ err: Err.Ok, tempC: 19.75 });
    const t = three();
    const s = connect(t.bus, { clock: t.clock });
    readOnce(s, t.clock); // the power-on scratchpads are identical, so the first read's setup passes
    expect(readOnce(s, t.clock)!.err).toBe(Err.Checksum);
  });

  it("nobody on the bus: search finds nothing, a read is NoDevice", () => {
    const clock = new VirtualClock();
    const bus = new SimOneWire();
    expect(find(bus)).toEqual([]);
    expect(readOnce(connect(bus, { clock }), clock)!.err).toBe(Err.NoDevice);
  });
});

describe("resolution (Configuration Register, Table 2)", () => {
  it.each([9, 10, 11, 12] as const)("%s bits: config byte written, Table 2 wait, quantised reading", (bits) => {
    const r = rig(-10.3, { th: 0x20, tl: 0xf0 });
    const s = connect(r.bus, { clock: r.clock, rom: r.chip.romHex, resolution: bits });
    for (let n = 0; n < 5; n++) {
      const got = readOnce(s, r.clock)!;
      expect(got.err).toBe(Err.Ok);
      expect(got.ms).toBe(conversionMs(bits));
      const step = 1 / (1 << (bits - 8));
      // -10.3 °C is -164.8/16 -> -165/16 at 12 bits, then cleared down to the resolution's step
      expect(got.tempC).toBe(Math.floor(-165 / 16 / step) * step);
    }
    expect(r.chip.resolution).toBe(bits);
    const sp = r.chip.scratchpad();
    expect([sp[2], sp[3], sp[4]]).toEqual([0x20, 0xf0, ((bits - 9) << 5) | 0x1f]); // TH, TL kept
    expect(r.chip.conversions).toBe(5);
  });

  it("conversion times are Table 2's", () => {
    expect([9, 10, 11, 12].map(conversionMs)).toEqual([93.75, 187.5, 375, 750]);
  });

  it("a parasite-powered sensor (no completion signal) reads after the Table 2 wait", () => {
    const r = rig(4.5, { parasite: true });
    const got = readOnce(connect(r.bus, { clock: r.clock, rom: r.chip.romHex, resolution: 10 }), r.clock)!;
    expect(got).toEqual({ err: Err.Ok, tempC: 4.5, ms: 187.5 });
    expect(r.chip.powerOns).toBe(1); // the strong pull-up was held: no brown-out
  });

  it("steady reads: no I/O in connect, 4 resets / 20 bytes out / 10 in per read, one reading object", () => {
    const r = rig(22);
    const s = connect(r.bus, { clock: r.clock, rom: r.chip.romHex });
    expect([r.bus.resets, r.bus.writes, r.bus.reads]).toEqual([0, 0, 0]);
    let first: unknown = null;
    s.read((e, v) => { first = v; });
    r.clock.advance(1000);
    const before = [r.bus.resets, r.bus.writes, r.bus.reads];
    let second: unknown = null;
    s.read((e, v) => { second = v; });
    r.clock.advance(1000);
    expect([r.bus.resets - before[0]!, r.bus.writes - before[1]!, r.bus.reads - before[2]!]).toEqual([4, 20, 10]);
    expect(second).toBe(first);
  });
});

describe("faults: the right Err, then the driver reads again", () => {
  function setup(res: 9 | 10 | 11 | 12 = 12) {
    const r = rig(23.125);
    const s = connect(r.bus, { clock: r.clock, rom: r.chip.romHex, resolution: res });
    expect(readOnce(s, r.clock)!.err).toBe(Err.Ok);
    return Object.assign(r, { s, ok: () => expect(readOnce(s, r.clock)).toMatchObject({ err: Err.Ok, tempC: 23.125 }) });
  }

  it("unplugged (no presence pulse): NoDevice; plugged back: reads, resolution written again", () => {
    const r = setup(11);
    r.chip.unplugged = true;
    expect(readOnce(r.s, r.clock)).toEqual({ err: Err.NoDevice, tempC: null, ms: 0 });
    r.chip.plug(); // power-on reset: EEPROM config (12 bits) and +85 °C
    expect(r.chip.resolution).toBe(12);
    r.ok();
    expect(r.chip.resolution).toBe(11);
  });

  it("corrupted scratchpad CRC: Checksum", () => {
    const r = setup();
    r.chip.badCrc = true;
    expect(readOnce(r.s, r.clock)!.err).toBe(Err.Checksum);
    r.chip.badCrc = false;
    r.ok();
  });

  it("unplugged mid-read: all FFh is NoDevice, a partial scratchpad is NoDevice (CRC wrong, then no presence)", () => {
    const r = setup();
    for (const after of [0, 4]) {
      r.chip.unplugAfter = after;
      expect(readOnce(r.s, r.clock)!.err).toBe(Err.NoDevice);
      expect(r.chip.unplugged).toBe(true);
      r.chip.plug();
      r.ok();
    }
  });

  it("unplugged between CONVERT T and the read (the conversion wait): NoDevice", () => {
    const r = setup();
    let got: Err | null = null;
    r.s.read((e) => { got = e; });
    r.clock.advance(100);
    r.chip.unplugged = true;
    r.clock.advance(1000);
    expect(got).toBe(Err.NoDevice);
    r.chip.plug();
    r.ok();
  });

  it("slow conversion: x1.5 is waited for (re-checks), x3 is Timeout", () => {
    const r = setup();
    r.chip.slow = 1.5;
    expect(readOnce(r.s, r.clock)).toEqual({ err: Err.Ok, tempC: 23.125, ms: 1125 });
    r.chip.slow = 3;
    expect(readOnce(r.s, r.clock)).toEqual({ err: Err.Timeout, tempC: null, ms: 1500 });
    r.chip.slow = 1;
    r.ok();
  });

  it("stuck at the power-on value: one fresh conversion, then Range", () => {
    const r = setup();
    r.chip.stuck85 = true;
    const n = r.chip.conversions;
    expect(readOnce(r.s, r.clock)).toEqual({ err: Err.Range, tempC: null, ms: 1500 });
    expect(r.chip.conversions - n).toBe(2);
    r.chip.stuck85 = false;
    r.ok();
  });

  it("the power-on value once (a reset after CONVERT T), then a real reading: the retry gives it", () => {
    const r = setup();
    r.chip.stuck85 = true;
    let got: [Err, number | null] | null = null;
    r.s.read((e, v) => { got = [e, v ? v.tempC : null]; });
    r.clock.advance(750); // first conversion: 0550h, the driver converts again
    r.chip.stuck85 = false;
    r.clock.advance(750);
    expect(got).toEqual([Err.Ok, 23.125]);
  });

  it("a parasite-powered part stuck at the power-on value: Range (85 °C never reported)", () => {
    const r = rig(30, { parasite: true });
    const s = connect(r.bus, { clock: r.clock, rom: r.chip.romHex });
    r.chip.stuck85 = true;
    expect(readOnce(s, r.clock)!.err).toBe(Err.Range);
  });

  it("bus held low: Bus (an all-0 scratchpad has a valid CRC); search finds nothing", () => {
    const r = setup();
    r.bus.stuck = true;
    expect(readOnce(r.s, r.clock)!.err).toBe(Err.Bus);
    expect(find(r.bus)).toEqual([]);
    r.bus.stuck = false;
    r.ok();
  });

  it("a bus object that throws: Bus, nothing thrown into the application", () => {
    const r = setup();
    let fail = true;
    const bus: OneWireBus = {
      reset: () => { if (fail) throw new Error("pin"); return r.bus.reset(); },
      select: (rom) => r.bus.select(rom),
      skip: () => r.bus.skip(),
      write: (d, p) => r.bus.write(d, p),
      read: ((n?: number) => (n === undefined ? r.bus.read() : r.bus.read(n))) as OneWireBus["read"],
      search: () => { throw new Error("pin"); },
    };
    const s = connect(bus, { clock: r.clock, rom: r.chip.romHex });
    expect(readOnce(s, r.clock)!.err).toBe(Err.Bus);
    expect(find(bus)).toEqual([]);
    fail = false;
    expect(readOnce(s, r.clock)).toMatchObject({ err: Err.Ok, tempC: 23.125 });
  });

  it("bad options: Argument on every read, no I/O", () => {
    const r = rig();
    for (const o of [{ rom: "28" }, { rom: "021cb801000000a2" }, { resolution: 8 as 9 }]) {
      const s = connect(r.bus, Object.assign({ clock: r.clock }, o));
      expect(readOnce(s, r.clock)!.err).toBe(Err.Argument);
    }
    expect(r.bus.resets).toBe(0);
  });

  it("a read while one is under way: NoMemory at once; close(): Closed, then every read Closed", () => {
    const r = setup();
    const errs: Err[] = [];
    r.s.read((e) => errs.push(e));
    r.s.read((e) => errs.push(e));
    expect(errs).toEqual([Err.NoMemory]);
    r.s.close();
    r.clock.advance(1000);
    expect(errs).toEqual([Err.NoMemory, Err.Closed]);
    expect(readOnce(r.s, r.clock)!.err).toBe(Err.Closed);
    expect(r.clock.armed).toBe(0);
  });
});
