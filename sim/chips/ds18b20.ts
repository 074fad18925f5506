/**
 * A simulated DS18B20 (Maxim datasheet 19-7487) for sim/hal/onewire.ts's bus: the function-command state
 * machine of the datasheet, with time from the injected clock and temperatures from a Scenario.
 *
 * - "64-Bit Lasered ROM Code" (Figure 6): family code 28h, a 48-bit serial number (least significant byte
 *   first), CRC-8 of those 7 bytes (Figure 10's generator, x^8 + x^5 + x^4 + 1).
 * - "Memory" (Figures 7, 9): scratchpad bytes 0-1 temperature, 2 TH, 3 TL, 4 configuration, 5 reserved (FFh),
 *   6 reserved (0Ch, as parts read), 7 reserved (10h), 8 CRC of bytes 0-7. TH, TL and configuration have
 *   EEPROM copies loaded at power-on and by RECALL E2. Power-on temperature register 0550h, +85 °C (Table 1),
 *   so a fresh part's scratchpad is 50 05 4B 46 7F FF 0C 10 1C with the factory TH/TL/config.
 * - "Configuration Register" (Figure 8, Table 2): R1 R0 in bits 6-5 choose 9-12 bits; the other bits read 1
 *   (bits 4-0) and 0 (bit 7) whatever is written. Conversion time 93.75 / 187.5 / 375 / 750 ms (Table 2's
 *   maxima, used as the part's time here); the bits a lower resolution leaves undefined (Figure 2 text) are
 *   filled with seeded noise, so a driver must clear them itself.
 * - Function commands (Table 3): CONVERT T [44h] (read slots then answer 0 while converting and 1 when done,
 *   if externally powered; a parasite-powered part leaves the line high, and without the strong pull-up
 *   (`write(0x44, true)`) it browns out: power-on reset), WRITE SCRATCHPAD [4Eh] (3 bytes: TH, TL, config),
 *   READ SCRATCHPAD [BEh] (up to 9 bytes; the bytes as they were when the command came, so a read during a
 *   conversion gets the previous temperature), COPY SCRATCHPAD [48h], RECALL E2 [B8h], READ POWER SUPPLY [B4h].
 * - "Operation—Alarm Signaling": after each conversion the alarm flag is set when the temperature's bits 11-4
 *   are <= TL or >= TH (signed bytes); ALARM SEARCH [ECh] finds it.
 *
 * Faults on demand: `unplugged` (no presence pulse, never drives the line; `plug()` brings it back through a
 * power-on reset, as a real replug does), `unplugAfter` (unplugged after that many bytes of the next READ
 * SCRATCHPAD: 0 gives all FFh), `badCrc` (scratchpad CRC byte inverted), `slow` (conversion time × N),
 * `stuck85` (every conversion leaves the power-on value 0550h, as a part that resets while converting). Espruino subset: it also
 * runs inside device bundles.
 */
import { Clock } from "../../lib/hal/net";
import { OneWireDevice } from "../hal/onewire";
import { Scenario, seeded } from "./scenario";

export interface SimDs18b20Options {
  clock: Clock;
  scenario: Scenario;
  /** 48-bit serial number (default 1). */
  serial?: number;
  /** EEPROM at power-on: TH, TL, configuration (defaults 4Bh, 46h, 7Fh: +75 °C, +70 °C, 12 bits). */
  th?: number;
  tl?: number;
  config?: number;
  /** Parasite powered (VDD grounded): cannot signal conversion done; needs the strong pull-up. */
  parasite?: boolean;
  /** Seed of the noise in undefined low bits (default the serial). */
  seed?: number;
}

/** Table 2: conversion time, ms, by R1 R0. */
const TCONV = [93.75, 187.5, 375, 750];

/** CRC-8, Figure 10: the shift register fed one bit at a time, least significant bit first. */
export function dowCrc(b: Uint8Array, n: number): number {
  let crc = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 8; k++) {
      const fb = (crc ^ (b[i]! >> k)) & 1;
      crc >>= 1;
      if (fb) crc ^= 0x8c; // feedback into stages 8, 5, 4 (x^8 + x^5 + x^4 + 1, reflected)
    }
  }
  return crc;
}

export class SimDs18b20 implements OneWireDevice {
  readonly rom = new Uint8Array(8);
  /** The ROM as Espruino's search() gives it. */
  readonly romHex: string;
  // ---- faults ----
  unplugged = false;
  unplugAfter = -1;
  badCrc = false;
  slow = 1;
  stuck85 = false;
  // ---- counters ----
  conversions = 0;
  /** Power-on resets (plug(), brown-out). */
  powerOns = 0;

  private readonly o_: SimDs18b20Options;
  private readonly noise_: () => number;
  /** Scratchpad bytes 0-7 (8 is computed when read). */
  private readonly sp_ = new Uint8Array(9);
  /** What READ SCRATCHPAD shifts out. */
  private readonly out_ = new Uint8Array(9);
  /** EEPROM: TH, TL, config. */
  private readonly ee_ = new Uint8Array(3);
  /** Function command under way (0: waiting for one; FFh: ignoring until reset). */
  private cmd_ = 0;
  private idx_ = 0;
  /** End of the conversion under way, clock ms; -1: none. */
  private doneAt_ = -1;
  private alarm_ = false;

