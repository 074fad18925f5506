/**
 * A simulated Aosong AHT20 (datasheet "AHT20 Product manuals", sections 5.3, 5.4 and 6) as a protocol state
 * machine behind SimI2c: the same bytes as the part, its timings on the injected clock, values from a Scenario.
 *
 * Modelled:
 * - power-on (section 5.4 step 1): no transfer is acknowledged for the first 40 ms;
 * - every read returns the status byte first (bit 7 busy, bit 3 calibration enabled, section 5.3), then the 5 data
 *   bytes of the last finished measurement and the CRC-8 (polynomial 0x31, initial value 0xFF) of those 6 bytes;
 *   a read of 1 byte is the status read of step 1 (the "0x71" of the datasheet is the read header);
 * - 0xBE 0x08 0x00 (initialise, step 1): sets the calibration bit; busy for 10 ms;
 * - 0xAC 0x33 0x00 (trigger, step 2): busy for MEAS_MS (75 ms, inside the 80 ms of step 3) times `slow`; the
 *   data bytes change when it ends (a read while busy gives the previous measurement, as the part does);
 * - 0xBA (soft reset, section 5.5): no transfer acknowledged for 20 ms; the calibration bit is kept;
 * - conversion inverted from section 6: S_RH = RH / 100 · 2^20, S_T = (T + 50) / 200 · 2^20, rounded, 20 bits.
 * Other writes (e.g. a lone 0x71) are acknowledged and ignored.
 *
 * Faults, set by tests at any time: `noAck`, `corruptCrc` (the next 7-byte answer's CRC is inverted; cleared once
 * used), `busyStuck` (the busy bit never clears), `slow` (conversion × N), `unplugAfter` (acknowledge k more
 * transfers, then nothing until `plugIn()`), `uncalibrated` (after power-on — construction or `plugIn()` — the
 * calibration bit stays clear until 0xBE arrives). Espruino subset: it also runs inside device bundles.
 */
import { crc8 } from "../../lib/drivers/crc8";
import { Clock } from "../../lib/hal/net";
import { I2cDevice } from "../hal/i2c";
import { Scenario } from "./scenario";

export interface Aht20ChipOptions {
  clock: Clock;
  scenario: Scenario;
  /** Calibration bit clear at power-on (a fault: the driver must send 0xBE). */
  uncalibrated?: boolean;
}

const POWER_MS = 40;
const CAL_MS = 10;
const MEAS_MS = 75;
const RESET_MS = 20;
const TWO20 = 1048576;

export class Aht20Chip implements I2cDevice {
  readonly address = 0x38;
  // ---- faults ----
  noAck = false;
  corruptCrc = false;
  busyStuck = false;
  slow = 1;
  /** Transfers still acknowledged before the chip is unplugged; −1: never. */
  unplugAfter = -1;
  uncalibrated: boolean;
  // ---- what tests observe ----
  /** First bytes of the write transfers received, in order (commands). */
  readonly commands: number[] = [];
  /** The values of the last measurement, before quantisation. */
  lastTempC = NaN;
  lastRhPct = NaN;
  measurements = 0;

  private readonly ck_: Clock;
  private readonly sc_: Scenario;
  private readonly data_ = new Uint8Array(5);
  private readonly next_ = new Uint8Array(5);
  /** Transfers are not acknowledged before this time (power-on, soft reset). */
  private ready_ = 0;
  private busyUntil_ = 0;
  private pending_ = false;
  private cal_ = false;
  private unplugged_ = false;

  constructor(o: Aht20ChipOptions) {
    this.ck_ = o.clock;
    this.sc_ = o.scenario;
    this.uncalibrated = !!o.uncalibrated;
    this.powerOn_();
  }

  /** Power returns after an unplug: a new power-on (40 ms start-up, calibration bit per `uncalibrated`). */
  plugIn(): void {
    this.unplugged_ = false;
    this.unplugAfter = -1;
    this.powerOn_();
  }

  write(data: Uint8Array): boolean {
    if (!this.ack_()) return false;
    const c = data.length ? data[0]! : -1;
    this.commands.push(c);
    const now = this.ck_.now();
    if (c == 0xbe && data[1] == 0x08 && data[2] == 0x00) {
      this.cal_ = true;
      this.busyUntil_ = now + CAL_MS;
    } else if (c == 0xac && data[1] == 0x33 && data[2] == 0x00) this.measure_(now);
    else if (c == 0xba) this.ready_ = now + RESET_MS;
    return true;
  }

  read(n: number): Uint8Array | null {
    if (!this.ack_()) return null;
    const busy = this.busy_();
    const out = new Uint8Array(n);
    const b = new Uint8Array(7);
    b[0] = (busy ? 0x80 : 0) | (this.cal_ ? 0x08 : 0);
    b.set(this.data_, 1);
    b[6] = crc8(b, 0, 6, 0x31, 0xff);
    if (n >= 7 && this.corruptCrc) { b[6] = b[6]! ^ 0xff; this.corruptCrc = false; }
    for (let i = 0; i < n; i++) out[i] = i < 7 ? b[i]! : 0xff;
    return out;
  }

  private powerOn_(): void {
    this.ready_ = this.ck_.now() + POWER_MS;
    this.cal_ = !this.uncalibrated;
    this.busyUntil_ = 0;
    this.pending_ = false;
    for (let i = 0; i < 5; i++) this.data_[i] = 0;
  }

  /** Busy: measuring or initialising; a finished measurement's data becomes visible here. */
  private busy_(): boolean {
    if (this.busyStuck || this.ck_.now() < this.busyUntil_) return true;
    if (this.pending_) { this.data_.set(this.next_); this.pending_ = false; }
    return false;
  }

  private measure_(now: number): void {
    this.measurements++;
    this.busyUntil_ = now + MEAS_MS * this.slow;
    this.pending_ = true;
    const t = this.sc_.tempC(now);
    const h = this.sc_.rhPct(now);
    this.lastTempC = t;
    this.lastRhPct = h;
    const sh = clamp20(Math.round(h / 100 * TWO20));
    const st = clamp20(Math.round((t + 50) / 200 * TWO20));
    const d = this.next_;
    d[0] = sh >> 12;
    d[1] = (sh >> 4) & 0xff;
    d[2] = ((sh & 0x0f) << 4) | (st >> 16);
    d[3] = (st >> 8) & 0xff;
    d[4] = st & 0xff;
  }

  private ack_(): boolean {
    if (this.unplugged_) return false;
    if (this.unplugAfter == 0) { this.unplugged_ = true; return false; }
    if (this.unplugAfter > 0) this.unplugAfter--;
    return !this.noAck && this.ck_.now() >= this.ready_;
  }
}

function clamp20(v: number): number {
  return v < 0 ? 0 : v > TWO20 - 1 ? TWO20 - 1 : v;
}
