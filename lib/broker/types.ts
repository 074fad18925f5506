/**
 * The micro-broker's shared types: options (every limit), the message record, the authentication/ACL hook and
 * the persistence snapshot. Platform-neutral (lib/ sees only lib/hal/): the Node host (sim/broker/) and the
 * Espruino host (boards/) supply connections, clock, password checking and storage.
 */
import type { MsgProps } from "./v5";

/**
 * One application message as the broker holds it: immutable once made, shared by every queue it sits in. Its
 * fields have `_` names, which the device build shortens: on Espruino a field name longer than four characters
 * costs each message another variable.
 */
export interface Msg {
  /** Topic. */
  tp_: string;
  /** Payload: a copy owned by the broker (never a view into a decoder buffer). */
  pl_: Uint8Array;
  /** QoS. */
  qos_: number;
  /**
   * A will's retain flag. Other messages have none (a retained message is known by where it is kept, a queued
   * one's flag is in its session's queue): on Espruino the field would cost each message variables.
   */
  rt_?: boolean;
  /** MQTT 5 (lib/broker/v5.ts): properties passed on to level-5 subscribers. */
  pr5?: MsgProps;
  /** MQTT 5: when the message expires (broker clock, ms); a will's: its Message Expiry Interval, s. */
  ex5?: number;
  /**
   * MQTT 5: the Subscription Identifiers it goes out with (§3.3.4): set on a per-session copy of the message
   * (v5.ts withIds), never on the shared one.
   */
  si5?: number[];
  /** MQTT 5: a will's Will Delay Interval, s (§3.1.3.2.2). */
  dl5?: number;
}

declare global {
  /**
   * Defined as true by the device build (tools/build.mjs), so that MQTT 5 (lib/broker/v5.ts) drops out of the
   * device bundles; undefined on Node, where every broker speaks levels 4 and 5. Read only as
   * `!globalThis.NO_MQTT5`, where the define turns it into a constant.
   */
  var NO_MQTT5: boolean | undefined;
}

/**
 * Authentication and authorisation, injected (STYLE rule 1): the broker asks, the host decides. The ACL module
 * (lib/broker/acl.ts) implements it from a config; password hashing stays with the host (scrypt on Node).
 */
export interface Auth {
  /** CONNECT: 0 to accept, or the CONNACK refusal code: 4 (bad user name or password) or 5 (not authorized). */
  login(clientId: string, username: string | null, password: Uint8Array | null): number;
  /** May this client subscribe to `filter`? (false: SUBACK 0x80) */
  canSubscribe(clientId: string, username: string | null, filter: string): boolean;
  /** May this client receive a message on `topic`? (checked at delivery, after the filter matched) */
  canRead(clientId: string, username: string | null, topic: string): boolean;
  /** May this client publish on `topic`? (false: dropped and counted, acknowledged as the spec requires) */
  canWrite(clientId: string, username: string | null, topic: string): boolean;
}

export interface BrokerOptions {
  /** Connected clients at once (default 64); one more gets CONNACK 3 (server unavailable). */
  maxClients?: number;
  /** Sessions kept, connected or not (default 2 x maxClients); a new session over it gets CONNACK 3. */
  maxSessions?: number;
  /** Largest packet accepted from a client, fixed header included (default 65,536); larger: disconnect. */
  maxPacket?: number;
  /** Subscriptions per client (default 32) and in the whole broker (default 1,024); over it: SUBACK 0x80. */
  maxSubsPerClient?: number;
  maxSubs?: number;
  /** Retained messages (default 256) and their payload bytes (default 65,536); a new one over it is not kept. */
  maxRetained?: number;
  maxRetainedBytes?: number;
  /**
   * Messages queued per session: QoS 1/2 in flight or waiting, online or offline (default 100). Offline, a
   * message over it is dropped and counted; online, the client is disconnected (a subscriber that does not
   * read), its session keeps what it had.
   */
  maxQueue?: number;
  /** QoS 1/2 messages sent to a client and not yet acknowledged (default 20, as Mosquitto's max_inflight_messages). */
  maxInflight?: number;
  /** Inbound QoS 2 packet ids awaiting PUBREL per client (default 32); over it the client is disconnected. */
  maxInbound?: number;
  /** Time allowed between accepting a connection and its CONNECT, ms (default 10,000). */
  connectTimeout?: number;
  /** $SYS/broker/... statistics period, ms (default 10,000; 0: off). Broker only (BrokerCore has no $SYS). */
  sysInterval?: number;
  /** Authentication and ACL; without it every client is accepted with full access. */
  auth?: Auth;
  /** A line of log (connects, disconnects, refusals, limits hit); default: none. */
  log?: (line: string) => void;
  /** UTF-8 bytes (already checked by the codec) to a string; default lib/mqtt/utf8.ts's utf8Text. Node passes a native decoder. */
  text?: (b: Uint8Array) => string;
  /** The broker's version string in $SYS/broker/version (Broker only). */
  version?: string;
}

