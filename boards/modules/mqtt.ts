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
 * The Client here is lib's with one Espruino edge: a string topic or payload is turned into bytes by
 * E.toUint8Array, natively (the last topic's bytes are kept for the next publish). That is the right UTF-8 on every Espruino build: the ESP8266/ESP32 firmware keeps strings as bytes
 * (a "°C" in the source is already its UTF-8 bytes, which a character-by-character encoder would encode a second
 * time), and builds with Unicode strings hand out UTF-8. It is also much cheaper there than a JavaScript loop
 * over the characters (measured with tools/footprint.ts).
 */
import { Client, ClientOptions } from "../../lib/mqtt/client";
import { EspruinoNet, EspruinoNetOptions, espruinoClock } from "../adapters/espruino-net";

class EspruinoClient extends Client {
  // the last topic string published, and its bytes: telemetry repeats its topics. No initialisers: a field
  // initialiser in a subclass makes esbuild write a constructor with a rest parameter and spread.
  private tt_?: string;
  private tb_?: Uint8Array;

  override publish(topic: string | Uint8Array, payload: string | Uint8Array, qos?: number, retain?: boolean): number {
    if (typeof topic == "string") {
      if (topic !== this.tt_ || !this.tb_) { this.tb_ = E.toUint8Array(topic); this.tt_ = topic; }
      topic = this.tb_;
    }
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
