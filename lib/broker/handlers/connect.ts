/**
 * CONNECT (§3.1): a second CONNECT is a violation [MQTT-3.1.0-2]; an empty client id gets one assigned with a
 * clean session [MQTT-3.1.3-6] and is refused without (CONNACK 2) [MQTT-3.1.3-8]; authentication (CONNACK
 * 4/5); limits (CONNACK 3); session takeover [MQTT-3.1.4-2] (the old connection's will is published); clean session discards an old session
 * [MQTT-3.1.2-6]; session present [MQTT-3.2.2-2] [MQTT-3.2.2-3]; keepalive; the will kept for an abnormal end.
 */
import { Err } from "../../errors";
import { encodeConnack } from "../../mqtt/connect";
import { Packet } from "../../mqtt/types";
import type { BrokerCore as Broker } from "../core";
import { Peer } from "../peer";
import { St } from "../types";
import { cancelWill5, connect5, willExtras } from "../v5";
import { Packet5 } from "../../mqtt5/types";

export function onConnect(b: Broker, p: Peer, pk: Packet): void {
  if (p.s_) return b.bad_(p, Err.Protocol, 1); // [MQTT-3.1.0-2]
  if (!globalThis.NO_MQTT5 && pk.level == 5) p.v5 = 1; // (MQTT 5: v5.ts; refusals then carry level-5 reason codes)
  let id = b.text_(pk.clientId);
  const user = pk.username ? b.text_(pk.username) : null;
  if (!id) {
    // (at level 5 any client may leave its id to the server, which says which in CONNACK [MQTT-3.1.3-7])
    if (!pk.clean && (globalThis.NO_MQTT5 || !p.v5)) return b.refuse_(p, 2, "empty client id without clean session"); // [MQTT-3.1.3-8]
    id = b.newId_(); // [MQTT-3.1.3-6]
  }
  const a = b.o.auth;
  // a bridge's local connection (Broker.acceptBridge) is made by the host in memory, never from the network: it
  // is not asked to log in (the bridge's own client has no credentials for this broker)
  let code = a && !p.bridge_ ? a.login(id, user, pk.password) : 0;
  const willTopic = pk.will ? b.text_(pk.willTopic) : "";
  if (!code && a && pk.will && !a.canWrite(id, user, willTopic)) code = 5;
  if (code) {
    b.st_[St.RefusedAuth]++;
    return b.refuse_(p, code, (code == 4 ? "bad user name or password: " : "not authorized: ") + id + (user ? " user " + user : ""));
  }
  let s = b.session(id);
  const old = s ? s.peer_ as Peer | null : null;
  if (old) {
    // session takeover: the existing connection is closed [MQTT-3.1.4-2]. Its will goes out, as Mosquitto 2
    // does (checked with 2.0.11): that connection ended without DISCONNECT [MQTT-3.1.2-8]
    const w = s!.will_;
    old.bye_ = 1; // (published here, not again when its down_ comes)
    if (!globalThis.NO_MQTT5 && old.v5) old.rc5 = 0x8e; // Session taken over, to a level-5 client
    old.s_ = null;
    s!.detach_();
    b.st_[St.ClientsConnected]--;
    b.drop_(old, "taken over by a new connection");
    // (MQTT 5: a will with a Will Delay Interval is not sent: this is a new connection to the session [MQTT-3.1.3-9])
    if (w && (globalThis.NO_MQTT5 || !w.dl5)) {
      if (!globalThis.NO_MQTT5) b.x5 = willExtras(b, w);
      b.incoming_(w.tp_, w.pl_, w.qos_, !!w.rt_, null);
      if (!globalThis.NO_MQTT5) b.x5 = null;
    }
  }
  if (b.st_[St.ClientsConnected] >= b.maxClients_) {
    b.st_[St.RefusedClients]++;
    return b.refuse_(p, 3, "limit of " + b.maxClients_ + " clients reached: " + id);
  }
  // (MQTT 5: a new connection for the client id, Clean Start or not, means a will still waiting for its Will
  // Delay Interval is not sent [MQTT-3.1.2-8] [MQTT-3.1.3-9], as Mosquitto does)
  if (!globalThis.NO_MQTT5 && s) cancelWill5(s);
  // [MQTT-3.1.2-6]: a clean session asked for, or the one taken over was clean (it ended with its connection)
  if (s && (pk.clean || s.clean)) {
    b.forget_(s);
    s = undefined;
  }
  const present = !!s;
  if (!s) {
    const n = b.open_(id, pk.clean);
    if (!n) {
      b.st_[St.RefusedClients]++;
      return b.refuse_(p, 3, "limit of " + b.maxSessions_ + " sessions reached: " + id);
    }
    s = n;
  }
  s.clean = pk.clean ? 1 : 0;
  // (a level-4 client on a session a level-5 one left: kept as level 4 keeps it, with no expiry)
  if (!globalThis.NO_MQTT5 && !p.v5 && s.exAt5 !== undefined) { delete s.exAt5; delete s.sx5; }
  if (user != null || s.user_ != null) s.user_ = user;
  if (p.bridge_ || s.bridge_) s.bridge_ = p.bridge_;
  s.peer_ = p;
  if (pk.will) s.will_ = { tp_: willTopic, pl_: new Uint8Array(pk.willPayload), qos_: pk.willQos, rt_: pk.willRetain };
  p.s_ = s;
  p.ka_ = pk.keepalive * 1000;
  const st = b.st_;
  st[St.Connects]++;
  if (++st[St.ClientsConnected] > st[St.ClientsMaximum]) st[St.ClientsMaximum] = st[St.ClientsConnected];
  if (!globalThis.NO_MQTT5 && p.v5) connect5(b, p, s, pk as Packet5, present);
  else b.send_(p, encodeConnack(b.tx_, 0, present, 0));
  b.log_("connect " + id + (user ? " user " + user : "") + (pk.clean ? "" : " persistent") + (present ? " (session resumed)" : ""));
  if (present) b.resume_(s);
}
