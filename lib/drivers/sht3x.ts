/**
 * Sensirion SHT30 / SHT31 / SHT35 humidity and temperature sensor on I2C ("Datasheet SHT3x-DIS").
 *
 * `connect(bus, { clock, address, repeatability })` does no I/O (STYLE rule 3). `read(cb)` makes a single-shot
 * measurement with clock stretching disabled (Table 9: 0x2400 / 0x240B / 0x2416 for high / medium / low
 * repeatability), first tries to read the 6 bytes T, CRC, RH, CRC (section 4.5) after the typical measurement
 * duration of that repeatability (Table 4: 12.5 / 4.5 / 2.5 ms; the maximum is 15.5 / 6.5 / 4.5 ms). While the
 * chip still measures it does not acknowledge the read header (section 4.5, "no clock stretching"), so the
 * datasheet allows polling: the read is repeated every POLL_MS until twice the maximum duration plus SLACK_MS
 * (a slow part is still read), then the read ends with Err.Timeout (no fixed sleep of the worst case). A chip that vanishes after
 * the command looks the same as one still measuring, so it also ends in Err.Timeout.
 *
 * Every 16-bit word carries a CRC-8 (section 4.12, Table 19) → Err.Checksum. Conversion by section 4.13;
 * results outside the specified range (−40..125 °C, 0..100 %RH, section 2) → Err.Range. A transfer that throws
 * is Err.NoDevice when it is the first of the operation, Err.Bus otherwise (lib/hal/i2c.ts).
 *
 * Callbacks: an operation refused at once (Err.Closed after close(), Err.Argument for invalid options or while
 * another operation of this driver runs: one at a time, the chip is single-shot) calls back before `read`
 * returns; every other outcome arrives later from the clock. `close()` ends a running operation with Err.Closed.
 *
 * Memory: one 2-byte command buffer and one Reading per instance; the Reading passed to the callback is that
 * same object, overwritten by the next read (copy the fields to keep them). The only allocation per read is the
 * Uint8Array that `readFrom` returns: Espruino's I2C API has no read-into-buffer call.
 */
import { Err } from "../errors";
import { I2cBus } from "../hal/i2c";
import { tryRead, tryWrite } from "./i2c-try";
import { Clock } from "../hal/net";
import { crc8 } from "./crc8";
import { DriverOptions, ReadCallback, Reading, Sensor } from "./types";

export interface Sht3xOptions extends DriverOptions {
  /** 0x44 (ADDR pin low, the default) or 0x45 (ADDR pin high): the I2C address table of section 3. */
  address?: number;
  /** Default "high". Higher repeatability: less noise, longer measurement (Table 4). */
  repeatability?: "high" | "medium" | "low";
}

/** `status` is the 16-bit status register (section 4.11); null on an error. */
export type StatusCallback = (err: Err, status: number | null) => void;
export type DoneCallback = (err: Err) => void;

const enum Cmd {
  // Table 9, clock stretching disabled
  MeasHigh = 0x2400,
  MeasMedium = 0x240b,
  MeasLow = 0x2416,
  SoftReset = 0x30a2, // section 4.9
  HeaterOn = 0x306d, // section 4.10
  HeaterOff = 0x3066,
  Status = 0xf32d, // section 4.11
}

const enum Op { Idle, Read, Status, Heater, Reset }

const enum T {
  /** Interval between reads while the chip still measures (NACKs the read header). */
  POLL_MS = 2.5,
  /** Extra time allowed beyond twice the maximum measurement duration before Err.Timeout. */
  SLACK_MS = 4,
}
/** Soft reset time t_SR, maximum (Table 4). */
const RESET_MS = 1.5;

/** Section 4.13: T [°C] = −45 + 175 · S_T / (2^16 − 1). */
export function sht3xTempC(raw: number): number {
  return -45 + 175 * raw / 65535;
}

/** Section 4.13: RH [%] = 100 · S_RH / (2^16 − 1). */
export function sht3xRhPct(raw: number): number {
  return 100 * raw / 65535;
}

type Cb = (err: Err, v: Reading | number | null) => void;

/** True when the word at `d[i..i+2)` matches its CRC at `d[i+2]` (section 4.12). */
function wordOk(d: Uint8Array, i: number): boolean {
  return crc8(d, i, i + 2, 0x31, 0xff) == d[i + 2];
}

export class Sht3x implements Sensor {
  private readonly cmd_ = new Uint8Array(2);
  private readonly r_: Reading = { tempC: 0, rhPct: 0 };
  private readonly ck_: Clock;
  private readonly a_: number;
  /** Measurement command, 0 when the options are invalid. */
  private readonly meas_: number = 0;
  private readonly wait_: number = 0;
  private readonly polls_: number = 0;
  private op_ = Op.Idle;
  private cb_: Cb | null = null;
  private tm_: unknown = null;
  private left_ = 0;
  private val_ = 0;
  private closed_ = false;
  private readonly run_ = (): void => this.run();
  private readonly poll_ = (): void => this.poll();
  private readonly ok_ = (): void => this.end_(Err.Ok);

