/**
 * A simulated DHT22 (AM2302) or DHT11 on a SimPin (sim/hal/pin.ts): the single-wire protocol state machine of
 * the datasheets, with values from a Scenario and faults on demand.
 *
 * Protocol (AM2302 datasheet §7, "single-bus communication", and its signal characteristics table; DHT11
 * datasheet §5.2-§5.4, "overall communication process", "MCU sends out start signal to DHT", "DHT responds to
 * MCU", "DHT sends data to MCU"):
 * - the host holds the line low for the start signal: AM2302 T_be ≥ 0.8 ms (max 20 ms, longer is ignored
 *   here too); DHT11 ≥ 18 ms. A shorter or longer low is ignored;
 * - after the host releases the line the sensor waits T_go (20-40 µs here, datasheet 20-200 µs), pulls low for
 *   T_rel 80 µs (75-85) and releases for T_reh 80 µs (75-85);
 * - 40 bits, most significant first: T_LOW 50 µs low (48-55), then high T_H0 26-28 µs (22-30) for 0 or T_H1
 *   70 µs (68-75) for 1; then T_en 50 µs low (45-55) and the line is released;
 * - data (AM2302 §7 "data format"; DHT11 §5.1): DHT22 RH × 10 (16 bits), T × 10 (15 bits, bit 15 the sign);
 *   DHT11 RH integer, 0, T integer, T tenths (bit 7 set below 0 °C, as later DHT11 revisions do); byte 4 the
 *   low 8 bits of the sum of bytes 0-3.
 * Every duration gets a seeded jitter inside the datasheet range. The next sample is measured when asked for
 * (the scenario at the start signal's end); start signals closer together than the sampling period (AM2302
 * 2 s, DHT11 1 s) are still answered but counted in `tooSoon`.
 *
 * Faults (set the fields): `unplugged` (no response at all: the pull-up holds the line high), `badChecksum` (byte 4 off by one), `truncateAfter` k (the frame stops after k bits:
 * unplugged mid-read), `stuckLow()` (the line held low: no edges at all), `slowUs` (the response comes this
 * much later than T_go, beyond the datasheet's maximum). `values` forces the next readings (for out-of-range
 * tests); null takes them from the scenario. Espruino subset: it also runs inside device bundles.
 */
import { Scenario, seeded } from "./scenario";
import { PinDevice, SimPin } from "../hal/pin";

export interface DhtChipOptions {
  type: 22 | 11;
  scenario: Scenario;
  /** Jitter seed (default 1). */
  seed?: number;
}

/** Nominal durations and jitter amplitudes, µs (AM2302 signal characteristics table; DHT11 §5.3/§5.4). */
const T_GO = 30;
const T_GO_J = 10;
const T_RESP = 80;
const T_LOW = 50;
const T_H0 = 27;
const T_H1 = 70;
const T_EN = 50;
const J = 2; // ± µs on T_rel, T_reh, T_LOW, T_H1, T_en; ±1 µs on T_H0 (26-28)

function clampInt(v: number, lo: number, hi: number): number {
  const r = Math.round(v);
  return r < lo ? lo : r > hi ? hi : r;
}

/** The 5 data bytes for a reading, as the chip sends them (also used by tests as the encoder). */
export function dhtEncode(type: number, tempC: number, rhPct: number, out: Uint8Array): Uint8Array {
  if (type == 22) {
    const rh = clampInt(rhPct * 10, 0, 0xffff);
    const t = clampInt((tempC < 0 ? -tempC : tempC) * 10, 0, 0x7fff);
    out[0] = rh >> 8;
    out[1] = rh & 0xff;
    out[2] = (t >> 8) | (tempC < 0 && t > 0 ? 0x80 : 0);
    out[3] = t & 0xff;
  } else {
    const t10 = clampInt((tempC < 0 ? -tempC : tempC) * 10, 0, 2559);
    const ti = (t10 / 10) | 0;
    out[0] = clampInt(rhPct, 0, 255);
    out[1] = 0;
    out[2] = ti;
    out[3] = (t10 - ti * 10) | (tempC < 0 && t10 > 0 ? 0x80 : 0);
  }
  out[4] = (out[0]! + out[1]! + out[2]! + out[3]!) & 0xff;
  return out;
}

