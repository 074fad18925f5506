/**
 * MQTT 5.0 additions to the packet record and the property set (§2.2.2). The level-5 codec (lib/mqtt5/) reuses
 * the 3.1.1 codec's field reader and writer (lib/mqtt/wire.ts), its resumable Decoder and its packet record:
 * a Packet5 is a Packet with the level-5 fields, filled by the parsers of lib/mqtt5/parsers.ts.
 */
import { Bytes, Packet } from "../mqtt/types";

/** The packet type MQTT 5 adds [MQTT-2.1.2]: AUTH, 15 (reserved in 3.1.1). */
export const enum T5 {
  AUTH = 15,
}

/**
 * Where a property may appear (§2.2.2.2, Table 2-4): bit `1 << type` for each packet type, bit 0 for the Will
 * Properties of a CONNECT (§3.1.3.2), and two bits for a packet type received in one direction only: a PUBLISH
 * sent to a server, which must not carry a Subscription Identifier [MQTT-3.3.4-6], and a DISCONNECT sent by a
 * server, which must not carry a Session Expiry Interval [MQTT-3.14.2-2]. Inlined (const enum): no device RAM.
 */
export const enum In {
  WILL = 1,
  CONNECT = 2,
  CONNACK = 4,
  PUBLISH = 8,
  PUBACK = 16,
  PUBREC = 32,
  PUBREL = 64,
  PUBCOMP = 128,
  SUBSCRIBE = 256,
  SUBACK = 512,
  UNSUBSCRIBE = 1024,
  UNSUBACK = 2048,
  DISCONNECT = 16384,
  AUTH = 32768,
  PUBLISH_TO_SERVER = 65536,
  DISCONNECT_TO_CLIENT = 131072,
}

/**
 * The properties of one packet, or of a CONNECT's will (§2.2.2.2, Table 2-4), one field per property, named
 * after it; absent properties are `undefined` (the spec's default applies). Numbers are integers; `S` is
 * `Bytes` when encoding (strings written as UTF-8) and `Uint8Array` (views into the packet) when decoded.
 * Byte-valued properties hold 0 or 1. The two properties that may repeat are lists: `subIds` (Subscription
 * Identifier, several only in a PUBLISH to a client [MQTT-3.3.4-3]) and `userProps` (User Property, name and
 * value pairs flattened: `[name0, value0, name1, value1, ...]`, in wire order; a name may repeat, §3.1.2.11.8).
 */
