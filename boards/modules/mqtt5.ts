/**
 * The level-5 MQTT client as an Espruino module (dist/modules/mqtt5-client.js): lib/mqtt5/client.ts's Client5
 * and a `connect(options)` wired to Espruino's `net` (or `tls`, ESP32) and clock, as dist/modules/mqtt-client.js
 * is for the 3.1.1 client. It is a separate module (issue 9, requirement 4): the 3.1.1 one carries none of it.
 *
 *   var c = require("mqtt5-client").connect({ host: "192.168.1.10", clientId: "node1", sessionExpiry: 3600 });
 *   c.on("connect", function () { c.publish("node1/up", "1", 1, false, { messageExpiry: 600 }); });
 *   c.on("error", function (e, type, reason) { if (reason) print(reason.code, reason.name); });
 *
 * A string payload is turned into bytes by E.toUint8Array (natively, and the right UTF-8 on every build: see
 * boards/modules/mqtt.ts). Topic strings stay strings, so that repeated topics can go as topic aliases; on the
 * ESP8266/ESP32 builds, whose strings are bytes, give a topic with non-ASCII characters as E.toUint8Array(topic).
 */
import { Client5, Client5Options } from "../../lib/mqtt5/client";
import { Props } from "../../lib/mqtt5/types";
import { EspruinoNet, EspruinoNetOptions, espruinoClock } from "../adapters/espruino-net";

class EspruinoClient5 extends Client5 {
  override publish(topic: string | Uint8Array, payload: string | Uint8Array, qos?: number, retain?: boolean, props?: Props): number {
    return super.publish(topic, typeof payload == "string" ? E.toUint8Array(payload) : payload, qos, retain, props);
  }
}

exports.Client5 = EspruinoClient5;
exports.connect = function (o: Client5Options & EspruinoNetOptions): Client5 {
  const c = new EspruinoClient5(o, new EspruinoNet(o), espruinoClock);
  c.connect();
  return c;
};
