/**
 * The acknowledgments (§3.4-§3.7). Of messages the broker sent: PUBACK ends a QoS 1 flow, PUBREC moves a QoS 2
 * flow on (answered with PUBREL [MQTT-4.3.3-1]), PUBCOMP ends it. Of messages a client sent at QoS 2: PUBREL
 * releases the id and is answered with PUBCOMP [MQTT-4.3.3-2], also for an id not known (a resend after the
 * PUBCOMP was lost). An acknowledgment for an id not in flight is ignored.
 */
import { Packet, T } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";
import { Q_ST, REL, SENT } from "../session";
import { Packet5 } from "../../mqtt5/types";

export function onPuback(b: Broker, p: Peer, pk: Packet): void {
  done(b, p, pk.id, SENT, 1);
}

export function onPubcomp(b: Broker, p: Peer, pk: Packet): void {
  done(b, p, pk.id, REL, 2);
}

export function onPubrec(b: Broker, p: Peer, pk: Packet): void {
  const s = p.s_!;
  // MQTT 5: a PUBREC with a failure reason code ends the flow: no PUBREL [MQTT-4.3.3-4... §3.5.2.1]
  if (!globalThis.NO_MQTT5 && p.v5 && (pk as Packet5).code >= 0x80) return done(b, p, pk.id, SENT, 2);
  const i = s.find_(pk.id, SENT);
  if (i >= 0 && (s.qn_[i]! & 3) == 2) s.qn_[i] = s.qn_[i]! & ~(3 << Q_ST) | REL << Q_ST;
  b.ack_(p, T.PUBREL, pk.id);
}

export function onPubrel(b: Broker, p: Peer, pk: Packet): void {
  const r = p.s_!.rx_;
  const i = r ? r.indexOf(pk.id) : -1;
  if (i >= 0) r!.splice(i, 1);
  b.ack_(p, T.PUBCOMP, pk.id);
}

/** The flow of message `id` (in state `st`, at QoS `q`) is complete: out of the queue, and the next may go. */
function done(b: Broker, p: Peer, id: number, st: number, q: number): void {
  const s = p.s_!;
  const i = s.find_(id, st);
  if (i < 0 || (s.qn_[i]! & 3) != q) return;
  s.remove_(i);
  s.fly_--;
  b.pump_(s);
}
