/**
 * Parser tables for the Decoder (lib/mqtt/decoder.ts) at protocol level 5, indexed by packet type, as
 * lib/mqtt/parsers.ts has them for level 4. At level 5 a server may also send DISCONNECT, and either side AUTH
 * (§2.1.2, Table 2-1, "direction of flow"); a packet of any other type is refused (Err.PacketType). The
 * Decoder's records are Packet5 records (lib/mqtt5/types.ts).
 */
import { Parser } from "../mqtt/types";
import { parseEmpty } from "../mqtt/ping";
import { parseConnack5, parseConnect5, parseConnectAny } from "./connect";
import { parsePublish5, parsePublish5ToServer } from "./publish";
import { parseAck5 } from "./ack";
import { parseCodes5, parseSubscribe5, parseUnsubscribe5 } from "./subscribe";
import { parseDisconnect5, parseDisconnect5ToClient } from "./disconnect";
import { parseAuth5 } from "./auth";

type Table = (Parser | 0)[];

/**
 * The level-5 parsers take a Packet5: the Decoder's record, which they extend (see types.ts). Marked pure at
 * each use, so that a bundle importing this module without using its tables (the 3.1.1 device broker, whose
 * level-5 paths the build removes) drops them and the parsers they name.
 */
function p(f: unknown): Parser {
  return f as Parser;
}

const ACK = /* @__PURE__ */ p(parseAck5);
const CODES = /* @__PURE__ */ p(parseCodes5);

/**
 * What a server sends to a client: CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK,
 * PINGRESP, DISCONNECT (without a Session Expiry Interval [MQTT-3.14.2-2]), AUTH.
 */
export const CLIENT5: Table = [0, 0, /* @__PURE__ */ p(parseConnack5), /* @__PURE__ */ p(parsePublish5), ACK, ACK, ACK, ACK, 0, CODES, 0, CODES, 0,
  parseEmpty, /* @__PURE__ */ p(parseDisconnect5ToClient), /* @__PURE__ */ p(parseAuth5)];

/**
 * What a client sends to a server: CONNECT, PUBLISH (without a Subscription Identifier [MQTT-3.3.4-6]),
 * PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT, AUTH.
 */
export const SERVER5: Table = [0, /* @__PURE__ */ p(parseConnect5), 0, /* @__PURE__ */ p(parsePublish5ToServer), ACK, ACK, ACK, ACK, /* @__PURE__ */ p(parseSubscribe5),
  0, /* @__PURE__ */ p(parseUnsubscribe5), 0, parseEmpty, 0, /* @__PURE__ */ p(parseDisconnect5), /* @__PURE__ */ p(parseAuth5)];

/**
 * SERVER5 with a CONNECT of level 4 or 5 (parseConnectAny): the first packet of a connection on a server that
 * speaks both; after the CONNECT, the connection's decoder takes SERVER (lib/mqtt/parsers.ts) or SERVER5.
 */
export const SERVER_ANY: Table = [0, /* @__PURE__ */ p(parseConnectAny), 0, /* @__PURE__ */ p(parsePublish5ToServer), ACK, ACK, ACK, ACK,
  /* @__PURE__ */ p(parseSubscribe5), 0, /* @__PURE__ */ p(parseUnsubscribe5), 0, parseEmpty, 0, /* @__PURE__ */ p(parseDisconnect5), /* @__PURE__ */ p(parseAuth5)];

/** Every packet type at level 5 (tests, tools, a sniffer). */
export const ALL5: Table = [0, /* @__PURE__ */ p(parseConnect5), /* @__PURE__ */ p(parseConnack5), /* @__PURE__ */ p(parsePublish5), ACK, ACK, ACK, ACK,
  /* @__PURE__ */ p(parseSubscribe5), CODES, /* @__PURE__ */ p(parseUnsubscribe5), CODES, parseEmpty, parseEmpty, /* @__PURE__ */ p(parseDisconnect5), /* @__PURE__ */ p(parseAuth5)];