export class DhtChip implements PinDevice {
  /** No response to start signals (unplugged). */
  unplugged = false;
  /** The checksum byte is sent off by one. */
  badChecksum = false;
  /** Stop after this many bits (unplugged mid-read); -1: the whole frame. */
  truncateAfter = -1;
  /** Extra delay before the response, µs (slow to answer). */
  slowUs = 0;
  /** Forced reading for the next frames; null: from the scenario. */
  values: { tempC: number; rhPct: number } | null = null;
  /** Frames started (responses sent). */
  frames = 0;
  /** Start signals earlier than the sampling period after the previous one. */
  tooSoon = 0;
  /** The last frame's 5 bytes (as sent, checksum fault included). */
  readonly frame = new Uint8Array(5);
  private readonly rnd_: () => number;
  private readonly minLow_: number;
  private readonly maxLow_: number;
  private readonly period_: number;
  private lowAt_ = -1;
  private lastStart_ = -1;
  private stuck_ = false;

  constructor(private readonly pin_: SimPin, readonly o: DhtChipOptions) {
    this.rnd_ = seeded(o.seed || 1);
    this.minLow_ = o.type == 11 ? 18 : 0.8;
    this.maxLow_ = o.type == 11 ? 30 : 20;
    this.period_ = o.type == 11 ? 1000 : 2000;
    pin_.attach(this);
  }

  /** Holds the line low (true) until released (false): a stuck bus. */
  stuckLow(on: boolean): void {
    this.stuck_ = on;
    this.pin_.cancelPulls();
    this.pin_.pull(on);
  }

  /** Removes the chip from the wire. */
  remove(): void {
    this.pin_.cancelPulls();
    this.pin_.detach(this);
  }

  host(low: boolean, atMs: number): void {
    if (low) { this.lowAt_ = atMs; return; }
    const held = atMs - this.lowAt_;
    const start = this.lowAt_ >= 0 && held >= this.minLow_ && held <= this.maxLow_;
    this.lowAt_ = -1;
    if (!start || this.unplugged || this.stuck_) return;
    if (this.lastStart_ >= 0 && atMs - this.lastStart_ < this.period_) this.tooSoon++;
    this.lastStart_ = atMs;
    this.send_(atMs);
  }

  /** ± a µs, seeded. */
  private j_(a: number): number {
    return (this.rnd_() * 2 - 1) * a;
  }

  private sample_(atMs: number): Uint8Array {
    const v = this.values;
    const sc = this.o.scenario;
    dhtEncode(this.o.type, v ? v.tempC : sc.tempC(atMs), v ? v.rhPct : sc.rhPct(atMs), this.frame);
    if (this.badChecksum) this.frame[4] = (this.frame[4]! + 1) & 0xff;
    return this.frame;
  }

  /** Schedules the response and the frame on the pin, times in µs from the host's release. */
  private send_(atMs: number): void {
    const b = this.sample_(atMs);
    this.frames++;
    const p = this.pin_;
    let us = T_GO + this.j_(T_GO_J) + this.slowUs;
    p.pullAt(atMs + us / 1000, true);
    us += T_RESP + this.j_(J);
    p.pullAt(atMs + us / 1000, false);
    us += T_RESP + this.j_(J);
    p.pullAt(atMs + us / 1000, true);
    const n = this.truncateAfter >= 0 && this.truncateAfter < 40 ? this.truncateAfter : 40;
    for (let i = 0; i < n; i++) {
      const one = (b[i >> 3]! >> (7 - (i & 7))) & 1;
      us += T_LOW + this.j_(J);
      p.pullAt(atMs + us / 1000, false);
      us += one ? T_H1 + this.j_(J) : T_H0 + this.j_(1);
      p.pullAt(atMs + us / 1000, true);
    }
    us += T_EN + this.j_(J);
    p.pullAt(atMs + us / 1000, false);
  }
}
