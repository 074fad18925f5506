/**
 * Aosong (ASAIR) AHT20 humidity and temperature sensor on I2C (datasheet "AHT20 Product manuals", section 5:
 * 5.3 commands, 5.4 sensor reading process, 6 signal transformation).
 *
 * `connect(bus, { clock, address })` does no I/O (STYLE rule 3). The first `read` initialises (5.4 step 1): it
 * waits until 40 ms after connect() (the chip's power-on time, measured from the earliest moment the driver
 * knows of), reads the status byte (a 1-byte read: the "0x71" of the datasheet is the read header of address
 * 0x38) and, if the calibration bit (bit 3) is clear, sends 0xBE 0x08 0x00 and waits 10 ms. Each read then
 * triggers (0xAC 0x33 0x00, step 2), waits 80 ms (step 3) and reads the 7 bytes status, 5 data bytes, CRC
 * (step 4); while the busy bit (bit 7) is set it reads again every POLL_MS, at most POLLS reads in all (160 ms),
 * then ends with Err.Timeout. The CRC-8 (polynomial 0x31, initial value 0xFF) covers status and data →
 * Err.Checksum. Conversion by section 6; results outside the operating range (−40..85 °C, 0..100 %RH) →
 * Err.Range. The initialisation is repeated on the read after a NoDevice, Bus or Timeout error (the chip may have
 * been power-cycled) and after a reading whose status shows the calibration bit clear.
 *
 * Errors: a transfer that throws is Err.NoDevice when it is the first of the read, Err.Bus otherwise
 * (lib/hal/i2c.ts). A read refused at once (Err.Closed after close(), Err.Argument for an invalid address or while
 * another read of this driver runs: one at a time, a trigger restarts the chip's measurement) calls back before
 * `read` returns; every other outcome arrives later from the clock. `close()` ends a running read with Err.Closed.
 *
 * Memory: one 3-byte command buffer and one Reading per instance; the Reading passed to the callback is that same
 * object, overwritten by the next read (copy the fields to keep them). The only allocation per read is the
 * Uint8Array each `readFrom` returns: Espruino's I2C API has no read-into-buffer call.
 */
import { Err } from "../errors";
import { I2cBus } from "../hal/i2c";
import { tryRead, tryWrite } from "./i2c-try";
import { Clock } from "../hal/net";
import { crc8 } from "./crc8";
import { DriverOptions, ReadCallback, Reading, Sensor } from "./types";

export interface Aht20Options extends DriverOptions {
  /** 0x38, the only address of the AHT20 (section 5.3). */
  address?: number;
}

const enum Step { Init, Trigger, Poll }

const enum Tm {
  /** Section 5.4 step 1: after power-on. */
  POWER_MS = 40,
  /** Step 1: after the initialisation command 0xBE. */
  CAL_MS = 10,
  /** Step 3: before the first status read. */
  MEAS_MS = 80,
  /** Between status reads while the busy bit is set. */
  POLL_MS = 10,
  /** Reads of the result at most, the first at MEAS_MS: 80 + 8 · 10 = 160 ms in all before Err.Timeout. */
  POLLS = 9,
}

const BUSY = 0x80;
const CAL = 0x08;

/** Section 6: RH [%] = S_RH / 2^20 · 100. */
export function aht20RhPct(raw: number): number {
  return raw / 1048576 * 100;
}

/** Section 6: T [°C] = S_T / 2^20 · 200 − 50. */
export function aht20TempC(raw: number): number {
  return raw / 1048576 * 200 - 50;
}

export class Aht20 implements Sensor {
  private readonly cmd_ = new Uint8Array(3);
  private readonly r_: Reading = { tempC: 0, rhPct: 0 };
  private readonly ck_: Clock;
  private readonly a_: number;
  /** Time of connect(): the power-on wait counts from here. */
  private readonly t0_: number;
  private init_ = false;
  private step_ = Step.Init;
  private cb_: ReadCallback | null = null;
  private tm_: unknown = null;
  /** Transfers made by the running read (the first failing one is NoDevice). */
  private n_ = 0;
  private left_ = 0;
  private closed_ = false;
  private readonly run_ = (): void => this.run();

  constructor(private readonly bus_: I2cBus, o: Aht20Options) {
    this.ck_ = o.clock;
    this.a_ = o.address ?? 0x38;
    this.t0_ = this.ck_.now();
  }

