/**
 * The micro-broker: MQTT 3.1.1 for the nodes around a gateway board, and `npm run broker` on Node. The protocol
 * is BrokerCore (core.ts: connections, sessions, routing, limits; one dispatch, dispatch.ts, hands each packet
 * to its handler, handlers/*.ts; topic matching is match.ts, retained messages retain.ts, sessions session.ts,
 * connections peer.ts). Broker adds what a small device broker goes without: a trie for subscriptions
 * (match.ts, SubIndex, where the core has a flat list, SubList), `$SYS` statistics (sys.ts, every `sysInterval`)
 * and persistence (snapshot.ts, `snapshot()` / `restore()`). The Node host uses Broker; a device bundle with
 * small limits uses BrokerCore (boards/modules/broker.ts), which leaves them out.
 *
 * Every limit is an option with the spec's answer when reached, logged and counted in `stats`:
 * clients and sessions (CONNACK 3), subscriptions per client and in total (SUBACK 0x80), retained messages and
 * bytes (not kept), queue per session (offline: dropped; online: the client is disconnected), packet size
 * (disconnect), the connection's outbound buffer (QoS 0 dropped, QoS 1/2 wait in the queue).
 */
import { Clock } from "../hal/net";
import { BrokerCore } from "./core";
import { dueWill5 } from "./v5";
import { SubIndex } from "./match";
import { Session } from "./session";
import { Group, SharedSubs } from "./share";
import { publishSys } from "./sys";
import { restoreSnapshot, takeSnapshot } from "./snapshot";
import { BrokerOptions, Snapshot } from "./types";

export class Broker extends BrokerCore {
  /** The subscription table: shared subscriptions (share.ts) over tries. */
  declare readonly subs_: SharedSubs;
  private sysAt_ = 0;

  /**
   * As BrokerCore, with tries for subscriptions (SubIndex: matching does not slow down with their number), and
   * shared subscriptions `$share/{ShareName}/{filter}` for every client (lib/broker/share.ts).
   */
  constructor(o: BrokerOptions, clock: Clock) {
    super(o, clock, new SharedSubs(new SubIndex<Session>(), new SubIndex<Group>()));
  }

  /** Trie nodes in use (ordinary and shared subscriptions): 0 when there are none. */
  get subNodes(): number {
    return (this.subs_.t_ as SubIndex<Session>).nodes + (this.subs_.gt_ as SubIndex<Group>).nodes;
  }

  /** Starts the timer: CONNECT and keepalive timeouts, $SYS statistics. */
  override start(): void {
    super.start();
    this.sysAt_ = this.started;
  }

  /**
   * BrokerCore's tick; then level-5 sessions past their Session Expiry Interval are forgotten, and
   * $SYS/broker/... goes out every `sysInterval` ms (default 10,000; 0: never).
   */
  override tick(): void {
    super.tick();
    const now = this.clock.now();
    // MQTT 5: a detached session whose Session Expiry Interval has passed is forgotten (v5.ts)
    for (const k in this.ss_) {
      const s = this.ss_[k]!;
      const ending = s.exAt5 !== undefined && !s.peer_ && now >= s.exAt5;
      dueWill5(this, s, now, ending); // a delayed will, due or with its session ending (v5.ts)
      if (ending) {
        this.log_("session " + s.id + " expired");
        this.forget_(s);
      }
    }
    const si = this.o.sysInterval ?? 10000;
    if (si && now - this.sysAt_ >= si) { this.sysAt_ = now; publishSys(this, now); }
  }

  /** Every session (connected or not). */
  sessions(f: (s: Session) => void): void {
    for (const k in this.ss_) f(this.ss_[k]!);
  }

  /** Retained messages and persistent sessions, for persistence (lib/broker/snapshot.ts). */
  snapshot(): Snapshot {
    return takeSnapshot(this);
  }

  /** Restores a snapshot; before start(), with no client connected. */
  restore(s: Snapshot): void {
    restoreSnapshot(this, s);
  }
}
