/**
 * A simulated GPIO (the mock behind lib/hal/pin.ts's PinIo) on an injected clock, with simulated devices attached
 * to the same wire (sim/chips/dht.ts). It behaves as an Espruino pin with an external pull-up:
 *
 * - the line is low when the host drives it low ("output" or "opendrain*" with the latch low) or a device pulls
 *   it low, otherwise high (pull-up). A push-pull high against a device pulling low stays high and counts in
 *   `contention` (a driver bug on a real open-drain bus);
 * - `write`/`mode`/`pulse` act as Pin.write, pinMode and digitalPulse do (a pin never given a mode switches to
 *   "output" on write/pulse, as Espruino's automatic mode does; a pulse leaves the latch at the opposite value)
 *   and are recorded in `log` (the last LOG_MAX entries);
 * - `watch` reports each change of the line, filtered by `edge`, with Edge { state, time (s), lastTime (s) }
 *   where `lastTime` is the line's previous change in either direction, as on Espruino ("lastTime is the time
 *   at which the pin last changed state", jswrap_io.c). Times are the scheduled times (clock ms / 1000), so a
 *   late timer on a real clock still reports the edge at the time the device drove it.
 *
 * Devices (`attach(dev)`) see every change of the host's drive (`host(low, atMs)`) and drive the line through
 * `pull(low)` (now) or `pullAt(atMs, low)` (scheduled, in time order; one clock timer at a time serves the
 * queue, and on a late timer every due change is applied in order). `cancelPulls()` drops the queue (a device
 * unplugged). Written in the Espruino subset: it also runs inside device bundles on Espruino's Linux build.
 */
import { Clock } from "../../lib/hal/net";
import { Edge, PinIo, WatchOptions } from "../../lib/hal/pin";

/** A device on the wire. */
export interface PinDevice {
  /** The host started (`low`) or stopped pulling the line low, at `atMs` (clock ms). */
  host(low: boolean, atMs: number): void;
}

interface Watch {
  fn: (e: Edge) => void;
  /** -1 falling, 1 rising, 0 both. */
  edge: number;
  repeat: boolean;
  last: number;
  dead: boolean;
}

const LOG_MAX = 16;
/** Capacity of the scheduled device changes (a DHT frame needs 84). */
const QUEUE = 128;
/** Clock jitter allowed when a timer fires (ms). */
const EPS = 1e-9;

function hostDrives(m: string): boolean {
  return m == "output" || m.indexOf("opendrain") == 0;
}

export class SimPin implements PinIo {
  /** The last LOG_MAX calls: "mode opendrain", "write 1", "pulse 0 2", "watch", "unwatch". */
  readonly log: string[] = [];
  /** Watches set and not removed (for tests: every watch is removed). */
  watching = 0;
  watches = 0;
  unwatches = 0;
  /** Push-pull high against a device pulling low. */
  contention = 0;
  private mode_ = "";
  private out_ = true;
  private devLow_ = false;
  private level_ = true;
  private hostLow_ = false;
  private lastChange_ = 0;
  private readonly ws_: Watch[] = [];
  private readonly devs_: PinDevice[] = [];
  private readonly qt_ = new Float64Array(QUEUE);
  private readonly ql_ = new Uint8Array(QUEUE);
  private qh_ = 0;
  private qn_ = 0;
  private qtm_: unknown = null;
  private readonly run_ = (): void => this.runQueue_();

  constructor(readonly clock: Clock) {
    this.lastChange_ = clock.now();
  }

  attach(d: PinDevice): void {
    this.devs_.push(d);
  }

  detach(d: PinDevice): void {
    const i = this.devs_.indexOf(d);
    if (i >= 0) this.devs_.splice(i, 1);
  }

  /** The line level now. */
  get level(): boolean {
    return this.level_;
  }

  /** The mode last set ("" before any). */
  get currentMode(): string {
    return this.mode_;
  }

  // ---- PinIo (the host side) ----

  read(): boolean {
    return this.level_;
  }

  write(v: boolean): void {
    this.note_("write " + (v ? 1 : 0));
    if (this.mode_ == "") this.mode_ = "output";
    this.drive_(v, this.clock.now());
  }

  mode(m: string): void {
    this.note_("mode " + m);
    this.mode_ = m;
    this.update_(this.clock.now());
  }