  /** One measurement: `{ tempC, rhPct }`. */
  read(cb: ReadCallback): void {
    const e = this.closed_ ? Err.Closed : this.a_ != 0x38 || this.cb_ ? Err.Argument : Err.Ok;
    if (e) { cb(e, null); return; }
    this.cb_ = cb;
    this.n_ = 0;
    this.step_ = this.init_ ? Step.Trigger : Step.Init;
    const w = this.init_ ? 0 : this.t0_ + Tm.POWER_MS - this.ck_.now();
    this.tm_ = this.ck_.after(w > 0 ? w : 0, this.run_);
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    if (this.tm_ != null) this.ck_.cancel(this.tm_);
    if (this.cb_) this.end_(Err.Closed);
  }

  private run(): void {
    this.tm_ = null;
    const s = this.step_;
    if (s == Step.Init) this.initStep_();
    else if (s == Step.Trigger) this.trigger_();
    else this.poll_();
  }

  /** Section 5.4 step 1: status, then 0xBE 0x08 0x00 and 10 ms when the calibration bit is clear. */
  private initStep_(): void {
    const d = this.rx_(1);
    if (!d) { this.fail_(); return; }
    if (d[0]! & CAL) { this.init_ = true; this.trigger_(); return; }
    if (!this.tx_(0xbe, 0x08)) { this.fail_(); return; }
    this.init_ = true;
    this.step_ = Step.Trigger;
    this.tm_ = this.ck_.after(Tm.CAL_MS, this.run_);
  }

  /** Step 2: trigger, then step 3: wait 80 ms. */
  private trigger_(): void {
    if (!this.tx_(0xac, 0x33)) { this.fail_(); return; }
    this.step_ = Step.Poll;
    this.left_ = Tm.POLLS;
    this.tm_ = this.ck_.after(Tm.MEAS_MS, this.run_);
  }

  /** Steps 3 and 4: busy bit, then CRC and conversion. */
  private poll_(): void {
    const d = this.rx_(7);
    if (!d) { this.fail_(); return; }
    if (!(d[0]! & BUSY)) { this.end_(this.decode_(d)); return; }
    if (--this.left_ > 0) this.tm_ = this.ck_.after(Tm.POLL_MS, this.run_);
    else { this.init_ = false; this.end_(Err.Timeout); }
  }

  private decode_(d: Uint8Array): Err {
    if (crc8(d, 0, 6, 0x31, 0xff) != d[6]) return Err.Checksum;
    if (!(d[0]! & CAL)) this.init_ = false;
    // 20-bit values, section 6: RH in bytes 1, 2 and the high nibble of 3; T in the low nibble of 3, bytes 4, 5
    const h = aht20RhPct((d[1]! << 12) | (d[2]! << 4) | (d[3]! >> 4));
    const t = aht20TempC(((d[3]! & 0x0f) << 16) | (d[4]! << 8) | d[5]!);
    if (t < -40 || t > 85 || h < 0 || h > 100) return Err.Range;
    this.r_.tempC = t;
    this.r_.rhPct = h;
    return Err.Ok;
  }

  /** A transfer threw: NoDevice if it was the read's first, Bus otherwise; initialise again next time. */
  private fail_(): void {
    this.init_ = false;
    this.end_(this.n_ > 1 ? Err.Bus : Err.NoDevice);
  }

  /** Sends the 3-byte command `c p 0x00` (section 5.3). */
  private tx_(c: number, p: number): boolean {
    this.n_++;
    this.cmd_[0] = c;
    this.cmd_[1] = p;
    this.cmd_[2] = 0;
    return tryWrite(this.bus_, this.a_, this.cmd_);
  }

  private rx_(n: number): Uint8Array | null {
    this.n_++;
    return tryRead(this.bus_, this.a_, n);
  }

  private end_(err: Err): void {
    const cb = this.cb_!;
    this.cb_ = null;
    this.tm_ = null;
    cb(err, err ? null : this.r_);
  }
}

/** Espruino-style entry point (STYLE rule 3): no I/O here; the first read initialises the chip. */
export function connect(bus: I2cBus, options: Aht20Options): Aht20 {
  return new Aht20(bus, options);
}
