/**
 * DS18B20 programmable-resolution 1-Wire digital thermometer (Maxim, datasheet 19-7487), on lib/hal/onewire.ts's
 * OneWireBus, which Espruino's `new OneWire(pin)` satisfies as it is.
 *
 *   const roms = find(ow);                                  // ROM search: every DS18B20 on the bus
 *   const s = connect(ow, { clock, rom: roms[0], resolution: 11 });
 *   s.read((err, r) => { if (!err) use(r!.tempC); });
 *
 * One driver per sensor: several on one bus each get their own (`find` lists their ROMs). Without `rom` the
 * driver addresses the bus with SKIP ROM, which is right only when the DS18B20 is alone on it (with several,
 * their answers collide as a wired AND and the scratchpad CRC fails: Err.Checksum).
 *
 * A read, per the datasheet's "Transaction Sequence" (every step starts with a reset and its presence pulse,
 * no presence: Err.NoDevice):
 * 1. Once after connect and again after any error (a sensor unplugged and plugged back has reloaded its
 *    configuration from EEPROM at power-on): READ SCRATCHPAD to keep TH/TL, then WRITE SCRATCHPAD [4Eh] with TH,
 *    TL and the configuration byte, R1 R0 = resolution - 9 ("Configuration Register", Figure 8, Table 2). Only
 *    the scratchpad is written, never the EEPROM (COPY SCRATCHPAD wears it and the setting is redone anyway).
 * 2. CONVERT T [44h] with the line then held high (`write(0x44, true)`: a parasite-powered part draws its
 *    conversion current through the strong pull-up, datasheet "Powering the DS18B20").
 * 3. The conversion time of Table 2 (93.75 / 187.5 / 375 / 750 ms at 9 / 10 / 11 / 12 bits) waited on the
 *    injected clock, not polled: a parasite-powered part cannot signal completion (the line is held high for
 *    the whole conversion, "Convert T [44h]"), and on Espruino every poll would be a timer plus 8 read slots
 *    anyway. After the wait one byte of read slots is taken: an externally powered part still converting
 *    answers 0s (then the driver re-checks every quarter of the conversion time, up to 4 times, so twice the
 *    datasheet time in all, then Err.Timeout, or what step 4 finds: a line held low also reads 0s); a
 *    finished or a parasite-powered part leaves 1s. The check is made only when no other DS18B20 driver has
 *    used a bus since this one's CONVERT T (the slots would answer for that driver's part: a 9-bit sensor
 *    would time out waiting on a 12-bit one's conversion); otherwise, as with parasite power, the Table 2
 *    wait is trusted, and a conversion slower than the datasheet's maximum goes unseen (the scratchpad then
 *    holds the previous reading, or the power-on value, handled in step 5). Other device families sharing
 *    the bus are not tracked: their transactions leave the line high (1s) when idle.
 * 4. READ SCRATCHPAD [BEh], 9 bytes: all 1s (nobody drove the line: unplugged mid-read) Err.NoDevice; all 0s
 *    (line held low: a 0 scratchpad has a valid CRC of 0) Err.Bus; a CRC-8/MAXIM mismatch Err.Checksum, or
 *    Err.NoDevice when the reset that follows finds nobody.
 * 5. The temperature register (Figure 2, Table 1): 16-bit two's complement in 1/16 °C; the bits the
 *    resolution leaves undefined (bit 0 at 11 bits ... bits 2-0 at 9) are cleared, using the resolution the
 *    scratchpad's own configuration byte states. Exactly 0x0550, the power-on reset value (+85 °C, Table 1
 *    note), is not a reading: a power glitch reset the part after CONVERT T, or it never converted. The
 *    driver converts once more; 0x0550 again is Err.Range (so a sensor that really sits at 85.0000 °C twice
 *    running is refused: the bits cannot tell it from the reset value). Outside -55 .. +125 °C: Err.Range.
 *
 * Contract (lib/drivers/types.ts): `connect` does no I/O; `read` never throws (an exception from the bus is
 * Err.Bus) and calls back later, from the clock, never inside the call; bad options (a ROM string that is not
 * 16 hex digits of a family 0x28 ROM with a right CRC, a resolution other than 9-12) make every read
 * Err.Argument; a read while one is under way gets Err.NoMemory at once (one read in flight per sensor); after
 * `close()` reads get Err.Closed and a read under way ends with Err.Closed.
 *
 * Allocation: the scratchpad buffer and the reading object belong to the instance, and the reading passed to
 * the callback is that one object, overwritten by the next read (copy `tempC` to keep it). The two timer
 * callbacks are bound once. Bytes are read one `read()` at a time: Espruino's `read(n)` returns a new
 * Uint8Array per call (jswrap_onewire.c), `read()` a plain integer. What stays per read is the clock's timer
 * handle (Espruino's setTimeout makes one).
 */
import { Err } from "../errors";
import { Clock } from "../hal/net";
import { OneWireBus } from "../hal/onewire";
import { crc8Maxim, crc8MaximStep } from "./crc8maxim";
import { DriverOptions, ReadCallback, Reading, Sensor } from "./types";

