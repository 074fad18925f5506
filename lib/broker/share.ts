/**
 * Shared subscriptions, `$share/{ShareName}/{filter}` (MQTT 5.0 §4.8.2), for level 4 and level 5 clients alike,
 * as Mosquitto and EMQX allow: every session subscribed with the same ShareName and filter is a member of one
 * group, and each message that matches the filter goes to one member of the group, not to all of them.
 *
 * `SharedSubs` is a subscription table (the `Subs` of match.ts) that wraps the broker's ordinary table, so the
 * broker core is unchanged and a device broker that has no use for shared subscriptions carries none of this
 * code: filters starting with `$share/` go to the groups, all others to the ordinary table. `match` visits the
 * ordinary entries, then for each group whose filter matches, one member, chosen in turn (round robin from the
 * member after the last one chosen), preferring members whose client is connected; a group of offline
 * persistent sessions still gets its messages, queued in the session next in turn, so nothing is lost while a
 * consumer is away. A session that holds both an ordinary and a shared subscription matching a message gets one
 * copy, at the higher QoS (the broker merges a session's matches); that copy is also the group's.
 *
 * A filter that starts with `$share/` but is not a well-formed shared subscription (an empty ShareName, one
 * with `+` or `#`, or no filter after it [MQTT-4.8.2-1] [MQTT-4.8.2-2]) is kept as an ordinary filter, which is
 * what it is at MQTT 3.1.1; it then matches only topics that start with `$share/`.
 */
import { Subs } from "./match";
import type { Session } from "./session";

/** The sessions subscribed to one `$share/{ShareName}/{filter}`. */
export interface Group {
  /** The whole filter as subscribed, `$share/...`. */
  readonly f_: string;
  /** Members and the QoS each was granted, in the order they joined. */
  readonly m_: Session[];
  readonly q_: number[];
  /** Where the next turn starts (an index into m_, taken modulo its length). */
  n_: number;
}

const PREFIX = "$share/";

/**
 * The index in `f` where the filter of a well-formed shared subscription starts, or -1 when `f` is not one: a
 * ShareName of at least one character without `/`, `+` or `#` [MQTT-4.8.2-1] [MQTT-4.8.2-2], then `/` and a
 * filter that is not empty.
 */
export function sharedFilterAt(f: string): number {
  if (f.lastIndexOf(PREFIX, 0) != 0) return -1;
  const e = f.indexOf("/", PREFIX.length);
  if (e <= PREFIX.length || e + 1 >= f.length) return -1;
  const name = f.substring(PREFIX.length, e);
  return name.indexOf("+") >= 0 || name.indexOf("#") >= 0 ? -1 : e + 1;
}

/** A subscription table with shared subscriptions (see above). */
export class SharedSubs implements Subs<Session> {
  /** Groups by whole filter (" " in front, as for sessions). */
  private readonly g_: { [k: string]: Group } = {};
  /** Members of all groups. */
  private n_ = 0;

  /**
   * @param t_ the ordinary table.
   * @param gt_ a table of the groups, by their filter (the part after the ShareName).
   */
  constructor(readonly t_: Subs<Session>, readonly gt_: Subs<Group>) {}

  /** Entries in the ordinary table plus members of every group (so the broker's maxSubs counts both). */
  get size(): number {
    return this.t_.size + this.n_;
  }

  /** Number of groups. */
  get groups(): number {
    let n = 0;
    for (const k in this.g_) if (this.g_[k]) n++;
    return n;
  }

  /** The group of the whole filter `f`, if any session holds it. */
  group(f: string): Group | undefined {
    return this.g_[" " + f];
  }

  add(filter: string, s: Session, qos: number): boolean {
    const at = sharedFilterAt(filter);
    if (at < 0) return this.t_.add(filter, s, qos);
    let g = this.g_[" " + filter];
    if (!g) {
      g = { f_: filter, m_: [], q_: [], n_: 0 };
      this.g_[" " + filter] = g;
      this.gt_.add(filter.substring(at), g, 0);
    }
    const j = g.m_.indexOf(s);
    if (j >= 0) { g.q_[j] = qos; return false; }
    g.m_.push(s);
    g.q_.push(qos);
    this.n_++;
    return true;
  }

  remove(filter: string, s: Session): boolean {
    const at = sharedFilterAt(filter);
    if (at < 0) return this.t_.remove(filter, s);
    const g = this.g_[" " + filter];
    const j = g ? g.m_.indexOf(s) : -1;
    if (!g || j < 0) return false;
    g.m_.splice(j, 1);
    g.q_.splice(j, 1);
    if (g.n_ > j) g.n_--; // the turn stays with the member that had it
    this.n_--;
    if (!g.m_.length) {
      delete this.g_[" " + filter];
      this.gt_.remove(filter.substring(at), g);
    }
    return true;
  }

  qos(filter: string, s: Session): number {
    if (sharedFilterAt(filter) < 0) return this.t_.qos(filter, s);
    const g = this.g_[" " + filter];
    const j = g ? g.m_.indexOf(s) : -1;
    return j < 0 ? -1 : g!.q_[j]!;
  }

  match(topic: string, visit: (s: Session, qos: number, filter: string) => void): void {
    this.t_.match(topic, visit);
    this.v_ = visit;
    this.gt_.match(topic, this.pick_);
    this.v_ = null;
  }

  /** The visitor of the current match (no closure is made per message). */
  private v_: ((s: Session, qos: number, filter: string) => void) | null = null;

  /** One member of a matching group: the next connected one in turn, or the next one when none is connected. */
  private readonly pick_ = (g: Group): void => {
    const m = g.m_;
    const n = m.length;
    let j = g.n_ % n;
    for (let k = 0; k < n; k++) {
      const c = (g.n_ + k) % n;
      if (m[c]!.peer_) { j = c; break; }
    }
    g.n_ = (j + 1) % n;
    this.v_!(m[j]!, g.q_[j]!, g.f_);
  };
}
