/**
 * Topic matching [MQTT-4.7]: one name against one filter (`matches`), and the broker's subscription tables
 * (`Subs`): `SubIndex`, a trie keyed by topic levels whose `match` costs O(levels x branching), not
 * O(subscriptions), for the Node broker's thousands; and `SubList`, a flat list tried filter by filter with
 * `matches`, for a device's few (its code and each entry take a fraction of the trie's variables on Espruino).
 * Filters and names are assumed valid (lib/mqtt/topic.ts checked them in the codec).
 */

const PLUS = 43; // '+'
const HASH = 35; // '#'
const DOLLAR = 36; // '$'

/** Is filter[fs..fe) the same text as topic[ts..te)? (no substring made) */
function sameLevel(filter: string, fs: number, fe: number, topic: string, ts: number, te: number): boolean {
  if (fe - fs != te - ts) return false;
  for (; fs < fe; fs++, ts++) if (filter.charCodeAt(fs) != topic.charCodeAt(ts)) return false;
  return true;
}

/** The end of the level that starts at `i`: the next '/' or the end of the string. */
function levelEnd(s: string, i: number): number {
  const e = s.indexOf("/", i);
  return e < 0 ? s.length : e;
}

/**
 * Does `topic` match `filter`? `+` is one level, `#` the rest including the parent level (`a/#` matches `a`)
 * [MQTT-4.7.1-2] [MQTT-4.7.1-3]; empty levels are levels; a topic starting with `$` is not matched by a filter
 * starting with a wildcard [MQTT-4.7.2-1].
 */
export function matches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (tl > 0 && topic.charCodeAt(0) == DOLLAR && (filter.charCodeAt(0) == PLUS || filter.charCodeAt(0) == HASH)) return false;
  let fi = 0;
  let ti = 0;
  let done = false; // every level of the topic consumed
  for (;;) {
    const fe = levelEnd(filter, fi);
    const c = filter.charCodeAt(fi);
    if (fe - fi == 1 && c == HASH) return true;
    if (done) return false;
    const te = levelEnd(topic, ti);
    if (!(fe - fi == 1 && c == PLUS) && !sameLevel(filter, fi, fe, topic, ti, te)) return false;
    if (fe == fl) return te == tl;
    fi = fe + 1;
    if (te == tl) done = true;
    else ti = te + 1;
  }
}

/**
 * A subscription table: one entry per (filter, subscriber), with its QoS; a subscriber is compared with ===.
 * `visit` must not add or remove entries while `match` runs.
 */
export interface Subs<S> {
  /** Number of entries (filter, subscriber) */
  readonly size: number;
  /** Adds an entry, or replaces the QoS of the same filter and subscriber. True when the entry is new. */
  add(filter: string, s: S, qos: number): boolean;
  /** Removes an entry; true if it was there. */
  remove(filter: string, s: S): boolean;
  /** The QoS of the entry (filter, s), or -1 when there is none. */
  qos(filter: string, s: S): number;
  /** Calls visit once per entry whose filter matches `topic`, with the `$` rule [MQTT-4.7.2-1]. */
  match(topic: string, visit: (s: S, qos: number, filter: string) => void): void;
}

/** The flat table: three parallel arrays, in the order entries were added. */
export class SubList<S> implements Subs<S> {
  private readonly f_: string[] = [];
  private readonly s_: S[] = [];
  private readonly q_: number[] = [];

  get size(): number {
    return this.f_.length;
  }

  add(filter: string, s: S, qos: number): boolean {
    const j = this.at_(filter, s);
    if (j >= 0) { this.q_[j] = qos; return false; }
    this.f_.push(filter);
    this.s_.push(s);
    this.q_.push(qos);
    return true;
  }

  remove(filter: string, s: S): boolean {
    const j = this.at_(filter, s);
    if (j < 0) return false;
    this.f_.splice(j, 1);
    this.s_.splice(j, 1);
    this.q_.splice(j, 1);
    return true;
  }

