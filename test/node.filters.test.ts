/**
 * lib/node/filters.ts (issue 7, requirement 3): moving average of the last N, delta gating, minimum interval
 * (a change inside it is held and published when it ends, unless it came back within delta), maximum interval
 * (heartbeat), and the per-reading Filters set.
 */
import { describe, expect, test } from "vitest";
import { Err } from "../lib/errors";
import { checkFilterOptions, checkFilterSpec, FieldFilter, Filters } from "../lib/node/filters";

describe("FieldFilter", () => {
  test("no options: every sample is published as it is", () => {
    const f = new FieldFilter({});
    for (const [v, t] of [[1, 0], [1, 10], [2, 20]] as const) {
      expect(f.offer(v, t)).toBe(true);
      expect(f.value).toBe(v);
    }
  });

  test("moving average of the last N samples (partial until N have come)", () => {
    const f = new FieldFilter({ average: 3 });
    const got: number[] = [];
    for (const v of [3, 6, 9, 12, 0]) {
      expect(f.offer(v, 0)).toBe(true);
      got.push(f.value);
    }
    expect(got).toEqual([3, 4.5, 6, 9, 7]);
  });

  test("delta: publishes only a change greater than delta since the last published value", () => {
    const f = new FieldFilter({ delta: 0.5 });
    expect(f.offer(20, 0)).toBe(true); // first sample always
    expect(f.offer(20.3, 1)).toBe(false);
    expect(f.offer(20.5, 2)).toBe(false); // exactly delta: not beyond
    expect(f.offer(20.6, 3)).toBe(true);
    expect(f.value).toBe(20.6);
    expect(f.offer(20.2, 4)).toBe(false); // measured from 20.6, not 20
    expect(f.offer(20.0, 5)).toBe(true);
  });

  test("delta applies to the average", () => {
    const f = new FieldFilter({ average: 2, delta: 1 });
    expect(f.offer(10, 0)).toBe(true);
    expect(f.offer(11.8, 1)).toBe(false); // average 10.9
    expect(f.offer(11.8, 2)).toBe(true); // average 11.8
    expect(f.value).toBeCloseTo(11.8, 12);
  });

  test("minInterval: a change inside the interval is held and published at its end by poll()", () => {
    const f = new FieldFilter({ delta: 0.5, minInterval: 1000 });
    expect(f.offer(20, 0)).toBe(true);
    expect(f.offer(22, 100)).toBe(false);
    expect(f.pending).toBe(true);
    expect(f.nextDue(100)).toBe(900);
    expect(f.poll(999)).toBe(false);
    expect(f.poll(1000)).toBe(true);
    expect(f.value).toBe(22);
    expect(f.pending).toBe(false);
    expect(f.poll(5000)).toBe(false);
  });

  test("minInterval: the held change goes out with the newest value, by the next offer too", () => {
    const f = new FieldFilter({ delta: 0.5, minInterval: 1000 });
    f.offer(20, 0);
    expect(f.offer(22, 100)).toBe(false);
    expect(f.offer(23, 500)).toBe(false);
    expect(f.offer(23.2, 1200)).toBe(true);
    expect(f.value).toBe(23.2);
  });

  test("minInterval: a held change that came back within delta is not published", () => {
    const f = new FieldFilter({ delta: 0.5, minInterval: 1000 });
    f.offer(20, 0);
    expect(f.offer(22, 100)).toBe(false);
    expect(f.offer(20.1, 600)).toBe(false);
    expect(f.poll(1000)).toBe(false);
    expect(f.pending).toBe(false);
    expect(f.nextDue(1000)).toBe(-1);
  });

  test("minInterval without delta: a throttle that publishes the newest sample at the end", () => {
    const f = new FieldFilter({ minInterval: 100 });
    expect(f.offer(1, 0)).toBe(true);
    expect(f.offer(2, 10)).toBe(false);
    expect(f.offer(3, 20)).toBe(false);
    expect(f.poll(100)).toBe(true);
    expect(f.value).toBe(3);
  });

  test("maxInterval: heartbeat publishes an unchanged value, by offer() or poll()", () => {
    const f = new FieldFilter({ delta: 1, maxInterval: 60000 });
    expect(f.offer(5, 0)).toBe(true);
    expect(f.offer(5, 30000)).toBe(false);
    expect(f.nextDue(30000)).toBe(30000);
    expect(f.offer(5, 60000)).toBe(true);
    expect(f.value).toBe(5);
    expect(f.poll(119999)).toBe(false);
    expect(f.poll(120000)).toBe(true);
    // a publish on change restarts the heartbeat
    expect(f.offer(7, 130000)).toBe(true);
    expect(f.poll(180000)).toBe(false);
    expect(f.poll(190000)).toBe(true);
  });

  test("nextDue: the earlier of the held change and the heartbeat; -1 before any sample", () => {
    const f = new FieldFilter({ delta: 0, minInterval: 1000, maxInterval: 5000 });
    expect(f.nextDue(0)).toBe(-1);
    expect(f.poll(0)).toBe(false);
    f.offer(1, 0);
    expect(f.nextDue(0)).toBe(5000);
    f.offer(2, 10);
    expect(f.nextDue(10)).toBe(990);
  });

  test("checkFilterOptions", () => {
    expect(checkFilterOptions({ average: 4, delta: 0.1, minInterval: 10, maxInterval: 10 })).toBe(Err.Ok);
    expect(checkFilterOptions({ average: 0 })).toBe(Err.Argument);
    expect(checkFilterOptions({ average: 2.5 })).toBe(Err.Argument);
    expect(checkFilterOptions({ average: 65 })).toBe(Err.Argument);
    expect(checkFilterOptions({ delta: -1 })).toBe(Err.Argument);
    expect(checkFilterOptions({ delta: NaN })).toBe(Err.Argument);
    expect(checkFilterOptions({ minInterval: 100, maxInterval: 50 })).toBe(Err.Argument);
    expect(checkFilterSpec(["tempC"], { tempC: {} })).toBe(Err.Ok);
    expect(checkFilterSpec(["tempC"], { rhPct: {} })).toBe(Err.Argument);
  });
});

