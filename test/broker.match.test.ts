/**
 * lib/broker/match.ts: `matches` on the spec's examples [MQTT-4.7] and against an independent reference (levels
 * split into arrays), and `SubIndex` against a brute-force loop over `matches` through random adds and removes,
 * down to an empty trie. Fixed seed (FUZZ_SEED).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { matches, SubIndex, SubList, Subs } from "../lib/broker/match";

const SEED = Number(process.env.FUZZ_SEED ?? 0x4d617463);

// [name, filter, topic, expected]
const CASES: [string, string, string, boolean][] = [
  ["[MQTT-4.7.1-2] a/# matches a (the parent level)", "a/#", "a", true],
  ["[MQTT-4.7.1-2] sport/tennis/player1/# matches sport/tennis/player1", "sport/tennis/player1/#", "sport/tennis/player1", true],
  ["[MQTT-4.7.1-2] sport/tennis/player1/# matches .../ranking", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
  ["[MQTT-4.7.1-2] sport/tennis/player1/# matches .../score/wimbledon", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
  ["[MQTT-4.7.1-2] sport/# matches sport", "sport/#", "sport", true],
  ["[MQTT-4.7.1-2] # matches every topic", "#", "a/b/c", true],
  ["[MQTT-4.7.1-2] # matches /", "#", "/", true],
  ["[MQTT-4.7.1-2] a/# does not match ab", "a/#", "ab", false],
  ["[MQTT-4.7.1-2] a/b/# does not match a", "a/b/#", "a", false],
  ["[MQTT-4.7.1-2] a/# matches a/ (an empty level)", "a/#", "a/", true],
  ["[MQTT-4.7.1-3] sport/tennis/+ matches sport/tennis/player1", "sport/tennis/+", "sport/tennis/player1", true],
  ["[MQTT-4.7.1-3] sport/tennis/+ does not match sport/tennis/player1/ranking", "sport/tennis/+", "sport/tennis/player1/ranking", false],
  ["[MQTT-4.7.1-3] sport/+ does not match sport", "sport/+", "sport", false],
  ["[MQTT-4.7.1-3] sport/+ matches sport/ (an empty level)", "sport/+", "sport/", true],
  ["[MQTT-4.7.1-3] +/+ matches /finance", "+/+", "/finance", true],
  ["[MQTT-4.7.1-3] /+ matches /finance", "/+", "/finance", true],
  ["[MQTT-4.7.1-3] + does not match /finance", "+", "/finance", false],
  ["[MQTT-4.7.1-3] +/+ matches /", "+/+", "/", true],
  ["[MQTT-4.7.1-3] + does not match /", "+", "/", false],
  ["[MQTT-4.7.1-3] a/+/b matches a//b (empty levels are levels)", "a/+/b", "a//b", true],
  ["[MQTT-4.7.1-3] a/+/b does not match a/b", "a/+/b", "a/b", false],
  ["[MQTT-4.7.1-3] +/b/# matches x/b", "+/b/#", "x/b", true],
  ["[MQTT-4.7.1-1] a//b matches only a//b", "a//b", "a//b", true],
  ["[MQTT-4.7.1-1] a//b does not match a/b", "a//b", "a/b", false],
  ["[MQTT-4.7.1-1] a/b does not match a/b/", "a/b", "a/b/", false],
  ["[MQTT-4.7.1-1] a/b/ does not match a/b", "a/b/", "a/b", false],
  ["[MQTT-4.7.1-1] / matches /", "/", "/", true],
  ["[MQTT-4.7.2-1] $SYS/x not matched by #", "#", "$SYS/x", false],
  ["[MQTT-4.7.2-1] $SYS not matched by #", "#", "$SYS", false],
  ["[MQTT-4.7.2-1] $SYS/monitor/Clients not matched by +/monitor/Clients", "+/monitor/Clients", "$SYS/monitor/Clients", false],
  ["[MQTT-4.7.2-1] $SYS/monitor/Clients matched by $SYS/#", "$SYS/#", "$SYS/monitor/Clients", true],
  ["[MQTT-4.7.2-1] $SYS/monitor/Clients matched by $SYS/monitor/+", "$SYS/monitor/+", "$SYS/monitor/Clients", true],
  ["[MQTT-4.7.2-1] a/$x matched by a/+ (only the first level counts)", "a/+", "a/$x", true],
  ["[MQTT-4.7.2-1] a/$x matched by #", "#", "a/$x", true],
  ["[MQTT-4.7.3] names are case sensitive: ACCOUNTS is not Accounts", "ACCOUNTS", "Accounts", false],
  ["[MQTT-4.7.3] spaces are ordinary characters", "Accounts payable/+", "Accounts payable/x", true],
  ["[MQTT-4.7.3] non-ASCII levels compare exactly", "t\u00e9/+", "t\u00e9/\ud83d\ude00", true],
  ["prefix of a level is not the level", "ab/+", "a/x", false],
  ["longer level is not the level", "a/x", "a/xy", false],
];

/** Independent reference: levels as arrays, recursion, the $ rule on the first level. */
function ref(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  const go = (i: number): boolean => {
    if (i === f.length) return i === t.length;
    if (f[i] === "#") return true;
    if (i === t.length) return false;
    return (f[i] === "+" || f[i] === t[i]) && go(i + 1);
  };
  return go(0);
}