export interface Ds18b20Options extends DriverOptions {
  /** The sensor's ROM as `search()`/`find()` give it (16 hex digits, family code first); none: SKIP ROM. */
  rom?: string;
  /** Bits, 9 .. 12 (default 12: 0.0625 °C, 750 ms). */
  resolution?: 9 | 10 | 11 | 12;
}

/** Family code of the DS18B20 ("64-Bit Lasered ROM Code", Figure 6). */
export const DS18B20_FAMILY = 0x28;
/** Function commands (Table 3). */
const CONVERT_T = 0x44;
const WRITE_SCRATCHPAD = 0x4e;
const READ_SCRATCHPAD = 0xbe;
/** Temperature register at power-on reset, +85 °C (Table 1). */
const POWER_ON = 0x0550;
/** Re-checks of an unfinished conversion, each a quarter of its Table 2 time after the previous one. */
const MAX_POLLS = 4;
/** Internal: not finished yet (every Err is <= 0). */
const PENDING = 1;

/** Table 2: maximum conversion time, ms, at `bits` (750 ms at 12 bits, halved for each bit less). */
export function conversionMs(bits: number): number {
  return 750 / (1 << (12 - bits));
}

/**
 * The temperature register (Figure 2: 16-bit two's complement, 1/16 °C, sign in bits 15-11) as signed
 * sixteenths of a degree, with the bits undefined at `bits` resolution cleared (bit 0 at 11 bits, bits 1-0 at
 * 10, bits 2-0 at 9). Table 1: 0191h is +25.0625 °C (401), FF5Eh is -10.125 °C (-162).
 */
export function sixteenths(raw: number, bits: number): number {
  return ((raw << 16) >> 16) & ~((1 << (12 - bits)) - 1);
}

/** Hex digit to 0..15; -1 if it is none. */
function nib(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 32;
  return c >= 97 && c <= 102 ? c - 87 : -1;
}

/**
 * True for a ROM string in Espruino's form (16 hex digits, byte 0 = family code first, each byte high digit
 * first: jswrap_onewire.c) whose family code is 0x28 and whose byte 7 is the CRC-8/MAXIM of bytes 0-6.
 */
