/**
 * A simulated BME280 (Bosch Sensortec, datasheet BST-BME280-DS002) as a register file on SimI2c: the registers
 * of section 5.3 (Table 18, memory map) with their reset values, a real calibration set in 0x88..0xA1 and
 * 0xE1..0xE7 (section 4.2.2, Table 16), forced-mode conversions that take the datasheet's typical measurement
 * time on the injected clock (section 9.1 / Appendix B) with status bit 3 `measuring` set meanwhile, and data
 * registers 0xF7..0xFE written when a conversion completes.
 *
 * The raw values come from inverting the datasheet's floating-point compensation (section 8.1, an independent
 * formulation from the integer code the driver runs) for the scenario's temperature, pressure and humidity, then
 * rounding to the resolution the oversampling gives: 16 + (osrs - 1) bits for temperature and pressure with the
 * IIR filter off, 20 bits with it on (section 3.4 and the register notes of 5.4.7/5.4.8); humidity is 16 bits.
 *
 * I2C (section 6.2): a write transfer is the register address, then register/data pairs (6.2.1, Figure 9); a read
 * transfer returns bytes from the register pointer, which auto-increments (6.2.2). Normal mode (mode 11) is not
 * simulated beyond one conversion per write.
 *
 * Faults, set on `fault` and cleared by `clearFaults()`:
 * - noAck: no ACK to any transfer (the bus throws, as Espruino's does);
 * - stuckBusy: `measuring` never clears and the data registers keep their old values;
 * - slow: conversions take `slow` times the typical time (1 = datasheet);
 * - unplugged: k >= 0 acknowledges k more transfers, then none (counts down as transfers happen); -1 = off;
 * - wrongId: non-zero: the id register 0xD0 reads this value (e.g. 0x58, a BMP280) instead of 0x60.
 * A stuck bus is SimI2c's own `stuck`.
 * Espruino subset: it also runs inside device bundles on Espruino's Linux build.
 */
import { Clock } from "../../lib/hal/net";
import { I2cDevice } from "../hal/i2c";
import { Scenario } from "./scenario";

export interface Bme280Faults {
  noAck: boolean;
  stuckBusy: boolean;
  slow: number;
  unplugged: number;
  wrongId: number;
}

/** Calibration words (Table 16 names). */
export interface Bme280Calib {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

/**
 * Temperature and pressure words: Bosch's worked example (BMP280 datasheet BST-BMP280-DS001 section 3.12, the
 * same compensation as the BME280's); humidity words: typical of a production BME280.
 */
export const BOSCH_EXAMPLE_CALIB: Bme280Calib = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
  H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30,
};

export interface Bme280ChipOptions {
  clock: Clock;
  scenario: Scenario;
  /** 0x76 (default) or 0x77. */
  address?: number;
  calib?: Bme280Calib;
}

/** The last values a conversion encoded (for tests). */
export interface Bme280Truth {
  tempC: number;
  rhPct: number;
  pressurePa: number;
}

const CHIP_ID = 0x60;
const RESET_WORD = 0xb6;
const MEASURING = 0x08;

/** Oversampling ratio for an osrs_x code (section 5.4.3 / 5.4.5); 0 = skipped. */
function ratio(code: number): number {
  return code == 0 ? 0 : code >= 5 ? 16 : 1 << (code - 1);
}

/** t_measure,typ in ms (section 9.1): 1 + [2 T] + [2 P + 0.5] + [2 H + 0.5], a term only if not skipped. */
export function typMeasureMs(t: number, p: number, h: number): number {
  return 1 + (t ? 2 * t : 0) + (p ? 2 * p + 0.5 : 0) + (h ? 2 * h + 0.5 : 0);
}

// ---- section 8.1: compensation in floating point (double) ----

function tDouble(c: Bme280Calib, adc: number): number {
  const a = adc / 16384 - c.T1 / 1024;
  const b = adc / 131072 - c.T1 / 8192;
  return a * c.T2 + b * b * c.T3; // var1 + var2; T = that / 5120, t_fine = (int) that
}

function pDouble(c: Bme280Calib, tf: number, adc: number): number {
  let v1 = tf / 2 - 64000;
  let v2 = (v1 * v1 * c.P6) / 32768;
  v2 = v2 + v1 * c.P5 * 2;
  v2 = v2 / 4 + c.P4 * 65536;
  v1 = ((c.P3 * v1 * v1) / 524288 + c.P2 * v1) / 524288;
  v1 = (1 + v1 / 32768) * c.P1;
  if (v1 == 0) return 0;
  let p = 1048576 - adc;
  p = ((p - v2 / 4096) * 6250) / v1;
  v1 = (c.P9 * p * p) / 2147483648;
  v2 = (p * c.P8) / 32768;
  return p + (v1 + v2 + c.P7) / 16;
}