  constructor(private readonly bus_: I2cBus, o: Sht3xOptions) {
    this.ck_ = o.clock;
    this.a_ = o.address ?? 0x44;
    const rep = o.repeatability ?? "high";
    const i = rep == "high" ? 0 : rep == "medium" ? 1 : rep == "low" ? 2 : -1;
    if (i < 0 || (this.a_ != 0x44 && this.a_ != 0x45)) return;
    this.meas_ = i == 0 ? Cmd.MeasHigh : i == 1 ? Cmd.MeasMedium : Cmd.MeasLow;
    // Table 4: typical 12.5 / 4.5 / 2.5 ms, maximum 15.5 / 6.5 / 4.5 ms
    this.wait_ = i == 0 ? 12.5 : i == 1 ? 4.5 : 2.5;
    const max = i == 0 ? 15.5 : i == 1 ? 6.5 : 4.5;
    this.polls_ = 1 + Math.ceil((2 * max + T.SLACK_MS - this.wait_) / T.POLL_MS);
  }

  /** One measurement: `{ tempC, rhPct }`. */
  read(cb: ReadCallback): void {
    this.begin_(Op.Read, cb as Cb, 0);
  }

  /** Reads the status register (command 0xF32D, section 4.11), CRC checked. */
  status(cb: StatusCallback): void {
    this.begin_(Op.Status, cb as Cb, 0);
  }

  /** Switches the heater on or off (0x306D / 0x3066, section 4.10). */
  heater(on: boolean, cb: DoneCallback): void {
    this.begin_(Op.Heater, cb as Cb, on ? Cmd.HeaterOn : Cmd.HeaterOff);
  }

  /** Soft reset (0x30A2, section 4.9); calls back after the maximum reset time t_SR (Table 4). */
  softReset(cb: DoneCallback): void {
    this.begin_(Op.Reset, cb as Cb, Cmd.SoftReset);
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    if (this.tm_ != null) this.ck_.cancel(this.tm_);
    if (this.op_ != Op.Idle) this.end_(Err.Closed);
  }

  private begin_(op: Op, cb: Cb, arg: number): void {
    const e = this.closed_ ? Err.Closed : !this.meas_ || this.op_ != Op.Idle ? Err.Argument : Err.Ok;
    if (e) { cb(e, null); return; }
    this.op_ = op;
    this.cb_ = cb;
    this.val_ = arg;
    this.tm_ = this.ck_.after(0, this.run_);
  }

  private run(): void {
    this.tm_ = null;
    const op = this.op_;
    const c = op == Op.Read ? this.meas_ : op == Op.Status ? Cmd.Status : this.val_;
    if (!this.tx_(c)) { this.end_(Err.NoDevice); return; }
    if (op == Op.Read) {
      this.left_ = this.polls_;
      this.tm_ = this.ck_.after(this.wait_, this.poll_);
    } else if (op == Op.Status) this.end_(this.status_());
    else if (op == Op.Reset) this.tm_ = this.ck_.after(RESET_MS, this.ok_);
    else this.end_(Err.Ok);
  }

  private poll(): void {
    this.tm_ = null;
    const d = this.rx_(6);
    if (d) this.end_(this.decode_(d));
    else if (--this.left_ > 0) this.tm_ = this.ck_.after(T.POLL_MS, this.poll_);
    else this.end_(Err.Timeout);
  }

  private decode_(d: Uint8Array): Err {
    if (!wordOk(d, 0) || !wordOk(d, 3)) return Err.Checksum;
    const t = sht3xTempC((d[0]! << 8) | d[1]!);
    const h = sht3xRhPct((d[3]! << 8) | d[4]!);
    if (t < -40 || t > 125 || h < 0 || h > 100) return Err.Range;
    this.r_.tempC = t;
    this.r_.rhPct = h;
    return Err.Ok;
  }

  private status_(): Err {
    const d = this.rx_(3);
    if (!d) return Err.Bus;
    if (!wordOk(d, 0)) return Err.Checksum;
    this.val_ = (d[0]! << 8) | d[1]!;
    return Err.Ok;
  }

  private tx_(c: number): boolean {
    this.cmd_[0] = c >> 8;
    this.cmd_[1] = c & 0xff;
    return tryWrite(this.bus_, this.a_, this.cmd_);
  }

  private rx_(n: number): Uint8Array | null {
    return tryRead(this.bus_, this.a_, n);
  }

  private end_(err: Err): void {
    const op = this.op_;
    const cb = this.cb_!;
    this.op_ = Op.Idle;
    this.cb_ = null;
    this.tm_ = null;
    if (err) cb(err, null);
    else cb(Err.Ok, op == Op.Read ? this.r_ : op == Op.Status ? this.val_ : null);
  }
}

/** Espruino-style entry point (STYLE rule 3): no I/O here; the first bus transfer is made by the first call. */
export function connect(bus: I2cBus, options: Sht3xOptions): Sht3x {
  return new Sht3x(bus, options);
}
