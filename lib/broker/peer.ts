/**
 * One client connection on the broker: the Link its transport reports to, its decoder, and the session it is
 * attached to after an accepted CONNECT. The broker does the work (lib/broker/broker.ts); this is state.
 */
import { Conn, Link } from "../hal/net";
import { Decoder } from "../mqtt/decoder";
import { SERVER } from "../mqtt/parsers";
import { Packet, T } from "../mqtt/types";
import { Attached, Session } from "./session";

/** What a connection needs of its broker. */
export interface Host {
  /** One callback for every connection's decoder (see Broker.in_). */
  readonly onPacket_: (pk: Packet) => void;
  in_(p: Peer, d: Uint8Array): void;
  gone_(p: Peer): void;
  pump_(s: Session): void;
}

/**
 * A packet record with every field a server-side packet sets, made in one shape (rather than the decoder's
 * four fields grown by each parser), which keeps the record small on Node.
 */
function newPacket(): Packet {
  const e = new Uint8Array(0);
  return {
    type: 0 as T, flags: 0, length: 0, id: 0, topic: e, payload: e, qos: 0, retain: false, dup: false, level: 0,
    clean: false, keepalive: 0, clientId: e, will: false, willTopic: e, willPayload: e, willQos: 0,
    willRetain: false, username: null, password: null, sessionPresent: false, code: 0, codes: e, filters: [], qoss: [],
  };
}

export class Peer implements Link, Attached {
  /** The session, once CONNECT was accepted. */
  s_: Session | null = null;
  readonly dec_: Decoder;
  /** Keepalive in ms (0: none), and when the last packet came (or the connection was accepted). */
  ka_ = 0;
  last_: number;
  /** close_() was called: nothing more is sent or decoded. */
  dead_ = false;
  /** DISCONNECT came, or the session was taken over: no will [MQTT-3.1.2-10]. */
  bye_ = false;
  /** A bridge's local connection (Broker.acceptBridge). */
  bridge_ = false;
  /** Why the broker closed it (for the log), or "". */
  why_ = "";

  constructor(private readonly h_: Host, readonly c_: Conn, max: number, now: number) {
    this.last_ = now;
    this.dec_ = new Decoder(max, SERVER, h_.onPacket_, true, newPacket());
  }

  up_(): void {}

  data_(d: Uint8Array): void {
    if (!this.dead_) this.h_.in_(this, d);
  }

  down_(): void {
    this.dead_ = true;
    this.h_.gone_(this);
  }

  drain_(): void {
    if (this.s_ && !this.dead_) this.h_.pump_(this.s_);
  }

  close_(): void {
    if (this.dead_) return;
    this.dead_ = true;
    this.c_.close();
  }
}