/** Counters: the $SYS figures and every limit hit (STYLE: every refusal is counted). */
export interface Stats {
  clientsConnected: number;
  clientsTotal: number; // sessions, connected or not
  clientsMaximum: number; // most connected at once
  connects: number;
  msgsReceived: number;
  msgsSent: number;
  bytesReceived: number;
  bytesSent: number;
  msgsDropped: number; // QoS 0 to a full connection, messages over an offline session's queue
  publishDenied: number; // ACL refused a PUBLISH
  subscribeDenied: number; // ACL or limit refused a filter
  refusedClients: number; // CONNACK 3 for maxClients / maxSessions
  refusedAuth: number; // CONNACK 4/5
  retainedDropped: number; // a retained message not kept (maxRetained / maxRetainedBytes)
  oversize: number; // packets over maxPacket (connection closed)
  protocolErrors: number; // connections closed for a protocol violation
  slowClients: number; // connections closed because their queue filled while online
  keepaliveTimeouts: number;
  connectTimeouts: number;
}

/**
 * Index of each counter of Stats in BrokerCore.st_ (a Float64Array: on Espruino 19 named fields cost about 49
 * variables, the array about 16). `const enum`: the numbers are inlined, so the names cost no device RAM.
 */
export const enum St {
  ClientsConnected = 0,
  ClientsTotal = 1,
  ClientsMaximum = 2,
  Connects = 3,
  MsgsReceived = 4,
  MsgsSent = 5,
  BytesReceived = 6,
  BytesSent = 7,
  MsgsDropped = 8,
  PublishDenied = 9,
  SubscribeDenied = 10,
  RefusedClients = 11,
  RefusedAuth = 12,
  RetainedDropped = 13,
  Oversize = 14,
  ProtocolErrors = 15,
  SlowClients = 16,
  KeepaliveTimeouts = 17,
  ConnectTimeouts = 18,
  /** How many. */
  N = 19,
}

/** What persistence writes and reads back (plain data, JSON-friendly: payloads as arrays of bytes). */
export interface Snapshot {
  retained: SnapshotMsg[];
  sessions: SnapshotSession[];
}

export interface SnapshotMsg {
  topic: string;
  payload: number[];
  qos: number;
  retain: boolean;
  /** MQTT 5: a queued message's Subscription Identifiers (§3.3.4), when it has any. */
  subIds?: number[];
}

export interface SnapshotSession {
  clientId: string;
  filters: string[];
  /** Each filter's QoS (0, 1 or 2). */
  qoss: number[];
  /**
   * MQTT 5: each filter's whole entry in the subscription table, its QoS with the Subscription Options and
   * Subscription Identifier kept with it (lib/broker/v5.ts), when one of the session's subscriptions has them.
   */
  opts5?: number[];
  /** MQTT 5: the Session Expiry Interval, s, when the session has one (it counts again from the restore). */
  expiry5?: number;
  /** Undelivered and unacknowledged QoS 1/2 messages, in order (sent again with DUP where they were sent). */
  queue: SnapshotMsg[];
}
