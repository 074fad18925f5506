/**
 * Parser tables for the Decoder, indexed by packet type. A client takes CLIENT, a server SERVER: each bundle
 * carries only the parsers of the packets its side may receive (§2.2.1, Table 2.1, "direction of flow"), and
 * any other type is refused as a protocol error.
 */
import { Parser } from "./types";
import { parseConnack, parseConnect } from "./connect";
import { parsePublish } from "./publish";
import { parseAck } from "./ack";
import { parseSuback, parseSubscribe, parseUnsubscribe } from "./subscribe";
import { parseEmpty } from "./ping";

type Table = (Parser | 0)[];

/** What a server sends to a client: CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP. */
export const CLIENT: Table = [0, 0, parseConnack, parsePublish, parseAck, parseAck, parseAck, parseAck, 0, parseSuback, 0, parseAck, 0, parseEmpty, 0, 0];

/** What a client sends to a server: CONNECT, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT. */
export const SERVER: Table = [0, parseConnect, 0, parsePublish, parseAck, parseAck, parseAck, parseAck, parseSubscribe, 0, parseUnsubscribe, 0, parseEmpty, 0, parseEmpty, 0];

/** Every packet type (tests, tools, a sniffer). */
export const ALL: Table = [0, parseConnect, parseConnack, parsePublish, parseAck, parseAck, parseAck, parseAck, parseSubscribe, parseSuback, parseUnsubscribe, parseAck, parseEmpty, parseEmpty, parseEmpty, 0];
