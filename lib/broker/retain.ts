/**
 * Retained messages [MQTT-3.3.1-5]: one per topic, replaced by the next retained message on that topic, removed
 * by a retained message with an empty payload, which is itself not stored [MQTT-3.3.1-10] [MQTT-3.3.1-11]. Kept
 * within a count and a payload-byte budget; a new one over either is not kept (the caller counts it).
 */
import { Msg } from "./types";
import { matches } from "./match";

export class Retained {
  /** Messages kept, and their payload bytes. */
  count = 0;
  bytes = 0;
  // keys are " " + topic: a plain object is the only dictionary Espruino has, and " " keeps topics such as
  // "constructor" from meeting the members every object inherits
  private t_: { [k: string]: Msg } = {};

  constructor(private readonly max_: number, private readonly maxBytes_: number) {}

  /** Stores, replaces or (empty payload) removes. Returns false when a new message did not fit the limits. */
  set(m: Msg): boolean {
    const k = " " + m.tp_;
    const old = this.t_[k];
    const was = old ? old.pl_.length : 0;
    if (!m.pl_.length) {
      if (old) { delete this.t_[k]; this.count--; this.bytes -= was; }
      return true;
    }
    if ((old ? this.count : this.count + 1) > this.max_ || this.bytes - was + m.pl_.length > this.maxBytes_) return false;
    if (!old) this.count++;
    this.bytes += m.pl_.length - was;
    this.t_[k] = m;
    return true;
  }

  /** Calls `f` for each retained message whose topic `filter` matches (with the `$` rule). */
  each(filter: string, f: (m: Msg) => void): void {
    for (const k in this.t_) {
      const m = this.t_[k]!;
      if (matches(filter, m.tp_)) f(m);
    }
  }

  /** Every retained message (persistence). */
  all(f: (m: Msg) => void): void {
    for (const k in this.t_) f(this.t_[k]!);
  }
}
