/**
 * Joining Wi-Fi, for the node (lib/node/app.ts) and the gateway (firmware/gateway/main.ts): on the injected clock,
 * so tests run it virtually.
 */
import type { Clock } from "../hal/net";
import type { Wifi } from "../hal/wifi";

/** Wait before trying to join again after a failure or a lost link, ms. */
export const WIFI_RETRY_MS = 10000;

/**
 * Joins Wi-Fi when the board has it (`w`) and the config asks for it (`c`), then calls `then` once; without
 * either, calls `then` at once. A failed join is tried again every WIFI_RETRY_MS; a lost link is joined again the
 * same way (one retry pending at a time), and `then` is not called again: the client's, the broker's listener's and the bridge's
 * reconnects carry on by themselves once the link is back.
 */
export function joinWifi(w: Wifi | null, c: { ssid: string; password: string } | null, clock: Clock,
  log: (l: string) => void, then: () => void): void {
  if (!w || !c) return then();
  let started = false;
  let waiting = false;
  const go = (): void => {
    waiting = false;
    log("wifi: joining " + c.ssid);
    w.connect(c.ssid, { password: c.password }, (err) => {
      if (err) { log("wifi: " + err + ", again in " + WIFI_RETRY_MS / 1000 + " s"); retry(); return; }
      log("wifi: up");
      if (!started) { started = true; then(); }
    });
  };
  const retry = (): void => {
    if (waiting) return;
    waiting = true;
    clock.after(WIFI_RETRY_MS, go);
  };
  w.on("disconnected", () => { log("wifi: lost"); retry(); });
  go();
}
