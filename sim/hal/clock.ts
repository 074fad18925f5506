/**
 * A virtual clock (lib/hal/net.ts's Clock) written in the Espruino subset, so that simulated sites can run
 * inside device bundles on Espruino's Linux build (test/device/sensors.ts). sim/clock.ts's VirtualClock cannot go
 * there: its constructor has a default parameter and the file also holds the Node-only real clock.
 *
 * Same rules as VirtualClock: nothing happens until time is moved on; timers run in time order, timers due at the
 * same time in the order they were set. Times are milliseconds as doubles, so sub-millisecond timers (the DHT
 * protocol's microsecond edges) keep their times exactly as given, which no real timer could do.
 */
import { Clock } from "../../lib/hal/net";

interface Timer {
  at: number;
  fn: () => void;
}

export class SimClock implements Clock {
  private t_: number;
  /** Armed timers, by time, then by the order they were set. */
  private readonly q_: Timer[] = [];

  constructor(start?: number) {
    this.t_ = start || 0;
  }

  now(): number {
    return this.t_;
  }

  after(ms: number, fn: () => void): unknown {
    const tm: Timer = { at: this.t_ + (ms > 0 ? ms : 0), fn: fn };
    const q = this.q_;
    let i = q.length;
    while (i > 0 && q[i - 1]!.at > tm.at) i--;
    q.splice(i, 0, tm);
    return tm;
  }

  cancel(h: unknown): void {
    const i = this.q_.indexOf(h as Timer);
    if (i >= 0) this.q_.splice(i, 1);
  }

  /** Timers set and not yet run. */
  get armed(): number {
    return this.q_.length;
  }

  /** Runs the next timer, moving time to it (never back); false when none is armed. */
  step(): boolean {
    const tm = this.q_.shift();
    if (!tm) return false;
    if (tm.at > this.t_) this.t_ = tm.at;
    tm.fn();
    return true;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t_ + ms;
    while (this.q_.length && this.q_[0]!.at <= end) this.step();
    this.t_ = end;
  }

  /**
   * Runs timers until `done()` holds, no timer is armed, or the next one is more than `limitMs` away from now;
   * returns `done()`.
   */
  runUntil(done: () => boolean, limitMs: number): boolean {
    const end = this.t_ + limitMs;
    while (!done() && this.q_.length && this.q_[0]!.at <= end) this.step();
    return done();
  }
}
