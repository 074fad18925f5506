/**
 * One entry point that encodes any level-5 packet from a plain description, as lib/mqtt/encode.ts does at
 * level 4: for tests, tools, the simulator and a broker's rare paths. Device code calls the family encoders.
 */
import { Err } from "../errors";
import { PacketInput } from "../mqtt/encode";
import { encodeEmpty } from "../mqtt/ping";
import { T } from "../mqtt/types";
import { connack5Size, connect5Size, encodeConnack5, encodeConnect5, Will5Fields } from "./connect";
import { encodePublish5, publish5Size } from "./publish";
import { ack5Size, encodeAck5 } from "./ack";
import { codes5Size, encodeSuback5, encodeSubscribe5, encodeUnsuback5, encodeUnsubscribe5, subscribe5Size, unsubscribe5Size } from "./subscribe";
import { disconnect5Size, encodeDisconnect5 } from "./disconnect";
import { auth5Size, encodeAuth5 } from "./auth";
import { Props, T5 } from "./types";

/**
 * A level-5 packet to encode: the level-4 description plus `props`, the will's `props`, `code` (the reason
 * code of CONNACK, PUBACK .. PUBCOMP, DISCONNECT, AUTH), `codes` (SUBACK, UNSUBACK) and `opts` (SUBSCRIBE:
 * the Subscription Options byte per filter; `qoss` is used when it is absent).
 */
export interface Packet5Input extends PacketInput {
  props?: Props;
  will?: Will5Fields;
  opts?: number[];
}

function subOpts(o: Packet5Input): number[] {
  return o.opts ?? o.qoss ?? [];
}

/** The size `encodePacket5` writes for `o`, or an Err. */
export function packet5SizeOf(o: Packet5Input): number {
  const c = o.code ?? 0;
  switch (o.type as number) {
    case T.CONNECT:
      return connect5Size({ clientId: o.clientId ?? "", username: o.username, password: o.password, will: o.will, props: o.props });
    case T.CONNACK:
      return connack5Size(o.props);
    case T.PUBLISH:
      return publish5Size(o.topic ?? "", o.payload ?? "", o.qos ?? 0, o.props);
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP:
      return ack5Size(o.type, c, o.props);
    case T.SUBSCRIBE:
      return subscribe5Size(o.filters ?? [], o.props);
    case T.UNSUBSCRIBE:
      return unsubscribe5Size(o.filters ?? [], o.props);
    case T.SUBACK: case T.UNSUBACK:
      return codes5Size(o.type, (o.codes ?? []).length, o.props);
    case T.DISCONNECT:
      return disconnect5Size(c, o.props);
    case T5.AUTH:
      return auth5Size(c, o.props);
  }
  return 2;
}

/** Encodes `o` at `b[off]` at protocol level 5; returns the size written or an Err (nothing written then). */
export function encodePacket5(b: Uint8Array, off: number, o: Packet5Input): number {
  const c = o.code ?? 0;
  switch (o.type as number) {
    case T.CONNECT:
      return encodeConnect5(b, off, {
        clientId: o.clientId ?? "", clean: o.clean, keepalive: o.keepalive, username: o.username,
        password: o.password, will: o.will, props: o.props,
      });
    case T.CONNACK:
      return encodeConnack5(b, off, !!o.sessionPresent, c, o.props);
    case T.PUBLISH:
      return encodePublish5(b, off, o.topic ?? "", o.payload ?? "", o.qos ?? 0, !!o.retain, !!o.dup, o.id ?? 0, o.props);
    case T.PUBACK: case T.PUBREC: case T.PUBREL: case T.PUBCOMP:
      return encodeAck5(b, off, o.type, o.id ?? 0, c, o.props);
    case T.SUBSCRIBE:
      return encodeSubscribe5(b, off, o.id ?? 0, o.filters ?? [], subOpts(o), o.props);
    case T.SUBACK:
      return encodeSuback5(b, off, o.id ?? 0, o.codes ?? [], o.props);
    case T.UNSUBSCRIBE:
      return encodeUnsubscribe5(b, off, o.id ?? 0, o.filters ?? [], o.props);
    case T.UNSUBACK:
      return encodeUnsuback5(b, off, o.id ?? 0, o.codes ?? [], o.props);
    case T.PINGREQ: case T.PINGRESP:
      return encodeEmpty(b, off, o.type);
    case T.DISCONNECT:
      return encodeDisconnect5(b, off, c, o.props);
    case T5.AUTH:
      return encodeAuth5(b, off, c, o.props);
  }
  return Err.PacketType;
}
