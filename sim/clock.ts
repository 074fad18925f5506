/** Clocks for the client on Node: the real one, and a virtual one that tests and the simulator advance. */
import type { Clock } from "../lib/hal/net";

export const realClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => setTimeout(fn, ms),
  cancel: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Timer { at: number; seq: number; fn: () => void }

/** Virtual time: nothing happens until `advance()`; timers run in time order, then in the order they were set. */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0) { this.t = start; }

  now(): number { return this.t; }

  after(ms: number, fn: () => void): unknown {
    const tm = { at: this.t + Math.max(ms, 0), seq: this.seq++, fn };
    this.timers.push(tm);
    return tm;
  }

  cancel(h: unknown): void {
    const i = this.timers.indexOf(h as Timer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Timers set and not yet run. */
  get armed(): number { return this.timers.length; }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const tm of this.timers) if (tm.at <= end && (!next || tm.at < next.at || (tm.at == next.at && tm.seq < next.seq))) next = tm;
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
