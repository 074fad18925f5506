/**
 * PUBLISH from a client (§3.3): QoS 1 answered with PUBACK [MQTT-4.3.2-2]; QoS 2 delivered onwards once and
 * answered with PUBREC, its id remembered until PUBREL so a resent copy is not delivered again [MQTT-4.3.3-2];
 * a publish the ACL denies is dropped and counted, and still acknowledged (3.1.1 has no way to refuse one).
 */
import { Packet, T } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";
import { St } from "../types";

export function onPublish(b: Broker, p: Peer, pk: Packet): void {
  const s = p.s_!;
  const q = pk.qos;
  b.st_[St.MsgsReceived]++;
  if (q == 2) {
    const rx = s.rx_ || (s.rx_ = []);
    if (rx.indexOf(pk.id) >= 0) return b.ack_(p, T.PUBREC, pk.id); // a resend: delivered already
    if (rx.length >= b.maxInbound_) {
      b.st_[St.ProtocolErrors]++;
      return b.drop_(p, "more than " + b.maxInbound_ + " QoS 2 messages awaiting PUBREL");
    }
    rx.push(pk.id);
  }
  const topic = b.text_(pk.topic);
  const a = b.o.auth;
  if (a && !a.canWrite(s.id, s.user_ || null, topic)) {
    b.st_[St.PublishDenied]++;
    b.log_("publish denied: " + s.id + " on " + topic);
  } else {
    b.incoming_(topic, pk.payload, q, pk.retain, s);
  }
  if (q == 1) b.ack_(p, T.PUBACK, pk.id);
  else if (q == 2) b.ack_(p, T.PUBREC, pk.id);
}