export function isDs18b20Rom(rom: unknown): boolean {
  if (typeof rom != "string" || rom.length != 16) return false;
  let c = 0;
  for (let i = 0; i < 8; i++) {
    const h = nib(rom.charCodeAt(2 * i));
    const l = nib(rom.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return false;
    const v = (h << 4) | l;
    if (i == 0 && v != DS18B20_FAMILY) return false;
    if (i == 7) return v == c;
    c = crc8MaximStep(c, v);
  }
  return false;
}

/**
 * ROM search (SEARCH ROM, Maxim AN187, done by the bus object): the DS18B20s on the bus, in search order. ROMs
 * of other families or with a wrong CRC (a search garbled by noise) are left out. Never throws: a bus that
 * throws, or has nobody on it, gives [].
 */
export function find(bus: OneWireBus): string[] {
  const out: string[] = [];
  let roms: string[];
  try {
    roms = bus.search();
  } catch (x) {
    return out;
  }
  for (let i = 0; i < roms.length; i++) if (isDs18b20Rom(roms[i])) out.push(roms[i]!);
  return out;
}

/** The driver that addressed a bus last (any bus: several DS18B20 drivers usually share one). */
let lastUser: Ds18b20 | null = null;

export class Ds18b20 implements Sensor {
  private readonly bus_: OneWireBus;
  private readonly clock_: Clock;
  private readonly rom_: string;
  private readonly bits_: number;
  /** Options invalid: every read is Err.Argument. */
  private readonly bad_: boolean;
  /** Scratchpad bytes 0-8 (Figure 7). */
  private readonly sp_ = new Uint8Array(9);
  private readonly r_: Reading = { tempC: 0 };
  private readonly onTick_: () => void;
  private readonly onDone_: () => void;
  private cb_: ReadCallback | null = null;
  private err_: Err = Err.Ok;
  private timer_: unknown = null;
  private polls_ = 0;
  /** The power-on value was seen once in this read. */
  private retried_ = false;
  /** The configuration byte was written since connect or the last error. */
  private set_ = false;
  private closed_ = false;

  constructor(bus: OneWireBus, o: Ds18b20Options) {
    this.bus_ = bus;
    this.clock_ = o.clock;
    const bits = o.resolution === undefined ? 12 : o.resolution;
    this.bits_ = bits;
    this.rom_ = typeof o.rom == "string" ? o.rom : "";
    this.bad_ = !(bits === 9 || bits === 10 || bits === 11 || bits === 12) ||
      (o.rom !== undefined && !isDs18b20Rom(o.rom));
    this.onTick_ = () => this.tick_();
    this.onDone_ = () => this.done_();
  }

  /** The resolution this driver sets, bits. */
  get resolution(): number {
    return this.bits_;
  }

  read(cb: ReadCallback): void {
    if (this.cb_) {
      cb(Err.NoMemory, null);
      return;
    }
    this.cb_ = cb;
    this.retried_ = false;
    const e = this.closed_ ? Err.Closed : this.bad_ ? Err.Argument : this.start_();
    if (e) this.end_(e);
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    if (this.timer_ !== null) this.clock_.cancel(this.timer_);
    this.timer_ = null;
    if (this.cb_) this.end_(Err.Closed);
  }

  /** Reset, presence, then MATCH ROM or SKIP ROM ("Transaction Sequence"). */
  private address_(): Err {
    lastUser = this;
    if (!this.bus_.reset()) return Err.NoDevice;
    if (this.rom_) this.bus_.select(this.rom_);
    else this.bus_.skip();
    return Err.Ok;
  }

  /** Steps 1 and 2; arms the conversion wait. */
  private start_(): Err {
    try {
      let e = this.set_ ? Err.Ok : this.configure_();
      if (!e) e = this.address_();
      if (e) return e;
      this.bus_.write(CONVERT_T, true);
    } catch (x) {
      return Err.Bus;
    }
    this.polls_ = 0;
    this.timer_ = this.clock_.after(conversionMs(this.bits_), this.onTick_);
    return Err.Ok;
  }

  /** Step 1: WRITE SCRATCHPAD with TH and TL as they are and the configuration byte (Figure 8). */
  private configure_(): Err {
    let e = this.readScratchpad_();
    if (!e) e = this.address_();
    if (e) return e;
    const b = this.bus_;
    b.write(WRITE_SCRATCHPAD);
    b.write(this.sp_[2]!);
    b.write(this.sp_[3]!);
    b.write(((this.bits_ - 9) << 5) | 0x1f);
    this.set_ = true;
    return Err.Ok;
  }

  /** Step 4. */
  private readScratchpad_(): Err {
    const e = this.address_();
    if (e) return e;
    const b = this.bus_;
    const s = this.sp_;
    b.write(READ_SCRATCHPAD);
    let and = 0xff;
    let or = 0;
    for (let i = 0; i < 9; i++) {
      const v = b.read() & 0xff;
      s[i] = v;
      and &= v;
      or |= v;
    }
    if (and == 0xff) return Err.NoDevice;
    if (or == 0) return Err.Bus;
    if (crc8Maxim(s, 0, 8) != s[8]) return b.reset() ? Err.Checksum : Err.NoDevice;
    return Err.Ok;
  }

  /** The conversion wait is over. */
  private tick_(): void {
    this.timer_ = null;
    let e: number;
    try {
      e = this.collect_();
    } catch (x) {
      e = Err.Bus;
    }
    if (e != PENDING) this.end_(e);
  }

  /** Step 3's completion check, then steps 4 and 5; PENDING when a timer is armed again. */
  private collect_(): number {
    // "Convert T [44h]": read slots answer 0 while an externally powered part converts, 1 when it is done;
    // meaningful only while the bus is still ours (another sensor's CONVERT T would answer for its own part)
    if (lastUser === this && this.bus_.read() != 0xff) {
      if (++this.polls_ > MAX_POLLS) return this.readScratchpad_() || Err.Timeout; // a line held low reads 0s too
      this.timer_ = this.clock_.after(conversionMs(this.bits_) / 4, this.onTick_);
      return PENDING;
    }
    const e = this.readScratchpad_();
    if (e) return e;
    const raw = this.sp_[0]! | (this.sp_[1]! << 8);
    if (raw != POWER_ON) return this.decode_(raw);
    if (this.retried_) return Err.Range;
    this.retried_ = true;
    const e2 = this.start_();
    return e2 ? e2 : PENDING;
  }

  /** Step 5: the temperature register to °C, at the resolution the configuration byte states. */
  private decode_(raw: number): Err {
    const bits = ((this.sp_[4]! >> 5) & 3) + 9;
    // a part reset since step 1 reloaded its EEPROM configuration: write ours again next time
    if (bits != this.bits_) this.set_ = false;
    const t = sixteenths(raw, bits);
    if (t < -55 * 16 || t > 125 * 16) return Err.Range;
    this.r_.tempC = t / 16;
    return Err.Ok;
  }

  /** Reports `e` later, from the clock. Any error makes the next read write the configuration again. */
  private end_(e: Err): void {
    if (e) this.set_ = false;
    this.err_ = e;
    this.timer_ = this.clock_.after(0, this.onDone_);
  }

  private done_(): void {
    this.timer_ = null;
    const cb = this.cb_;
    this.cb_ = null;
    if (cb) cb(this.err_, this.err_ ? null : this.r_);
  }
}

/** Espruino-style: `connect(bus, { clock, rom, resolution })`. No I/O. */
export function connect(bus: OneWireBus, o: Ds18b20Options): Ds18b20 {
  return new Ds18b20(bus, o);
}