describe("Filters (one reading)", () => {
  test("out holds exactly the fields due, each with its own filter", () => {
    const fs = new Filters(["tempC", "rhPct"], { tempC: { delta: 0.2 }, rhPct: { delta: 2 } });
    expect(fs.offer({ tempC: 21, rhPct: 40 }, 0)).toBe(2);
    expect(fs.out).toEqual({ tempC: 21, rhPct: 40 });
    expect(fs.offer({ tempC: 21.5, rhPct: 41 }, 1)).toBe(1);
    expect(fs.out).toEqual({ tempC: 21.5 });
    expect(fs.offer({ tempC: 21.5, rhPct: 43 }, 2)).toBe(1);
    expect(fs.out).toEqual({ rhPct: 43 });
    expect(fs.offer({ tempC: 21.5, rhPct: 43 }, 3)).toBe(0);
    expect(fs.out).toEqual({});
  });

  test("a field missing from a reading is skipped, never invented", () => {
    const fs = new Filters(["tempC", "rhPct"], {});
    expect(fs.offer({ tempC: 20 }, 0)).toBe(1);
    expect(fs.out).toEqual({ tempC: 20 });
  });

  test("poll: held changes and heartbeats without a new reading; nextDue over all fields", () => {
    const fs = new Filters(["tempC", "rhPct"], {
      tempC: { delta: 0.5, minInterval: 1000 },
      rhPct: { delta: 5, maxInterval: 3000 },
    });
    fs.offer({ tempC: 20, rhPct: 50 }, 0);
    expect(fs.offer({ tempC: 21, rhPct: 50 }, 200)).toBe(0);
    expect(fs.nextDue(200)).toBe(800);
    expect(fs.poll(1000)).toBe(1);
    expect(fs.out).toEqual({ tempC: 21 });
    expect(fs.nextDue(1000)).toBe(2000);
    expect(fs.poll(3000)).toBe(1);
    expect(fs.out).toEqual({ rhPct: 50 });
  });
});
