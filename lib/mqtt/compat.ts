/**
 * The API of Espruino's own MQTT module (modules/MQTT.js of github:espruino/EspruinoDocs) over our client, so
 * that a program written for it changes one `require` and keeps working (issue 4, requirement 5). Bundled as
 * its own module (dist/modules/MQTT.js, boards/modules/mqtt-compat.ts); the typed module never carries it.
 *
 *   var mqtt = require("MQTT").create("192.168.1.10", { client_id: "node1", keep_alive: 30 });
 *   mqtt.on("connected", function () { mqtt.subscribe("cmd/#"); mqtt.publish("node1/up", "1"); });
 *   mqtt.on("publish", function (pub) { print(pub.topic, pub.message); });
 *   mqtt.connect();
 *
 * As there:
 * - options `port` (1883), `client_id` (random when absent), `keep_alive` (seconds, 60; 0 also means 60),
 *   `clean_session`, `username`, `password` (sent only with a user name);
 * - `connect()`, `disconnect()`, `publish(topic, message, options)` with options `{qos, retain}` (a number is
 *   taken as the QoS too), `subscribe(topic | [topics] | {topic: qos}, options)` with `{qos}` or a number,
 *   `unsubscribe(topic)`, the `connected` flag;
 * - events, emitted with Espruino's own `emit` (every Espruino object has `on`/`emit`): 'connected' then
 *   'connect' when the broker accepts; 'publish' with `{topic, message, dup, qos, retain}` (topic and message
 *   as strings of the received bytes, dup and retain as 0/1) then 'message' (topic, message); 'disconnected'
 *   then 'close' when a connection that was up ends (also after `disconnect()`); 'subscribed' or
 *   'subscribed_fail' per SUBACK; 'unsubscribed'; 'puback' (id) when a QoS 1 message is acknowledged and
 *   'pubcomp' (id) when a QoS 2 one is; 'error' with a message (a refused CONNACK gives the same text,
 *   "Connection refused, BAD_USER_NAME_OR_PASSWORD", ...).
 *
 * Where it differs, on purpose:
 * - `clean_session: false` is honoured (Espruino's module sends clean session whatever is set: its
 *   `options.clean_session || true` is always true, and its CONNECT takes the client id for the flag).
 * - QoS 1 and 2 are complete flows (resent on reconnect, exactly once at QoS 2); QoS 1/2 messages published
 *   while offline are queued, QoS 0 ones dropped (Espruino's module drops everything while offline).
 * - It reconnects by itself after a lost connection (option `reconnect`: first delay in ms, default 1000, with
 *   backoff; 0 turns it off) and makes the subscriptions again. A program that calls `connect()` on
 *   'disconnected' still works: a second `connect()` is ignored.
 * - `subscribe` takes an optional callback `cb(err)`: err undefined when the broker granted the filter, a
 *   message when it refused it. Subscriptions made while offline are sent on connect.
 * - Extra options: `will` (`{topic, payload, qos, retain}`), `reconnect`. `protocol_name` and
 *   `protocol_level` are ignored: this client speaks MQTT 3.1.1 only. `connect(socket)` with a socket of the
 *   caller's is not supported (the transport opens its own). No 'ping_reply' event.
 * - The error event's second argument is the Err code.
 *
 * lib/ sees no Espruino object: the transport, the clock and the two byte/string conversions (E.toString and
 * E.toUint8Array on a device) are given by the caller.
 */
import { Err } from "../errors";
import { Clock, Transport } from "../hal/net";
import { Client } from "./client";
import { WillFields } from "./connect";
import { Packet } from "./types";

export interface CompatOptions {
  port?: number;
  client_id?: string;
  keep_alive?: number;
  clean_session?: boolean;
  username?: string;
  password?: string;
  /** Ignored (MQTT 3.1.1 only). */
  protocol_name?: string;
  /** Ignored (MQTT 3.1.1 only). */
  protocol_level?: number;
  /** First reconnect delay in ms (default 1000, doubling up to 60 s); 0: no reconnect, as Espruino's module. */
  reconnect?: number;
  will?: WillFields;
}

/** What the 'publish' event carries. */
export interface CompatPublish {
  topic: string;
  message: string;
  dup: number;
  qos: number;
  retain: number;
}

type Callback = (err?: string) => void;

/** Espruino's module's names of the CONNACK return codes 1-5, for its error text. */
const REFUSED = ["UNACCEPTABLE_PROTOCOL_VERSION", "IDENTIFIER_REJECTED", "SERVER_UNAVAILABLE",
  "BAD_USER_NAME_OR_PASSWORD", "NOT_AUTHORIZED"];

