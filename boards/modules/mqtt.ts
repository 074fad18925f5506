/**
 * The typed MQTT client as an Espruino module (dist/modules/mqtt-client.js): the Client class and a `connect(options)`
 * that wires it to Espruino's `net` (or `tls`, ESP32) and clock and starts connecting. The compatibility API
 * (Espruino's MQTT module) is a separate module, dist/modules/MQTT.js, so this one never carries it.
 *
 *   var c = require("mqtt-client").connect({ host: "192.168.1.10", clientId: "node1" });
 *   c.on("connect", function () { c.subscribe("cmd/#", 1); c.publish("node1/up", "1", 1); });
 *   c.on("message", function (topic, payload) { print(topic, E.toString(payload)); });
 *
 * Options: those of ClientOptions (lib/mqtt/client.ts) and EspruinoNetOptions (boards/adapters/espruino-net.ts).
 *
 * The Client here is lib's with one Espruino edge: a string payload is turned into bytes by E.toUint8Array,
 * natively. That is the right UTF-8 on every Espruino build: the ESP8266/ESP32 firmware keeps strings as bytes
 * (a "°C" in the source is already its UTF-8 bytes, which a character-by-character encoder would encode a second
 * time), and builds with Unicode strings hand out UTF-8. It is also much cheaper there than a JavaScript loop
 * over the characters (measured with tools/footprint.ts).
 */
import { Client, ClientOptions } from "../../lib/mqtt/client";
import { EspruinoNet, EspruinoNetOptions, espruinoClock } from "../adapters/espruino-net";

class EspruinoClient extends Client {
  override publish(topic: string, payload: string | Uint8Array, qos?: number, retain?: boolean): number {
    return super.publish(topic, typeof payload == "string" ? E.toUint8Array(payload) : payload, qos, retain);
  }
}

exports.Client = EspruinoClient;
exports.EspruinoNet = EspruinoNet;
exports.clock = espruinoClock;
exports.connect = function (o: ClientOptions & EspruinoNetOptions): Client {
  const c = new EspruinoClient(o, new EspruinoNet(o), espruinoClock);
  c.connect();
  return c;
};
