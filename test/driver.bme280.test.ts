/**
 * BME280 driver (lib/drivers/bme280.ts) and simulated chip (sim/chips/bme280.ts), datasheet BST-BME280-DS002:
 * Bosch's compensation worked example and a table from the datasheet's own C code as golden values, the driver
 * against the simulated chip on virtual time, every fault leading to the right error with the driver usable
 * afterwards, and no allocation per read.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import type { Reading } from "../lib/drivers/types";
import {
  Bme280, Bme280Options, compensate, connect, humRaw, measureMs, mulDiv, mulShr33, parseCalibH, parseCalibTP, pressQ24_8, tempCenti,
  tFine,
} from "../lib/drivers/bme280";
import { Bme280Calib, Bme280Chip, BOSCH_EXAMPLE_CALIB, typMeasureMs } from "../sim/chips/bme280";
import { Scenario, ScenarioOptions, seeded } from "../sim/chips/scenario";
import { SimI2c } from "../sim/hal/i2c";
import { VirtualClock } from "../sim/clock";

/** The calibration words as the driver parses them from the chip's NVM image (Table 16). */
function calOf(c: Bme280Calib): Int32Array {
  const chip = new Bme280Chip({ clock: new VirtualClock(), scenario: new Scenario({}), calib: c });
  const cal = new Int32Array(18);
  parseCalibTP(cal, chip.regs.subarray(0x88, 0xa2));
  parseCalibH(cal, chip.regs.subarray(0xe1, 0xe8));
  return cal;
}

const EX = calOf(BOSCH_EXAMPLE_CALIB);

