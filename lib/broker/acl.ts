/**
 * Mosquitto-style authentication and ACL (mosquitto.conf(5), acl_file): known user names checked by an injected
 * password verifier, anonymous access on or off, and rules `[user] read|write|readwrite|deny topic` where the
 * topic may hold `+`, `#`, `%u` (user name) and `%c` (client id). With rules, everything not allowed is denied,
 * and a matching `deny` rule wins over any allow. Rule topics are split into levels once, at construction;
 * checks walk the topic or filter with indexOf and make no strings.
 */
import { Auth } from "./types";
import { sharedFilterAt } from "./share";

export interface AclRule {
  /** The user the rule is for; absent: every client, like Mosquitto's `pattern` lines. */
  user?: string;
  access: "read" | "write" | "readwrite" | "deny";
  /** A topic filter; may contain + # %u %c */
  topic: string;
}

export interface AclOptions {
  /** Known user names */
  users: string[];
  /** Allow clients without a user name */
  anonymous: boolean;
  /** null: no ACL, every client accepted has full access */
  rules: AclRule[] | null;
  /** Checks a known user's password (hashing stays with the host) */
  verify: (user: string, password: Uint8Array | null) => boolean;
}

const PLUS = 43; // '+'
const HASH = 35; // '#'
const SLASH = 47; // '/'
const DOLLAR = 36; // '$'
const PERCENT = 37; // '%'
const LOWER_U = 117; // 'u'
const LOWER_C = 99; // 'c'

// level kinds
const LIT = 0;
const ONE = 1; // '+'
const ALL = 2; // '#'
const TPL = 3; // text with %u / %c

// access bits
const READ = 1;
const WRITE = 2;
const DENY = 4;

// substitution flags of a rule, and the same bits for what makes a name unsafe there (see unsafe())
const USES_U = 1; // %u somewhere | the user name contains + # or /
const USES_C = 2; // %c somewhere | the client id contains + # or /
const LEADS_U = 4; // the rule starts with %u | the user name starts with $
const LEADS_C = 8; // the rule starts with %c | the client id starts with $

/** One rule, split at construction. */
interface Rule {
  /** null: every client */
  user_: string | null;
  acc_: number;
  /** Level texts (LIT, TPL); "" for wildcards */
  lv_: string[];
  kd_: Uint8Array;
  /** USES_U | USES_C | LEADS_U | LEADS_C */
  fl_: number;
}

const ACCESS: { [k: string]: number } = { read: READ, write: WRITE, readwrite: READ | WRITE, deny: DENY };

function ruleOf(r: AclRule): Rule {
  const lv = r.topic.split("/");
  const kd = new Uint8Array(lv.length);
  for (let i = 0; i < lv.length; i++) {
    const l = lv[i] as string;
    if (l == "+" || l == "#") {
      kd[i] = l == "+" ? ONE : ALL;
      lv[i] = "";
    } else kd[i] = l.indexOf("%u") >= 0 || l.indexOf("%c") >= 0 ? TPL : LIT;
  }
  const t = r.topic;
  const fl = (t.indexOf("%u") >= 0 ? USES_U : 0) | (t.indexOf("%c") >= 0 ? USES_C : 0) |
    (t.indexOf("%u") == 0 ? LEADS_U : 0) | (t.indexOf("%c") == 0 ? LEADS_C : 0);
  return { user_: r.user ?? null, acc_: ACCESS[r.access] as number, lv_: lv, kd_: kd, fl_: fl };
}

/**
 * What makes a substitution unsafe for this client: `+`, `#` or `/` in the user name (USES_U) or client id
 * (USES_C), and a leading `$` (LEADS_U / LEADS_C). Substituted, such a name would escape into another client's
 * tree: user `a/b` with `home/%u/#` would reach user `a`'s `home/a/b/...`, user `+` or `#` would turn a rule into
 * a wildcard over every user's tree (Mosquitto refuses these names for the same reason), and client id `$SYS`
 * with `%c/#` would reach the broker's `$SYS/...` [MQTT-4.7.2-1]. A rule whose substitution is unsafe never
 * allows anything, and a `deny` rule in that case denies everything (fail closed: skipping it could only
 * grant access).
 */
function unsafe(s: string | null, uses: number, leads: number): number {
  if (s == null) return 0;
  const f = s.length > 0 && s.charCodeAt(0) == DOLLAR ? leads : 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == PLUS || c == HASH || c == SLASH) return f | uses;
  }
  return f;
}

/** The end of the level that starts at `i`: the next '/' or the end of the string. */
function levelEnd(s: string, i: number): number {
  const e = s.indexOf("/", i);
  return e < 0 ? s.length : e;
}

