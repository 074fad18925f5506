/**
 * The broker's one dispatch (after aedes): each packet from a client goes to its handler. Until CONNECT has
 * been accepted nothing else is allowed [MQTT-3.1.0-1]. Which types can arrive at all is the codec's SERVER
 * table (CONNACK, SUBACK, UNSUBACK, PINGRESP from a client are refused there) [MQTT-4.8.0-1].
 */
import { Packet, T } from "../mqtt/types";
import type { BrokerCore as Broker } from "./core";
import { Peer } from "./peer";
import { onConnect } from "./handlers/connect";
import { onPublish } from "./handlers/publish";
import { onPuback, onPubcomp, onPubrec, onPubrel } from "./handlers/ack";
import { onSubscribe } from "./handlers/subscribe";
import { onUnsubscribe } from "./handlers/unsubscribe";
import { onPingreq } from "./handlers/ping";
import { onDisconnect } from "./handlers/disconnect";
import { close5, onDisconnect5 } from "./v5";
import { Packet5 } from "../mqtt5/types";

export function dispatch(b: Broker, p: Peer, pk: Packet): void {
  const t = pk.type;
  if (t == T.CONNECT) return onConnect(b, p, pk);
  if (!p.s_) return b.bad_(p, -2, t); // [MQTT-3.1.0-1]
  if (t == T.PUBLISH) return onPublish(b, p, pk);
  if (t == T.PUBACK) return onPuback(b, p, pk);
  if (t == T.PUBREC) return onPubrec(b, p, pk);
  if (t == T.PUBREL) return onPubrel(b, p, pk);
  if (t == T.PUBCOMP) return onPubcomp(b, p, pk);
  if (t == T.SUBSCRIBE) return onSubscribe(b, p, pk);
  if (t == T.UNSUBSCRIBE) return onUnsubscribe(b, p, pk);
  if (t == T.PINGREQ) return onPingreq(b, p);
  if (!globalThis.NO_MQTT5 && p.v5) {
    // MQTT 5 (v5.ts): DISCONNECT with a reason code and maybe a new Session Expiry Interval; AUTH without an
    // Authentication Method at CONNECT is a Protocol Error (§4.12: no enhanced authentication here)
    if (t == T.DISCONNECT) return onDisconnect5(b, p, pk as Packet5);
    return close5(b, p, 0x82, "AUTH without enhanced authentication");
  }
  onDisconnect(b, p);
}