function hDouble(c: Bme280Calib, tf: number, adc: number): number {
  let h = tf - 76800;
  h = (adc - (c.H4 * 64 + (c.H5 / 16384) * h)) *
    ((c.H2 / 65536) * (1 + (c.H6 / 67108864) * h * (1 + (c.H3 / 67108864) * h)));
  return h * (1 - (c.H1 * h) / 524288); // unclamped: the caller wants the inverse, not the clamp
}

/**
 * The raw value in [0, 2^bits) whose compensated value is nearest `target`, for `f` monotonic (increasing when
 * `dir` is 1, decreasing when -1): binary search.
 */
function invert(f: (adc: number) => number, target: number, bits: number, dir: number): number {
  let lo = 0;
  let hi = (1 << bits) - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (dir * f(mid) <= dir * target) lo = mid; else hi = mid - 1;
  }
  if (lo + 1 < 1 << bits && Math.abs(f(lo + 1) - target) < Math.abs(f(lo) - target)) return lo + 1;
  return lo;
}

/** Rounds a 20-bit raw value to the resolution of osrs code `code` (16 + (osrs - 1) bits; 20 with the filter). */
function quantize(adc: number, code: number, filter: boolean): number {
  const drop = filter ? 0 : 5 - (code > 5 ? 5 : code);
  const step = 1 << drop;
  const v = Math.round(adc / step) * step;
  return v > 0xfffff ? 0x100000 - step : v;
}

export class Bme280Chip implements I2cDevice {
  readonly address: number;
  /** The register file, indexed by register address (Table 18). */
  readonly regs = new Uint8Array(256);
  readonly fault: Bme280Faults = { noAck: false, stuckBusy: false, slow: 1, unplugged: -1, wrongId: 0 };
  /** What the last completed conversion encoded. */
  readonly truth: Bme280Truth = { tempC: 0, rhPct: 0, pressurePa: 0 };
  /** Conversions started and completed (for tests). */
  started = 0;
  completed = 0;
  private readonly ck_: Clock;
  private readonly sc_: Scenario;
  private ptr_ = 0;
  /** When the running conversion completes (clock ms), or -1 when none runs. */
  private until_ = -1;
  /** osrs codes latched by the ctrl_meas write that started the conversion (section 5.4.3). */
  private ot_ = 0;
  private op_ = 0;
  private oh_ = 0;

  constructor(o: Bme280ChipOptions) {
    this.ck_ = o.clock;
    this.sc_ = o.scenario;
    this.address = o.address ?? 0x76;
    this.writeCalib(o.calib ?? BOSCH_EXAMPLE_CALIB);
    this.reset_();
  }

  /** Puts a calibration set into the NVM image (Table 16; dig_H4/dig_H5 are 12-bit, sharing 0xE5). */
  writeCalib(c: Bme280Calib): void {
    const r = this.regs;
    const w = [c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9];
    for (let i = 0; i < w.length; i++) {
      r[0x88 + 2 * i] = w[i]! & 0xff;
      r[0x89 + 2 * i] = (w[i]! >> 8) & 0xff;
    }
    r[0xa1] = c.H1 & 0xff;
    r[0xe1] = c.H2 & 0xff;
    r[0xe2] = (c.H2 >> 8) & 0xff;
    r[0xe3] = c.H3 & 0xff;
    r[0xe4] = (c.H4 >> 4) & 0xff;
    r[0xe5] = (c.H4 & 0x0f) | ((c.H5 & 0x0f) << 4);
    r[0xe6] = (c.H5 >> 4) & 0xff;
    r[0xe7] = c.H6 & 0xff;
  }

  /** The calibration words as the NVM image holds them. */
  calib(): Bme280Calib {
    const r = this.regs;
    const u = (a: number) => r[a]! | (r[a + 1]! << 8);
    const s = (a: number) => (u(a) << 16) >> 16;
    return {
      T1: u(0x88), T2: s(0x8a), T3: s(0x8c),
      P1: u(0x8e), P2: s(0x90), P3: s(0x92), P4: s(0x94), P5: s(0x96), P6: s(0x98), P7: s(0x9a), P8: s(0x9c),
      P9: s(0x9e),
      H1: r[0xa1]!, H2: s(0xe1), H3: r[0xe3]!,
      H4: ((r[0xe4]! << 24) >> 20) | (r[0xe5]! & 0x0f),
      H5: ((r[0xe6]! << 24) >> 20) | (r[0xe5]! >> 4),
      H6: (r[0xe7]! << 24) >> 24,
    };
  }

  clearFaults(): void {
    const f = this.fault;
    f.noAck = false;
    f.stuckBusy = false;
    f.slow = 1;
    f.unplugged = -1;
    f.wrongId = 0;
  }

  /** True while a conversion runs (status bit 3). */
  get measuring(): boolean {
    this.update_();
    return this.until_ >= 0;
  }