  pulse(value: boolean, ms: number | number[]): void {
    this.note_("pulse " + (value ? 1 : 0) + " " + ms);
    if (this.mode_ == "") this.mode_ = "output";
    const t0 = this.clock.now();
    this.drive_(value, t0);
    const times = typeof ms == "number" ? [ms] : ms;
    let at = t0;
    let v = value;
    for (let i = 0; i < times.length; i++) {
      at += times[i]!;
      v = !v;
      this.hostAt_(at, v);
    }
  }

  watch(fn: (e: Edge) => void, o: WatchOptions): unknown {
    this.note_("watch");
    this.watches++;
    this.watching++;
    const w: Watch = { fn: fn, edge: o.edge == "falling" ? -1 : o.edge == "rising" ? 1 : 0, repeat: o.repeat,
      last: this.lastChange_ / 1000, dead: false };
    this.ws_.push(w);
    return w;
  }

  unwatch(h: unknown): void {
    this.note_("unwatch");
    this.unwatches++;
    const i = this.ws_.indexOf(h as Watch);
    if (i < 0) throw new Error("unwatch: no such watch"); // as clearWatch with a stale id
    this.remove_(i);
  }

  // ---- the device side ----

  /** A device pulls the line low (true) or releases it (false), now. */
  pull(low: boolean): void {
    this.devLow_ = low;
    this.update_(this.clock.now());
  }

  /** A device pulls low / releases at `atMs` (clock ms, not before the last one scheduled). */
  pullAt(atMs: number, low: boolean): void {
    if (this.qh_ + this.qn_ >= QUEUE) this.compact_();
    if (this.qn_ >= QUEUE) throw new Error("SimPin: device queue full");
    const i = this.qh_ + this.qn_++;
    this.qt_[i] = atMs;
    this.ql_[i] = low ? 1 : 0;
    if (this.qtm_ == null) this.arm_();
  }

  /** Drops every scheduled device change (the line keeps its current device drive). */
  cancelPulls(): void {
    this.qh_ = 0;
    this.qn_ = 0;
    if (this.qtm_ != null) { this.clock.cancel(this.qtm_); this.qtm_ = null; }
  }

  // ---- internals ----

  private note_(s: string): void {
    if (this.log.length >= LOG_MAX) this.log.shift();
    this.log.push(s);
  }

  private remove_(i: number): void {
    this.ws_[i]!.dead = true;
    this.ws_.splice(i, 1);
    this.watching--;
  }

  private drive_(v: boolean, at: number): void {
    this.out_ = v;
    this.update_(at);
  }

  private hostAt_(at: number, v: boolean): void {
    this.clock.after(at - this.clock.now(), () => this.drive_(v, at));
  }

  private compact_(): void {
    for (let i = 0; i < this.qn_; i++) {
      this.qt_[i] = this.qt_[this.qh_ + i]!;
      this.ql_[i] = this.ql_[this.qh_ + i]!;
    }
    this.qh_ = 0;
  }

  private arm_(): void {
    const d = this.qt_[this.qh_]! - this.clock.now();
    this.qtm_ = this.clock.after(d > 0 ? d : 0, this.run_);
  }

  private runQueue_(): void {
    this.qtm_ = null;
    const now = this.clock.now();
    while (this.qn_ > 0 && this.qt_[this.qh_]! <= now + EPS) {
      const at = this.qt_[this.qh_]!;
      this.devLow_ = this.ql_[this.qh_] == 1;
      this.qh_++;
      this.qn_--;
      this.update_(at);
    }
    if (this.qn_ == 0) this.qh_ = 0;
    else if (this.qtm_ == null) this.arm_();
  }

  /** Recomputes the line after any change of drive; tells devices and watches what changed. */
  private update_(at: number): void {
    const drives = hostDrives(this.mode_);
    const hostLow = drives && !this.out_;
    const pushHigh = this.mode_ == "output" && this.out_;
    if (hostLow != this.hostLow_) {
      this.hostLow_ = hostLow;
      for (let i = 0; i < this.devs_.length; i++) this.devs_[i]!.host(hostLow, at);
    }
    if (pushHigh && this.devLow_) this.contention++;
    const level = !(hostLow || (this.devLow_ && !pushHigh));
    if (level == this.level_) return;
    this.level_ = level;
    this.edge_(level, at);
  }

  private edge_(level: boolean, at: number): void {
    const t = at / 1000;
    this.lastChange_ = at;
    const ws = this.ws_.slice();
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      const last = w.last;
      w.last = t;
      if (w.dead || (w.edge < 0 && level) || (w.edge > 0 && !level)) continue;
      if (!w.repeat) this.remove_(this.ws_.indexOf(w));
      w.fn({ state: level, time: t, lastTime: last });
    }
  }
}
