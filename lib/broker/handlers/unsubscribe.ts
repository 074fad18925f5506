/**
 * UNSUBSCRIBE (§3.10): each filter that matches one held exactly is removed [MQTT-3.10.4-1] (wildcards are not
 * expanded); UNSUBACK with the same packet id, also when nothing was removed [MQTT-3.10.4-4] [MQTT-3.10.4-5].
 */
import { Packet, T } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";
import { unsuback5 } from "../v5";

export function onUnsubscribe(b: Broker, p: Peer, pk: Packet): void {
  const s = p.s_!;
  if (!globalThis.NO_MQTT5 && p.v5) b.s5 = []; // (MQTT 5: per filter, Success or No subscription existed)
  for (let i = 0; i < pk.filters.length; i++) {
    const f = b.text_(pk.filters[i]!);
    const k = s.filters_.indexOf(f);
    if (!globalThis.NO_MQTT5 && p.v5) b.s5!.push(k < 0 ? 0x11 : 0);
    if (k < 0) continue;
    s.filters_.splice(k, 1);
    b.subs_.remove(f, s);
  }
  if (!globalThis.NO_MQTT5 && p.v5) unsuback5(b, p, pk.id, b.s5!);
  else b.ack_(p, T.UNSUBACK, pk.id);
}