  qos(filter: string, s: S): number {
    const j = this.at_(filter, s);
    return j < 0 ? -1 : this.q_[j]!;
  }

  match(topic: string, visit: (s: S, qos: number, filter: string) => void): void {
    const f = this.f_;
    for (let j = 0; j < f.length; j++) if (matches(f[j]!, topic)) visit(this.s_[j]!, this.q_[j]!, f[j]!);
  }

  /** Index of the entry (filter, s), or -1. */
  private at_(filter: string, s: S): number {
    for (let j = 0; j < this.s_.length; j++) if (this.s_[j] === s && this.f_[j] == filter) return j;
    return -1;
  }
}

/**
 * A trie node. Literal children are keyed "/" + level, so no key is ever an inherited member of a plain object
 * (`constructor`, `__proto__`, Espruino's `on`, ...). The subscribers whose filter ends here are kept in
 * parallel arrays; they all share one filter, kept once.
 */
interface Node<S> {
  /** Literal children, keyed "/" + level */
  k_?: { [key: string]: Node<S> | undefined };
  /** Number of literal children (with k_) */
  n_?: number;
  /** The `+` child */
  p_?: Node<S>;
  /** The `#` child */
  h_?: Node<S>;
  /** Subscribers whose filter ends at this node, and their QoS */
  s_?: S[];
  q_?: number[];
  /** The filter that ends at this node (with s_) */
  f_?: string;
}

function newNode<S>(): Node<S> {
  return {};
}

function isEmpty<S>(n: Node<S>): boolean {
  return n.k_ == null && n.p_ == null && n.h_ == null && n.s_ == null;
}

/** Calls visit for every subscriber of node n. */
function deliver<S>(n: Node<S>, visit: (s: S, qos: number, filter: string) => void): void {
  const s = n.s_;
  const q = n.q_;
  if (s == null || q == null) return;
  for (let j = 0; j < s.length; j++) visit(s[j] as S, q[j] as number, n.f_ as string);
}

/** The trie (see Subs). */
export class SubIndex<S> implements Subs<S> {
  private readonly root_: Node<S> = newNode<S>();
  private size_ = 0;
  private nodes_ = 0;

  /** Number of entries (filter, subscriber) */
  get size(): number {
    return this.size_;
  }

  /** Number of trie nodes below the root (memory in use; 0 when the table is empty) */
  get nodes(): number {
    return this.nodes_;
  }

  /** Adds an entry, or replaces the QoS of the same filter and subscriber. True when the entry is new. */
  add(filter: string, s: S, qos: number): boolean {
    let n = this.root_;
    let i = 0;
    for (;;) {
      const e = levelEnd(filter, i);
      n = this.child_(n, filter, i, e);
      if (e == filter.length) break;
      i = e + 1;
    }
    if (n.s_ == null || n.q_ == null) {
      n.s_ = [];
      n.q_ = [];
      n.f_ = filter;
    }
    const j = n.s_.indexOf(s);
    if (j >= 0) {
      n.q_[j] = qos;
      return false;
    }
    n.s_.push(s);
    n.q_.push(qos);
    this.size_++;
    return true;
  }

  /** The child of n for filter[i..e), made if missing. */
  private child_(n: Node<S>, filter: string, i: number, e: number): Node<S> {
    const c = filter.charCodeAt(i);
    if (e - i == 1 && c == PLUS) return n.p_ ?? (n.p_ = this.made_());
    if (e - i == 1 && c == HASH) return n.h_ ?? (n.h_ = this.made_());
    const key = "/" + filter.substring(i, e);
    if (n.k_ == null) {
      n.k_ = {};
      n.n_ = 0;
    }
    let m = n.k_[key];
    if (m == undefined) {
      m = this.made_();
      n.k_[key] = m;
      n.n_ = (n.n_ as number) + 1;
    }
    return m;
  }

  private made_(): Node<S> {
    this.nodes_++;
    return newNode<S>();
  }

  /** Removes an entry; true if it was there. Nodes left empty are removed. */
  remove(filter: string, s: S): boolean {
    return this.removeAt_(this.root_, filter, 0, s);
  }

