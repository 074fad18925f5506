/**
 * Issue 6, requirements 2-6 for the SHT3x: the CRC-8 and conversion goldens of "Datasheet SHT3x-DIS" (section
 * 4.12, Table 19: 0xBEEF -> 0x92; section 4.13), the driver (lib/drivers/sht3x.ts) against the simulated chip
 * (sim/chips/sht3x.ts) on virtual time, every fault giving its Err with the driver usable again after it is
 * cleared, and bounded bus traffic per read.
 */
import { describe, expect, test } from "vitest";
import { crc8 } from "../lib/drivers/crc8";
import { connect, sht3xRhPct, sht3xTempC, type Sht3xOptions } from "../lib/drivers/sht3x";
import type { Reading } from "../lib/drivers/types";
import { Err } from "../lib/errors";
import { Scenario, type ScenarioOptions } from "../sim/chips/scenario";
import { Sht3xChip } from "../sim/chips/sht3x";
import { VirtualClock } from "../sim/clock";
import { SimI2c } from "../sim/hal/i2c";

/** Independent CRC: remainder of (M(x)·x^8 + init·x^(8·len)) divided by x^8 + x^5 + x^4 + 1, in BigInt. */
function refCrc(bytes: number[], init = 0xff): number {
  let v = BigInt(init) << BigInt(8 * bytes.length);
  let m = 0n;
  for (const b of bytes) m = (m << 8n) | BigInt(b);
  v ^= m << 8n;
  const p = 0x131n;
  for (let bit = BigInt(8 * bytes.length + 7); bit >= 8n; bit--) if ((v >> bit) & 1n) v ^= p << (bit - 8n);
  return Number(v);
}

const T_RES = 175 / 65535;
const RH_RES = 100 / 65535;

function rig(opts: Partial<Sht3xOptions> = {}, sc: ScenarioOptions = { seed: 7 }, address = 0x44) {
  const clock = new VirtualClock(0);
  const bus = new SimI2c();
  const chip = new Sht3xChip({ clock, scenario: new Scenario(sc), address });
  bus.attach(chip);
  const drv = connect(bus, { clock, ...opts });
  /** One read, run to its end on virtual time. */
  function read(): { err: Err; r: Reading | null; ms: number; transfers: number } {
    const t0 = clock.now();
    const n0 = bus.transfers;
    let out: { err: Err; r: Reading | null; ms: number } | undefined;
    drv.read((err, r) => { out = { err, r: r && { ...r }, ms: clock.now() - t0 }; });
    clock.advance(1000);
    expect(out).toBeDefined();
    return { ...out!, transfers: bus.transfers - n0 };
  }
  return { clock, bus, chip, drv, read };
}

describe("CRC-8 (section 4.12, Table 19)", () => {
  test("Sensirion's example: 0xBEEF -> 0x92", () => {
    expect(crc8(new Uint8Array([0xbe, 0xef]), 0, 2, 0x31, 0xff)).toBe(0x92);
    expect(refCrc([0xbe, 0xef])).toBe(0x92);
  });
  test("CRC catalogue check value of CRC-8/NRSC-5 (same parameters): \"123456789\" -> 0xF7", () => {
    const b = new Uint8Array([...Buffer.from("123456789")]);
    expect(crc8(b, 0, 9, 0x31, 0xff)).toBe(0xf7);
  });
  test("agrees with an independent polynomial division on random words and sub-ranges", () => {
    let x = 12345;
    for (let i = 0; i < 300; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const b = new Uint8Array([x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, x >>> 24]);
      expect(crc8(b, 1, 3, 0x31, 0xff)).toBe(refCrc([b[1]!, b[2]!]));
      expect(crc8(b, 0, 4, 0x31, 0xff)).toBe(refCrc([...b]));
    }
  });
});