/** The kind of filter level f[i..e). */
function kindAt(f: string, i: number, e: number): number {
  if (e - i != 1) return LIT;
  const c = f.charCodeAt(i);
  return c == PLUS ? ONE : c == HASH ? ALL : LIT;
}

/** Is text `a` the same as t[ts..te)? */
function sameText(a: string, t: string, ts: number, te: number): boolean {
  if (a.length != te - ts) return false;
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) != t.charCodeAt(ts + i)) return false;
  return true;
}

/** Is template `p` (with %u and %c replaced by u and c) the same as t[ts..te)? Builds no string. */
function sameTemplate(p: string, t: string, ts: number, te: number, u: string, c: string): boolean {
  let i = 0;
  while (i < p.length) {
    const ch = p.charCodeAt(i);
    const nx = i + 1 < p.length ? p.charCodeAt(i + 1) : 0;
    if (ch == PERCENT && (nx == LOWER_U || nx == LOWER_C)) {
      const v = nx == LOWER_U ? u : c;
      if (ts + v.length > te || !sameText(v, t, ts, ts + v.length)) return false;
      ts += v.length;
      i += 2;
    } else {
      if (ts >= te || t.charCodeAt(ts) != ch) return false;
      ts++;
      i++;
    }
  }
  return ts == te;
}

/** Is rule level k (LIT or TPL) the same as t[ts..te)? */
function sameLevel(r: Rule, k: number, t: string, ts: number, te: number, u: string, c: string): boolean {
  const p = r.lv_[k] as string;
  return r.kd_[k] == TPL ? sameTemplate(p, t, ts, te, u, c) : sameText(p, t, ts, te);
}

/** Does the rule match topic name t? (`+`, `#` with its parent level, the `$` rule [MQTT-4.7.2-1]) */
function matchTopic(r: Rule, t: string, u: string, c: string): boolean {
  const kd = r.kd_;
  if (kd[0] != LIT && kd[0] != TPL && t.charCodeAt(0) == DOLLAR) return false;
  let ti = 0;
  let done = false; // every level of t consumed
  for (let k = 0; k < kd.length; k++) {
    if (kd[k] == ALL) return true;
    if (done) return false;
    const te = levelEnd(t, ti);
    if (kd[k] != ONE && !sameLevel(r, k, t, ti, te, u, c)) return false;
    if (te == t.length) done = true;
    else ti = te + 1;
  }
  return done;
}

/**
 * Does the rule cover filter f, i.e. match every topic f can match? Level by level: rule `#` covers the rest
 * (and the parent, as `a/#` matches `a`), rule `+` covers one level, filter `+` included, but not filter `#`
 * (except `+/#` and `x/+/#`, see below); a literal covers only the same literal. A rule starting with a wildcard covers no
 * filter starting with `$` [MQTT-4.7.2-1].
 */
function covers(r: Rule, f: string, u: string, c: string): boolean {
  const kd = r.kd_;
  const dollar = f.charCodeAt(0) == DOLLAR;
  let fi = 0;
  let done = false;
  for (let k = 0; k < kd.length; k++) {
    if (kd[k] == ALL) return !(k == 0 && dollar);
    if (done) return false;
    const fe = levelEnd(f, fi);
    const fk = kindAt(f, fi, fe);
    // filter `#` needs rule `#`, save where its parent cannot be a topic: rule `+/#` covers `#` (a topic has a
    // first level) and `/#` (whose parent would be "", not a topic [MQTT-4.7.3-1])
    if (fk == ALL) return kd.length == k + 2 && kd[k] == ONE && kd[k + 1] == ALL && (k == 0 || (k == 1 && fi == 1));
    if (kd[k] == ONE) {
      if (k == 0 && dollar) return false;
    } else if (fk == ONE || !sameLevel(r, k, f, fi, fe, u, c)) return false;
    if (fe == f.length) done = true;
    else fi = fe + 1;
  }
  return done;
}

/**
 * At the first level, with a wildcard on one side at least: is the other side a literal starting with `$`? A
 * wildcard there matches no `$` topic [MQTT-4.7.2-1], so the two share no topic.
 */
function dollarApart(r: Rule, f: string, fk: number): boolean {
  const rk = r.kd_[0];
  if (rk == ONE || rk == ALL) return fk == LIT && f.charCodeAt(0) == DOLLAR;
  return (r.lv_[0] as string).charCodeAt(0) == DOLLAR;
}

/**
 * Are the rule and filter f, both known to share one first level, forced to make it empty? Then a `#` after it
 * matching its parent would match the topic "", which cannot exist [MQTT-4.7.3-1].
 */
