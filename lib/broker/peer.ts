/**
 * One client connection on the broker: the Link its transport reports to, its decoder, and the session it is
 * attached to after an accepted CONNECT. The broker does the work (lib/broker/core.ts); this is state. It is
 * its own decoder (it extends Decoder): one object per connection rather than two, which on Espruino saves an
 * object and a field per client.
 */
import { Conn, Link } from "../hal/net";
import { Decoder, DecoderSpec } from "../mqtt/decoder";
import { Attached, Session } from "./session";

/**
 * What a connection needs of its broker. The broker is also the spec of every connection's decoder: one maximum,
 * parser table, callback and packet record for all (see BrokerCore.in_), kept once rather than per connection.
 */
export interface Host extends DecoderSpec {
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
  dead_?: number;
  /** DISCONNECT came, or the session was taken over: no will [MQTT-3.1.2-10] (set only then). */
  bye_?: number;
  /** A bridge's local connection (Broker.acceptBridge; set only for one). */
  bridge_?: number;
  /** Why the broker closed it (for the log), if it did. */
  why_?: string;
  // MQTT 5 (lib/broker/v5.ts), set only on a level-5 connection: level 5; the client's Receive Maximum and
  // Maximum Packet Size (0: none); its topic aliases; the reason code of the broker's DISCONNECT
  v5?: number;
  rm5?: number;
  mp5?: number;
  ta5?: string[];
  rc5?: number;

  constructor(host: Host, readonly c_: Conn, now: number) {
    super(host.max, host.parsers_, host.onPacket_, true, host);
    this.last_ = now;
  }

  up_(): void {}

  data_(d: Uint8Array): void {
    if (!this.dead_) (this.k_ as Host).in_(this, d);
  }

  down_(): void {
    this.dead_ = 1;
    (this.k_ as Host).gone_(this);
  }

  drain_(): void {
    if (this.s_ && !this.dead_) (this.k_ as Host).pump_(this.s_);
  }

  close_(): void {
    if (this.dead_) return;
    this.dead_ = 1;
    this.c_.close();
  }
}