// small alphabets so that random filters and topics collide often; inherited member names as levels too
const LEVELS = ["a", "b", "", "$s", "constructor", "__proto__"];
const level = fc.constantFrom(...LEVELS);
const topicArb = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join("/")).filter((t) => t !== "");
const filterArb = fc.tuple(fc.array(fc.constantFrom(...LEVELS, "+", "+"), { minLength: 0, maxLength: 3 }), fc.boolean())
  .map(([l, hash]) => (hash ? l.concat("#") : l).join("/")).filter((f) => f !== "");

describe("matches [MQTT-4.7]", () => {
  test.each(CASES)("%s", (_name, filter, topic, want) => {
    expect(matches(filter, topic)).toBe(want);
    expect(ref(filter, topic)).toBe(want);
  });

  test("property: same answer as the reference for random filters and topics", () => {
    fc.assert(fc.property(filterArb, topicArb, (f, t) => {
      expect(matches(f, t)).toBe(ref(f, t));
    }), { seed: SEED, numRuns: 20000 });
  });
});

type Pair = string; // "subscriber|qos|filter"

function viaIndex(ix: Subs<number>, topic: string): Pair[] {
  const out: Pair[] = [];
  ix.match(topic, (s, q, f) => out.push(s + "|" + q + "|" + f));
  return out.sort();
}

interface Entry { f: string; s: number; q: number }

function viaLoop(model: Entry[], topic: string): Pair[] {
  return model.filter((e) => matches(e.f, topic)).map((e) => e.s + "|" + e.q + "|" + e.f).sort();
}

/** Nodes the trie must have: one per distinct level prefix of the filters present. */
function prefixes(model: Entry[]): number {
  const seen = new Set<string>();
  for (const e of model) {
    const l = e.f.split("/");
    for (let i = 1; i <= l.length; i++) seen.add(JSON.stringify(l.slice(0, i)));
  }
  return seen.size;
}

