/**
 * Per-field publish filters of the telemetry node (issue 7, requirement 3). Platform-neutral: time comes in as
 * `nowMs` from the caller's injected clock (STYLE rule 10). Every buffer is allocated in the constructor.
 *
 * One `FieldFilter` per field, in this order:
 * - `average: N`: moving average over the last N samples (a fixed Float64Array ring). Until N samples have
 *   come, the average of the samples so far.
 * - `delta: D`: a value is a change when |average - last published value| > D. Without `delta`, every sample
 *   is a change.
 * - `minInterval: ms`: no two publishes closer than this. A change inside the interval is HELD, not dropped:
 *   the first `offer()` or `poll()` at or after (last publish + minInterval) publishes the newest average,
 *   unless by then it has come back within `delta` of the last published value (nothing left to tell).
 *   `nextDue()` says when to call `poll()` so a held change goes out without waiting for the next sample.
 * - `maxInterval: ms`: heartbeat: publish the newest average when this long has passed since the last
 *   publish, changed or not. Must be >= minInterval.
 * The first sample is always published.
 */
import { Err } from "../errors";
import { Reading } from "../drivers/types";

export interface FieldFilterOptions {
  /** Samples in the moving average, 1..AVERAGE_MAX (absent or 1: no averaging). */
  average?: number;
  /** Publish on a change greater than this (absolute, in the field's unit). Absent: every sample. */
  delta?: number;
  /** Milliseconds between publishes at least. */
  minInterval?: number;
  /** Milliseconds between publishes at most (heartbeat). Absent or 0: no heartbeat. */
  maxInterval?: number;
}

/** What a filter set reads: a driver's Reading or any record of numeric fields. */
export type FieldSource = Reading | { readonly [field: string]: number | undefined };

/** Filter options per field name. */
export interface FilterSpec {
  [field: string]: FieldFilterOptions;
}

export const AVERAGE_MAX = 64;

function badCount(v: number | undefined, lo: number, hi: number): boolean {
  return v !== undefined && !(v >= lo && v <= hi && Math.floor(v) === v);
}

function badAmount(v: number | undefined): boolean {
  return v !== undefined && !(v >= 0 && v < Infinity);
}

/** Err.Argument when the options are out of range (for the build-time config check), else Err.Ok. */
export function checkFilterOptions(o: FieldFilterOptions): Err {
  if (badCount(o.average, 1, AVERAGE_MAX)) return Err.Argument;
  if (badAmount(o.delta) || badAmount(o.minInterval) || badAmount(o.maxInterval)) return Err.Argument;
  const mx = o.maxInterval ?? 0;
  if (mx > 0 && mx < (o.minInterval ?? 0)) return Err.Argument;
  return Err.Ok;
}

/** Err.Argument when a spec names a field that is not in `fields` or has bad options, else Err.Ok. */
export function checkFilterSpec(fields: string[], spec: FilterSpec): Err {
  for (const k in spec) {
    const o = spec[k];
    if (fields.indexOf(k) < 0 || !o) return Err.Argument;
    if (checkFilterOptions(o)) return Err.Argument;
  }
  return Err.Ok;
}

export class FieldFilter {
  /** The value to publish, valid after `offer()` or `poll()` returned true. */
  value = 0;
  private readonly buf_: Float64Array;
  private n_ = 0; // samples in buf_
  private i_ = 0; // next slot of buf_
  private readonly delta_: number; // -1: every sample is a change
  private readonly min_: number;
  private readonly max_: number; // 0: no heartbeat
  private last_ = 0; // last published value
  private lastMs_ = 0;
  private published_ = false;
  private pending_ = false;

  constructor(o: FieldFilterOptions) {
    const a = o.average ?? 1;
    this.buf_ = new Float64Array(a > 1 ? Math.min(Math.floor(a), AVERAGE_MAX) : 1);
    this.delta_ = o.delta === undefined ? -1 : o.delta;
    this.min_ = o.minInterval ?? 0;
    this.max_ = o.maxInterval ?? 0;
  }

  /** The moving average of the samples so far (0 before the first). */
  get current(): number {
    const n = this.n_;
    if (!n) return 0;
    let s = 0;
    for (let k = 0; k < n; k++) s += this.buf_[k] as number;
    return s / n;
  }