describe("BME280 compensation golden values (section 4.2.3)", () => {
  test("calibration registers parse into the Table 16 words, dig_H4/dig_H5 as signed 12-bit", () => {
    const c = calOf(BOSCH_EXAMPLE_CALIB);
    expect(Array.from(c)).toEqual([27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
      75, 362, 0, 313, 50, 30]);
    const neg = calOf({ ...BOSCH_EXAMPLE_CALIB, H2: -300, H3: 200, H4: -1234, H5: -2048, H6: -128 });
    expect(Array.from(neg.subarray(13))).toEqual([-300, 200, -1234, -2048, -128]);
  });

  test("Bosch's worked example: adc_T 519888 -> t_fine 128422, 25.08 °C; adc_P 415148 -> 100653.27 Pa", () => {
    // BMP280 datasheet section 3.12 (same T/P compensation as the BME280): dig_T1..3 27504, 26435, -1000,
    // dig_P1..9 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000
    const tf = tFine(EX, 519888);
    expect(tf).toBe(128422);
    expect(tempCenti(tf)).toBe(2508);
    const q = pressQ24_8(EX, tf, 415148);
    // BME280_compensate_P_int64 compiled from the datasheet (gcc, int64): 25767233 = 100653.254 Pa; the
    // published figure (floating point) is 100653.27 Pa
    expect(q).toBe(25767233);
    expect(Math.abs(q / 256 - 100653.27)).toBeLessThan(0.03);
  });

  // [adc_T, t_fine, T (0.01 °C), adc_P, Q24.8 Pa, adc_H, Q22.10 %RH (Bosch's clamp applied)], from the
  // datasheet's C code (section 4.2.3) compiled with gcc: int32 T and H, int64 P; negative t_fine included
  const TABLE: [number, number, number, number, number, number, number][] = [
    [519888, 128422, 2508, 300000, 30873084, 30000, 56317],
    [519888, 128422, 2508, 600000, 17643390, 25000, 27726],
    [519888, 128422, 2508, 380000, 27322062, 20000, 0],
    [400000, -64736, -1264, 415148, 24298573, 30000, 54678],
    [400000, -64736, -1264, 550000, 18725792, 20000, 2118],
    [450000, 16025, 313, 350000, 27688513, 35000, 82414],
    [500000, 96494, 1885, 450000, 23999064, 40000, 102400],
    [560000, 192674, 3763, 500000, 22445923, 35000, 85886],
    [600000, 256562, 5011, 415148, 26759084, 30000, 57100],
    [380000, -97122, -1897, 600000, 16510013, 25000, 28565],
    [380000, -97122, -1897, 300000, 28796915, 35000, 79931],
  ];
  test.each(TABLE)("adc_T %i -> t_fine %i, T %i; adc_P %i -> %i; adc_H %i -> %i", (aT, tf, t, aP, q, aH, h) => {
    expect(tFine(EX, aT)).toBe(tf);
    expect(tempCenti(tf)).toBe(t);
    expect(pressQ24_8(EX, tf, aP)).toBe(q);
    const v = humRaw(EX, tf, aH);
    expect((v < 0 ? 0 : v > 419430400 ? 419430400 : v) >> 12).toBe(h);
  });

  test("64-bit pressure port equals an exact BigInt BME280_compensate_P_int64 over random inputs", () => {
    const r = seeded(280);
    const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    const sh = (x: bigint, k: number) => x >> BigInt(k); // BigInt >> is floor, as C's on these values
    for (let i = 0; i < 5000; i++) {
      const c = calOf({ ...BOSCH_EXAMPLE_CALIB, P1: pick(20000, 65535), P2: pick(-20000, -5000), P3: pick(0, 6000),
        P4: pick(-5000, 12000), P5: pick(-500, 500), P6: pick(-60, 60), P7: pick(5000, 20000),
        P8: pick(-20000, -5000), P9: pick(0, 12000) });
      const tf = pick(-204800, 435200); // t_fine for -40..85 °C
      const adc = pick(0, 0xfffff);
      const P = (k: number) => BigInt(c[k]!);
      let v1 = BigInt(tf) - 128000n;
      let v2 = v1 * v1 * P(8);
      v2 = v2 + ((v1 * P(7)) << 17n);
      v2 = v2 + (P(6) << 35n);
      v1 = sh(v1 * v1 * P(5), 8) + ((v1 * P(4)) << 12n);
      v1 = sh(((1n << 47n) + v1) * P(3), 33);
      let p = 1048576n - BigInt(adc);
      p = (((p << 31n) - v2) * 3125n) / v1; // BigInt / truncates, as C's
      const w1 = sh(P(11) * sh(p, 13) * sh(p, 13), 25);
      const w2 = sh(P(10) * p, 19);
      p = sh(p + w1 + w2, 8) + (P(9) << 4n);
      const ours = pressQ24_8(c, tf, adc);
      if (BigInt(ours) != p) throw new Error(`P1..9 ${Array.from(c.subarray(3, 12))} t_fine ${tf} adc ${adc}: ${ours} != ${p}`);
    }
  });

  test("the two-part helpers are exact where plain doubles are not (products beyond 2^53)", () => {
    const r = seeded(53);
    let naiveWrong = 0;
    for (let i = 0; i < 20000; i++) {
      // mulShr33: ((1 << 47) + var1) * dig_P1 >> 33, with a up to 2^48
      const a = Math.floor(r() * 2 ** 48) - (i % 2 ? 2 ** 40 : 0);
      const m = Math.floor(r() * 65536);
      const want = BigInt(a) * BigInt(m) >> 33n;
      expect(BigInt(mulShr33(a, m))).toBe(want);
      // mulDiv: (n * 3125) / d truncating, |n| < 2^53; d chosen to divide n * 3125 exactly half the time
      const d = 1 + Math.floor(r() * 2 ** 31);
      let n = Math.floor(r() * 2 ** 52) * (i % 3 ? 1 : -1);
      if (i % 2) n = n - (n % d);
      const q = (BigInt(n) * 3125n) / BigInt(d);
      expect(BigInt(mulDiv(n, d))).toBe(q);
      if (BigInt(Math.trunc((n * 3125) / d)) != q) naiveWrong++;
    }
    expect(naiveWrong).toBeGreaterThan(0); // why the helpers exist
  });

  test("range (Table 1): -40..85 °C, 300..1100 hPa, 0..100 %RH before the clamp; skip markers are not readings", () => {
    const r: Reading = { tempC: 0 };
    const d = new Uint8Array(8);
    const put = (aP: number, aT: number, aH: number) => {
      d.set([aP >> 12, (aP >> 4) & 0xff, (aP << 4) & 0xf0, aT >> 12, (aT >> 4) & 0xff, (aT << 4) & 0xf0, aH >> 8,
        aH & 0xff]);
      return compensate(EX, d, r);
    };
    expect(put(415148, 519888, 30000)).toBe(Err.Ok);
    expect(r).toEqual({ tempC: 25.08, pressurePa: 25767233 / 256, rhPct: 56317 / 1024 });
    expect(put(415148, 0x80000, 30000)).toBe(Err.Range); // measurement skipped / reset value
    expect(put(0x80000, 519888, 30000)).toBe(Err.Range);
    expect(put(415148, 519888, 0x8000)).toBe(Err.Range);
    expect(put(415148, 800000, 30000)).toBe(Err.Range); // > 85 °C
    expect(put(415148, 300000, 30000)).toBe(Err.Range); // < -40 °C
    expect(put(900000, 519888, 30000)).toBe(Err.Range); // < 300 hPa
    expect(put(150000, 519888, 30000)).toBe(Err.Range); // > 1100 hPa
    expect(put(415148, 519888, 20000)).toBe(Err.Range); // Bosch would clamp to 0 %RH
    expect(put(415148, 519888, 40000)).toBe(Err.Range); // Bosch would clamp to 100 %RH
  });

  test("measurement time (section 9.1): typical and maximum", () => {
    expect(typMeasureMs(1, 1, 1)).toBe(8);
    expect(measureMs(1, 1, 1, false)).toBe(8);
    expect(measureMs(1, 1, 1, true)).toBeCloseTo(9.3, 9);
    expect(measureMs(16, 16, 16, true)).toBeCloseTo(112.8, 9);
    expect(typMeasureMs(1, 0, 0)).toBe(3);
  });
});

