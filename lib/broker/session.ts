/**
 * A client's session [MQTT-3.1.2-4]: what the broker keeps for a client id, connected or not. Its subscriptions,
 * the QoS 1/2 messages on their way to the client (queued, sent and unacknowledged, or PUBREL sent), the ids of
 * inbound QoS 2 messages waiting for their PUBREL, and the will of the current connection.
 *
 * The outbound queue is two parallel arrays in delivery order, never longer than the broker's maxQueue: `qm_`
 * the message, `qn_` a number packing the rest, `id << 5 | state << 3 | qos` (qos: the QoS granted, 4 added for
 * the retain flag; id: the packet id, 0 until first sent; see Q_ST/Q_ID). One number rather than three
 * arrays: on Espruino each array and each element costs variables. Order is kept through resends, so a
 * topic's messages reach the client in the order they were received [MQTT-4.6.0-6].
 */
import { Msg } from "./types";

/** Outbound states. */
export const QUEUED = 0; // not yet sent on this connection (a packet id already given means: resend with DUP)
export const SENT = 1; // PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2)
export const REL = 2; // PUBREL sent; waiting for PUBCOMP
/** In a `qn_` entry: the state is `n >> Q_ST & 3`, the packet id `n >> Q_ID`, the QoS (and retain flag) `n & 7`. */
export const Q_ST = 3;
export const Q_ID = 5;

/** The connection a session is attached to, as the session needs it (lib/broker/peer.ts). */
export interface Attached {
  close_(): void;
}

/** (Flags are numbers, not booleans: see Peer.) */
export class Session {
  /** The connection, or null while the client is away. */
  peer_: Attached | null = null;
  /**
   * The user name given at CONNECT (for the ACL's %u and per-user rules). Fields that are often empty (user_,
   * rx_, will_, full_, bridge_) are set only when needed: on Espruino a field costs variables even when empty.
   */
  user_?: string | null;
  readonly filters_: string[] = [];
  readonly qm_: Msg[] = [];
  readonly qn_: number[] = [];
  /** QoS 1/2 messages sent and not completed on this connection. */
  fly_ = 0;
  /** Last packet id given. */
  lastId_ = 0;
  /** Inbound QoS 2 ids delivered onwards, waiting for PUBREL [MQTT-4.3.3-2] (made at the first). */
  rx_?: number[];
  will_?: Msg | null;
  /** Messages to it were dropped and that was logged; cleared when one gets through (one log line per episode). */
  full_?: number;
  /** Attached through Broker.acceptBridge: no local, retain as published. */
  bridge_?: number;
  /** Routing scratch: the message number this session last matched, and the highest QoS among its matches. */
  mark_?: number;
  best_!: number; // (set with mark_, before it is read)

  /** MQTT 5 (lib/broker/v5.ts): Session Expiry Interval, s, and when a detached session expires (ms). */
  sx5?: number;
  exAt5?: number;
  /** MQTT 5 routing scratch: the message number for which a matching subscription had Retain As Published. */
  rap5?: number;
  /** MQTT 5 routing scratch: the Subscription Identifiers of the matching subscriptions, for message number idm5. */
  ids5?: number[];
  idm5?: number;
  /** MQTT 5: a will waiting for its Will Delay Interval (v5.ts), and when it goes out (ms). */
  wl5?: Msg;
  wAt5?: number;

  /** Clean session (1) or not (0). */
  clean: number;

  constructor(readonly id: string, clean: boolean) {
    this.clean = clean ? 1 : 0;
  }

  /** A packet id not used by any message of this session in flight [MQTT-2.3.1-2]. */
  nextId_(): number {
    for (;;) {
      const id = this.lastId_ = this.lastId_ % 65535 + 1;
      if (this.find_(id, -1) < 0) return id;
    }
  }

  /** Index of the message with packet id `id` in state `st` (any state: -1), or -1. */
  find_(id: number, st: number): number {
    const q = this.qn_;
    for (let i = 0; i < q.length; i++) if (q[i]! >> Q_ID == id && (st < 0 || (q[i]! >> Q_ST & 3) == st)) return i;
    return -1;
  }

  /** Queues `m` at QoS `qos` (4 added: with the retain flag), not yet sent (QUEUED, no packet id). */
  push_(m: Msg, qos: number): void {
    this.qm_.push(m);
    this.qn_.push(qos);
  }

  remove_(i: number): void {
    this.qm_.splice(i, 1);
    this.qn_.splice(i, 1);
  }

  /** The connection is gone: whatever was sent is sent again (with DUP) on the next one [MQTT-4.4.0-1]. */
  detach_(): void {
    this.peer_ = null;
    this.fly_ = 0;
    if (this.will_) this.will_ = null;
    const q = this.qn_;
    for (let i = 0; i < q.length; i++) if ((q[i]! >> Q_ST & 3) == SENT) q[i] = q[i]! & ~(3 << Q_ST) | QUEUED << Q_ST;
  }
}
