/**
 * A simulated 1-Wire bus (the mock behind lib/hal/onewire.ts's OneWireBus) with simulated devices attached
 * (sim/chips/). It behaves as Espruino's `OneWire` object does (jswrap_onewire.c, Espruino 2v29):
 *
 * - `reset()`: true when some device answers with a presence pulse (or the line is held low: a stuck bus
 *   looks like presence to a master, as on the real wire).
 * - `select(rom)`: a reset first (Espruino's select always resets), then MATCH ROM [55h] and the 8 ROM bytes;
 *   `rom` is 16 hex digits, byte 0 (family code) first, each byte high digit first; another length throws, as
 *   Espruino's TypeError does.
 * - `skip()`: SKIP ROM [CCh]. `write(data, power)`: a byte or an array of bytes, least significant bit first.
 * - `read()`: 8 read slots, one byte; `read(n)`: n bytes in a new Uint8Array, as Espruino returns them.
 * - `search(command)`: SEARCH ROM [F0h] (or `command`, e.g. ALARM SEARCH [ECh]) done bit by bit with Maxim
 *   Application Note 187's algorithm, as Espruino does it (including its stop when a ROM's byte 0 is 0): the
 *   ROMs found as 16 lowercase hex digits, byte 0 first (Espruino's `itoch` gives lowercase).
 *
 * The wire is a wired AND: when several selected devices answer a read slot, a 0 from any of them wins. The
 * bus handles the ROM layer (Maxim "1-Wire ROM commands": READ ROM 33h, MATCH ROM 55h, SKIP ROM CCh, SEARCH
 * ROM F0h, ALARM SEARCH ECh); a device sees the function-command bytes once it is selected, and every reset.
 * Written in the Espruino subset: it also runs inside device bundles on Espruino's Linux build.
 */
import { OneWireBus } from "../../lib/hal/onewire";

/** One device on the bus. */
export interface OneWireDevice {
  /** The 64-bit ROM, byte 0 (family code) first, byte 7 its CRC. */
  readonly rom: Uint8Array;
  /** A reset pulse: the device returns to waiting for a ROM command; true: it answers with a presence pulse. */
  reset(): boolean;
  /** Its alarm flag (ALARM SEARCH [ECh] finds only devices with it set). */
  alarm(): boolean;
  /** A byte from the master once the device is selected; `power`: the master holds the line high after it. */
  write(v: number, power: boolean): void;
  /** 8 read slots once selected: the bits it leaves high (0xFF: it does not drive the line). */
  read(): number;
}

/** What the bus does with the next byte or slot. */
const enum Phase { Idle, Rom, Match, Func, ReadRom, Search }

export class SimOneWire implements OneWireBus {
  /** The line held low (a fault): resets see "presence", reads see 0s, a search finds nothing. */
  stuck = false;
  /** Reset pulses and bytes moved each way (for tests: bus traffic per reading). */
  resets = 0;
  writes = 0;
  reads = 0;
  private readonly devs_: OneWireDevice[] = [];
  /** Per device: takes part in the current ROM command / is selected for function commands. */
  private on_: boolean[] = [];
  private phase_ = Phase.Idle;
  private idx_ = 0;

  attach(d: OneWireDevice): void {
    this.devs_.push(d);
    this.on_.push(false);
  }

  detach(d: OneWireDevice): void {
    const i = this.devs_.indexOf(d);
    if (i < 0) return;
    this.devs_.splice(i, 1);
    this.on_.splice(i, 1);
  }

  reset(): boolean {
    this.resets++;
    let any = false;
    for (let i = 0; i < this.devs_.length; i++) {
      const p = this.devs_[i]!.reset();
      this.on_[i] = p;
      any = any || p;
    }
    this.phase_ = Phase.Rom;
    return any || this.stuck;
  }

  select(rom: string): void {
    if (typeof rom != "string" || rom.length != 16) throw new Error("Invalid OneWire device address " + rom);
    this.reset();
    this.byte_(0x55, false);
    for (let i = 0; i < 8; i++) this.byte_(parseInt(rom.substr(2 * i, 2), 16) & 0xff, false);
  }

  skip(): void {
    this.byte_(0xcc, false);
  }

  write(data: number | number[], power?: boolean): void {
    if (typeof data == "number") {
      this.byte_(data & 0xff, !!power);
      return;
    }
    for (let i = 0; i < data.length; i++) this.byte_(data[i]! & 0xff, !!power && i == data.length - 1);
  }

  read(): number;
  read(count: number): Uint8Array;
  read(count?: number): number | Uint8Array {
    if (count === undefined) return this.slots_();
    const b = new Uint8Array(count);
    for (let i = 0; i < count; i++) b[i] = this.slots_();
    return b;
  }

