/**
 * Pieces of the gateway firmware (firmware/gateway/main.ts) that need no board, so tests run them on a virtual
 * clock: joining Wi-Fi before the broker starts (lib/node/join.ts, shared with the node), and the plain-text
 * logins of the config's `users`.
 */
import type { Auth } from "../broker/types";
import { utf8Text } from "../mqtt/utf8";
import type { GatewayUser } from "./gateway-config";

export { joinWifi, WIFI_RETRY_MS } from "./join";

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