  /** True when a change is held for the end of minInterval. */
  get pending(): boolean {
    return this.pending_;
  }

  /** Takes a sample; true when the caller should publish `value` now. */
  offer(v: number, nowMs: number): boolean {
    const b = this.buf_;
    b[this.i_] = v;
    this.i_ = this.i_ + 1 === b.length ? 0 : this.i_ + 1;
    if (this.n_ < b.length) this.n_++;
    if (this.changed_(this.current)) this.pending_ = true;
    return this.poll(nowMs);
  }

  /** Without a new sample: true when a held change or a heartbeat is due now (publish `value`). */
  poll(nowMs: number): boolean {
    if (!this.n_) return false;
    if (!this.published_) return this.publish_(nowMs);
    const since = nowMs - this.lastMs_;
    if (this.max_ > 0 && since >= this.max_) return this.publish_(nowMs);
    if (!this.pending_ || since < this.min_) return false;
    if (this.changed_(this.current)) return this.publish_(nowMs);
    this.pending_ = false; // came back within delta while held
    return false;
  }

  /** Milliseconds until `poll()` may publish (0: now), or -1 when nothing is scheduled. */
  nextDue(nowMs: number): number {
    if (!this.n_) return -1;
    if (!this.published_) return 0;
    let due = -1;
    if (this.pending_) due = this.lastMs_ + this.min_;
    if (this.max_ > 0 && (due < 0 || this.lastMs_ + this.max_ < due)) due = this.lastMs_ + this.max_;
    return due < 0 ? -1 : Math.max(0, due - nowMs);
  }

  /** Forgets samples and publish history (a sensor restarted). */
  reset(): void {
    this.n_ = 0;
    this.i_ = 0;
    this.published_ = false;
    this.pending_ = false;
  }

  private changed_(avg: number): boolean {
    if (!this.published_ || this.delta_ < 0) return true;
    return Math.abs(avg - this.last_) > this.delta_;
  }

  private publish_(nowMs: number): boolean {
    const v = this.current;
    this.value = v;
    this.last_ = v;
    this.lastMs_ = nowMs;
    this.published_ = true;
    this.pending_ = false;
    return true;
  }
}

/**
 * The filters of one sensor's fields. `fields` lists the fields to publish; a field without options in `spec`
 * gets a filter with none (every sample published). After `offer()`/`poll()`, `out` holds exactly the fields
 * due now with their filtered values, and the return value is their number.
 */
export class Filters {
  readonly names: string[];
  readonly filters: FieldFilter[];
  readonly out: { [field: string]: number } = {};

  constructor(fields: string[], spec: FilterSpec) {
    this.names = fields.slice();
    this.filters = [];
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k] as string;
      this.filters.push(new FieldFilter(spec[f] ?? {}));
    }
  }

  /** Takes a reading (missing fields are skipped); the number of fields due now, in `out`. */
  offer(r: FieldSource, nowMs: number): number {
    const src = r as { readonly [field: string]: number | undefined };
    let n = 0;
    for (let k = 0; k < this.names.length; k++) {
      const name = this.names[k] as string;
      const f = this.filters[k] as FieldFilter;
      const v = src[name];
      if (typeof v === "number" && f.offer(v, nowMs)) n += this.set_(name, f.value);
      else this.clear_(name);
    }
    return n;
  }

  /** Held changes and heartbeats due now, without a new reading; the number of fields due, in `out`. */
  poll(nowMs: number): number {
    let n = 0;
    for (let k = 0; k < this.names.length; k++) {
      const name = this.names[k] as string;
      const f = this.filters[k] as FieldFilter;
      if (f.poll(nowMs)) n += this.set_(name, f.value);
      else this.clear_(name);
    }
    return n;
  }

  /** Milliseconds until some field may be due (0: now), or -1 when nothing is scheduled. */
  nextDue(nowMs: number): number {
    let due = -1;
    for (let k = 0; k < this.filters.length; k++) {
      const d = (this.filters[k] as FieldFilter).nextDue(nowMs);
      if (d >= 0 && (due < 0 || d < due)) due = d;
    }
    return due;
  }

  private set_(name: string, v: number): number {
    this.out[name] = v;
    return 1;
  }

  private clear_(name: string): void {
    if (this.out[name] !== undefined) delete this.out[name];
  }
}
