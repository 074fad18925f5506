/**
 * SUBSCRIBE (§3.8): each filter granted at the QoS asked for, or refused with 0x80 when the ACL denies it or a
 * limit is reached (subscriptions per client, in total) [MQTT-3.9.3-1]; a filter already held has its QoS
 * replaced [MQTT-3.8.4-3]; SUBACK with the same packet id [MQTT-3.8.4-1] [MQTT-3.8.4-2]; then the retained
 * messages each granted filter matches, with the retain flag set [MQTT-3.3.1-6] [MQTT-3.3.1-8].
 */
import { encodeSuback } from "../../mqtt/subscribe";
import { Packet } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";
import { Session } from "../session";
import { Msg, St } from "../types";
import { options5, suback5, withIds } from "../v5";
import { Packet5 } from "../../mqtt5/types";

export function onSubscribe(b: Broker, p: Peer, pk: Packet): void {
  const s = p.s_!;
  const n = pk.filters.length;
  const codes = new Uint8Array(n);
  const fs: string[] = [];
  // MQTT 5 (v5.ts): the Subscription Options; No Local and Retain As Published are kept with the QoS in the
  // table, and Retain Handling decides here whether the retained messages go out [MQTT-3.3.1-9] [MQTT-3.3.1-10]
  // [MQTT-3.3.1-11]
  if (!globalThis.NO_MQTT5 && p.v5) b.s5 = [];
  for (let i = 0; i < n; i++) {
    const f = b.text_(pk.filters[i]!);
    fs.push(f);
    codes[i] = grant(b, s, f, !globalThis.NO_MQTT5 && p.v5 ? options5(b, s, f, pk as Packet5, i) : pk.qoss[i]!);
  }
  const a = b.o.auth;
  if (!globalThis.NO_MQTT5 && p.v5) suback5(b, p, s, pk.id, codes, fs);
  else b.send_(p, encodeSuback(b.tx_, 0, pk.id, codes));
  for (let i = 0; i < n; i++) {
    const g = codes[i]!;
    if (g & 0x80 || !globalThis.NO_MQTT5 && p.v5 && b.s5![i]) continue;
    b.ret_.each(fs[i]!, (m: Msg) => {
      // (MQTT 5: with the SUBSCRIBE's Subscription Identifier [MQTT-3.3.4-3])
      const ids = !globalThis.NO_MQTT5 && p.v5 ? (pk as Packet5).props.subIds : null;
      if (!a || a.canRead(s.id, s.user_ || null, m.tp_)) b.deliver_(s, ids && ids.length ? withIds(m, ids) : m, m.qos_ < g ? m.qos_ : g, true);
    });
  }
}

/** The QoS granted for `f`, or 0x80. */
function grant(b: Broker, s: Session, f: string, q: number): number {
  const a = b.o.auth;
  if (a && !a.canSubscribe(s.id, s.user_ || null, f)) return deny(b, s, f, "not allowed");
  if (s.filters_.indexOf(f) < 0) {
    if (s.filters_.length >= b.maxSubsPer_) return deny(b, s, f, "limit of " + b.maxSubsPer_ + " per client");
    if (b.subs_.size >= b.maxSubs_) return deny(b, s, f, "limit of " + b.maxSubs_ + " in total");
    s.filters_.push(f);
  }
  b.subs_.add(f, s, q); // (the QoS of a filter already held is replaced [MQTT-3.8.4-3]; kept in subs_ only)
  return q;
}

function deny(b: Broker, s: Session, f: string, why: string): number {
  b.st_[St.SubscribeDenied]++;
  b.log_("subscribe refused: " + s.id + " to " + f + " (" + why + ")");
  return 0x80;
}
