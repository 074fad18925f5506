/**
 * lib/node/ring.ts (issue 7, requirement 4): order, sequence numbers, gaps after overflow counted, drain
 * stopping and resuming, persistence across a simulated reboot with SimStorage (chunked writes, sequence
 * counter), and no use of a Storage.read() string after its file is erased or rewritten (a storage whose read
 * strings die like Espruino's flash-mapped ones). No allocation per push in RAM mode: by design (typed arrays,
 * one shared record), checked on the compiled methods and by object identity.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { KvStorage } from "../lib/hal/storage";
import { checkRingOptions, Ring, RingRecord } from "../lib/node/ring";
import { SimStorage } from "../sim/hal/storage";

const FIELDS = ["tempC", "rhPct"];

interface Got { seq: number; ts: number; relative: boolean; tempC?: number; rhPct?: number }

function copy(r: RingRecord): Got {
  const g: Got = { seq: r.seq, ts: r.ts, relative: r.relative };
  if (r.has(0)) g.tempC = r.values[0];
  if (r.has(1)) g.rhPct = r.values[1];
  return g;
}

function all(ring: Ring): Got[] {
  const out: Got[] = [];
  ring.drain((r) => { out.push(copy(r)); return true; });
  return out;
}

/** Counts writes; read() strings throw once their file was written or erased (Espruino's flash mapping). */
class FlashStorage implements KvStorage {
  readonly sim = new SimStorage(1 << 20);
  private gen_: Record<string, number> = {};
  writes: string[] = [];
  erases: string[] = [];

  read(name: string): string | undefined {
    const s = this.sim.read(name);
    if (s === undefined) return undefined;
    const gen = this.gen_[name] ?? 0;
    const live = () => {
      if ((this.gen_[name] ?? 0) !== gen) throw new Error("stale Storage.read() of " + name);
      return s;
    };
    const mapped = {
      get length() { return live().length; },
      charCodeAt: (i: number) => live().charCodeAt(i),
      indexOf: (t: string, at?: number) => live().indexOf(t, at),
      substring: (a: number, b?: number) => live().substring(a, b),
      split: (t: string) => live().split(t),
      toString: () => live(),
      valueOf: () => live(),
    };
    return mapped as unknown as string;
  }

  write(name: string, data: string): boolean {
    this.gen_[name] = (this.gen_[name] ?? 0) + 1;
    this.writes.push(name);
    return this.sim.write(name, data);
  }

  erase(name: string): void {
    this.gen_[name] = (this.gen_[name] ?? 0) + 1;
    this.erases.push(name);
    this.sim.erase(name);
  }

  list(re?: RegExp): string[] {
    return this.sim.list(re);
  }
}

