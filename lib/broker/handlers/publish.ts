/**
 * PUBLISH from a client (§3.3): QoS 1 answered with PUBACK [MQTT-4.3.2-2]; QoS 2 delivered onwards once and
 * answered with PUBREC, its id remembered until PUBREL so a resent copy is not delivered again [MQTT-4.3.3-2];
 * a publish the ACL denies is dropped and counted, and still acknowledged (3.1.1 has no way to refuse one).
 */
import { Packet, T } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";
import { St } from "../types";
import { extras5, topic5 } from "../v5";
import { encodeAck5 } from "../../mqtt5/ack";
import { Packet5 } from "../../mqtt5/types";

export function onPublish(b: Broker, p: Peer, pk: Packet): void {
  const s = p.s_!;
  const q = pk.qos;
  b.st_[St.MsgsReceived]++;
  if (q == 2) {
    const rx = s.rx_ || (s.rx_ = []);
    if (rx.indexOf(pk.id) >= 0) return b.ack_(p, T.PUBREC, pk.id); // a resend: delivered already
    if (rx.length >= b.maxInbound_) {
      b.st_[St.ProtocolErrors]++;
      if (!globalThis.NO_MQTT5) p.rc5 = 0x93; // (Receive Maximum exceeded, to a level-5 client)
      return b.drop_(p, "more than " + b.maxInbound_ + " QoS 2 messages awaiting PUBREL");
    }
    rx.push(pk.id);
  }
  // MQTT 5 (v5.ts): the topic may come as a Topic Alias; a bad one has closed the connection
  const topic = !globalThis.NO_MQTT5 && p.v5 ? topic5(b, p, pk as Packet5) : b.text_(pk.topic);
  if (!globalThis.NO_MQTT5 && !topic) return;
  const a = b.o.auth;
  if (a && !a.canWrite(s.id, s.user_ || null, topic)) {
    b.st_[St.PublishDenied]++;
    b.log_("publish denied: " + s.id + " on " + topic);
    if (!globalThis.NO_MQTT5 && p.v5 && q) {
      // at level 5 the acknowledgment says so: Not authorized, which also ends a QoS 2 flow
      if (q == 2) s.rx_!.pop();
      return b.send_(p, encodeAck5(b.tx_, 0, q == 1 ? T.PUBACK : T.PUBREC, pk.id, 0x87));
    }
  } else {
    if (!globalThis.NO_MQTT5 && p.v5) b.x5 = extras5(b, (pk as Packet5).props);
    b.incoming_(topic, pk.payload, q, pk.retain, s);
    if (!globalThis.NO_MQTT5 && p.v5) b.x5 = null;
  }
  if (q == 1) b.ack_(p, T.PUBACK, pk.id);
  else if (q == 2) b.ack_(p, T.PUBREC, pk.id);
}