interface Rig { clock: VirtualClock; bus: SimI2c; chip: Bme280Chip; scenario: Scenario; s: Bme280 }

function rig(o: Partial<Bme280Options> = {}, so: ScenarioOptions = { seed: 6 }): Rig {
  const clock = new VirtualClock();
  const bus = new SimI2c();
  const scenario = new Scenario(so);
  const chip = new Bme280Chip({ clock, scenario, address: o.address ?? 0x76 });
  bus.attach(chip);
  return { clock, bus, chip, scenario, s: connect(bus, { clock, ...o }) };
}

interface Result { err: Err; r: Reading | null; ms: number; calls: number }

/** One read, advancing virtual time 1 ms at a time until the callback (at most `limit` ms). */
function readOnce(g: Rig, limit = 1000): Result {
  const out: Result = { err: Err.Ok, r: null, ms: -1, calls: 0 };
  const t0 = g.clock.now();
  g.s.read((err, r) => { out.err = err; out.r = r; out.calls++; out.ms = g.clock.now() - t0; });
  expect(out.calls).toBe(0); // never from inside read()
  g.clock.advance(0);
  for (let i = 0; i < limit && out.calls == 0; i++) g.clock.advance(1);
  expect(out.calls).toBe(1);
  return out;
}

function expectTruth(g: Rig, res: Result, dT: number, dP: number, dH: number): void {
  expect(res.err).toBe(Err.Ok);
  const r = res.r!;
  expect(Math.abs(r.tempC - g.chip.truth.tempC)).toBeLessThanOrEqual(dT);
  expect(Math.abs(r.pressurePa! - g.chip.truth.pressurePa)).toBeLessThanOrEqual(dP);
  expect(Math.abs(r.rhPct! - g.chip.truth.rhPct)).toBeLessThanOrEqual(dH);
}