  qos(filter: string, s: S): number {
    let n: Node<S> | null | undefined = this.root_;
    for (let i = 0; n && i <= filter.length;) {
      const e = levelEnd(filter, i);
      const c = filter.charCodeAt(i);
      if (e - i == 1 && c == PLUS) n = n.p_;
      else if (e - i == 1 && c == HASH) n = n.h_;
      else n = n.k_ == null ? undefined : n.k_["/" + filter.substring(i, e)];
      i = e + 1;
    }
    const j = n && n.s_ ? n.s_.indexOf(s) : -1;
    return j < 0 ? -1 : n!.q_![j]!;
  }

  /** Removes (filter, s) below n, filter[i..] being the levels left; prunes the child on the way back. */
  private removeAt_(n: Node<S>, filter: string, i: number, s: S): boolean {
    if (i > filter.length) return this.drop_(n, s);
    const e = levelEnd(filter, i);
    const c = filter.charCodeAt(i);
    let m: Node<S> | null | undefined;
    let key = "";
    if (e - i == 1 && c == PLUS) m = n.p_;
    else if (e - i == 1 && c == HASH) m = n.h_;
    else {
      key = "/" + filter.substring(i, e);
      m = n.k_ == null ? undefined : n.k_[key];
    }
    if (m == null || !this.removeAt_(m, filter, e + 1, s)) return false;
    if (isEmpty(m)) this.prune_(n, m, key);
    return true;
  }

  /** Removes subscriber s from node n's own list. */
  private drop_(n: Node<S>, s: S): boolean {
    const j = n.s_ == null ? -1 : n.s_.indexOf(s);
    if (j < 0 || n.s_ == null || n.q_ == null) return false;
    n.s_.splice(j, 1);
    n.q_.splice(j, 1);
    if (n.s_.length == 0) {
      delete n.s_;
      delete n.q_;
      delete n.f_;
    }
    this.size_--;
    return true;
  }

  /** Unlinks the empty child m from n (key: its literal key, "" for `+`/`#`). */
  private prune_(n: Node<S>, m: Node<S>, key: string): void {
    this.nodes_--;
    if (n.p_ === m) delete n.p_;
    else if (n.h_ === m) delete n.h_;
    else if (n.k_ != null) {
      delete n.k_[key];
      n.n_ = (n.n_ as number) - 1;
      if (n.n_ == 0) {
        delete n.k_;
        delete n.n_;
      }
    }
  }

  /**
   * Calls visit once per entry whose filter matches `topic` [MQTT-4.7.1-2] [MQTT-4.7.1-3], with the `$` rule
   * [MQTT-4.7.2-1]. Walks the topic with indexOf; the only strings made are the literal-child keys.
   */
  match(topic: string, visit: (s: S, qos: number, filter: string) => void): void {
    // "/" in front: the key of every level is then one substring, t[i..e), with its "/" included
    this.walk_(this.root_, "/" + topic, 0, visit);
  }

  /** Visits the matches below n; the level to match starts after the '/' at t[i] (i == t.length: none left). */
  private walk_(n: Node<S>, t: string, i: number, visit: (s: S, qos: number, filter: string) => void): void {
    if (i >= t.length) {
      // every level matched: the filters that end here, and `x/#` which matches its parent `x` [MQTT-4.7.1-2]
      deliver(n, visit);
      if (n.h_ != null) deliver(n.h_, visit);
      return;
    }
    // no wildcard at the first level for a topic starting with '$' [MQTT-4.7.2-1]
    const wild = i > 0 || t.charCodeAt(1) != DOLLAR;
    if (wild && n.h_ != null) deliver(n.h_, visit);
    const e = levelEnd(t, i + 1);
    if (n.k_ != null) {
      const m = n.k_[t.substring(i, e)];
      if (m != undefined) this.walk_(m, t, e, visit);
    }
    if (wild && n.p_ != null) this.walk_(n.p_, t, e, visit);
  }
}