describe("conversion (section 4.13)", () => {
  test("goldens: T = -45 + 175·S/65535, RH = 100·S/65535", () => {
    expect(sht3xTempC(0)).toBe(-45);
    expect(sht3xTempC(0xffff)).toBe(130);
    expect(sht3xTempC(0x6666)).toBeCloseTo(25, 9); // 0x6666 = 0.4 · 65535
    expect(sht3xTempC(0x4000)).toBeCloseTo(-1.24933, 5);
    expect(sht3xRhPct(0)).toBe(0);
    expect(sht3xRhPct(0xffff)).toBe(100);
    expect(sht3xRhPct(0x8000)).toBeCloseTo(50.00076, 5);
  });
});

describe("SHT3x driver against the simulated chip", () => {
  test("connect does no I/O", () => {
    const r = rig();
    expect(r.bus.transfers).toBe(0);
    expect(r.clock.armed).toBe(0);
  });

  const reps: [NonNullable<Sht3xOptions["repeatability"]>, number, number][] = [
    ["high", 0x2400, 12.5], ["medium", 0x240b, 4.5], ["low", 0x2416, 2.5],
  ];
  for (const [rep, cmd, ms] of reps) {
    test(`repeatability ${rep}: command 0x${cmd.toString(16)} (Table 9), first read after the typical ${ms} ms (Table 4), 2 transfers`, () => {
      const r = rig({ repeatability: rep });
      const x = r.read();
      expect(x.err).toBe(Err.Ok);
      expect(r.chip.lastCommand).toBe(cmd);
      expect(x.ms).toBe(ms);
      expect(x.transfers).toBe(2);
      expect(Math.abs(x.r!.tempC - r.chip.lastTempC)).toBeLessThanOrEqual(T_RES);
      expect(Math.abs(x.r!.rhPct! - r.chip.lastRhPct)).toBeLessThanOrEqual(RH_RES);
    });
  }

  test("readings follow the scenario through a day (within resolution), at address 0x45 too", () => {
    for (const address of [0x44, 0x45]) {
      const r = rig({ address }, { seed: 3, swingC: 10, swingRh: 30 }, address);
      for (let h = 0; h < 24; h++) {
        const x = r.read();
        expect(x.err).toBe(Err.Ok);
        expect(Math.abs(x.r!.tempC - r.chip.lastTempC)).toBeLessThanOrEqual(T_RES);
        expect(Math.abs(x.r!.rhPct! - r.chip.lastRhPct)).toBeLessThanOrEqual(RH_RES);
        r.clock.advance(3600_000);
      }
      expect(r.chip.measurements).toBe(24);
    }
  });

  test("the reading object is reused: no allocation per read beyond readFrom's result", () => {
    const r = rig();
    const seen: (Reading | null)[] = [];
    for (let i = 0; i < 2; i++) { r.drv.read((_e, v) => seen.push(v)); r.clock.advance(100); }
    expect(seen[0]).not.toBeNull();
    expect(seen[0]).toBe(seen[1]);
  });
});

