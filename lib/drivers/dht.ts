/**
 * Aosong DHT22 (AM2302) and DHT11 humidity and temperature sensors on one GPIO (single-wire, pull-up to VDD).
 * Datasheets: "AM2302 digital-output relative humidity & temperature sensor" §7 (single-bus communication: data
 * format, example frames, host start signal, response, bit timing; signal characteristics table) and "DHT11
 * humidity & temperature sensor" §5 (serial communication instructions, single-wire bi-directional; §5.1 data
 * format and its example, §5.2 overall communication process, §5.3/§5.4 start signal, response and data bits).
 *
 * `connect(pin, { clock, type })` does no I/O (STYLE rule 3). `read(cb)`:
 * 1. the pin is set to "opendrain" (written high = released, the pull-up holds the line high), a watch on
 *    falling edges is set (repeat, debounce 0), then `pulse(false, START_MS)` holds the line low for the start
 *    signal (AM2302 T_be: 0.8-20 ms, 2 ms here; DHT11: at least 18 ms, 20 ms here) and releases it;
 * 2. the sensor answers after 20-40 µs (T_go) with 80 µs low + 80 µs high, then 40 bits, each 50 µs low and
 *    26-28 µs (0) or 70 µs (1) high, then 50 µs low (end of frame) and releases the line.
 * Bits are decoded from the times of falling edges, as Espruino's DHT22/DHT11 modules do, but from the interval
 * between consecutive falling edges (low + high of one bit: ~76-78 µs = 0, ~120 µs = 1, threshold 100 µs) kept
 * by the driver, not from `Edge.lastTime`: on Espruino `lastTime` is the pin's previous change in either
 * direction (jsinteractive.c "Update lastTime regardless of which edge we're watching"; the modules' 50 µs
 * threshold there measures the high time). An interval over 140 µs restarts the frame: the host's own falling
 * edge (if the platform reports it) and the response (80 + 80 µs: 140-250 µs marks the response, so the next
 * edge starts bit 0). Bits count only after the response was seen, so a missed edge gives Err.Timeout, not a
 * frame shifted by one bit. The 40th bit ends the read at once (no fixed sleep).
 * 3. Bounded wait: START_MS + `timeoutMs` (default 20 ms; a whole frame is at most ~5.6 ms). When it expires:
 *    the response (or any two falling edges: the host's own is at most one) was seen but not 40 bits →
 *    Err.Timeout; otherwise the line low → Err.Bus (held low), the line high → Err.NoDevice (unplugged, or too
 *    slow to answer).
 * 4. Checksum (low 8 bits of the sum of bytes 0-3 = byte 4) → Err.Checksum. Decoding: DHT22 RH = 16 bits × 0.1 %,
 *    T = 15 bits × 0.1 °C with bit 15 the sign (AM2302 §7 examples); DHT11 RH = byte 0 + byte 1 / 10,
 *    T = byte 2 + (byte 3 & 0x7F) / 10 (the decimal bytes are 0 on early parts; later DHT11 revisions report
 *    tenths of °C and set bit 7 of byte 3 below 0 °C, decoded here as negative so it fails the range check
 *    instead of reading as +12.8 °C). Outside the operating range (DHT22 −40..80 °C, 0..100 %RH; DHT11 0..50 °C,
 *    20..90 %RH) → Err.Range.
 *
 * Minimum interval between reads (AM2302: 2 s sampling period; DHT11: 1 s), measured between start signals
 * whatever their outcome: a read asked for earlier is not refused but scheduled for the moment it is allowed,
 * and its callback comes then. One read at a time: `read` while one is scheduled or running → Err.Argument.
 * Err.Closed after `close()`; `close()` ends a scheduled or running read with Err.Closed. Those refusals call
 * back before `read` returns; every other outcome arrives later from the clock or the watch. The watch is
 * removed on every exit path (40 bits, timeout, close, a pin call that throws → Err.Bus).
 *
 * Memory: a 5-byte frame buffer, one Reading and three bound callbacks per instance, made in the constructor.
 * The Reading passed to the callback is that same object, overwritten by the next read (copy the fields to keep
 * them). A read allocates nothing itself; what the platform allocates (the watch, its per-edge event objects,
 * the timer) cannot be avoided through Espruino's setWatch/setTimeout API.
 */
import { Err } from "../errors";
import { Clock } from "../hal/net";
import { Edge, PinIo, WatchOptions } from "../hal/pin";
import { DriverOptions, ReadCallback, Reading, Sensor } from "./types";

export interface DhtOptions extends DriverOptions {
  /** 22: DHT22 / AM2302; 11: DHT11. */
  type: 22 | 11;
  /** Wait for the frame after the start signal ends, ms (default 20). */
  timeoutMs?: number;
}

/** Falling edges only, every one, no debounce: the bits are timed from them. */
const WATCH: WatchOptions = { edge: "falling", repeat: true, debounce: 0 };

/** Falling-edge intervals, seconds (Edge times are seconds). */
const BIT_ONE_S = 0.0001; // over this: 1 (0 ≈ 50 + 27 µs, 1 ≈ 50 + 70 µs)
const GAP_S = 0.00014; // over this: not a bit, the frame restarts at this edge
const RESP_MAX_S = 0.00025; // response 80 + 80 µs (AM2302 T_rel + T_reh: 150-170 µs)

/** Verifies the checksum of a 5-byte frame: byte 4 = (byte 0 + 1 + 2 + 3) & 0xFF (AM2302 §7, DHT11 §5.1). */
export function dhtChecksumOk(b: Uint8Array): boolean {
  return ((b[0]! + b[1]! + b[2]! + b[3]!) & 0xff) == b[4];
}

