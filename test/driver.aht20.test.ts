/**
 * Issue 6, requirements 2-6 for the AHT20: CRC-8 (polynomial 0x31, initial value 0xFF) and the conversion
 * goldens of the datasheet (section 6), the driver (lib/drivers/aht20.ts) against the simulated chip
 * (sim/chips/aht20.ts) on virtual time through the reading process of section 5.4, every fault giving its Err
 * with the driver usable again after it is cleared, and bounded bus traffic per read.
 */
import { describe, expect, test } from "vitest";
import { aht20RhPct, aht20TempC, connect } from "../lib/drivers/aht20";
import { crc8 } from "../lib/drivers/crc8";
import type { Reading } from "../lib/drivers/types";
import { Err } from "../lib/errors";
import { Aht20Chip } from "../sim/chips/aht20";
import { Scenario, type ScenarioOptions } from "../sim/chips/scenario";
import { VirtualClock } from "../sim/clock";
import { SimI2c } from "../sim/hal/i2c";

const T_RES = 200 / 1048576;
const RH_RES = 100 / 1048576;

function rig(sc: ScenarioOptions = { seed: 5 }, uncalibrated = false, address?: number) {
  const clock = new VirtualClock(0);
  const bus = new SimI2c();
  const chip = new Aht20Chip({ clock, scenario: new Scenario(sc), uncalibrated });
  bus.attach(chip);
  const drv = connect(bus, { clock, address });
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

/** Builds the 7-byte answer of section 5.4 step 4 from 20-bit raw values. */
function frame(status: number, sRh: number, sT: number): Uint8Array {
  const b = new Uint8Array([status, sRh >> 12, (sRh >> 4) & 0xff, ((sRh & 15) << 4) | (sT >> 16), (sT >> 8) & 0xff, sT & 0xff, 0]);
  b[6] = crc8(b, 0, 6, 0x31, 0xff);
  return b;
}

describe("AHT20 CRC and conversion", () => {
  test("CRC-8 poly 0x31 init 0xFF: catalogue check value \"123456789\" -> 0xF7 (CRC-8/NRSC-5), 0xBEEF -> 0x92", () => {
    expect(crc8(new Uint8Array([...Buffer.from("123456789")]), 0, 9, 0x31, 0xff)).toBe(0xf7);
    expect(crc8(new Uint8Array([0xbe, 0xef]), 0, 2, 0x31, 0xff)).toBe(0x92);
  });

  test("section 6 goldens: RH = S/2^20·100, T = S/2^20·200 - 50", () => {
    expect(aht20RhPct(0)).toBe(0);
    expect(aht20RhPct(0x80000)).toBe(50);
    expect(aht20RhPct(0x40000)).toBe(25);
    expect(aht20TempC(0)).toBe(-50);
    expect(aht20TempC(0x40000)).toBe(0);
    expect(aht20TempC(0x60000)).toBe(25);
    expect(aht20TempC(0xfffff)).toBeCloseTo(149.99981, 5);
  });

  test("the simulated chip's 7 bytes: status, 20-bit RH, 20-bit T packed across byte 3, CRC over the first 6", () => {
    const clock = new VirtualClock(0);
    const chip = new Aht20Chip({ clock, scenario: new Scenario({ meanC: 25, swingC: 0, noiseC: 0, meanRh: 50, swingRh: 0, noiseRh: 0 }) });
    clock.advance(40);
    expect(chip.write(new Uint8Array([0xac, 0x33, 0x00]))).toBe(true);
    expect(chip.read(1)![0]).toBe(0x88); // busy, calibrated
    clock.advance(75);
    expect([...chip.read(7)!]).toEqual([...frame(0x08, 0x80000, 0x60000)]);
  });
});

describe("AHT20 driver against the simulated chip (section 5.4)", () => {
  test("connect does no I/O", () => {
    const r = rig();
    expect(r.bus.transfers).toBe(0);
    expect(r.clock.armed).toBe(0);
  });

  test("first read: 40 ms power-on wait, status, trigger 0xAC 0x33 0x00, 80 ms, data; later reads skip the init", () => {
    const r = rig();
    const x = r.read();
    expect(x.err).toBe(Err.Ok);
    expect(x.ms).toBe(40 + 80);
    expect(x.transfers).toBe(3);
    expect(r.chip.commands).toEqual([0xac]);
    expect(Math.abs(x.r!.tempC - r.chip.lastTempC)).toBeLessThanOrEqual(T_RES);
    expect(Math.abs(x.r!.rhPct! - r.chip.lastRhPct)).toBeLessThanOrEqual(RH_RES);
    const y = r.read();
    expect(y.err).toBe(Err.Ok);
    expect(y.ms).toBe(80);
    expect(y.transfers).toBe(2);
  });

  test("calibration bit clear at power-on: 0xBE 0x08 0x00, 10 ms, then the measurement", () => {
    const r = rig({ seed: 2 }, true);
    const x = r.read();
    expect(x.err).toBe(Err.Ok);
    expect(r.chip.commands).toEqual([0xbe, 0xac]);
    expect(x.ms).toBe(40 + 10 + 80);
    expect(x.transfers).toBe(4);
    expect(r.read().transfers).toBe(2);
  });

  test("readings follow the scenario through a day within resolution", () => {
    const r = rig({ seed: 9, swingC: 12, swingRh: 35 });
    for (let h = 0; h < 24; h++) {
      const x = r.read();
      expect(x.err).toBe(Err.Ok);
      expect(Math.abs(x.r!.tempC - r.chip.lastTempC)).toBeLessThanOrEqual(T_RES);
      expect(Math.abs(x.r!.rhPct! - r.chip.lastRhPct)).toBeLessThanOrEqual(RH_RES);
      r.clock.advance(3600_000);
    }
    expect(r.chip.measurements).toBe(24);
  });

  test("connect long after power-on waits nothing extra beyond 40 ms from connect", () => {
    const clock = new VirtualClock(0);
    const bus = new SimI2c();
    bus.attach(new Aht20Chip({ clock, scenario: new Scenario({}) }));
    clock.advance(5000);
    const drv = connect(bus, { clock });
    let at = -1;
    drv.read(() => { at = clock.now(); });
    clock.advance(1000);
    expect(at).toBe(5000 + 40 + 80);
  });
});

describe("AHT20 faults: the right Err, and the driver usable again once the fault is cleared", () => {
  test("no ACK -> NoDevice (first transfer), during init and after it", () => {
    const r = rig();
    r.chip.noAck = true;
    const x = r.read();
    expect(x.err).toBe(Err.NoDevice);
    expect(x.r).toBeNull();
    expect(x.transfers).toBe(1);
    r.chip.noAck = false;
    expect(r.read().err).toBe(Err.Ok);
    r.chip.noAck = true;
    expect(r.read().err).toBe(Err.NoDevice);
    r.chip.noAck = false;
    expect(r.read().err).toBe(Err.Ok);
  });

  test("wrong address -> Argument; stuck bus -> NoDevice first, Bus mid-read", () => {
    expect(rig({}, false, 0x39).read().err).toBe(Err.Argument);
    const r = rig();
    r.bus.stuck = true;
    expect(r.read().err).toBe(Err.NoDevice);
    r.bus.stuck = false;
    expect(r.read().err).toBe(Err.Ok);
    let out: Err | undefined;
    r.drv.read((e) => { out = e; });
    r.clock.advance(1); // trigger sent
    r.bus.stuck = true;
    r.clock.advance(200);
    expect(out).toBe(Err.Bus);
    r.bus.stuck = false;
    expect(r.read().err).toBe(Err.Ok);
  });

  test("corrupted CRC -> Checksum, never a number; the next read is good", () => {
    const r = rig();
    expect(r.read().err).toBe(Err.Ok);
    r.chip.corruptCrc = true;
    const x = r.read();
    expect(x.err).toBe(Err.Checksum);
    expect(x.r).toBeNull();
    expect(r.read().err).toBe(Err.Ok);
  });

  test("busy bit never clears -> Timeout after 160 ms, at most 9 data reads; cleared -> Ok", () => {
    const r = rig();
    expect(r.read().err).toBe(Err.Ok);
    r.chip.busyStuck = true;
    const x = r.read();
    expect(x.err).toBe(Err.Timeout);
    expect(x.ms).toBe(160);
    expect(x.transfers).toBe(1 + 9);
    r.chip.busyStuck = false;
    const y = r.read(); // initialises again (status read) after a Timeout
    expect(y.err).toBe(Err.Ok);
    expect(y.transfers).toBe(3);
  });

  test("slow conversion: x2 (150 ms) read by polling, x3 (225 ms) -> Timeout, x1 -> Ok", () => {
    const r = rig();
    expect(r.read().err).toBe(Err.Ok);
    r.chip.slow = 2;
    const x = r.read();
    expect(x.err).toBe(Err.Ok);
    expect(x.ms).toBe(150);
    expect(x.transfers).toBe(1 + 8);
    r.chip.slow = 3;
    expect(r.read().err).toBe(Err.Timeout);
    r.chip.slow = 1;
    expect(r.read().err).toBe(Err.Ok);
  });

  test("unplugged mid-read -> Bus; plugged in again -> NoDevice during its 40 ms start, then Ok with a new init", () => {
    const r = rig();
    expect(r.read().err).toBe(Err.Ok);
    r.chip.unplugAfter = 1; // the trigger is acknowledged, the data read is not
    const x = r.read();
    expect(x.err).toBe(Err.Bus);
    expect(x.r).toBeNull();
    expect(r.read().err).toBe(Err.NoDevice);
    r.chip.uncalibrated = true;
    r.chip.plugIn();
    expect(r.read().err).toBe(Err.NoDevice); // still starting (40 ms)
    r.clock.advance(40);
    const n = r.chip.commands.length;
    expect(r.read().err).toBe(Err.Ok);
    expect(r.chip.commands.slice(n)).toEqual([0xbe, 0xac]);
  });

  test("out of range -> Range: above 85 °C, below -40 °C", () => {
    for (const meanC of [87, -42]) {
      const x = rig({ meanC, swingC: 0, noiseC: 0 }).read();
      expect(x.err).toBe(Err.Range);
      expect(x.r).toBeNull();
    }
    expect(rig({ meanC: 84, swingC: 0, noiseC: 0 }).read().err).toBe(Err.Ok);
  });
});

describe("AHT20 driver contract", () => {
  test("a read while one is in progress -> Argument at once; the first read still completes", () => {
    const r = rig();
    const got: Err[] = [];
    r.drv.read((e) => got.push(e));
    r.drv.read((e) => got.push(e));
    expect(got).toEqual([Err.Argument]);
    r.clock.advance(200);
    expect(got).toEqual([Err.Argument, Err.Ok]);
  });

  test("the reading object is reused across reads (no allocation per read beyond readFrom's result)", () => {
    const r = rig();
    const seen: (Reading | null)[] = [];
    for (let i = 0; i < 2; i++) { r.drv.read((_e, v) => seen.push(v)); r.clock.advance(200); }
    expect(seen[0]).not.toBeNull();
    expect(seen[0]).toBe(seen[1]);
  });

  test("close() ends a running read with Closed, leaves no timer; later reads get Closed", () => {
    const r = rig();
    const got: Err[] = [];
    r.drv.read((e) => got.push(e));
    r.clock.advance(50);
    r.drv.close();
    expect(got).toEqual([Err.Closed]);
    expect(r.clock.armed).toBe(0);
    r.drv.read((e) => got.push(e));
    expect(got).toEqual([Err.Closed, Err.Closed]);
  });
});