  constructor(o: SimDs18b20Options) {
    this.o_ = o;
    let s = o.serial === undefined ? 1 : o.serial;
    this.rom[0] = 0x28;
    for (let i = 1; i < 7; i++) {
      this.rom[i] = s % 256;
      s = Math.floor(s / 256);
    }
    this.rom[7] = dowCrc(this.rom, 7);
    let h = "";
    for (let i = 0; i < 8; i++) h += (this.rom[i]! < 16 ? "0" : "") + this.rom[i]!.toString(16);
    this.romHex = h;
    this.noise_ = seeded(o.seed === undefined ? (o.serial === undefined ? 1 : o.serial) : o.seed);
    this.ee_[0] = o.th === undefined ? 0x4b : o.th;
    this.ee_[1] = o.tl === undefined ? 0x46 : o.tl;
    this.ee_[2] = ((o.config === undefined ? 0x7f : o.config) & 0x60) | 0x1f;
    this.powerOn_();
  }

  /** Resolution now in the configuration register, bits. */
  get resolution(): number {
    return ((this.sp_[4]! >> 5) & 3) + 9;
  }

  /** The scratchpad as it is now (bytes 0-7 and the CRC), a copy. */
  scratchpad(): Uint8Array {
    this.tick_();
    const b = new Uint8Array(9);
    b.set(this.sp_.subarray(0, 8));
    b[8] = dowCrc(b, 8);
    return b;
  }

  /** Plugged back in: a power-on reset. */
  plug(): void {
    this.unplugged = false;
    this.powerOn_();
  }

  /** Power-on reset: temperature +85 °C, TH/TL/config from EEPROM ("Memory", Figure 7). */
  private powerOn_(): void {
    const s = this.sp_;
    s[0] = 0x50;
    s[1] = 0x05;
    s.set(this.ee_, 2);
    s[5] = 0xff;
    s[6] = 0x0c;
    s[7] = 0x10;
    this.doneAt_ = -1;
    this.cmd_ = 0xff;
    this.alarm_ = false;
    this.powerOns++;
  }

  // ---- OneWireDevice ----

  reset(): boolean {
    if (this.unplugged) return false;
    this.tick_();
    this.cmd_ = 0;
    this.idx_ = 0;
    return true;
  }

  alarm(): boolean {
    this.tick_();
    return this.alarm_;
  }

  write(v: number, power: boolean): void {
    if (this.unplugged) return;
    this.tick_();
    if (this.cmd_ == 0) this.command_(v, power);
    else if (this.cmd_ == 0x4e) this.writeScratchpad_(v);
  }

  read(): number {
    if (this.unplugged) return 0xff;
    this.tick_();
    if (this.cmd_ == 0xbe) return this.readScratchpad_();
    if (this.cmd_ == 0x44) return this.doneAt_ >= 0 && !this.o_.parasite ? 0 : 0xff;
    if (this.cmd_ == 0xb4) return this.o_.parasite ? 0 : 0xff;
    return 0xff;
  }

  // ---- Table 3 ----

  private command_(v: number, power: boolean): void {
    this.cmd_ = v;
    this.idx_ = 0;
    if (v == 0x44) this.convert_(power);
    else if (v == 0xbe) this.latch_();
    else if (v == 0x48) this.ee_.set(this.sp_.subarray(2, 5));
    else if (v == 0xb8) this.sp_.set(this.ee_, 2);
    else if (v != 0x4e && v != 0xb4) this.cmd_ = 0xff;
  }

  private convert_(power: boolean): void {
    if (this.o_.parasite && !power) {
      this.powerOn_(); // no strong pull-up: the conversion current browns the part out
      return;
    }
    this.conversions++;
    this.doneAt_ = this.o_.clock.now() + TCONV[(this.sp_[4]! >> 5) & 3]! * this.slow;
  }

  /** WRITE SCRATCHPAD: TH, TL, then the configuration byte (only R1 R0 are writable). */
  private writeScratchpad_(v: number): void {
    if (this.idx_ < 2) this.sp_[2 + this.idx_] = v;
    else if (this.idx_ == 2) this.sp_[4] = (v & 0x60) | 0x1f;
    if (++this.idx_ >= 3) this.cmd_ = 0xff;
  }

  /** READ SCRATCHPAD takes the bytes as they are when the command arrives. */
  private latch_(): void {
    this.out_.set(this.sp_.subarray(0, 8));
    const c = dowCrc(this.out_, 8);
    this.out_[8] = this.badCrc ? c ^ 0xff : c;
  }

  private readScratchpad_(): number {
    if (this.unplugAfter == this.idx_) {
      this.unplugAfter = -1;
      this.unplugged = true;
      return 0xff;
    }
    return this.idx_ < 9 ? this.out_[this.idx_++]! : 0xff;
  }

  /** Ends a conversion whose time has come: the temperature register and the alarm flag. */
  private tick_(): void {
    if (this.doneAt_ < 0 || this.o_.clock.now() < this.doneAt_) return;
    const at = this.doneAt_;
    this.doneAt_ = -1;
    const r = this.stuck85 ? 0x0550 : this.measure_(at);
    this.sp_[0] = r & 0xff;
    this.sp_[1] = (r >> 8) & 0xff;
    const t8 = r >> 4; // bits 11-4, signed
    this.alarm_ = t8 <= ((this.sp_[3]! << 24) >> 24) || t8 >= ((this.sp_[2]! << 24) >> 24);
  }

  /** The scenario's temperature at `t` as the register holds it: 1/16 °C, undefined low bits noise. */
  private measure_(t: number): number {
    let r = Math.round(this.o_.scenario.tempC(t) * 16);
    if (r < -55 * 16) r = -55 * 16;
    if (r > 125 * 16) r = 125 * 16;
    const undef = (1 << (3 - ((this.sp_[4]! >> 5) & 3))) - 1;
    return (r & ~undef) | (Math.floor(this.noise_() * 8) & undef);
  }
}
