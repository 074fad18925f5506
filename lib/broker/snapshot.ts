/**
 * Persistence: the broker's lasting state as plain data (lib/broker/types.ts, `Snapshot`), and back. What lasts
 * is what the spec says a session is [MQTT-3.1.2-4] for persistent (clean session 0) clients: subscriptions
 * and the QoS 1/2 messages not yet completed; and the retained messages. Packet ids are not kept: after a
 * restart every unfinished message is sent again as a new PUBLISH, so a QoS 1/2 message is not lost across a
 * broker restart, and a QoS 2 receiver may see one twice only across a broker restart.
 *
 * MQTT 5 (v5.ts): a level-5 session keeps its subscriptions' options and Subscription Identifiers (`opts5`,
 * beside `qoss`, which stays a plain QoS per filter), its Session Expiry Interval (`expiry5`, counted again from
 * the restore) and its queued messages' Subscription Identifiers (`subIds`). Message properties and Message
 * Expiry are not kept.
 */
import type { Broker } from "./broker";
import { Session } from "./session";
import { Msg, Snapshot, SnapshotMsg, SnapshotSession, St } from "./types";
import { detached5 } from "./v5";

function out(m: Msg, qos: number, retain: boolean): SnapshotMsg {
  const p: number[] = [];
  for (let i = 0; i < m.pl_.length; i++) p.push(m.pl_[i]!);
  const o: SnapshotMsg = { topic: m.tp_, payload: p, qos: qos, retain: retain };
  if (m.si5) o.subIds = m.si5.slice();
  return o;
}

function back(m: SnapshotMsg): Msg {
  const o: Msg = { tp_: m.topic, pl_: new Uint8Array(m.payload), qos_: m.qos };
  if (m.subIds && m.subIds.length) o.si5 = m.subIds.slice();
  return o;
}

/** A persistent session as plain data. */
function outSession(b: Broker, s: Session): SnapshotSession {
  const queue: SnapshotMsg[] = [];
  for (let i = 0; i < s.qm_.length; i++) queue.push(out(s.qm_[i]!, s.qn_[i]! & 3, (s.qn_[i]! & 4) != 0));
  const all = s.filters_.map((f) => b.subs_.qos(f, s));
  const d: SnapshotSession = { clientId: s.id, filters: s.filters_.slice(), qoss: all.map((q) => q & 3), queue: queue };
  if (all.some((q) => q > 3)) d.opts5 = all; // (MQTT 5: options and identifiers kept with the QoS)
  if (s.sx5) d.expiry5 = s.sx5;
  return d;
}

export function takeSnapshot(b: Broker): Snapshot {
  const retained: SnapshotMsg[] = [];
  b.ret_.all((m) => { retained.push(out(m, m.qos_, true)); });
  const sessions: SnapshotSession[] = [];
  b.sessions((s: Session) => {
    if (!s.clean) sessions.push(outSession(b, s));
  });
  return { retained: retained, sessions: sessions };
}

export function restoreSnapshot(b: Broker, snap: Snapshot): void {
  for (let i = 0; i < snap.retained.length; i++) {
    if (!b.ret_.set(back(snap.retained[i]!))) b.st_[St.RetainedDropped]++;
  }
  for (let i = 0; i < snap.sessions.length; i++) {
    const d = snap.sessions[i]!;
    const s = b.session(d.clientId) || b.open_(d.clientId, false);
    if (!s) break;
    const o5 = d.opts5 && d.opts5.length == d.filters.length ? d.opts5 : null;
    for (let k = 0; k < d.filters.length; k++) {
      if (s.filters_.indexOf(d.filters[k]!) >= 0) continue;
      s.filters_.push(d.filters[k]!);
      b.subs_.add(d.filters[k]!, s, o5 ? o5[k]! : d.qoss[k]!);
    }
    if (d.expiry5) { s.sx5 = d.expiry5; detached5(b, s); }
    for (let k = 0; k < d.queue.length && s.qm_.length < b.maxQueue_; k++) {
      const m = d.queue[k]!;
      s.push_(back(m), m.retain ? m.qos | 4 : m.qos);
    }
  }
}