describe("SubIndex", () => {
  test("add returns true for a new entry, false when it replaces the QoS; size counts entries", () => {
    const ix = new SubIndex<string>();
    expect(ix.add("a/+", "c1", 0)).toBe(true);
    expect(ix.add("a/+", "c2", 1)).toBe(true);
    expect(ix.add("a/+", "c1", 2)).toBe(false);
    expect(ix.add("a/#", "c1", 1)).toBe(true);
    expect(ix.size).toBe(3);
    const got: string[] = [];
    ix.match("a/b", (s, q, f) => got.push(s + " " + q + " " + f));
    expect(got.sort()).toEqual(["c1 1 a/#", "c1 2 a/+", "c2 1 a/+"]);
  });

  test("remove returns whether the entry was there and prunes the nodes it leaves empty", () => {
    const ix = new SubIndex<string>();
    ix.add("a/b/c", "x", 0);
    ix.add("a/b", "y", 0);
    ix.add("a/+/#", "x", 1);
    expect(ix.nodes).toBe(5); // a, a/b, a/b/c, a/+, a/+/#
    expect(ix.remove("a/b/c", "y")).toBe(false);
    expect(ix.remove("a/b/c/d", "x")).toBe(false);
    expect(ix.remove("a/+", "x")).toBe(false);
    expect(ix.remove("a/b/c", "x")).toBe(true);
    expect(ix.remove("a/b/c", "x")).toBe(false);
    expect(ix.nodes).toBe(4);
    expect(ix.remove("a/+/#", "x")).toBe(true);
    expect(ix.nodes).toBe(2);
    expect(ix.remove("a/b", "y")).toBe(true);
    expect(ix.nodes).toBe(0);
    expect(ix.size).toBe(0);
  });

  test("[MQTT-4.7.1-2] a/# is visited once for a, once for a/b", () => {
    const ix = new SubIndex<number>();
    ix.add("a/#", 1, 0);
    ix.add("#", 2, 0);
    expect(viaIndex(ix, "a")).toEqual(["1|0|a/#", "2|0|#"]);
    expect(viaIndex(ix, "a/b")).toEqual(["1|0|a/#", "2|0|#"]);
  });

  test("[MQTT-4.7.2-1] $SYS/x is not matched by # or +/x, only by filters starting with $SYS", () => {
    const ix = new SubIndex<number>();
    ix.add("#", 1, 0);
    ix.add("+/x", 2, 0);
    ix.add("$SYS/#", 3, 0);
    ix.add("$SYS/+", 4, 0);
    expect(viaIndex(ix, "$SYS/x")).toEqual(["3|0|$SYS/#", "4|0|$SYS/+"]);
    expect(viaIndex(ix, "a/x")).toEqual(["1|0|#", "2|0|+/x"]);
  });

  test("levels named like inherited members (constructor, __proto__, toString) are ordinary levels", () => {
    const ix = new SubIndex<number>();
    ix.add("constructor", 1, 0);
    ix.add("__proto__/+", 2, 0);
    expect(viaIndex(ix, "constructor")).toEqual(["1|0|constructor"]);
    expect(viaIndex(ix, "toString")).toEqual([]);
    expect(viaIndex(ix, "__proto__/a")).toEqual(["2|0|__proto__/+"]);
    expect(viaIndex(ix, "hasOwnProperty/a")).toEqual([]);
    expect(ix.remove("constructor", 1)).toBe(true);
    expect(ix.remove("toString", 1)).toBe(false);
    expect(ix.remove("__proto__/+", 2)).toBe(true);
    expect(ix.nodes).toBe(0);
  });

  test("property: match gives exactly the pairs of a loop over matches, through adds and removes; all removed, the trie is empty", () => {
    const op = fc.record({ add: fc.boolean(), f: filterArb, s: fc.integer({ min: 0, max: 4 }), q: fc.integer({ min: 0, max: 2 }) });
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.array(topicArb, { minLength: 1, maxLength: 8 }), (ops, topics) => {
      const ix = new SubIndex<number>();
      const model: Entry[] = [];
      const check = () => {
        expect(ix.size).toBe(model.length);
        expect(ix.nodes).toBe(prefixes(model));
        for (const t of topics) expect(viaIndex(ix, t)).toEqual(viaLoop(model, t));
      };
      for (const o of ops) {
        const j = model.findIndex((e) => e.f === o.f && e.s === o.s);
        if (o.add) {
          expect(ix.add(o.f, o.s, o.q)).toBe(j < 0);
          if (j < 0) model.push({ f: o.f, s: o.s, q: o.q });
          else model[j]!.q = o.q;
        } else {
          expect(ix.remove(o.f, o.s)).toBe(j >= 0);
          if (j >= 0) model.splice(j, 1);
        }
        check();
      }
      for (const e of model.slice().reverse()) expect(ix.remove(e.f, e.s)).toBe(true);
      model.length = 0;
      check();
      expect(ix.size).toBe(0);
      expect(ix.nodes).toBe(0);
    }), { seed: SEED, numRuns: 500 });
  });

  test("1,000 clients with 1,000 subscriptions: match cost does not grow with the table", () => {
    const ix = new SubIndex<number>();
    for (let c = 0; c < 1000; c++) {
      ix.add("dev/" + c + "/cmd/#", c, 1);
      if (c % 10 == 0) ix.add("dev/+/status", c, 0);
    }
    ix.add("#", -1, 0);
    expect(ix.size).toBe(1101);
    let n = 0;
    const visit = () => { n++; };
    ix.match("dev/417/cmd/reboot", visit);
    expect(n).toBe(2);
    n = 0;
    ix.match("dev/417/status", visit);
    expect(n).toBe(101);
    // 100,000 lookups take a few tens of ms; a loop over every subscription would take seconds
    const t0 = performance.now();
    n = 0;
    for (let i = 0; i < 100000; i++) ix.match("dev/" + (i % 1000) + "/cmd/x", visit);
    const ms = performance.now() - t0;
    expect(n).toBe(200000);
    expect(ms).toBeLessThan(2000);
  });
});

describe("SubList (the device broker's flat table)", () => {
  test("property: add, remove, size and match give what SubIndex gives, through random adds and removes", () => {
    const op = fc.record({ add: fc.boolean(), f: filterArb, s: fc.integer({ min: 0, max: 4 }), q: fc.integer({ min: 0, max: 2 }) });
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.array(topicArb, { minLength: 1, maxLength: 8 }), (ops, topics) => {
      const ls = new SubList<number>();
      const ix = new SubIndex<number>();
      for (const o of ops) {
        if (o.add) expect(ls.add(o.f, o.s, o.q)).toBe(ix.add(o.f, o.s, o.q));
        else expect(ls.remove(o.f, o.s)).toBe(ix.remove(o.f, o.s));
        expect(ls.size).toBe(ix.size);
        for (const t of topics) expect(viaIndex(ls, t)).toEqual(viaIndex(ix, t));
      }
    }), { seed: SEED, numRuns: 500 });
  });

  test("[MQTT-4.7.2-1] $SYS/x is not matched by # or +/x, only by filters starting with $SYS", () => {
    const ls = new SubList<number>();
    ls.add("#", 1, 0);
    ls.add("+/x", 2, 0);
    ls.add("$SYS/#", 3, 1);
    expect(viaIndex(ls, "$SYS/x")).toEqual(["3|1|$SYS/#"]);
  });
});