describe("BME280 driver against the simulated chip", () => {
  test("connect does no I/O; the first read checks the id, reads calibration, triggers, polls, reads data", () => {
    const g = rig();
    expect(g.bus.transfers).toBe(0);
    const res = readOnce(g);
    // id (2) + calibration (4) + ctrl_hum/ctrl_meas (1) + one status poll (2) + data burst (2)
    expect(g.bus.transfers).toBe(11);
    expect(res.ms).toBe(10); // ceil(t_measure,max) for x1/x1/x1 = ceil(9.3)
    // 16-bit temperature and pressure at x1 (0.005 °C, 2.62 Pa per LSB, section 3.4) plus integer rounding
    expectTruth(g, res, 0.011, 2, 0.02);
    expect(g.chip.regs[0xf2]).toBe(0x01);
    expect(g.chip.regs[0xf4]).toBe(0x24); // osrs_t 001, osrs_p 001, mode back to sleep after the conversion
  });

  test("readings follow the scenario over a day within the sensor's resolution", () => {
    const g = rig({}, { seed: 11, meanC: 10, swingC: 12, meanRh: 55, swingRh: 30, meanPa: 95000 });
    for (let h = 0; h < 48; h++) {
      const res = readOnce(g);
      expectTruth(g, res, 0.011, 2, 0.02);
      g.clock.advance(1800000);
    }
  });

  test("oversampling options set ctrl_hum/ctrl_meas (5.4.3, 5.4.5) and the wait (9.1); finer with x16", () => {
    const g = rig({ osrsT: 2, osrsP: 16, osrsH: 4 });
    const seen: number[] = [];
    g.s.read(() => {});
    seen.push(g.chip.regs[0xf2]!, g.chip.regs[0xf4]!);
    expect(seen).toEqual([0x03, (2 << 5) | (5 << 2) | 1]);
    g.clock.advance(1000);
    const g16 = rig({ osrsT: 16, osrsP: 16, osrsH: 16 });
    const res = readOnce(g16);
    expect(res.ms).toBe(113); // ceil(112.8)
    expect(g16.chip.regs[0xf4]! & 0xfc).toBe(0xb4);
    expect(g16.chip.regs[0xf2]).toBe(0x05);
    // 20-bit: 0.0003 °C and 0.16 Pa per LSB; what is left is the integer code's own rounding
    expectTruth(g16, res, 0.01, 0.6, 0.02);
    const g1 = rig({ osrsT: 1, osrsP: 1, osrsH: 1 });
    expect(readOnce(g1).ms).toBe(10);
  });

  test("address 0x77 and bad options (-> Err.Argument, no bus I/O)", () => {
    const g = rig({ address: 0x77 });
    expect(readOnce(g).err).toBe(Err.Ok);
    for (const o of [{ osrsT: 3 }, { osrsH: 0 }, { osrsP: 32 }, { address: 0x50 as 0x76 }, { timeoutMs: 5 }]) {
      const b = rig(o);
      const res = readOnce(b);
      expect(res.err).toBe(Err.Argument);
      expect(res.r).toBeNull();
      expect(b.bus.transfers).toBe(0);
    }
  });

  test("a read while one is in progress gets Err.Argument; the first completes", () => {
    const g = rig();
    const errs: Err[] = [];
    g.s.read((e) => errs.push(e));
    g.s.read((e) => errs.push(e + 1000));
    g.clock.advance(50);
    expect(errs.sort()).toEqual([Err.Argument + 1000, Err.Ok].sort());
    expect(readOnce(g).err).toBe(Err.Ok);
  });

  test("close() ends a read in progress with Err.Closed; later reads get Err.Closed", () => {
    const g = rig();
    const errs: Err[] = [];
    g.s.read((e, r) => { errs.push(e); expect(r).toBeNull(); });
    g.s.close();
    expect(errs).toEqual([Err.Closed]);
    expect(g.clock.armed).toBe(0);
    expect(readOnce(g).err).toBe(Err.Closed);
  });

  test("no allocation per read: one Reading object, fixed transfers per read, one timer at a time", () => {
    const g = rig();
    const first = readOnce(g).r;
    const n0 = g.bus.transfers;
    for (let i = 0; i < 50; i++) {
      g.clock.advance(60000);
      const t = g.bus.transfers;
      let armedMax = 0;
      let got: Reading | null = null;
      g.s.read((e, r) => { got = r; });
      for (let k = 0; k < 20 && !got; k++) { armedMax = Math.max(armedMax, g.clock.armed); g.clock.advance(1); }
      expect(got).toBe(first);
      expect(armedMax).toBe(1);
      expect(g.bus.transfers - t).toBe(5); // ctrl (1) + status (2) + data (2)
    }
    expect(g.bus.transfers - n0).toBe(250);
    expect(g.chip.completed).toBe(51);
  });
});