export interface Props<S extends Bytes = Bytes> {
  /** 0x01 Payload Format Indicator, 0 (bytes) or 1 (UTF-8): PUBLISH, will. */
  payloadFormat?: number;
  /** 0x02 Message Expiry Interval, seconds: PUBLISH, will. */
  messageExpiry?: number;
  /** 0x03 Content Type: PUBLISH, will. */
  contentType?: S;
  /** 0x08 Response Topic (a topic name: no wildcards [MQTT-3.3.2-14]): PUBLISH, will. */
  responseTopic?: S;
  /** 0x09 Correlation Data (binary): PUBLISH, will. */
  correlationData?: S;
  /** 0x0B Subscription Identifier(s), 1..268,435,455: PUBLISH (to a client; may repeat), SUBSCRIBE (once). */
  subIds?: number[];
  /** 0x11 Session Expiry Interval, seconds: CONNECT, CONNACK, DISCONNECT. */
  sessionExpiry?: number;
  /** 0x12 Assigned Client Identifier: CONNACK. */
  assignedClientId?: S;
  /** 0x13 Server Keep Alive, seconds: CONNACK. */
  serverKeepAlive?: number;
  /** 0x15 Authentication Method: CONNECT, CONNACK, AUTH. */
  authMethod?: S;
  /** 0x16 Authentication Data (binary): CONNECT, CONNACK, AUTH. */
  authData?: S;
  /** 0x17 Request Problem Information, 0 or 1: CONNECT. */
  requestProblemInfo?: number;
  /** 0x18 Will Delay Interval, seconds: will. */
  willDelay?: number;
  /** 0x19 Request Response Information, 0 or 1: CONNECT. */
  requestResponseInfo?: number;
  /** 0x1A Response Information: CONNACK. */
  responseInfo?: S;
  /** 0x1C Server Reference: CONNACK, DISCONNECT. */
  serverReference?: S;
  /** 0x1F Reason String: CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH. */
  reasonString?: S;
  /** 0x21 Receive Maximum, 1..65,535: CONNECT, CONNACK. */
  receiveMax?: number;
  /** 0x22 Topic Alias Maximum: CONNECT, CONNACK. */
  topicAliasMax?: number;
  /** 0x23 Topic Alias, 1..65,535 [MQTT-3.3.2-8]: PUBLISH. */
  topicAlias?: number;
  /** 0x24 Maximum QoS, 0 or 1: CONNACK. */
  maxQos?: number;
  /** 0x25 Retain Available, 0 or 1: CONNACK. */
  retainAvailable?: number;
  /** 0x26 User Properties, flattened name/value pairs: every packet with properties, and the will. */
  userProps?: S[];
  /** 0x27 Maximum Packet Size, 1..4,294,967,295: CONNECT, CONNACK. */
  maxPacketSize?: number;
  /** 0x28 Wildcard Subscription Available, 0 or 1: CONNACK. */
  wildcardAvailable?: number;
  /** 0x29 Subscription Identifiers Available, 0 or 1: CONNACK. */
  subIdAvailable?: number;
  /** 0x2A Shared Subscription Available, 0 or 1: CONNACK. */
  sharedAvailable?: number;
  /** Which properties the parser found (bit per table row; internal, for the duplicate check and the reset). */
  seen_?: number;
}

/** Properties as the parser leaves them: byte fields are views, and the two lists always exist (maybe empty). */
export interface ParsedProps extends Props<Uint8Array> {
  subIds: number[];
  userProps: Uint8Array[];
  seen_: number;
}

/**
 * A decoded level-5 packet: the 3.1.1 record (lib/mqtt/types.ts) plus properties, reason codes and
 * subscription options. The Decoder reuses one record, and byte fields (property strings included) are views
 * valid only during the `onPacket` call, as at level 4. Which fields each packet type sets, beyond the 3.1.1
 * ones:
 *
 * - every type but PINGREQ/PINGRESP: `props`.
 * - CONNECT: `level` 5, `clean` is Clean Start (§3.1.2.4), `willProps` when `will`; a password may come
 *   without a user name (§3.1.2.9).
 * - CONNACK: `code` is the Connect Reason Code (§3.2.2.2).
 * - PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH: `code`, the reason code (0 when omitted).
 * - SUBSCRIBE: `opts`, the Subscription Options byte per filter (§3.8.3.1: QoS bits 0-1, also in `qoss`; No
 *   Local bit 2; Retain As Published bit 3; Retain Handling bits 4-5; see OPT_*).
 * - SUBACK, UNSUBACK: `codes`, a view of one reason code per filter.
 * - PUBLISH: `topic` may be empty when `props.topicAlias` is set (§3.3.2.3.4).
 */
export interface Packet5 extends Packet {
  props: ParsedProps;
  willProps: ParsedProps;
  opts: number[];
}

/** Subscription Options bits (§3.8.3.1). */
export const enum Opt {
  QOS = 3,
  NO_LOCAL = 4,
  RETAIN_AS_PUBLISHED = 8,
  /** Retain Handling: `(opts >> 4) & 3`: 0 send retained at subscribe, 1 only if new, 2 never. */
  RETAIN_HANDLING_SHIFT = 4,
}

/** Body parser of the level-5 codec; lib/mqtt5/parsers.ts puts these in Decoder tables. */
export type Parser5 = (p: Packet5, b: Uint8Array, s: number, e: number) => number;
