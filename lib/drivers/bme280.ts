/**
 * BME280 (Bosch Sensortec, I2C): temperature, pressure and humidity in forced mode. Datasheet BST-BME280-DS002.
 *
 *   const s = connect(I2C1, { clock, address: 0x76, osrsT: 2, osrsP: 16, osrsH: 1 });
 *   s.read((err, r) => { if (!err) print(r.tempC, r.rhPct, r.pressurePa); });
 *
 * - `connect` does no I/O (STYLE rule 3). The first `read` checks the chip id (0xD0 == 0x60, section 5.4.1) and
 *   reads the calibration (0x88..0xA1 and 0xE1..0xE7, section 4.2.2 Table 16); a read after a bus failure
 *   (Bus, NoDevice, Timeout) does so again, in case the chip was unplugged or replaced.
 * - Each read writes ctrl_hum (0xF2) then ctrl_meas (0xF4, mode = forced) in one transfer of register/data pairs
 *   (section 6.2.1; ctrl_hum only takes effect on the ctrl_meas write, section 5.4.3), waits the maximum
 *   measurement time (section 9.1/Appendix B, t_measure,max), then polls status (0xF3) bit 3 `measuring` until
 *   clear, at most `timeoutMs` after the trigger (default twice t_measure,max) -> Err.Timeout; then it burst
 *   reads 0xF7..0xFE (section 4, data shadowed while read in one burst) and compensates.
 * - Compensation: Bosch's integer code from section 4.2.3: BME280_compensate_T_int32, BME280_compensate_P_int64
 *   and bme280_compensate_H_int32. The 64-bit pressure formula is ported exactly (not the 32-bit variant of
 *   section 8.2, which is coarser: on Bosch's worked example it gives 100656 Pa where the 64-bit code and the
 *   floating-point formula give 100653.25/100653.26 Pa). Espruino has no 64-bit integers and no BigInt; its
 *   numbers are doubles, exact up to 2^53. Every 64-bit intermediate stays below 2^53 for readings in the chip's
 *   temperature range (checked first) except two: (2^47 + var1) * dig_P1 and (p << 31 - var2) * 3125, which
 *   mulShr33() and mulDiv() compute in two parts. C's `>>` on signed values is floor division here.
 * - Out of the chip's range (-40..85 °C, 300..1100 hPa, 0..100 %RH, section 1 Table 1) -> Err.Range. Humidity is
 *   checked before Bosch's clamp to 0..100 %RH: a value the clamp would change was not measured.
 * - Errors: an exception on the first transfer of a read -> Err.NoDevice (no ACK; a stuck bus looks the same to
 *   Espruino on that transfer, lib/hal/i2c.ts); on a later transfer -> Err.Bus. A chip id of 0x00/0xFF (lines
 *   held low/floating) -> Err.Bus, any other id but 0x60 (e.g. a BMP280's 0x58) -> Err.NoDevice. Skipped-
 *   measurement markers (0x80000/0x8000) in the data -> Err.Range. Bad options -> Err.Argument on every read.
 * - One read at a time: a read while one is in progress gets Err.Argument (not queued). `close()` ends a read in
 *   progress with Err.Closed; later reads get Err.Closed. Every callback comes from the clock, never from inside
 *   `read()`, except the Err.Closed that `close()` delivers at once.
 * - Allocation: the calibration, write buffer and the Reading are allocated once per driver. **The Reading passed
 *   to the callback is the same object on every read**: copy its fields to keep them past the next read. Per
 *   read the bus's own readFrom() returns fresh arrays (Espruino's I2C does), nothing else is allocated.
 */
import { Err } from "../errors";
import { I2cBus } from "../hal/i2c";
import { Clock } from "../hal/net";
import { ReadCallback, Reading, Sensor } from "./types";

export interface Bme280Options {
  clock: Clock;
  /** 0x76 (SDO to GND, default) or 0x77 (SDO to VDDIO). Section 6.2. */
  address?: 0x76 | 0x77;
  /** Oversampling of temperature, pressure, humidity: 1, 2, 4, 8 or 16 (default 1). Section 3.4. */
  osrsT?: number;
  osrsP?: number;
  osrsH?: number;
  /** Longest wait from the trigger to the data, ms; default twice t_measure,max; at least t_measure,max. */
  timeoutMs?: number;
}

/** Registers (section 5.3, Table 18: memory map). */
const enum Reg {
  Calib00 = 0x88,
  ChipId = 0xd0,
  Calib26 = 0xe1,
  CtrlHum = 0xf2,
  Status = 0xf3,
  CtrlMeas = 0xf4,
  Data = 0xf7,
}

