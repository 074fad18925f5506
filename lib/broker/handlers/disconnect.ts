/** DISCONNECT (§3.14): the will is discarded [MQTT-3.14.4-3] and the connection closed [MQTT-3.14.4-1]. */
import type { Broker } from "../broker";
import { Peer } from "../peer";

export function onDisconnect(b: Broker, p: Peer): void {
  p.bye_ = true;
  b.drop_(p, "");
}
