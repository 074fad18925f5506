/**
 * The one project-wide error set (STYLE.md rule 5). Every failure anywhere in lib/ (codec, client, broker,
 * drivers) is one of these values. They are all negative, so a function that returns a count (bytes written)
 * can return an error in the same number without a sentinel: `n < 0` means `n` is an `Err`. `Ok` is 0 and
 * falsy, so Espruino-style callbacks `cb(err, value)` can test `if (err)`.
 *
 * `const enum`: esbuild inlines the numbers into the bundle, so the enum costs no device RAM. Names for
 * humans are in `errName()` (lib/errname.ts), which device bundles leave out unless they print errors.
 */
export const enum Err {
  Ok = 0,

  // ---- general ----
  /** A caller buffer, queue, table or window is full. Nothing was written or queued. */
  NoMemory = -1,
  /**
   * The peer broke the protocol (unexpected packet, bad state). The connection must close. MQTT 5 codec: a
   * property included twice that may not repeat (§2.2.2.2), No Local on a shared subscription [MQTT-3.8.3-4].
   */
  Protocol = -2,
  /** Something did not answer in time (keepalive, connect, sensor conversion). */
  Timeout = -3,
  /** The connection or object is closed. */
  Closed = -4,
  /** A caller argument is invalid (empty topic, QoS 3, bad option). Nothing was sent. */
  Argument = -5,

  // ---- sensors / buses ----
  /** The bus itself failed (stuck line, arbitration, exception from the bus object). */
  Bus = -10,
  /** No device answered: no I2C ACK, no OneWire presence pulse, no DHT response. */
  NoDevice = -11,
  /** A CRC or checksum did not match. */
  Checksum = -12,
  /**
   * A reading outside the chip's physical range: rejected, never reported. MQTT 5 codec: a property value the
   * spec does not allow (Payload Format Indicator 2, Receive Maximum 0, Topic Alias 0 [MQTT-3.3.2-8], ...) or
   * Retain Handling 3, a Protocol Error (lib/mqtt5/props.ts).
   */
  Range = -13,

  // ---- MQTT codec: malformed packets (each maps to a spec rule, see lib/mqtt/*.ts) ----
  /** Packet larger than the configured maximum (before buffering), or a field over its size limit. */
  TooLarge = -20,
  /** Remaining length longer than 4 bytes [MQTT-2.2.3]; at MQTT 5, any Variable Byte Integer over 4 bytes (§1.5.5). */
  RemainingLength = -21,
  /** Reserved packet type 0 or 15, or a type this side never receives [MQTT-2.2.1]. */
  PacketType = -22,
  /** Fixed-header flags other than the ones the packet type requires [MQTT-2.2.2-1] [MQTT-2.2.2-2]. */
  HeaderFlags = -23,
  /** QoS 3 [MQTT-3.3.1-4], or a reserved bit in a requested QoS byte [MQTT-3.8.3-4]. */
  Qos = -24,
  /** Protocol name other than "MQTT" [MQTT-3.1.2-1]. */
  ProtocolName = -25,
  /** Protocol level other than 4: answer with CONNACK code 1 [MQTT-3.1.2-2]. */
  ProtocolLevel = -26,
  /**
   * Reserved CONNECT flag set [MQTT-3.1.2-3], or reserved CONNACK bits [MQTT-3.2.2-1]. MQTT 5: reserved
   * Subscription Options bits [MQTT-3.8.3-5]; an unknown property identifier or one not valid for the packet
   * (§2.2.2.2, a Malformed Packet).
   */
  ReservedFlag = -27,
  /** Will QoS/retain set without the will flag, or will QoS 3 [MQTT-3.1.2-11] .. [MQTT-3.1.2-15]. */
  WillFlags = -28,
  /** Password flag without user name flag [MQTT-3.1.2-22]. */
  PasswordNoUser = -29,
  /** Ill-formed UTF-8 or a surrogate [MQTT-1.5.3-1], or U+0000 [MQTT-1.5.3-2]. */
  Utf8 = -30,
  /** A wildcard in a PUBLISH topic name [MQTT-3.3.2-2]. */
  TopicWildcard = -31,
  /** An empty topic name or topic filter [MQTT-4.7.3-1]. */
  EmptyTopic = -32,
  /** `#` not last or not alone in its level, `+` not alone in its level [MQTT-4.7.1-2] [MQTT-4.7.1-3]. */
  FilterWildcard = -33,
  /** Packet identifier 0 where one is required [MQTT-2.3.1-1]. */
  PacketId = -34,
  /** SUBSCRIBE or UNSUBSCRIBE without any filter [MQTT-3.8.3-3] [MQTT-3.10.3-2]; SUBACK without codes. */
  NoFilters = -35,
  /** The remaining length does not match the fields: truncated or trailing bytes [MQTT-2.2.3]. */
  Length = -36,
  /** A SUBACK return code other than 0, 1, 2, 0x80 [MQTT-3.9.3-2]; a CONNACK code over 5; at MQTT 5, a reason code the packet may not carry (Table 2-6). */
  ReturnCode = -37,
  /** DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]. */
  DupQos0 = -38,
  /** CONNACK with session present set and a non-zero return code [MQTT-3.2.2-4]. */
  SessionPresent = -39,

  // ---- CONNACK refusals, reported by the client; value = -(40 + return code) ----
  /** CONNACK 1: unacceptable protocol version. */
  RefusedProtocol = -41,
  /** CONNACK 2: identifier rejected. */
  RefusedIdentifier = -42,
  /** CONNACK 3: server unavailable. */
  RefusedUnavailable = -43,
  /** CONNACK 4: bad user name or password. */
  RefusedCredentials = -44,
  /** CONNACK 5: not authorized. */
  RefusedNotAuthorized = -45,
}