/** Indexes of the calibration words in `cal_` (section 4.2.2, Table 16). */
const enum C {
  T1, T2, T3, P1, P2, P3, P4, P5, P6, P7, P8, P9, H1, H2, H3, H4, H5, H6,
}

const CHIP_ID = 0x60;
/** status bit 3 `measuring` (section 5.4.4). */
const MEASURING = 0x08;
/** ctrl_meas mode[1:0] = 01: forced mode (section 3.3.3, 5.4.5). */
const FORCED = 0x01;

const enum Phase { Idle, Wait, Fail }

/** osrs_x register code for an oversampling ratio (section 5.4.3, 5.4.5: 001 x1 ... 101 x16); 0 if invalid. */
export function osrsCode(n: number): number {
  return n == 1 ? 1 : n == 2 ? 2 : n == 4 ? 3 : n == 8 ? 4 : n == 16 ? 5 : 0;
}

/**
 * Measurement time, ms (section 9.1 / Appendix B): t_measure,typ = 1 + 2 T + (2 P + 0.5) + (2 H + 0.5) and
 * t_measure,max = 1.25 + 2.3 T + (2.3 P + 0.575) + (2.3 H + 0.575), with T, P, H the oversampling ratios.
 */
export function measureMs(t: number, p: number, h: number, max: boolean): number {
  return max ? 1.25 + 2.3 * t + (2.3 * p + 0.575) + (2.3 * h + 0.575) : 1 + 2 * t + (2 * p + 0.5) + (2 * h + 0.5);
}