describe("SHT3x faults: the right Err, and the driver usable again once the fault is cleared", () => {
  test("no ACK -> NoDevice on the first transfer", () => {
    const r = rig();
    r.chip.noAck = true;
    const x = r.read();
    expect(x.err).toBe(Err.NoDevice);
    expect(x.r).toBeNull();
    expect(x.transfers).toBe(1);
    r.chip.noAck = false;
    expect(r.read().err).toBe(Err.Ok);
  });

  test("no chip at the address -> NoDevice; stuck bus -> NoDevice (an exception on the first transfer)", () => {
    const r = rig({ address: 0x45 });
    expect(r.read().err).toBe(Err.NoDevice);
    const s = rig();
    s.bus.stuck = true;
    expect(s.read().err).toBe(Err.NoDevice);
    s.bus.stuck = false;
    expect(s.read().err).toBe(Err.Ok);
  });

  test("corrupted CRC -> Checksum, never a number; the next read is good", () => {
    const r = rig();
    r.chip.corruptCrc = true;
    const x = r.read();
    expect(x.err).toBe(Err.Checksum);
    expect(x.r).toBeNull();
    expect(r.read().err).toBe(Err.Ok);
  });

  test("measurement never completes (reads NACKed forever) -> Timeout after a bounded number of polls", () => {
    for (const [rep, typ, max] of [["high", 12.5, 15.5], ["medium", 4.5, 6.5], ["low", 2.5, 4.5]] as const) {
      const r = rig({ repeatability: rep });
      r.chip.neverCompletes = true;
      const x = r.read();
      expect(x.err).toBe(Err.Timeout);
      // 1 command + a first read at the typical duration + polls every 2.5 ms until twice the maximum + 4 ms
      expect(x.transfers).toBe(2 + Math.ceil((2 * max + 4 - typ) / 2.5));
      expect(x.ms).toBeGreaterThanOrEqual(2 * max + 4);
      expect(x.ms).toBeLessThanOrEqual(2 * max + 6);
      r.chip.neverCompletes = false;
      expect(r.read().err).toBe(Err.Ok);
    }
  });

  test("slow conversion: x2 still read by polling (bounded), x4 -> Timeout", () => {
    const r = rig();
    r.chip.slow = 2; // 25 ms > 15.5 ms
    const x = r.read();
    expect(x.err).toBe(Err.Ok);
    expect(x.transfers).toBeGreaterThan(2);
    expect(x.transfers).toBeLessThanOrEqual(12);
    expect(x.ms).toBeGreaterThanOrEqual(25);
    r.chip.slow = 4;
    expect(r.read().err).toBe(Err.Timeout);
    r.chip.slow = 1;
    expect(r.read().err).toBe(Err.Ok);
  });

  test("unplugged mid-read: before the command -> NoDevice; after it -> Timeout (a NACKed read looks like a measurement in progress)", () => {
    const r = rig();
    r.chip.unplugAfter = 0;
    expect(r.read().err).toBe(Err.NoDevice);
    r.chip.plugIn();
    expect(r.read().err).toBe(Err.Ok);
    r.chip.unplugAfter = 1;
    const x = r.read();
    expect(x.err).toBe(Err.Timeout);
    expect(x.transfers).toBeLessThanOrEqual(12);
    r.chip.plugIn();
    expect(r.read().err).toBe(Err.Ok);
  });

  test("stuck bus after the command -> Timeout, bounded", () => {
    const r = rig();
    let out: Err | undefined;
    r.drv.read((e) => { out = e; });
    r.clock.advance(1); // the command went out
    r.bus.stuck = true;
    r.clock.advance(100);
    expect(out).toBe(Err.Timeout);
    r.bus.stuck = false;
    r.clock.advance(100); // let the chip's measurement data be dropped by the next command
    expect(r.read().err).toBe(Err.Ok);
  });

  test("out of range -> Range: above 125 °C and below -40 °C", () => {
    for (const meanC of [127, -42]) {
      const r = rig({}, { meanC, swingC: 0, noiseC: 0 });
      const x = r.read();
      expect(x.err).toBe(Err.Range);
      expect(x.r).toBeNull();
    }
    expect(rig({}, { meanC: 124, swingC: 0, noiseC: 0 }).read().err).toBe(Err.Ok);
  });
});