describe("BME280 faults -> the one error enum, and the driver recovers", () => {
  function recovers(g: Rig): void {
    g.chip.clearFaults();
    g.bus.stuck = false;
    g.clock.advance(1000);
    const res = readOnce(g);
    expect(res.err).toBe(Err.Ok);
    expectTruth(g, res, 0.011, 2, 0.02);
  }

  test("no ACK on the first read -> NoDevice (one transfer), and on a later read -> NoDevice", () => {
    const g = rig();
    g.chip.fault.noAck = true;
    const res = readOnce(g);
    expect(res.err).toBe(Err.NoDevice);
    expect(res.r).toBeNull();
    expect(g.bus.transfers).toBe(1);
    recovers(g);
    g.chip.fault.noAck = true;
    expect(readOnce(g).err).toBe(Err.NoDevice);
    recovers(g);
  });

  test("nothing at the address -> NoDevice", () => {
    const g = rig();
    g.bus.detach(g.chip);
    expect(readOnce(g).err).toBe(Err.NoDevice);
    g.bus.attach(g.chip);
    recovers(g);
  });

  test("wrong chip id: a BMP280's 0x58 -> NoDevice; 0xFF or 0x00 -> Bus", () => {
    const g = rig();
    g.chip.fault.wrongId = 0x58;
    expect(readOnce(g).err).toBe(Err.NoDevice);
    g.chip.fault.wrongId = 0xff;
    expect(readOnce(g).err).toBe(Err.Bus);
    g.chip.regs[0xd0] = 0;
    g.chip.fault.wrongId = 0;
    expect(readOnce(g).err).toBe(Err.Bus);
    g.chip.regs[0xd0] = 0x60;
    recovers(g);
  });

  test("stuck bus: on the first transfer -> NoDevice (Espruino cannot tell it from no ACK); mid-read -> Bus", () => {
    const g = rig();
    g.bus.stuck = true;
    expect(readOnce(g).err).toBe(Err.NoDevice);
    recovers(g);
    const out: Err[] = [];
    g.s.read((e) => out.push(e));
    g.bus.stuck = true; // during the conversion
    g.clock.advance(50);
    expect(out).toEqual([Err.Bus]);
    recovers(g);
  });

  test("busy bit that never clears -> Timeout at timeoutMs (default 2 x t_measure,max), bounded polling", () => {
    const g = rig();
    readOnce(g);
    g.chip.fault.stuckBusy = true;
    const t = g.bus.transfers;
    const res = readOnce(g);
    expect(res.err).toBe(Err.Timeout);
    expect(res.ms).toBe(20);
    expect(g.bus.transfers - t).toBeLessThanOrEqual(1 + 2 * 11);
    recovers(g);
    const h = rig({ timeoutMs: 40 });
    h.chip.fault.stuckBusy = true;
    expect(readOnce(h).ms).toBe(40);
    recovers(h);
  });

  test("slow conversion: within the timeout it is waited for, beyond it -> Timeout", () => {
    const g = rig();
    g.chip.fault.slow = 2; // 16 ms, first poll at 10 ms, deadline 20 ms
    const ok = readOnce(g);
    expect(ok.err).toBe(Err.Ok);
    expect(ok.ms).toBe(16);
    g.chip.fault.slow = 3; // 24 ms
    expect(readOnce(g).err).toBe(Err.Timeout);
    recovers(g);
  });

  test("unplugged mid-read -> Bus; unplugged at the next read -> NoDevice; plugged back -> re-init and read", () => {
    const g = rig();
    readOnce(g);
    g.chip.fault.unplugged = 1; // the ctrl write is acknowledged, the status poll is not
    expect(readOnce(g).err).toBe(Err.Bus);
    expect(readOnce(g).err).toBe(Err.NoDevice);
    const t = g.bus.transfers;
    recovers(g);
    expect(g.bus.transfers - t).toBe(11); // chip id and calibration read again
    g.chip.fault.unplugged = 3; // during the calibration read of the re-init
    expect(readOnce(g).err).toBe(Err.Bus);
    g.chip.fault.unplugged = 3;
    expect(readOnce(g).err).toBe(Err.Bus);
    recovers(g);
    g.chip.fault.unplugged = 4; // the data burst is not acknowledged
    expect(readOnce(g).err).toBe(Err.Bus);
    recovers(g);
  });

  test("out of range (a scenario the chip cannot measure) -> Range, never a number; then recovers", () => {
    const so: ScenarioOptions = { seed: 3, meanC: 100, swingC: 0 };
    const g = rig({}, so);
    const res = readOnce(g);
    expect(res.err).toBe(Err.Range);
    expect(res.r).toBeNull();
    so.meanC = 20;
    so.meanPa = 120000; // 1200 hPa
    expect(readOnce(g).err).toBe(Err.Range);
    so.meanPa = 101325;
    recovers(g);
  });

  test("soft reset (0xE0 <- 0xB6) restores the reset values; the next read works", () => {
    const g = rig();
    readOnce(g);
    g.bus.writeTo(0x76, [0xe0, 0xb6]);
    expect(Array.from(g.chip.regs.subarray(0xf7, 0xff))).toEqual([0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
    expect(g.chip.regs[0xf4]).toBe(0);
    recovers(g);
  });
});
