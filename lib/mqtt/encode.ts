/**
 * One entry point that encodes any packet from a plain description: for tests, tools, the simulator and the
 * broker's rare paths. Device code that sends only a few types calls the family encoders directly, so this
 * dispatcher (and the encoders it pulls in) stays out of its bundle.
 */
import { Err } from "../errors";
import { Bytes, T } from "./types";
import { connectSize, encodeConnack, encodeConnect, WillFields } from "./connect";
import { encodePublish, publishSize } from "./publish";
import { encodeAck } from "./ack";
import { encodeSuback, encodeSubscribe, encodeUnsubscribe, subscribeSize, unsubscribeSize } from "./subscribe";
import { encodeEmpty } from "./ping";

/** A packet to encode; which fields matter depends on `type` (as in `Packet`), with strings allowed for bytes. */
export interface PacketInput {
  type: T;
  id?: number;
  topic?: Bytes;
  payload?: Bytes;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  clientId?: Bytes;
  clean?: boolean;
  keepalive?: number;
  username?: Bytes;
  password?: Bytes;
  will?: WillFields;
  sessionPresent?: boolean;
  code?: number;
  codes?: ArrayLike<number>;
  filters?: Bytes[];
  qoss?: number[];
}

/** The size `encodePacket` writes for `o` (the family size function, or the fixed size), or Err.TooLarge. */
export function packetSizeOf(o: PacketInput): number {
  switch (o.type) {
    case T.CONNECT:
      return connectSize({ clientId: o.clientId ?? "", username: o.username, password: o.password, will: o.will });
    case T.PUBLISH:
      return publishSize(o.topic ?? "", o.payload ?? "", o.qos ?? 0);
    case T.SUBSCRIBE:
      return subscribeSize(o.filters ?? []);
    case T.UNSUBSCRIBE:
      return unsubscribeSize(o.filters ?? []);
    case T.SUBACK:
      return 4 + (o.codes ?? []).length;
    case T.PINGREQ: case T.PINGRESP: case T.DISCONNECT:
      return 2;
  }
  return 4;
}

/** Encodes `o` at `b[off]`; returns the size written or an Err (nothing written then). */
export function encodePacket(b: Uint8Array, off: number, o: PacketInput): number {
  switch (o.type) {
    case T.CONNECT:
      return encodeConnect(b, off, {
        clientId: o.clientId ?? "", clean: o.clean, keepalive: o.keepalive, username: o.username,
        password: o.password, will: o.will,
      });
    case T.CONNACK:
      return encodeConnack(b, off, !!o.sessionPresent, o.code ?? 0);
    case T.PUBLISH:
      return encodePublish(b, off, o.topic ?? "", o.payload ?? "", o.qos ?? 0, !!o.retain, !!o.dup, o.id ?? 0);
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP: case T.UNSUBACK:
      return encodeAck(b, off, o.type, o.id ?? 0);
    case T.SUBSCRIBE:
      return encodeSubscribe(b, off, o.id ?? 0, o.filters ?? [], o.qoss ?? []);
    case T.SUBACK:
      return encodeSuback(b, off, o.id ?? 0, o.codes ?? []);
    case T.UNSUBSCRIBE:
      return encodeUnsubscribe(b, off, o.id ?? 0, o.filters ?? []);
    case T.PINGREQ: case T.PINGRESP: case T.DISCONNECT:
      return encodeEmpty(b, off, o.type);
  }
  return Err.PacketType;
}
