/**
 * The simulator's dashboard (issue 8, requirement 4): `--web` serves a page that connects to the simulation's
 * broker over MQTT over WebSocket; headless Chromium (Debian's, driven by playwright-core) opens it and must show
 * every node online with a temperature, humidity, a drawn chart and the delivery counters.
 * Needs /usr/bin/chromium (Debian package chromium); says so plainly when it is absent.
 */
import { afterAll, describe, expect, test } from "vitest";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { Simulation } from "../sim/sim";
import { startDashboard, type Dashboard } from "../sim/web";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const SKIP = CHROMIUM ? null : "Chromium is not installed (Debian package chromium): the dashboard test needs it";

describe.skipIf(SKIP)("the simulator's dashboard in headless Chromium", () => {
  let sim: Simulation | null = null;
  let web: Dashboard | null = null;
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await sim?.stop();
  });

  test("readings, charts, availability and delivery counters appear for every node", async () => {
    sim = new Simulation({ nodes: 3, seconds: 0, speed: 10, seed: 5, scenario: "calm", intervalMs: 2000, web: true });
    await sim.start();
    web = await startDashboard(sim, 0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("http://127.0.0.1:" + web.port + "/");
    // (browser code as text: the Node type check has no DOM types)
    await page.waitForFunction(`document.querySelectorAll(".node").length == 3 &&
      Array.from(document.querySelectorAll(".node")).every((n) => /^-?\\d+\\.\\d\\d$/.test(n.querySelector(".temp").textContent) &&
        n.querySelector(".status").textContent == "online" && (n.querySelector(".t").getAttribute("points") || "").split(" ").length >= 3 &&
        /published \\d+/.test(n.querySelector(".counters").textContent))`, undefined, { timeout: 20_000 });
    const cards = await page.evaluate(`Array.from(document.querySelectorAll(".node")).map((n) => ({
      node: n.dataset.node, temp: Number(n.querySelector(".temp").textContent), rh: n.querySelector(".rh").textContent }))`) as
      { node: string; temp: number; rh: string }[];
    expect(cards.map((c) => c.node)).toEqual(["node1", "node2", "node3"]);
    for (const c of cards) {
      expect(c.temp).toBeGreaterThan(5);
      expect(c.temp).toBeLessThan(40);
    }
    // node4-style DS18B20 has no humidity; these three (BME280, SHT3x, AHT20) all do
    expect(cards.every((c) => /^\d+\.\d$/.test(c.rh!))).toBe(true);
    expect(await page.textContent("#conn")).toMatch(/^connected to ws:\/\/127\.0\.0\.1:\d+$/);
    expect(errors).toEqual([]);
  }, 60_000);
});