function decode22(b: Uint8Array, r: Reading): Err {
  const rh = ((b[0]! << 8) | b[1]!) / 10;
  const t = (((b[2]! & 0x7f) << 8) | b[3]!) / 10;
  r.tempC = b[2]! & 0x80 ? 0 - t : t;
  r.rhPct = rh;
  return r.tempC < -40 || r.tempC > 80 || rh > 100 ? Err.Range : Err.Ok;
}

function decode11(b: Uint8Array, r: Reading): Err {
  const t = b[2]! + (b[3]! & 0x7f) / 10;
  r.tempC = b[3]! & 0x80 ? 0 - t : t;
  r.rhPct = b[0]! + b[1]! / 10;
  return r.tempC < 0 || r.tempC > 50 || r.rhPct < 20 || r.rhPct > 90 ? Err.Range : Err.Ok;
}

/**
 * Decodes a 5-byte frame into `r` (tempC, rhPct): Err.Checksum, Err.Range (r then holds the decoded values,
 * which must not be reported), Err.Argument for a type other than 22 or 11, or Err.Ok.
 */
export function dhtDecode(type: number, b: Uint8Array, r: Reading): Err {
  if (type != 22 && type != 11) return Err.Argument;
  if (!dhtChecksumOk(b)) return Err.Checksum;
  return type == 22 ? decode22(b, r) : decode11(b, r);
}

export class Dht implements Sensor {
  private readonly ck_: Clock;
  private readonly type_: number;
  private readonly start_: number;
  private readonly wait_: number;
  private readonly gap_: number;
  private readonly b_ = new Uint8Array(5);
  private readonly r_: Reading = { tempC: 0, rhPct: 0 };
  private cb_: ReadCallback | null = null;
  private tm_: unknown = null;
  private w_: unknown = null;
  private closed_ = false;
  /** Clock time of the last start signal, ms; -1 before the first. */
  private last_ = -1;
  /** Edge time of the previous falling edge of this read, s. */
  private prev_ = 0;
  /** The response was seen: edges after it are bits. */
  private resp_ = false;
  /** Falling edges seen in this read. */
  private n_ = 0;
  private bits_ = 0;
  private readonly go_ = (): void => this.go();
  private readonly expire_ = (): void => this.expire();
  private readonly edge_ = (e: Edge): void => this.edge(e);

  constructor(private readonly pin_: PinIo, o: DhtOptions) {
    this.ck_ = o.clock;
    this.type_ = o.type;
    this.start_ = o.type == 11 ? 20 : 2;
    this.gap_ = o.type == 11 ? 1000 : 2000;
    this.wait_ = this.start_ + (o.timeoutMs ?? 20);
  }

  /** One measurement: `{ tempC, rhPct }`, scheduled no earlier than the minimum interval allows. */
  read(cb: ReadCallback): void {
    const e = this.closed_ ? Err.Closed : this.cb_ || (this.type_ != 22 && this.type_ != 11) ? Err.Argument : Err.Ok;
    if (e) { cb(e, null); return; }
    this.cb_ = cb;
    const left = this.last_ < 0 ? 0 : this.last_ + this.gap_ - this.ck_.now();
    if (left > 0) this.tm_ = this.ck_.after(left, this.go_);
    else this.go();
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    if (this.cb_) this.end_(Err.Closed);
  }

  /** Sends the start signal and arms the watch and the bounded wait. */
  private go(): void {
    this.tm_ = null;
    this.last_ = this.ck_.now();
    this.prev_ = 0;
    this.resp_ = false;
    this.n_ = 0;
    this.bits_ = 0;
    try {
      this.pin_.write(true);
      this.pin_.mode("opendrain");
      this.w_ = this.pin_.watch(this.edge_, WATCH);
      this.pin_.pulse(false, this.start_);
    } catch (x) {
      this.end_(Err.Bus);
      return;
    }
    this.tm_ = this.ck_.after(this.wait_, this.expire_);
  }

  private edge(e: Edge): void {
    if (!this.cb_ || this.w_ == null) return;
    const dt = e.time - this.prev_;
    const first = this.n_++ == 0;
    this.prev_ = e.time;
    if (first || dt > GAP_S) {
      // a start: the host's edge, the response, or a resynchronisation after a gap
      this.resp_ = !first && dt <= RESP_MAX_S;
      this.bits_ = 0;
      return;
    }
    if (!this.resp_) return;
    const i = this.bits_ >> 3;
    const b = this.b_;
    b[i] = ((this.bits_ & 7 ? b[i]! : 0) << 1) | (dt > BIT_ONE_S ? 1 : 0);
    if (++this.bits_ == 40) this.end_(dhtDecode(this.type_, b, this.r_));
  }

  private expire(): void {
    this.tm_ = null;
    let e = Err.Timeout;
    if (!this.resp_ && this.n_ < 2) {
      try {
        e = this.pin_.read() ? Err.NoDevice : Err.Bus;
      } catch (x) {
        e = Err.Bus;
      }
    }
    this.end_(e);
  }

  /** Every exit: the watch and the timer go, then the callback (which may call read again). */
  private end_(e: Err): void {
    if (this.tm_ != null) { this.ck_.cancel(this.tm_); this.tm_ = null; }
    if (this.w_ != null) {
      const w = this.w_;
      this.w_ = null;
      try { this.pin_.unwatch(w); } catch (x) { if (!e) e = Err.Bus; }
    }
    const cb = this.cb_;
    this.cb_ = null;
    if (cb) cb(e, e ? null : this.r_);
  }
}

/** Espruino-style entry point: `require("dht").connect(pin, { clock, type: 22 })`. No I/O. */
export function connect(pin: PinIo, o: DhtOptions): Dht {
  return new Dht(pin, o);
}
