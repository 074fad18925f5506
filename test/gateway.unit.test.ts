/**
 * Issue 7, requirement 6: the board-free pieces of the gateway firmware (lib/node/gateway.ts) on a virtual
 * clock: joining Wi-Fi before the broker starts (SimWifi: join, failures retried, a lost link joined again, the
 * broker started once), and the plain-text logins of `users` (CONNACK codes).
 */
import { describe, expect, test } from "vitest";
import { joinWifi, plainAuth, WIFI_RETRY_MS } from "../lib/node/gateway";
import { VirtualClock } from "../sim/clock";
import { SimWifi } from "../sim/hal/wifi";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("joinWifi", () => {
  const CFG = { ssid: "site", password: "secret123" };

  test("no Wi-Fi on the board, or none in the config: starts at once", () => {
    const clock = new VirtualClock();
    let n = 0;
    joinWifi(null, CFG, clock, () => undefined, () => n++);
    joinWifi(new SimWifi({ clock, ssid: "site" }), null, clock, () => undefined, () => n++);
    expect(n).toBe(2);
  });

  test("joins, then starts once; a failed join is tried again every WIFI_RETRY_MS", () => {
    const clock = new VirtualClock();
    const w = new SimWifi({ clock, ssid: "site", password: "secret123", joinMs: 1000 });
    w.apUp = false;
    const log: string[] = [];
    let started = 0;
    joinWifi(w, CFG, clock, (l) => log.push(l), () => started++);
    expect(started).toBe(0); // not before the link is up
    clock.advance(1000);
    expect(log).toEqual(["wifi: joining site", "wifi: No AP found, again in 10 s"]);
    clock.advance(WIFI_RETRY_MS - 1);
    expect(w.attempts).toBe(1);
    w.restore();
    clock.advance(1 + 1000);
    expect(w.attempts).toBe(2);
    expect(started).toBe(1);
    expect(log.slice(-1)).toEqual(["wifi: up"]);
  });

  test("a wrong password is reported and retried, never started", () => {
    const clock = new VirtualClock();
    const w = new SimWifi({ clock, ssid: "site", password: "other-pass", joinMs: 100 });
    const log: string[] = [];
    let started = 0;
    joinWifi(w, CFG, clock, (l) => log.push(l), () => started++);
    clock.advance(3 * WIFI_RETRY_MS);
    expect(started).toBe(0);
    expect(log.filter((l) => l == "wifi: Auth fail, again in 10 s").length).toBe(3);
  });

  test("a lost link is joined again, one retry pending at a time; the broker is not started twice", () => {
    const clock = new VirtualClock();
    const w = new SimWifi({ clock, ssid: "site", password: "secret123", joinMs: 100 });
    const log: string[] = [];
    let started = 0;
    joinWifi(w, CFG, clock, (l) => log.push(l), () => started++);
    clock.advance(100);
    expect(started).toBe(1);
    w.drop();
    w.disconnect(); // a second event while the retry waits: no second retry chain
    clock.advance(WIFI_RETRY_MS + 100);
    expect(w.attempts).toBe(2); // failed: the access point is still gone
    w.restore();
    clock.advance(WIFI_RETRY_MS + 100);
    expect(w.attempts).toBe(3);
    expect(w.connected).toBe(true);
    expect(started).toBe(1);
    expect(log).toContain("wifi: lost");
  });
});

describe("plainAuth", () => {
  const a = plainAuth([{ username: "n1", password: "pw1" }, { username: "n2", password: "päss" }]);

  test("CONNACK 5 without a user name, 4 for an unknown user or a wrong password, 0 for a listed user", () => {
    expect(a.login("c", null, null)).toBe(5);
    expect(a.login("c", "n3", enc("pw1"))).toBe(4);
    expect(a.login("c", "n1", enc("pw2"))).toBe(4);
    expect(a.login("c", "n1", null)).toBe(4);
    expect(a.login("c", "n1", enc("pw1"))).toBe(0);
    expect(a.login("c", "n2", enc("päss"))).toBe(0); // UTF-8 compared as text
  });

  test("a logged-in client has full access", () => {
    expect(a.canSubscribe("c", "n1", "#")).toBe(true);
    expect(a.canRead("c", "n1", "a/b")).toBe(true);
    expect(a.canWrite("c", "n1", "a/b")).toBe(true);
  });
});