describe("RAM ring", () => {
  test("order, timestamps, relative flag, missing fields, sequence numbers", () => {
    const ring = new Ring({ fields: FIELDS, capacity: 4 });
    expect(ring.push({ tempC: 20, rhPct: 40 }, 1000, true)).toBe(0);
    expect(ring.push({ tempC: -1 }, 2000, false)).toBe(1);
    expect(ring.takeSeq()).toBe(2); // published directly: the ring does not hold it
    expect(ring.push({ tempC: 21.25, rhPct: 41 }, 1.7e12, false)).toBe(3);
    expect(ring.length).toBe(3);
    expect(ring.nextSeq).toBe(4);
    expect(all(ring)).toEqual([
      { seq: 0, ts: 1000, relative: true, tempC: 20, rhPct: 40 },
      { seq: 1, ts: 2000, relative: false, tempC: -1 },
      { seq: 3, ts: 1.7e12, relative: false, tempC: 21.25, rhPct: 41 },
    ]);
    expect(ring.length).toBe(0);
    expect(ring.peek()).toBe(null);
    expect(ring.shift()).toBe(false);
  });

  test("full: the oldest is dropped and counted, the gap shows in the sequence numbers", () => {
    const ring = new Ring({ fields: FIELDS, capacity: 3 });
    for (let k = 0; k < 7; k++) ring.push({ tempC: k }, k, false);
    expect(ring.dropped).toBe(4);
    expect(ring.length).toBe(3);
    expect(all(ring).map((g) => [g.seq, g.tempC])).toEqual([[4, 4], [5, 5], [6, 6]]);
  });

  test("drain stops when send returns false and resumes later with the same reading", () => {
    const ring = new Ring({ fields: FIELDS, capacity: 8 });
    for (let k = 0; k < 5; k++) ring.push({ tempC: k }, k, false);
    const sent: number[] = [];
    let room = 2;
    const send = (r: RingRecord) => {
      if (!room) return false;
      room--;
      sent.push(r.seq);
      return true;
    };
    expect(ring.drain(send)).toBe(2);
    expect(ring.length).toBe(3);
    expect(ring.peek()?.seq).toBe(2);
    ring.push({ tempC: 9 }, 9, false); // new readings queue behind
    room = 10;
    expect(ring.drain(send)).toBe(4);
    expect(sent).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("peek + shift is drain by hand", () => {
    const ring = new Ring({ fields: FIELDS, capacity: 2 });
    ring.push({ rhPct: 50 }, 5, true);
    const r = ring.peek() as RingRecord;
    expect(copy(r)).toEqual({ seq: 0, ts: 5, relative: true, rhPct: 50 });
    expect(ring.shift()).toBe(true);
    expect(ring.length).toBe(0);
  });

  test("no allocation per push in RAM mode: one shared record, no allocating code on the push path", () => {
    const ring = new Ring({ fields: FIELDS, capacity: 16 });
    const r0 = (ring.push({ tempC: 1 }, 0, false), ring.peek());
    for (let k = 0; k < 1000; k++) ring.push({ tempC: k, rhPct: k }, k, false);
    expect(ring.peek()).toBe(r0);
    expect(ring.peek()?.values).toBe(r0?.values);
    const proto = Ring.prototype as unknown as Record<string, unknown>;
    for (const m of ["push", "takeSeq", "peek", "shift", "drain", "append_", "remove_"]) {
      const src = String(proto[m]);
      // without storage the storage branches (reserve_, chunkAdd_, chunkRemove_) are not taken
      expect(src, m).not.toMatch(/\bnew\b|=>|\bfunction\b|\[\]|\{\s*\}|\.slice\(|\.concat\(|\.subarray\(|`/);
    }
  });

  test("checkRingOptions", () => {
    expect(checkRingOptions({ fields: FIELDS, capacity: 8 })).toBe(Err.Ok);
    expect(checkRingOptions({ fields: [], capacity: 8 })).toBe(Err.Argument);
    expect(checkRingOptions({ fields: FIELDS, capacity: 0 })).toBe(Err.Argument);
    expect(checkRingOptions({ fields: "abcdefghi".split(""), capacity: 8 })).toBe(Err.Argument);
  });
});

describe("Storage mirror", () => {
  test("written in chunks, not per reading; a chunk's file is erased once it is sent", () => {
    const st = new FlashStorage();
    const ring = new Ring({ fields: FIELDS, capacity: 16, storage: st, chunk: 4, seqBlock: 100 });
    expect(ring.load()).toBe(Err.Ok);
    for (let k = 0; k < 9; k++) ring.push({ tempC: k }, k, false);
    expect(st.writes).toEqual(["fwds", "fwdc0", "fwdc4"]);
    expect(st.sim.read("fwds")).toBe("100");
    expect(st.sim.read("fwdc0")).toBe("0,0,0,0,\n1,1,0,1,\n2,2,0,2,\n3,3,0,3,\n");
    let n = 0;
    ring.drain(() => ++n <= 5);
    expect(st.erases).toEqual(["fwdc0"]);
    expect(ring.flush()).toBe(Err.Ok);
    expect(st.writes.slice(3)).toEqual(["fwdc8"]);
  });

  test("survives a reboot: same readings, order, timestamps, and the sequence numbers go on", () => {
    const st = new FlashStorage();
    const a = new Ring({ fields: FIELDS, capacity: 16, storage: st, chunk: 4, seqBlock: 10 });
    a.load();
    for (let k = 0; k < 6; k++) a.push({ tempC: k + 0.25, rhPct: k === 2 ? undefined : 50 + k }, 1000 + k, k < 3);
    expect(a.takeSeq()).toBe(6);
    a.flush(); // before restart: the partial chunk too
    expect(st.sim.list(/^fwdc/)).toEqual(["fwdc0", "fwdc4"]);

    const b = new Ring({ fields: FIELDS, capacity: 16, storage: st, chunk: 4, seqBlock: 10 });
    expect(b.load()).toBe(Err.Ok);
    expect(b.length).toBe(6);
    expect(b.nextSeq).toBe(10); // the reserved block: monotonic, never reused
    expect(b.push({ tempC: 9 }, 2000, false)).toBe(10);
    const got = all(b);
    expect(got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4, 5, 10]);
    expect(got[2]).toEqual({ seq: 2, ts: 1002, relative: true, tempC: 2.25 });
    expect(got[5]).toEqual({ seq: 5, ts: 1005, relative: false, tempC: 5.25, rhPct: 55 });
    expect(st.sim.list(/^fwdc/)).toEqual([]); // every chunk sent: its file erased
  });

  test("a reloaded partial chunk grows and is rewritten from RAM, never from the stale read", () => {
    const st = new FlashStorage();
    const a = new Ring({ fields: FIELDS, capacity: 8, storage: st, chunk: 4, seqBlock: 4 });
    a.load();
    for (let k = 0; k < 2; k++) a.push({ tempC: k }, k, false);
    a.flush();
    const b = new Ring({ fields: FIELDS, capacity: 8, storage: st, chunk: 4, seqBlock: 4 });
    b.load();
    // seq file and chunk file are rewritten now; any later use of what load() read would throw
    b.push({ tempC: 7 }, 7, false);
    b.push({ tempC: 8 }, 8, false); // the chunk is full: rewritten whole
    expect(st.sim.read("fwdc0")).toBe("0,0,0,0,\n1,1,0,1,\n4,7,0,7,\n5,8,0,8,\n");
    const c = new Ring({ fields: FIELDS, capacity: 8, storage: st, chunk: 4, seqBlock: 4 });
    c.load();
    expect(all(c).map((g) => [g.seq, g.tempC])).toEqual([[0, 0], [1, 1], [4, 7], [5, 8]]);
    expect(c.nextSeq).toBe(8);
  });

  test("more stored readings than capacity after a reboot: the oldest are dropped and counted", () => {
    const st = new FlashStorage();
    const a = new Ring({ fields: FIELDS, capacity: 12, storage: st, chunk: 4 });
    a.load();
    for (let k = 0; k < 12; k++) a.push({ tempC: k }, k, false);
    const b = new Ring({ fields: FIELDS, capacity: 6, storage: st, chunk: 4 });
    b.load();
    expect(b.dropped).toBe(6);
    expect(st.sim.read("fwdc0")).toBe(undefined); // its readings all dropped: erased
    expect(all(b).map((g) => g.seq)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(st.sim.list(/^fwdc/)).toEqual([]);
  });

  test("a stale read would be caught: the test storage's strings die on rewrite", () => {
    const st = new FlashStorage();
    st.write("x", "abc");
    const s = st.read("x") as string;
    expect(s.length).toBe(3);
    st.write("x", "def");
    expect(() => s.length).toThrow(/stale/);
  });

  test("storage full: flush says NoMemory, the readings stay in RAM", () => {
    const st = new SimStorage(8);
    const ring = new Ring({ fields: FIELDS, capacity: 4, storage: st, chunk: 2 });
    ring.load();
    ring.push({ tempC: 1 }, 1, false);
    expect(ring.flush()).toBe(Err.NoMemory);
    expect(ring.writeErrors).toBeGreaterThan(0);
    expect(ring.length).toBe(1);
  });

  test("load twice or after a push: Err.Argument", () => {
    const ring = new Ring({ fields: FIELDS, capacity: 4, storage: new SimStorage(1024) });
    ring.push({ tempC: 1 }, 1, false);
    expect(ring.load()).toBe(Err.Argument);
  });
});