  write(data: Uint8Array): boolean {
    if (!this.ack_()) return false;
    this.update_();
    if (data.length == 0) return true; // an address probe
    this.ptr_ = data[0]!;
    for (let i = 0; i + 1 < data.length; i += 2) this.set_(data[i]!, data[i + 1]!);
    return true;
  }

  read(n: number): Uint8Array | null {
    if (!this.ack_()) return null;
    this.update_();
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.get_(this.ptr_);
      this.ptr_ = (this.ptr_ + 1) & 0xff;
    }
    return out;
  }

  private ack_(): boolean {
    const f = this.fault;
    if (f.noAck) return false;
    if (f.unplugged >= 0) {
      if (f.unplugged == 0) return false;
      f.unplugged--;
    }
    return true;
  }

  private get_(a: number): number {
    if (a == 0xd0 && this.fault.wrongId) return this.fault.wrongId & 0xff;
    if (a == 0xf3) return this.until_ >= 0 ? MEASURING : 0; // im_update (bit 0) not simulated
    return this.regs[a]!;
  }

  /** A register write (section 5.4): reset, ctrl_hum, ctrl_meas, config; the rest are read-only. */
  private set_(a: number, v: number): void {
    if (a == 0xe0) { if (v == RESET_WORD) this.reset_(); return; }
    if (a == 0xf2) { this.regs[a] = v & 0x07; return; }
    if (a == 0xf5) { this.regs[a] = v & 0xfd; return; }
    if (a != 0xf4) return;
    this.regs[a] = v;
    if ((v & 0x03) == 0) return; // sleep
    this.ot_ = (v >> 5) & 7;
    this.op_ = (v >> 2) & 7;
    this.oh_ = this.regs[0xf2]! & 7; // ctrl_hum takes effect now (section 5.4.3)
    const ms = typMeasureMs(ratio(this.ot_), ratio(this.op_), ratio(this.oh_));
    this.until_ = this.ck_.now() + ms * (this.fault.slow > 0 ? this.fault.slow : 1);
    this.started++;
  }

  /** Reset values (Table 18): control registers 0, data registers 0x80 0x00 0x00 / 0x80 0x00. */
  private reset_(): void {
    const r = this.regs;
    r[0xd0] = CHIP_ID;
    r[0xe0] = 0;
    r[0xf2] = 0;
    r[0xf3] = 0;
    r[0xf4] = 0;
    r[0xf5] = 0;
    this.setData_(0x80000, 0x80000, 0x8000);
    this.until_ = -1;
  }

  private setData_(adcP: number, adcT: number, adcH: number): void {
    const r = this.regs;
    r[0xf7] = (adcP >> 12) & 0xff;
    r[0xf8] = (adcP >> 4) & 0xff;
    r[0xf9] = (adcP << 4) & 0xf0;
    r[0xfa] = (adcT >> 12) & 0xff;
    r[0xfb] = (adcT >> 4) & 0xff;
    r[0xfc] = (adcT << 4) & 0xf0;
    r[0xfd] = (adcH >> 8) & 0xff;
    r[0xfe] = adcH & 0xff;
  }

  /** Completes the running conversion once its time has come (unless stuck busy). */
  private update_(): void {
    if (this.until_ < 0 || this.fault.stuckBusy || this.ck_.now() < this.until_) return;
    this.until_ = -1;
    this.completed++;
    this.convert_(this.ck_.now());
    if ((this.regs[0xf4]! & 0x03) != 0x03) this.regs[0xf4] = this.regs[0xf4]! & 0xfc; // forced -> sleep (3.3.3)
  }

  /** Encodes the scenario's values at time `t` (skipped measurements read 0x80000 / 0x8000, section 3.3.1). */
  private convert_(t: number): void {
    const c = this.calib();
    const filter = (this.regs[0xf5]! & 0x1c) != 0;
    const tr = this.truth;
    tr.tempC = this.sc_.tempC(t);
    tr.pressurePa = this.sc_.pressurePa(t);
    tr.rhPct = this.sc_.rhPct(t);
    // t_fine from the raw temperature as the chip reports it (rounded), so pressure and humidity invert with it
    const adcT = quantize(invert(function (a) { return tDouble(c, a); }, tr.tempC * 5120, 20, 1), this.ot_, filter);
    const tf = tDouble(c, adcT) | 0;
    const adcP = invert(function (a) { return pDouble(c, tf, a); }, tr.pressurePa, 20, -1);
    const adcH = invert(function (a) { return hDouble(c, tf, a); }, tr.rhPct, 16, 1);
    this.setData_(this.op_ ? quantize(adcP, this.op_, filter) : 0x80000, this.ot_ ? adcT : 0x80000,
      this.oh_ ? adcH : 0x8000);
  }
}