export class MQTT {
  /** Espruino's built-in event methods (every object has them on Espruino; tests on Node supply them). */
  declare on: (event: string, f: (...a: never[]) => void) => unknown;
  declare emit: (event: string, a?: unknown, b?: unknown) => unknown;
  /** True while the broker has accepted the connection. */
  connected = false;
  readonly server: string;
  readonly port: number;
  readonly client_id: string;
  private readonly c_: Client;
  private readonly str_: (b: Uint8Array) => string;
  private readonly bin_: (s: string) => Uint8Array;
  private readonly cb_: { [filter: string]: Callback } = {};
  private readonly q2_: number[] = []; // ids of QoS 2 messages not yet complete, to name their ack 'pubcomp'

  /**
   * @param str bytes to a string of those bytes (E.toString on Espruino)
   * @param bin a string's characters to bytes (E.toUint8Array on Espruino): a message is sent as the bytes of
   *   its string, as Espruino's module sends it
   */
  constructor(server: string, options: CompatOptions | undefined, transport: Transport, clock: Clock,
    str: (b: Uint8Array) => string, bin: (s: string) => Uint8Array) {
    const o = options || {};
    const t = this;
    this.server = server;
    this.port = o.port || 1883;
    this.client_id = o.client_id || "espruino" + Math.floor(Math.random() * 1e9);
    this.str_ = str;
    this.bin_ = bin;
    const c = this.c_ = new Client({
      host: server, port: this.port, clientId: this.client_id, keepalive: o.keep_alive || 60,
      clean: o.clean_session !== false, username: o.username, password: o.username ? o.password : undefined,
      reconnect: o.reconnect ?? 1000, will: o.will,
    }, transport, clock);
    const up = (): void => {
      t.connected = true;
      t.emit("connected");
      t.emit("connect");
    };
    const down = (): void => {
      if (!t.connected) return;
      t.connected = false;
      t.emit("disconnected");
      t.emit("close");
    };
    c.on("connect", up).on("reconnect", up).on("offline", down).on("close", down);
    c.on("message", (_topic, _payload, p) => t.message_(p as Packet));
    c.on("error", (e) => t.emit("error", e as number < -40 ? "Connection refused, " + REFUSED[-41 - (e as number)] : "MQTT error " + e, e));
    c.on("suback", (f, q) => t.acked_(f as string, q as number < 0 ? "refused" : ""));
    c.on("unsuback", () => t.emit("unsubscribed"));
    c.on("ack", (id) => {
      const i = t.q2_.indexOf(id as number);
      if (i >= 0) t.q2_.splice(i, 1);
      t.emit(i < 0 ? "puback" : "pubcomp", id);
    });
  }

  /** Connects (a call while connecting or connected is ignored). */
  connect(): void {
    this.c_.connect();
  }

  /** Sends DISCONNECT and closes; 'disconnected' and 'close' follow. No reconnect. */
  disconnect(): void {
    this.c_.end();
  }

  /**
   * Publishes `message` (its string's bytes) with `options` `{qos, retain}` or a QoS number. Returns the packet
   * id (QoS 1/2), 0, or a negative Err (see Client.publish).
   */
  publish(topic: string, message: unknown, options?: number | { qos?: number; retain?: boolean }): number {
    const o = typeof options == "object" && options ? options : { qos: options, retain: false };
    const id = this.c_.publish(topic, this.bin_(String(message)), o.qos || 0, o.retain);
    if (o.qos == 2 && id > 0) this.q2_.push(id);
    return id;
  }

  /** Subscribes to a filter, an array of filters (all at `options`' QoS) or an object filter -> QoS. */
  subscribe(topics: string | string[] | { [filter: string]: number }, options?: number | { qos?: number } | Callback, cb?: Callback): void {
    if (typeof options == "function") { cb = options; options = undefined; }
    const q = (typeof options == "object" && options ? options.qos : options) || 0;
    if (typeof topics == "string") topics = [topics];
    if (Array.isArray(topics)) {
      for (let i = 0; i < topics.length; i++) this.sub_(topics[i]!, q, cb);
    } else {
      for (const f in topics) this.sub_(f, topics[f]!, cb);
    }
  }

  unsubscribe(topic: string): void {
    this.c_.unsubscribe(topic);
  }

  private sub_(f: string, q: number, cb: Callback | undefined): void {
    if (this.c_.subscribe(f, q) == Err.Ok) {
      if (cb) this.cb_[f] = cb;
    } else if (cb) cb("invalid filter or QoS");
    else this.emit("error", "MQTT invalid subscription " + f, Err.Argument);
  }

  private acked_(f: string, err: string): void {
    this.emit(err ? "subscribed_fail" : "subscribed");
    const cb = this.cb_[f];
    if (!cb) return;
    delete this.cb_[f];
    cb(err || undefined);
  }

  private message_(p: Packet): void {
    const topic = this.str_(p.topic);
    const message = this.str_(p.payload);
    const m: CompatPublish = { topic: topic, message: message, dup: p.dup ? 1 : 0, qos: p.qos, retain: p.retain ? 1 : 0 };
    this.emit("publish", m);
    this.emit("message", topic, message);
  }
}
