/**
 * lib/broker/acl.ts: CONNECT codes, Mosquitto-style rules (per user, for everyone, %u and %c), deny precedence,
 * subscription coverage and overlap with deny rules, names that would inject wildcards or levels, and a property
 * test against a reference that enumerates topics. Fixed seed (FUZZ_SEED).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Acl, AclOptions, AclRule } from "../lib/broker/acl";
import { matches } from "../lib/broker/match";

const SEED = Number(process.env.FUZZ_SEED ?? 0x41636c21);
const PW = new TextEncoder().encode("secret");

function acl(rules: AclRule[] | null, more?: Partial<AclOptions>): Acl {
  return new Acl({
    users: ["alice", "bob"],
    anonymous: true,
    rules,
    verify: (u, p) => p != null && Buffer.from(p).toString() === u + "-pw",
    ...more,
  });
}

const pw = (u: string) => new TextEncoder().encode(u + "-pw");

describe("login", () => {
  test("0: known user with the right password", () => {
    expect(acl(null).login("c", "alice", pw("alice"))).toBe(0);
  });

  test("4: unknown user name, even with a password the verifier would take", () => {
    const a = acl(null, { verify: () => true });
    expect(a.login("c", "mallory", PW)).toBe(4);
    expect(a.login("c", "mallory", null)).toBe(4);
  });

  test("4: wrong or missing password of a known user", () => {
    expect(acl(null).login("c", "alice", pw("bob"))).toBe(4);
    expect(acl(null).login("c", "alice", null)).toBe(4);
  });

  test("the verifier gets the user name and the password as sent", () => {
    const seen: [string, Uint8Array | null][] = [];
    const a = acl(null, { verify: (u, p) => { seen.push([u, p]); return true; } });
    expect(a.login("c", "bob", PW)).toBe(0);
    expect(a.login("c", "bob", null)).toBe(0);
    expect(seen).toEqual([["bob", PW], ["bob", null]]);
  });

  test("0 / 5: no user name, anonymous access on / off", () => {
    expect(acl(null, { anonymous: true }).login("c", null, null)).toBe(0);
    expect(acl(null, { anonymous: false }).login("c", null, null)).toBe(5);
  });

  test("4: a password without a user name, anonymous access on or off", () => {
    expect(acl(null, { anonymous: true }).login("c", null, PW)).toBe(4);
    expect(acl(null, { anonymous: false }).login("c", null, PW)).toBe(4);
  });

  test("an empty user name is a user name", () => {
    expect(acl(null).login("c", "", null)).toBe(4);
    expect(acl(null, { users: [""], verify: () => true }).login("c", "", null)).toBe(0);
  });
});

describe("rules", () => {
  test("rules null: full access for everyone", () => {
    const a = acl(null);
    expect(a.canWrite("c", null, "$SYS/x")).toBe(true);
    expect(a.canRead("c", "alice", "a/b")).toBe(true);
    expect(a.canSubscribe("c", null, "#")).toBe(true);
  });

  test("rules present but none matching: default deny", () => {
    const a = acl([]);
    expect(a.canWrite("c", "alice", "a")).toBe(false);
    expect(a.canRead("c", "alice", "a")).toBe(false);
    expect(a.canSubscribe("c", "alice", "a")).toBe(false);
  });

  test("read, write and readwrite grant what they say", () => {
    const a = acl([
      { access: "read", topic: "r/#" },
      { access: "write", topic: "w/#" },
      { access: "readwrite", topic: "rw/#" },
    ]);
    expect([a.canRead("c", null, "r/x"), a.canWrite("c", null, "r/x"), a.canSubscribe("c", null, "r/x")]).toEqual([true, false, true]);
    expect([a.canRead("c", null, "w/x"), a.canWrite("c", null, "w/x"), a.canSubscribe("c", null, "w/x")]).toEqual([false, true, false]);
    expect([a.canRead("c", null, "rw/x"), a.canWrite("c", null, "rw/x"), a.canSubscribe("c", null, "rw/x")]).toEqual([true, true, true]);
  });

  test("a rule with a user applies to that user only; one without applies to everyone, anonymous included", () => {
    const a = acl([{ user: "alice", access: "readwrite", topic: "alice/#" }, { access: "read", topic: "pub/#" }]);
    expect(a.canWrite("c", "alice", "alice/x")).toBe(true);
    expect(a.canWrite("c", "bob", "alice/x")).toBe(false);
    expect(a.canWrite("c", null, "alice/x")).toBe(false);
    for (const u of ["alice", "bob", null]) expect(a.canRead("c", u, "pub/news")).toBe(true);
  });

  test("[MQTT-4.7.2-1] a rule starting with a wildcard does not reach $ topics", () => {
    const a = acl([{ access: "readwrite", topic: "#" }, { access: "read", topic: "+/x" }]);
    expect(a.canRead("c", null, "$SYS/x")).toBe(false);
    expect(a.canWrite("c", null, "$SYS/broker/uptime")).toBe(false);
    expect(a.canSubscribe("c", null, "$SYS/#")).toBe(false);
    expect(acl([{ access: "read", topic: "$SYS/#" }]).canRead("c", null, "$SYS/x")).toBe(true);
  });

  test("[MQTT-4.7.1-2] a rule a/# reaches a itself", () => {
    const a = acl([{ access: "readwrite", topic: "a/#" }]);
    expect(a.canWrite("c", null, "a")).toBe(true);
    expect(a.canWrite("c", null, "ab")).toBe(false);
  });
});

describe("%u and %c", () => {
  const a = acl([
    { access: "readwrite", topic: "home/%u/#" },
    { access: "write", topic: "dev/%c/state" },
    { access: "read", topic: "cfg/dev-%c-%u/+" },
  ]);

  test("%u is the user name", () => {
    expect(a.canWrite("c1", "alice", "home/alice/lamp")).toBe(true);
    expect(a.canRead("c1", "alice", "home/alice")).toBe(true);
    expect(a.canWrite("c1", "alice", "home/bob/lamp")).toBe(false);
    expect(a.canWrite("c1", "bob", "home/bob/lamp")).toBe(true);
    expect(a.canWrite("c1", "alice", "home/alicex/lamp")).toBe(false);
    expect(a.canWrite("c1", "alice", "home/alic/lamp")).toBe(false);
  });

  test("%c is the client id", () => {
    expect(a.canWrite("c1", null, "dev/c1/state")).toBe(true);
    expect(a.canWrite("c2", null, "dev/c1/state")).toBe(false);
    expect(a.canRead("c1", null, "dev/c1/state")).toBe(false);
  });

  test("inside a level, several in one level", () => {
    expect(a.canRead("c1", "bob", "cfg/dev-c1-bob/x")).toBe(true);
    expect(a.canRead("c1", "bob", "cfg/dev-c1-bobx/x")).toBe(false);
    expect(a.canRead("c2", "bob", "cfg/dev-c1-bob/x")).toBe(false);
    expect(a.canSubscribe("c1", "bob", "cfg/dev-c1-bob/+")).toBe(true);
    expect(a.canSubscribe("c1", "bob", "cfg/+/+")).toBe(false);
  });

  test("an empty client id or user name is substituted as empty", () => {
    expect(a.canWrite("", null, "dev//state")).toBe(true);
    expect(a.canWrite("c", "", "home//x")).toBe(true);
  });

  test("%u never applies to a client without a user name", () => {
    expect(a.canWrite("c1", null, "home//lamp")).toBe(false);
    expect(a.canWrite("c1", null, "home/%u/lamp")).toBe(false);
    const d = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "home/%u/#" }]);
    expect(d.canWrite("c1", null, "home/x")).toBe(true);
  });

  test("subscribing to one's own tree", () => {
    expect(a.canSubscribe("c1", "alice", "home/alice/#")).toBe(true);
    expect(a.canSubscribe("c1", "alice", "home/alice/+/temp")).toBe(true);
    expect(a.canSubscribe("c1", "alice", "home/+/#")).toBe(false);
    expect(a.canSubscribe("c1", "alice", "home/#")).toBe(false);
  });
});

describe("deny", () => {
  test("a matching deny wins over an allow, before or after it", () => {
    for (const order of [0, 1]) {
      const rules: AclRule[] = [{ access: "readwrite", topic: "#" }, { access: "deny", topic: "secret/#" }];
      const a = acl(order ? rules.reverse() : rules);
      expect(a.canRead("c", null, "secret/x")).toBe(false);
      expect(a.canWrite("c", null, "secret")).toBe(false);
      expect(a.canRead("c", null, "public/x")).toBe(true);
    }
  });

  test("a deny for everyone wins over a user's own allow", () => {
    const a = acl([{ user: "alice", access: "readwrite", topic: "a/#" }, { access: "deny", topic: "a/admin" }]);
    expect(a.canWrite("c", "alice", "a/admin")).toBe(false);
    expect(a.canWrite("c", "alice", "a/other")).toBe(true);
  });

  test("a user's deny applies to that user only", () => {
    const a = acl([{ access: "readwrite", topic: "a/#" }, { user: "bob", access: "deny", topic: "a/+" }]);
    expect(a.canWrite("c", "bob", "a/x")).toBe(false);
    expect(a.canWrite("c", "bob", "a/x/y")).toBe(true);
    expect(a.canWrite("c", "alice", "a/x")).toBe(true);
  });

  test("a subscription that could receive a denied topic is refused", () => {
    const a = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "a/secret" }]);
    expect(a.canSubscribe("c", null, "#")).toBe(false);
    expect(a.canSubscribe("c", null, "a/+")).toBe(false);
    expect(a.canSubscribe("c", null, "+/secret")).toBe(false);
    expect(a.canSubscribe("c", null, "a/secret/#")).toBe(false); // [MQTT-4.7.1-2] includes a/secret itself
    expect(a.canSubscribe("c", null, "a/public")).toBe(true);
    expect(a.canSubscribe("c", null, "a/+/x")).toBe(true);
    expect(a.canSubscribe("c", null, "b/#")).toBe(true);
  });

  test("[MQTT-4.7.1-2] deny a/# overlaps a, deny a overlaps a/#", () => {
    const a = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "a/#" }]);
    expect(a.canSubscribe("c", null, "a")).toBe(false);
    expect(a.canSubscribe("c", null, "ab")).toBe(true);
    const b = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "a" }]);
    expect(b.canSubscribe("c", null, "a/#")).toBe(false);
    expect(b.canSubscribe("c", null, "a/+")).toBe(true);
  });

  test("[MQTT-4.7.3-1] deny + and filter /#, deny /# and filter +: they share only \"\", not a topic", () => {
    const a = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "+" }]);
    expect(a.canSubscribe("c", null, "/#")).toBe(true);
    expect(a.canSubscribe("c", null, "a/#")).toBe(false);
    const b = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "/#" }]);
    expect(b.canSubscribe("c", null, "+")).toBe(true);
    expect(b.canSubscribe("c", null, "+/+")).toBe(false);
    const c = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "%u/#" }]);
    expect(c.canSubscribe("c", "", "+")).toBe(true);
    expect(c.canSubscribe("c", "x", "+")).toBe(false);
  });

  test("[MQTT-4.7.2-1] deny # does not touch $SYS, deny $SYS/# does not touch #", () => {
    const a = acl([{ access: "read", topic: "$SYS/#" }, { access: "deny", topic: "#" }]);
    expect(a.canSubscribe("c", null, "$SYS/#")).toBe(true);
    expect(a.canRead("c", null, "$SYS/x")).toBe(true);
    const b = acl([{ access: "read", topic: "#" }, { access: "deny", topic: "$SYS/#" }]);
    expect(b.canSubscribe("c", null, "#")).toBe(true);
    expect(b.canSubscribe("c", null, "+/+")).toBe(true);
  });
});

describe("canSubscribe: the filter must be covered by one read rule", () => {
  // [rule, filter, covered]
  const COVER: [string, string, boolean][] = [
    ["a/#", "a/#", true],
    ["a/#", "a", true], // [MQTT-4.7.1-2]
    ["a/#", "a/b/+", true],
    ["a/#", "a/+/#", true],
    ["a/#", "#", false],
    ["a/#", "+/b", false],
    ["a/#", "b", false],
    ["a/+", "a/b", true],
    ["a/+", "a/+", true],
    ["a/+", "a/", true],
    ["a/+", "a/#", false],
    ["a/+", "a/b/c", false],
    ["a/+", "a", false],
    ["a/b", "a/b", true],
    ["a/b", "a/+", false],
    ["a/b", "a/b/#", false],
    ["a/b", "a//b", false],
    ["+/b", "x/b", true],
    ["+/b", "+/b", true],
    ["+/+", "+/#", false],
    ["+/#", "#", true], // rule + covering filter #: every topic has a first level
    ["+/#", "+/#", true],
    ["a/+/#", "a/#", false], // a/# matches a, a/+/# does not
    ["+/+/#", "#", false],
    ["+/+/#", "/#", true], // /# cannot match its parent "" [MQTT-4.7.3-1]
    ["/+/#", "/#", true],
    ["/+/#", "/+/#", true],
    ["#", "#", true],
    ["#", "+/x/#", true],
    ["#", "$SYS/#", false], // [MQTT-4.7.2-1]
    ["+/x", "$SYS/x", false], // [MQTT-4.7.2-1]
    ["$SYS/#", "$SYS/broker/+", true],
    ["$SYS/+", "$SYS/#", false],
    ["$SYS/#", "#", false],
  ];
  test.each(COVER)("rule %s, filter %s: %s", (rule, filter, want) => {
    expect(acl([{ access: "read", topic: rule }]).canSubscribe("c", null, filter)).toBe(want);
    expect(acl([{ access: "readwrite", topic: rule }]).canSubscribe("c", null, filter)).toBe(want);
    expect(acl([{ access: "write", topic: rule }]).canSubscribe("c", null, filter)).toBe(false);
  });
});

describe("names that would inject wildcards or levels into %u / %c", () => {
  const a = acl([
    { access: "readwrite", topic: "home/%u/#" },
    { access: "readwrite", topic: "dev/%c/#" },
    { access: "readwrite", topic: "%c/#" },
    { access: "read", topic: "pub/#" },
  ]);

  test("user + or # cannot reach other users' trees (a pattern with %u never allows)", () => {
    for (const u of ["+", "#", "a+", "#x"]) {
      expect(a.canRead("c", u, "home/bob/x")).toBe(false);
      expect(a.canSubscribe("c", u, "home/+/#")).toBe(false);
      expect(a.canSubscribe("c", u, "home/#")).toBe(false);
      expect(a.canWrite("c", u, "home/" + u + "/x")).toBe(false);
    }
  });

  test("user a/b cannot reach user a's tree through home/a/b/...", () => {
    expect(a.canWrite("c", "a/b", "home/a/b/x")).toBe(false);
    expect(a.canRead("c", "a/b", "home/a/b")).toBe(false);
    expect(a.canSubscribe("c", "a/b", "home/a/b/#")).toBe(false);
  });

  test("client id with + # or / likewise; rules without the substitution still apply", () => {
    for (const c of ["+", "#", "x/y"]) {
      expect(a.canWrite(c, "alice", "dev/x/y/z")).toBe(false);
      expect(a.canWrite(c, "alice", "dev/" + c + "/z")).toBe(false);
      expect(a.canWrite(c, "alice", "home/alice/z")).toBe(true); // %u is safe
      expect(a.canRead(c, "alice", "pub/x")).toBe(true);
    }
  });

  test("[MQTT-4.7.2-1] client id $SYS cannot reach $SYS/... through %c/#", () => {
    expect(a.canWrite("$SYS", null, "$SYS/broker/uptime")).toBe(false);
    expect(a.canSubscribe("$SYS", null, "$SYS/#")).toBe(false);
    expect(a.canWrite("c$", null, "c$/x")).toBe(true); // $ not first: harmless
    expect(a.canWrite("$SYS", null, "dev/$SYS/x")).toBe(true); // not at the start of the rule: harmless
  });

  test("a deny pattern with an unsafe name denies everything (fail closed)", () => {
    const d = acl([{ access: "readwrite", topic: "#" }, { access: "deny", topic: "home/%u/private/#" }]);
    expect(d.canWrite("c", "alice", "home/bob/private/x")).toBe(true);
    expect(d.canWrite("c", "alice", "home/alice/private/x")).toBe(false);
    expect(d.canWrite("c", "a/b", "home/a/b/private/x")).toBe(false);
    expect(d.canWrite("c", "a/b", "other")).toBe(false);
    expect(d.canSubscribe("c", "+", "other/#")).toBe(false);
  });
});

// ---- property: against a reference that enumerates a universe of topics ----

// levels: every literal the rules and filters may use, plus "z" that none uses, so that a topic distinguishing
// a wildcard from every literal exists; up to one level deeper than any rule or filter
const LIT = ["a", "b", "", "$s"];

/** Every topic of 1 to `depth` levels over `levels` ("" excluded: not a topic [MQTT-4.7.3-1]). */
function universe(levels: string[], depth: number): string[] {
  const out: string[] = [];
  let layer = [""];
  for (let d = 1; d <= depth; d++) {
    const next: string[] = [];
    for (const p of layer) for (const l of levels) next.push(d == 1 ? l : p + "/" + l);
    for (const t of next) if (t !== "") out.push(t);
    layer = next;
  }
  return out;
}

