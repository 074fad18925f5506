/** The simulated WiFi (sim/hal/wifi.ts): joins on the clock, refuses a wrong password or a missing AP, drops and comes back. */
import { expect, test } from "vitest";
import { SimWifi } from "../sim/hal/wifi";
import { VirtualClock } from "../sim/clock";

test("connect succeeds after joinMs with the right password; wrong password and missing AP fail; drop and restore", () => {
  const clock = new VirtualClock();
  const w = new SimWifi({ clock, ssid: "site", password: "pw", joinMs: 1000 });
  const events: string[] = [];
  w.on("connected", () => events.push("connected"));
  w.on("disconnected", () => events.push("disconnected"));
  const got: (string | null)[] = [];
  w.connect("site", { password: "bad" }, (e) => got.push(e));
  w.connect("other", { password: "pw" }, (e) => got.push(e));
  clock.advance(999);
  expect(got).toEqual([]);
  clock.advance(1);
  expect(got).toEqual(["Auth fail", "No AP found"]);
  w.connect("site", { password: "pw" }, (e) => got.push(e));
  clock.advance(1000);
  expect(got[2]).toBe(null);
  expect(w.getIP().ip).toBe("10.0.0.2");
  expect(w.getDetails().rssi).toBe(-60);
  w.drop();
  expect(events).toEqual(["connected", "disconnected"]);
  w.connect("site", { password: "pw" }, (e) => got.push(e));
  clock.advance(1000);
  expect(got[3]).toBe("No AP found");
  w.restore();
  w.connect("site", { password: "pw" }, (e) => got.push(e));
  clock.advance(1000);
  expect(got[4]).toBe(null);
  expect(w.attempts).toBe(5);
});