describe("SHT3x status, heater, soft reset (sections 4.9-4.11)", () => {
  function status(r: ReturnType<typeof rig>): [Err, number | null] {
    let out: [Err, number | null] | undefined;
    r.drv.status((e, s) => { out = [e, s]; });
    r.clock.advance(10);
    return out!;
  }
  function done(r: ReturnType<typeof rig>, f: (cb: (e: Err) => void) => void): [Err, number] {
    const t0 = r.clock.now();
    let out: [Err, number] | undefined;
    f((e) => { out = [e, r.clock.now() - t0]; });
    r.clock.advance(10);
    return out!;
  }

  test("status after power-on is 0x8010 (alert pending, reset detected), read with its CRC", () => {
    const r = rig();
    expect(status(r)).toEqual([Err.Ok, 0x8010]);
    expect(r.chip.lastCommand).toBe(0xf32d);
  });

  test("heater on sets status bit 13, off clears it", () => {
    const r = rig();
    expect(done(r, (cb) => r.drv.heater(true, cb))[0]).toBe(Err.Ok);
    expect(r.chip.lastCommand).toBe(0x306d);
    expect(r.chip.heaterOn).toBe(true);
    expect(status(r)[1]! & 0x2000).toBe(0x2000);
    expect(r.read().err).toBe(Err.Ok);
    expect(done(r, (cb) => r.drv.heater(false, cb))[0]).toBe(Err.Ok);
    expect(r.chip.lastCommand).toBe(0x3066);
    expect(status(r)[1]! & 0x2000).toBe(0);
  });

  test("soft reset 0x30A2: back to the power-on state, callback after t_SR = 1.5 ms", () => {
    const r = rig();
    done(r, (cb) => r.drv.heater(true, cb));
    expect(done(r, (cb) => r.drv.softReset(cb))).toEqual([Err.Ok, 1.5]);
    expect(r.chip.lastCommand).toBe(0x30a2);
    expect(r.chip.heaterOn).toBe(false);
    expect(status(r)).toEqual([Err.Ok, 0x8010]);
    expect(r.read().err).toBe(Err.Ok);
  });

  test("status: corrupted CRC -> Checksum; no ACK -> NoDevice; unplugged after the command -> Bus", () => {
    const r = rig();
    r.chip.corruptCrc = true;
    expect(status(r)).toEqual([Err.Checksum, null]);
    r.chip.noAck = true;
    expect(status(r)).toEqual([Err.NoDevice, null]);
    expect(done(r, (cb) => r.drv.heater(true, cb))[0]).toBe(Err.NoDevice);
    expect(done(r, (cb) => r.drv.softReset(cb))[0]).toBe(Err.NoDevice);
    r.chip.noAck = false;
    r.chip.unplugAfter = 1;
    expect(status(r)).toEqual([Err.Bus, null]);
    r.chip.plugIn();
    expect(status(r)).toEqual([Err.Ok, 0x8010]);
  });
});

describe("SHT3x driver contract", () => {
  test("a read while one is in progress -> Argument at once; the first read still completes", () => {
    const r = rig();
    const got: Err[] = [];
    r.drv.read((e) => got.push(e));
    r.drv.read((e) => got.push(e));
    r.drv.status((e) => got.push(e));
    expect(got).toEqual([Err.Argument, Err.Argument]);
    r.clock.advance(100);
    expect(got).toEqual([Err.Argument, Err.Argument, Err.Ok]);
  });

  test("invalid options -> Argument, without touching the bus", () => {
    const r = rig({ address: 0x40 });
    expect(r.read().err).toBe(Err.Argument);
    const s = rig({ repeatability: "ultra" as "high" });
    expect(s.read().err).toBe(Err.Argument);
    expect(r.bus.transfers + s.bus.transfers).toBe(0);
  });

  test("close() ends a running read with Closed, leaves no timer, and later calls get Closed", () => {
    const r = rig();
    const got: Err[] = [];
    r.drv.read((e) => got.push(e));
    r.clock.advance(1);
    r.drv.close();
    expect(got).toEqual([Err.Closed]);
    expect(r.clock.armed).toBe(0);
    r.drv.read((e) => got.push(e));
    r.drv.close();
    expect(got).toEqual([Err.Closed, Err.Closed]);
  });

  test("a callback may start the next read", () => {
    const r = rig();
    const got: Err[] = [];
    r.drv.read((e) => { got.push(e); r.drv.read((e2) => got.push(e2)); });
    r.clock.advance(100);
    expect(got).toEqual([Err.Ok, Err.Ok]);
  });
});