const UNIVERSE = universe(LIT.concat("z"), 4);

/** Filters of up to `max` levels drawn from `levels`, with or without a final `#`. */
function filterOf(levels: string[], max: number): fc.Arbitrary<string> {
  return fc.tuple(fc.array(fc.constantFrom(...levels), { maxLength: max }), fc.boolean())
    .map(([l, hash]) => (hash ? l.concat("#") : l).join("/")).filter((f) => f !== "");
}

const filterArb = filterOf(LIT.concat("+"), 3);
const ruleArb = fc.record({
  access: fc.constantFrom<AclRule["access"]>("read", "write", "readwrite", "deny"),
  topic: filterArb,
});

function refTopic(rules: AclRule[], topic: string, need: "read" | "write"): boolean {
  const hits = rules.filter((r) => matches(r.topic, topic));
  if (hits.some((r) => r.access === "deny")) return false;
  return hits.some((r) => r.access === need || r.access === "readwrite");
}

/** Covered by one read rule over every topic of the universe the filter matches, and no deny rule shares one. */
function refSubscribe(rules: AclRule[], filter: string, all: string[]): boolean {
  const topics = all.filter((t) => matches(filter, t));
  const deny = rules.some((r) => r.access === "deny" && topics.some((t) => matches(r.topic, t)));
  const covered = rules.some((r) => (r.access === "read" || r.access === "readwrite") && topics.every((t) => matches(r.topic, t)));
  return !deny && covered;
}