function u16(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

function s16(b: Uint8Array, i: number): number {
  return (u16(b, i) << 16) >> 16;
}

function s8(v: number): number {
  return (v << 24) >> 24;
}

/** Calibration block 0x88..0xA1 (26 bytes) into `c` (Table 16). */
export function parseCalibTP(c: Int32Array, b: Uint8Array): void {
  c[C.T1] = u16(b, 0);
  c[C.T2] = s16(b, 2);
  c[C.T3] = s16(b, 4);
  c[C.P1] = u16(b, 6);
  for (let i = 0; i < 8; i++) c[C.P2 + i] = s16(b, 8 + 2 * i);
  c[C.H1] = b[25]!;
}

/** Calibration block 0xE1..0xE7 (7 bytes) into `c` (Table 16: dig_H4 and dig_H5 are signed 12-bit, split). */
export function parseCalibH(c: Int32Array, b: Uint8Array): void {
  c[C.H2] = s16(b, 0);
  c[C.H3] = b[2]!;
  c[C.H4] = (s8(b[3]!) << 4) | (b[4]! & 0x0f);
  c[C.H5] = (s8(b[5]!) << 4) | (b[4]! >> 4);
  c[C.H6] = s8(b[6]!);
}

/** t_fine from BME280_compensate_T_int32 (section 4.2.3); 32-bit arithmetic as in C. */
export function tFine(c: Int32Array, adcT: number): number {
  const t1 = c[C.T1]!;
  const v1 = (((adcT >> 3) - (t1 << 1)) * c[C.T2]!) >> 11;
  const d = (adcT >> 4) - t1;
  const v2 = (((d * d) >> 12) * c[C.T3]!) >> 14;
  return v1 + v2;
}

/** Temperature in 0.01 °C from t_fine (BME280_compensate_T_int32: T = (t_fine * 5 + 128) >> 8). */
export function tempCenti(tf: number): number {
  return (tf * 5 + 128) >> 8;
}

/** floor(a * m / 2^33) exactly, for |a| < 2^48 and 0 <= m < 2^16 (a * m itself would pass 2^53). */
export function mulShr33(a: number, m: number): number {
  const h = Math.floor(a / 16777216);
  const l = a - h * 16777216;
  const hm = h * m;
  const q = Math.floor(hm / 512);
  return q + Math.floor(((hm - q * 512) * 16777216 + l * m) / 8589934592);
}

/** C's (n * 3125) / d (int64, truncating) exactly, for |n| < 2^53 and 0 < d < 2^32. */
export function mulDiv(n: number, d: number): number {
  const a = n < 0 ? -n : n;
  let q = Math.floor(a / d);
  let r = a - q * d;
  if (r < 0) { q--; r += d; } else if (r >= d) { q++; r -= d; }
  const v = q * 3125 + Math.floor((r * 3125) / d);
  return n < 0 ? -v : v;
}

/**
 * BME280_compensate_P_int64 (section 4.2.3): pressure in Pa as Q24.8 (divide by 256). Exact for t_fine within
 * the chip's temperature range (|var1| < 2^19 keeps var1 * var1 * dig_P6 below 2^53).
 */
export function pressQ24_8(c: Int32Array, tf: number, adcP: number): number {
  let v1 = tf - 128000;
  let v2 = v1 * v1 * c[C.P6]!;
  v2 = v2 + v1 * c[C.P5]! * 131072; // << 17
  v2 = v2 + c[C.P4]! * 34359738368; // << 35
  v1 = Math.floor((v1 * v1 * c[C.P3]!) / 256) + v1 * c[C.P2]! * 4096;
  v1 = mulShr33(140737488355328 + v1, c[C.P1]!); // ((1 << 47) + var1) * dig_P1 >> 33
  if (v1 == 0) return 0; // the datasheet's guard against division by zero
  let p = 1048576 - adcP;
  p = mulDiv(p * 2147483648 - v2, v1); // (((p << 31) - var2) * 3125) / var1
  const p13 = Math.floor(p / 8192);
  v1 = Math.floor((c[C.P9]! * p13 * p13) / 33554432); // >> 25
  v2 = Math.floor((c[C.P8]! * p) / 524288); // >> 19
  return Math.floor((p + v1 + v2) / 256) + c[C.P7]! * 16;
}

/**
 * bme280_compensate_H_int32 (section 4.2.3) up to, not including, its clamp to [0, 419430400]: the caller
 * rejects values outside it; `v >> 12` is then %RH in Q22.10 (divide by 1024). 32-bit arithmetic as in C.
 */
export function humRaw(c: Int32Array, tf: number, adcH: number): number {
  let v = tf - 76800;
  const a = ((adcH << 14) - (c[C.H4]! << 20) - c[C.H5]! * v + 16384) >> 15;
  const b = ((((((v * c[C.H6]!) >> 10) * (((v * c[C.H3]!) >> 11) + 32768)) >> 10) + 2097152) * c[C.H2]! + 8192) >> 14;
  v = a * b;
  const s = v >> 15;
  return v - ((((s * s) >> 7) * c[C.H1]!) >> 4);
}

/**
 * Compensates one burst of 0xF7..0xFE (press_msb..hum_lsb, section 5.4.7-5.4.9) into `r`; Err.Ok or Err.Range.
 */
export function compensate(c: Int32Array, d: Uint8Array, r: Reading): Err {
  const adcP = (d[0]! << 12) | (d[1]! << 4) | (d[2]! >> 4);
  const adcT = (d[3]! << 12) | (d[4]! << 4) | (d[5]! >> 4);
  const adcH = (d[6]! << 8) | d[7]!;
  // 0x80000 / 0x8000: measurement skipped, or the data registers still hold their reset values (Table 18)
  if (adcT == 0x80000 || adcP == 0x80000 || adcH == 0x8000) return Err.Range;
  const tf = tFine(c, adcT);
  const t = tempCenti(tf);
  if (t < -4000 || t > 8500) return Err.Range;
  const p = pressQ24_8(c, tf, adcP);
  if (p < 30000 * 256 || p > 110000 * 256) return Err.Range;
  const h = humRaw(c, tf, adcH);
  if (h < 0 || h > 419430400) return Err.Range;
  r.tempC = t / 100;
  r.pressurePa = p / 256;
  r.rhPct = (h >> 12) / 1024;
  return Err.Ok;
}

export class Bme280 implements Sensor {
  private readonly bus_: I2cBus;
  private readonly ck_: Clock;
  private readonly addr_: number;
  /** Register/data pairs for ctrl_hum then ctrl_meas (one write transfer). */
  private readonly w_ = new Uint8Array(4);
  private readonly cal_ = new Int32Array(18);
  /** The one Reading this driver hands out (see the file comment). */
  private readonly r_: Reading = { tempC: 0, rhPct: 0, pressurePa: 0 };
  /** Err.Argument if the options were bad, else Err.Ok. */
  private readonly bad_: Err;
  private readonly firstMs_: number;
  private readonly pollMs_: number;
  private readonly timeoutMs_: number;
  private ready_ = false;
  private closed_ = false;
  private phase_ = Phase.Idle;
  private err_ = Err.Ok;
  private t0_ = 0;
  private cb_: ReadCallback | null = null;
  private tm_: unknown = null;
  /** Bound once: the timer callback (no closure per read, STYLE rule 12). */
  private readonly tick_: () => void;

  constructor(bus: I2cBus, o: Bme280Options) {
    this.bus_ = bus;
    this.ck_ = o.clock;
    this.addr_ = o.address ?? 0x76;
    const t = o.osrsT ?? 1;
    const p = o.osrsP ?? 1;
    const h = o.osrsH ?? 1;
    const max = Math.ceil(measureMs(t, p, h, true));
    this.firstMs_ = max;
    this.pollMs_ = Math.max(1, Math.ceil(max / 10));
    this.timeoutMs_ = o.timeoutMs ?? 2 * max;
    const ok = osrsCode(t) && osrsCode(p) && osrsCode(h) && (this.addr_ == 0x76 || this.addr_ == 0x77) &&
      this.timeoutMs_ >= max;
    this.bad_ = ok ? Err.Ok : Err.Argument;
    this.w_[0] = Reg.CtrlHum;
    this.w_[1] = osrsCode(h);
    this.w_[2] = Reg.CtrlMeas;
    this.w_[3] = (osrsCode(t) << 5) | (osrsCode(p) << 2) | FORCED;
    this.tick_ = () => this.step_();
  }

  read(cb: ReadCallback): void {
    const e = this.closed_ ? Err.Closed : this.cb_ ? Err.Argument : this.bad_;
    if (e) {
      // misuse only: a closure here is not on the hot path, and keeps the callback off read()'s stack
      this.ck_.after(0, function () { cb(e, null); });
      return;
    }
    this.cb_ = cb;
    const s = this.start_();
    if (s) {
      this.err_ = s;
      this.phase_ = Phase.Fail;
      this.tm_ = this.ck_.after(0, this.tick_);
      return;
    }
    this.t0_ = this.ck_.now();
    this.phase_ = Phase.Wait;
    this.tm_ = this.ck_.after(this.firstMs_, this.tick_);
  }

  close(): void {
    this.closed_ = true;
    if (this.cb_) this.finish_(Err.Closed);
  }

  /** Init if needed, then trigger a forced-mode conversion. */
  private start_(): Err {
    let first = true;
    if (!this.ready_) {
      const e = this.init_();
      if (e) return e;
      this.ready_ = true;
      first = false;
    }
    try { this.bus_.writeTo(this.addr_, this.w_); } catch (x) { return first ? Err.NoDevice : Err.Bus; }
    return Err.Ok;
  }

  /** Chip id (section 5.4.1), then both calibration blocks (section 4.2.2). */
  private init_(): Err {
    const bus = this.bus_;
    const a = this.addr_;
    try { bus.writeTo(a, Reg.ChipId); } catch (x) { return Err.NoDevice; }
    try {
      const id = bus.readFrom(a, 1)[0];
      if (id != CHIP_ID) return id == 0 || id == 0xff ? Err.Bus : Err.NoDevice;
      bus.writeTo(a, Reg.Calib00);
      parseCalibTP(this.cal_, bus.readFrom(a, 26));
      bus.writeTo(a, Reg.Calib26);
      parseCalibH(this.cal_, bus.readFrom(a, 7));
    } catch (x) {
      return Err.Bus;
    }
    return Err.Ok;
  }

  private step_(): void {
    this.tm_ = null;
    if (this.phase_ == Phase.Fail) { this.finish_(this.err_); return; }
    const bus = this.bus_;
    const a = this.addr_;
    let e: Err;
    try {
      bus.writeTo(a, Reg.Status);
      if (bus.readFrom(a, 1)[0]! & MEASURING) { this.again_(); return; }
      bus.writeTo(a, Reg.Data);
      e = compensate(this.cal_, bus.readFrom(a, 8), this.r_);
    } catch (x) {
      e = Err.Bus;
    }
    this.finish_(e);
  }

  /** Still measuring: poll again, or give up at the deadline (timeoutMs after the trigger). */
  private again_(): void {
    const left = this.t0_ + this.timeoutMs_ - this.ck_.now();
    if (left <= 0) { this.finish_(Err.Timeout); return; }
    this.tm_ = this.ck_.after(left < this.pollMs_ ? left : this.pollMs_, this.tick_);
  }

  private finish_(e: Err): void {
    const cb = this.cb_;
    if (this.tm_ !== null) { this.ck_.cancel(this.tm_); this.tm_ = null; }
    this.cb_ = null;
    this.phase_ = Phase.Idle;
    if (e == Err.Bus || e == Err.NoDevice || e == Err.Timeout) this.ready_ = false;
    if (cb) cb(e, e ? null : this.r_);
  }
}

/** Espruino-style entry point: no I/O here (STYLE rule 3). */
export function connect(bus: I2cBus, o: Bme280Options): Bme280 {
  return new Bme280(bus, o);
}