  search(command?: number): string[] {
    const out: string[] = [];
    const cmd = command && command > 0 && command < 256 ? command : 0xf0;
    const romNo = new Uint8Array(8);
    let last = 0; // LastDiscrepancy
    for (;;) {
      if (!this.reset()) return out;
      this.byte_(cmd, false);
      const lastZero = this.searchPass_(romNo, last);
      if (lastZero < 0 || !romNo[0]) return out; // no device answered; Espruino also stops at a 0 family byte
      out.push(hex(romNo));
      if (lastZero == 0) return out; // LastDeviceFlag
      last = lastZero;
    }
  }

  /**
   * One pass of AN187's search over 64 bits: `romNo` holds the previous ROM and gets the new one. Returns the
   * last bit position (1-based) where 0 was taken at a discrepancy, 0 if none, -1 if no device answered.
   */
  private searchPass_(romNo: Uint8Array, lastDiscrepancy: number): number {
    let lastZero = 0;
    for (let n = 1; n <= 64; n++) {
      const byte = (n - 1) >> 3;
      const mask = 1 << ((n - 1) & 7);
      const id = this.bit_(n - 1, false);
      const cmp = this.bit_(n - 1, true);
      if (id && cmp) return -1;
      let dir: number;
      if (id != cmp) dir = id;
      else if (n < lastDiscrepancy) dir = romNo[byte]! & mask ? 1 : 0;
      else dir = n == lastDiscrepancy ? 1 : 0;
      if (!dir && id == cmp) lastZero = n;
      if (dir) romNo[byte] = romNo[byte]! | mask;
      else romNo[byte] = romNo[byte]! & ~mask;
      this.choose_(n - 1, dir);
    }
    return lastZero;
  }

  /** A search read slot at ROM bit `k`: the wired AND of the taking-part devices' bit (or its complement). */
  private bit_(k: number, complement: boolean): number {
    if (this.stuck) return 0;
    if (this.phase_ != Phase.Search) return 1;
    let v = 1;
    for (let i = 0; i < this.devs_.length; i++) {
      if (!this.on_[i]) continue;
      let b = (this.devs_[i]!.rom[k >> 3]! >> (k & 7)) & 1;
      if (complement) b ^= 1;
      v &= b;
    }
    return v;
  }

  /** The search write slot: devices whose bit `k` differs from `dir` stop taking part. */
  private choose_(k: number, dir: number): void {
    if (this.phase_ != Phase.Search) return;
    for (let i = 0; i < this.devs_.length; i++) {
      if (this.on_[i] && ((this.devs_[i]!.rom[k >> 3]! >> (k & 7)) & 1) != dir) this.on_[i] = false;
    }
    if (k == 63) this.phase_ = Phase.Func; // the one device left is selected
  }

  /** A byte written by the master. */
  private byte_(v: number, power: boolean): void {
    this.writes++;
    if (this.stuck) return;
    if (this.phase_ == Phase.Rom) this.romCommand_(v);
    else if (this.phase_ == Phase.Match) this.match_(v);
    else if (this.phase_ == Phase.Func) {
      for (let i = 0; i < this.devs_.length; i++) if (this.on_[i]) this.devs_[i]!.write(v, power);
    }
  }

  private romCommand_(v: number): void {
    this.idx_ = 0;
    if (v == 0x55) this.phase_ = Phase.Match;
    else if (v == 0xcc) this.phase_ = Phase.Func;
    else if (v == 0x33) this.phase_ = Phase.ReadRom;
    else if (v == 0xf0 || v == 0xec) this.startSearch_(v == 0xec);
    else this.phase_ = Phase.Idle; // no device answers another ROM command
  }

  private startSearch_(alarmOnly: boolean): void {
    this.phase_ = Phase.Search;
    if (!alarmOnly) return;
    for (let i = 0; i < this.devs_.length; i++) if (this.on_[i] && !this.devs_[i]!.alarm()) this.on_[i] = false;
  }

  /** MATCH ROM: each ROM byte drops the devices it does not match. */
  private match_(v: number): void {
    for (let i = 0; i < this.devs_.length; i++) if (this.on_[i] && this.devs_[i]!.rom[this.idx_] != v) this.on_[i] = false;
    if (++this.idx_ == 8) this.phase_ = Phase.Func;
  }

  /** 8 read slots: 1s unless a device drives 0s (wired AND). */
  private slots_(): number {
    this.reads++;
    if (this.stuck) return 0;
    let v = 0xff;
    if (this.phase_ == Phase.Func) {
      for (let i = 0; i < this.devs_.length; i++) if (this.on_[i]) v &= this.devs_[i]!.read();
    } else if (this.phase_ == Phase.ReadRom && this.idx_ < 8) {
      for (let i = 0; i < this.devs_.length; i++) if (this.on_[i]) v &= this.devs_[i]!.rom[this.idx_]!;
      this.idx_++;
    }
    return v & 0xff;
  }
}

/** A ROM as Espruino's search() gives it: byte 0 first, two lowercase hex digits each. */
export function hex(rom: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += (rom[i]! < 16 ? "0" : "") + rom[i]!.toString(16);
  return s;
}
