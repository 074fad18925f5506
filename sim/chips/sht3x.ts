/**
 * A simulated Sensirion SHT3x ("Datasheet SHT3x-DIS") as a protocol state machine behind SimI2c: it answers the
 * same bytes as the part, with its timings on the injected clock, and takes its values from a Scenario.
 *
 * Modelled:
 * - single-shot measurement without clock stretching (Table 9: 0x2400 / 0x240B / 0x2416); it takes the typical
 *   duration of Table 4 (12.5 / 4.5 / 2.5 ms), times `slow`; until then a read is not acknowledged (section 4.5),
 *   and so is any other transfer (the chip is busy). Then one read gives T MSB, T LSB, CRC, RH MSB, RH LSB, CRC
 *   (section 4.5) and the data is gone: a further read is not acknowledged (no data);
 * - the CRC-8 of section 4.12 (Table 19) on every word;
 * - conversion inverted from section 4.13: S_T = (T + 45) · 65535 / 175, S_RH = RH · 65535 / 100, rounded;
 * - status register (section 4.11): 0xF32D then a read gives the word and its CRC; after
 *   power-on and soft reset it holds 0x8010 (bit 15 alert pending, bit 4 system reset detected); 0x3041 clears
 *   bits 15, 11, 10 and 4; bit 13 is the heater, bit 1 is set by a command the chip did not process;
 * - heater 0x306D / 0x3066 (section 4.10): only the status bit (the temperature rise is not modelled);
 * - soft reset 0x30A2 (section 4.9): back to the power-on state; no transfer is acknowledged for the
 *   typical soft reset time t_SR (Table 4, 0.5 ms).
 * Not modelled: clock-stretching and periodic modes, ART, alert limits, general call reset, the power-up time.
 *
 * Faults, set by tests at any time: `noAck` (nothing acknowledged), `corruptCrc` (the next answer's first CRC byte
 * is inverted; cleared once used), `neverCompletes` (a measurement never ends: reads are refused forever),
 * `slow` (measurements take `slow` times as long), `unplugAfter` (acknowledge k more transfers, then nothing
 * until `plugIn()`). Espruino subset: it also runs inside device bundles.
 */
import { crc8 } from "../../lib/drivers/crc8";
import { Clock } from "../../lib/hal/net";
import { I2cDevice } from "../hal/i2c";
import { Scenario } from "./scenario";

export interface Sht3xChipOptions {
  clock: Clock;
  scenario: Scenario;
  /** 0x44 (default) or 0x45. */
  address?: number;
}

const enum S { Idle, Measuring, Status }

/** Status register after power-on or soft reset (section 4.11). */
const STATUS_RESET = 0x8010;
/** Typical soft reset time t_SR, Table 4. */
const RESET_MS = 0.5;

export class Sht3xChip implements I2cDevice {
  readonly address: number;
  // ---- faults ----
  noAck = false;
  corruptCrc = false;
  neverCompletes = false;
  slow = 1;
  /** Transfers still acknowledged before the chip is unplugged; −1: never. */
  unplugAfter = -1;
  // ---- what tests observe ----
  /** The last command received (16 bits). */
  lastCommand = -1;
  /** The values of the last measurement, before quantisation. */
  lastTempC = NaN;
  lastRhPct = NaN;
  /** Measurements started. */
  measurements = 0;

  private readonly ck_: Clock;
  private readonly sc_: Scenario;
  private state_ = S.Idle;
  private status_ = STATUS_RESET;
  /** End of the running measurement or soft reset. */
  private until_ = 0;
  private rawT_ = 0;
  private rawRh_ = 0;
  private unplugged_ = false;

  constructor(o: Sht3xChipOptions) {
    this.ck_ = o.clock;
    this.sc_ = o.scenario;
    this.address = o.address ?? 0x44;
  }

  /** Power returns after an unplug: the power-on state, faults of the plug cleared. */
  plugIn(): void {
    this.unplugged_ = false;
    this.unplugAfter = -1;
    this.reset_();
  }

  get heaterOn(): boolean {
    return (this.status_ & 0x2000) != 0;
  }

  write(data: Uint8Array): boolean {
    if (!this.ack_() || this.busy_()) return false;
    if (data.length < 2) { this.status_ |= 2; return true; }
    const c = (data[0]! << 8) | data[1]!;
    this.lastCommand = c;
    this.status_ &= ~2;
    if (c == 0x2400) this.measure_(12.5);
    else if (c == 0x240b) this.measure_(4.5);
    else if (c == 0x2416) this.measure_(2.5);
    else this.command_(c);
    return true;
  }

  read(n: number): Uint8Array | null {
    if (!this.ack_() || this.busy_()) return null;
    if (this.state_ == S.Measuring) return this.answer_(n, this.rawT_, this.rawRh_, 6);
    if (this.state_ == S.Status) return this.answer_(n, this.status_, 0, 3);
    return null; // no data: section 4.5
  }

  /** Commands other than measurements (sections 4.9 to 4.11). */
  private command_(c: number): void {
    this.state_ = S.Idle;
    if (c == 0xf32d) this.state_ = S.Status;
    else if (c == 0x3041) this.status_ &= ~0x8c10;
    else if (c == 0x306d) this.status_ |= 0x2000;
    else if (c == 0x3066) this.status_ &= ~0x2000;
    else if (c == 0x30a2) { this.reset_(); this.until_ = this.ck_.now() + RESET_MS; }
    else this.status_ |= 2; // not processed (status bit 1, section 4.11)
  }

  private measure_(typMs: number): void {
    const now = this.ck_.now();
    this.measurements++;
    this.state_ = S.Measuring;
    this.until_ = now + typMs * this.slow;
    const t = this.sc_.tempC(now);
    const h = this.sc_.rhPct(now);
    this.lastTempC = t;
    this.lastRhPct = h;
    this.rawT_ = clamp16(Math.round((t + 45) * 65535 / 175));
    this.rawRh_ = clamp16(Math.round(h * 65535 / 100));
  }

  /** Measuring (not yet done, or never), or in the soft reset time: no transfer is acknowledged. */
  private busy_(): boolean {
    if (this.ck_.now() < this.until_) return true;
    return this.state_ == S.Measuring && this.neverCompletes;
  }

  /** `len` bytes (one or two words with their CRC), cut or padded with 0xFF to the `n` bytes read. */
  private answer_(n: number, w0: number, w1: number, len: number): Uint8Array {
    const b = new Uint8Array(6);
    word(b, 0, w0);
    word(b, 3, w1);
    if (this.corruptCrc) { b[2] = b[2]! ^ 0xff; this.corruptCrc = false; }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = i < len ? b[i]! : 0xff;
    this.state_ = S.Idle;
    return out;
  }

  private ack_(): boolean {
    if (this.unplugged_) return false;
    if (this.unplugAfter == 0) { this.unplugged_ = true; return false; }
    if (this.unplugAfter > 0) this.unplugAfter--;
    return !this.noAck;
  }

  private reset_(): void {
    this.state_ = S.Idle;
    this.status_ = STATUS_RESET;
    this.until_ = 0;
  }
}

function clamp16(v: number): number {
  return v < 0 ? 0 : v > 65535 ? 65535 : v;
}

/** A 16-bit word, MSB first, and its CRC (section 4.12). */
function word(b: Uint8Array, i: number, v: number): void {
  b[i] = v >> 8;
  b[i + 1] = v & 0xff;
  b[i + 2] = crc8(b, i, i + 2, 0x31, 0xff);
}