function emptyFirst(r: Rule, f: string, u: string, c: string): boolean {
  const fe = levelEnd(f, 0);
  if (kindAt(f, 0, fe) == LIT) return fe == 0;
  const rk = r.kd_[0];
  return (rk == LIT || rk == TPL) && sameLevel(r, 0, f, 0, 0, u, c);
}

/** Is there a topic that both the rule and filter f match? */
function overlaps(r: Rule, f: string, u: string, c: string): boolean {
  const kd = r.kd_;
  // a rule `%u` of a user "" is "": it matches no topic [MQTT-4.7.3-1]
  if (kd.length == 1 && kd[0] == TPL && sameLevel(r, 0, f, 0, 0, u, c)) return false;
  let fi = 0;
  let done = false;
  for (let k = 0; k < kd.length; k++) {
    const rk = kd[k];
    // f ended: the rule's `#` still matches f's one topic [MQTT-4.7.1-2], unless that would be ""
    if (done) return rk == ALL && !(k == 1 && emptyFirst(r, f, u, c));
    const fe = levelEnd(f, fi);
    const fk = kindAt(f, fi, fe);
    if (rk == ONE || rk == ALL || fk != LIT) {
      if (k == 0 && dollarApart(r, f, fk)) return false;
      if (rk == ALL || fk == ALL) return true;
    } else if (!sameLevel(r, k, f, fi, fe, u, c)) return false;
    if (fe == f.length) done = true;
    else fi = fe + 1;
  }
  // the rule ended: f must end too, or go on with `#` alone (which matches its parent, unless that is "")
  if (done) return true;
  return kindAt(f, fi, f.length) == ALL && !(kd.length == 1 && emptyFirst(r, f, u, c));
}

/** Authentication and ACL from a Mosquitto-style configuration (the `Auth` the broker asks). */
export class Acl implements Auth {
  private readonly users_: string[];
  private readonly anon_: boolean;
  private readonly verify_: (user: string, password: Uint8Array | null) => boolean;
  private readonly rules_: Rule[] | null;

  constructor(o: AclOptions) {
    this.users_ = o.users.slice();
    this.anon_ = o.anonymous;
    this.verify_ = o.verify;
    this.rules_ = o.rules == null ? null : o.rules.map(ruleOf);
  }

  /** 0: accepted; 4: unknown user, wrong password, or a password without a user name; 5: anonymous refused. */
  login(clientId: string, username: string | null, password: Uint8Array | null): number {
    void clientId;
    if (username == null) return password != null ? 4 : this.anon_ ? 0 : 5;
    return this.users_.indexOf(username) >= 0 && this.verify_(username, password) ? 0 : 4;
  }

  /** The filter must be covered by a read rule, and overlap no deny rule. */
  /** A shared subscription is checked by its filter, without `$share/{ShareName}/` (lib/broker/share.ts). */
  canSubscribe(clientId: string, username: string | null, filter: string): boolean {
    const at = sharedFilterAt(filter);
    return this.check_(clientId, username, at > 0 ? filter.substring(at) : filter, READ, true);
  }

  canRead(clientId: string, username: string | null, topic: string): boolean {
    return this.check_(clientId, username, topic, READ, false);
  }

  canWrite(clientId: string, username: string | null, topic: string): boolean {
    return this.check_(clientId, username, topic, WRITE, false);
  }

  /** Default deny: some rule with `need` must hit, and no deny rule. */
  private check_(cid: string, user: string | null, t: string, need: number, sub: boolean): boolean {
    const rules = this.rules_;
    if (rules == null) return true;
    const bad = unsafe(user, USES_U, LEADS_U) | unsafe(cid, USES_C, LEADS_C);
    let ok = false;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as Rule;
      const deny = r.acc_ == DENY;
      if (!deny && (ok || (r.acc_ & need) == 0)) continue; // once allowed, only deny rules can change it
      if (!this.hit_(r, cid, user, t, sub, bad)) continue;
      if (deny) return false;
      ok = true;
    }
    return ok;
  }

  /** Does rule r apply to this client and match t (a topic, or a filter when sub)? */
  private hit_(r: Rule, cid: string, user: string | null, t: string, sub: boolean, bad: number): boolean {
    if (r.user_ != null && r.user_ !== user) return false;
    if (user == null && (r.fl_ & USES_U) != 0) return false; // %u without a user name: never applies
    const deny = r.acc_ == DENY;
    if ((r.fl_ & bad) != 0) return deny; // unsafe substitution, see unsafe()
    const u = user ?? "";
    if (!sub) return matchTopic(r, t, u, cid);
    return deny ? overlaps(r, t, u, cid) : covers(r, t, u, cid);
  }
}
