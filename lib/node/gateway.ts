/**
 * Pieces of the gateway firmware (firmware/gateway/main.ts) that need no board, so tests run them on a virtual
 * clock: joining Wi-Fi before the broker starts, and the plain-text logins of the config's `users`.
 */
import type { Auth } from "../broker/types";
import type { Clock } from "../hal/net";
import type { Wifi } from "../hal/wifi";
import { utf8Text } from "../mqtt/utf8";
import type { GatewayUser } from "./gateway-config";

/** Wait before trying to join again after a failure or a lost link, ms. */
export const WIFI_RETRY_MS = 10000;

/**
 * Joins Wi-Fi when the board has it (`w`) and the config asks for it (`c`), then calls `then` once; without
 * either, calls `then` at once. A failed join is tried again every WIFI_RETRY_MS; a lost link is joined again the
 * same way (one retry pending at a time), and `then` is not called again: the broker's listener and the bridge's
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

/**
 * Plain-text logins for `users`: CONNACK 5 (not authorized) without a user name, 4 (bad user name or password)
 * for an unknown user or a wrong password, 0 for a listed user with its password; every logged-in client has
 * full access. Plain text because the board has no password hashing to spare (see firmware/gateway/main.ts).
 */
export function plainAuth(users: GatewayUser[]): Auth {
  const yes = (): boolean => true;
  return {
    login: (id: string, user: string | null, pw: Uint8Array | null): number => {
      if (user === null) return 5;
      for (const u of users) if (u.username == user) return pw && utf8Text(pw) == u.password ? 0 : 4;
      return 4;
    },
    canSubscribe: yes,
    canRead: yes,
    canWrite: yes,
  };
}
