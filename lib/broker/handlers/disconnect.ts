/** DISCONNECT (§3.14): the will is discarded [MQTT-3.14.4-3] and the connection closed [MQTT-3.14.4-1]. */
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";

export function onDisconnect(b: Broker, p: Peer): void {
  p.bye_ = 1;
  b.drop_(p, "");
}
