/**
 * One client connection on the broker: the Link its transport reports to, its decoder, and the session it is
 * attached to after an accepted CONNECT. The broker does the work (lib/broker/core.ts); this is state. It is
 * its own decoder (it extends Decoder): one object per connection rather than two, which on Espruino saves an
 * object and a field per client.
 */
import { Conn, Link } from "../hal/net";
import { Decoder } from "../mqtt/decoder";
import { SERVER } from "../mqtt/parsers";
import { Packet } from "../mqtt/types";
import { Attached, Session } from "./session";

/** What a connection needs of its broker. */
export interface Host {
  /** One callback and one packet record for every connection's decoder (see BrokerCore.in_). */
  readonly onPacket_: (pk: Packet) => void;
  readonly pk_: Packet;
  in_(p: Peer, d: Uint8Array): void;
  gone_(p: Peer): void;
  pump_(s: Session): void;
}

/**
 * Flags are numbers (0/1), not booleans, here and in Session: on Espruino a field holding a number takes one
 * variable, one holding a boolean two, and a field never set none (so `why_` is set only when needed).
 */
export class Peer extends Decoder implements Link, Attached {
  /** The session, once CONNECT was accepted. */
  s_: Session | null = null;
  /** Keepalive in ms (0: none), and when the last packet came (or the connection was accepted). */
  ka_ = 0;
  last_: number;
  /** close_() was called: nothing more is sent or decoded. */
  dead_ = 0;
  /** DISCONNECT came, or the session was taken over: no will [MQTT-3.1.2-10]. */
  bye_ = 0;
  /** A bridge's local connection (Broker.acceptBridge). */
  bridge_ = 0;
  /** Why the broker closed it (for the log), if it did. */
  why_?: string;

  constructor(private readonly host_: Host, readonly c_: Conn, max: number, now: number) {
    super(max, SERVER, host_.onPacket_, true, host_.pk_);
    this.last_ = now;
  }

  up_(): void {}

  data_(d: Uint8Array): void {
    if (!this.dead_) this.host_.in_(this, d);
  }

  down_(): void {
    this.dead_ = 1;
    this.host_.gone_(this);
  }

  drain_(): void {
    if (this.s_ && !this.dead_) this.host_.pump_(this.s_);
  }

  close_(): void {
    if (this.dead_) return;
    this.dead_ = 1;
    this.c_.close();
  }
}