// with users, %u and %c: the reference substitutes by string replacement, and its universe has every level the
// substitutions can make
const USERS = ["a", "b", "", "a/b", "+", "$s", null];
const CIDS = ["c", "a", "", "#", "x/y", "$s"];
const tplRuleArb = fc.record({
  user: fc.constantFrom<string | undefined>(undefined, undefined, "a", "b"),
  access: fc.constantFrom<AclRule["access"]>("read", "write", "readwrite", "deny"),
  topic: filterOf(["a", "", "+", "%u", "%c", "x%u", "%c-%u"], 2),
}).map((r) => (r.user === undefined ? { access: r.access, topic: r.topic } : r) as AclRule);
const smallFilterArb = filterOf(["a", "c", "", "$s", "xa", "+"], 2);

/** The rules as they apply to this client, substituted; an unsafe one makes a deny rule deny all (`#`, and `$s/#` for the universe's `$` level). */
function effective(rules: AclRule[], user: string | null, cid: string): AclRule[] {
  const out: AclRule[] = [];
  const bad = (v: string) => /[+#/]/.test(v);
  for (const r of rules) {
    if (r.user !== undefined && r.user !== user) continue;
    const usesU = r.topic.includes("%u");
    const usesC = r.topic.includes("%c");
    if (usesU && user === null) continue;
    const unsafe = (usesU && bad(user!)) || (usesC && bad(cid)) ||
      (r.topic.startsWith("%u") && user!.startsWith("$")) || (r.topic.startsWith("%c") && cid.startsWith("$"));
    if (unsafe) {
      if (r.access === "deny") out.push({ access: "deny", topic: "#" }, { access: "deny", topic: "$s/#" });
      continue;
    }
    out.push({ access: r.access, topic: r.topic.replace(/%[uc]/g, (m) => (m === "%u" ? user! : cid)) });
  }
  return out;
}

describe("property: against enumeration", () => {
  test("with users, %u and %c, unsafe names included", () => {
    fc.assert(fc.property(fc.array(tplRuleArb, { maxLength: 4 }), smallFilterArb, fc.constantFrom(...USERS), fc.constantFrom(...CIDS),
      fc.nat(), (rules, filter, user, cid, pick) => {
        const eff = effective(rules, user, cid);
        const levels = new Set(["a", "c", "", "$s", "xa", "z"]);
        for (const r of eff) for (const l of r.topic.split("/")) if (l !== "+" && l !== "#") levels.add(l);
        const all = universe([...levels], 3);
        const topic = all[pick % all.length]!;
        const a = acl(rules);
        expect(a.canRead(cid, user, topic)).toBe(refTopic(eff, topic, "read"));
        expect(a.canWrite(cid, user, topic)).toBe(refTopic(eff, topic, "write"));
        expect(a.canSubscribe(cid, user, filter)).toBe(refSubscribe(eff, filter, all));
      }), { seed: SEED, numRuns: 2000 });
  });

  test("canRead / canWrite / canSubscribe agree with a reference over every topic of 1 to 4 levels", () => {
    fc.assert(fc.property(fc.array(ruleArb, { maxLength: 4 }), filterArb, fc.constantFrom(...UNIVERSE), (rules, filter, topic) => {
      const a = acl(rules);
      expect(a.canRead("c", null, topic)).toBe(refTopic(rules, topic, "read"));
      expect(a.canWrite("c", null, topic)).toBe(refTopic(rules, topic, "write"));
      expect(a.canSubscribe("c", null, filter)).toBe(refSubscribe(rules, filter, UNIVERSE));
    }), { seed: SEED, numRuns: 3000 });
  });
});
