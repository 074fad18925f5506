/**
 * Persistence: the broker's lasting state as plain data (lib/broker/types.ts, `Snapshot`), and back. What lasts
 * is what the spec says a session is [MQTT-3.1.2-4] for persistent (clean session 0) clients: subscriptions
 * and the QoS 1/2 messages not yet completed; and the retained messages. Packet ids are not kept: after a
 * restart every unfinished message is sent again as a new PUBLISH, so a QoS 1/2 message is not lost across a
 * broker restart, and a QoS 2 receiver may see one twice only across a broker restart.
 */
import type { Broker } from "./broker";
import { Session } from "./session";
import { Msg, Snapshot, SnapshotMsg, SnapshotSession, St } from "./types";

function out(m: Msg, qos: number, retain: boolean): SnapshotMsg {
  const p: number[] = [];
  for (let i = 0; i < m.pl_.length; i++) p.push(m.pl_[i]!);
  return { topic: m.tp_, payload: p, qos: qos, retain: retain };
}

function back(m: SnapshotMsg): Msg {
  return { tp_: m.topic, pl_: new Uint8Array(m.payload), qos_: m.qos };
}

export function takeSnapshot(b: Broker): Snapshot {
  const retained: SnapshotMsg[] = [];
  b.ret_.all((m) => { retained.push(out(m, m.qos_, true)); });
  const sessions: SnapshotSession[] = [];
  b.sessions((s: Session) => {
    if (s.clean) return;
    const queue: SnapshotMsg[] = [];
    for (let i = 0; i < s.qm_.length; i++) queue.push(out(s.qm_[i]!, s.qn_[i]! & 3, (s.qn_[i]! & 4) != 0));
    sessions.push({ clientId: s.id, filters: s.filters_.slice(), qoss: s.filters_.map((f) => b.subs_.qos(f, s)), queue: queue });
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
    for (let k = 0; k < d.filters.length; k++) {
      if (s.filters_.indexOf(d.filters[k]!) >= 0) continue;
      s.filters_.push(d.filters[k]!);
      b.subs_.add(d.filters[k]!, s, d.qoss[k]!);
    }
    for (let k = 0; k < d.queue.length && s.qm_.length < b.maxQueue_; k++) {
      const m = d.queue[k]!;
      s.push_(back(m), m.retain ? m.qos | 4 : m.qos);
    }
  }
}
