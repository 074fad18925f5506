/** PINGREQ (§3.12): answered with PINGRESP [MQTT-3.12.4-1]; the packet itself counts as activity for keepalive. */
import { encodeEmpty } from "../../mqtt/ping";
import { T } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";

export function onPingreq(b: Broker, p: Peer): void {
  b.send_(p, encodeEmpty(b.tx_, 0, T.PINGRESP));
}
