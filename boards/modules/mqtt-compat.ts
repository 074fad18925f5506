/**
 * The compatibility module (dist/modules/MQTT.js): the API of Espruino's own MQTT module over our client
 * (lib/mqtt/compat.ts says what matches and what differs), wired to Espruino's `net` (or `tls` on ESP32 with
 * options tls/ca/key/cert) and clock. A program written for Espruino's module switches by loading this one as
 * "MQTT" (or changing its `require` to whatever name this is stored under):
 *
 *   var mqtt = require("MQTT").create("192.168.1.10", { client_id: "node1" });
 *   mqtt.on("connected", function () { mqtt.subscribe("cmd/#"); });
 *   mqtt.on("publish", function (pub) { print(pub.topic, pub.message); });
 *   mqtt.connect();
 */
import { CompatOptions, MQTT } from "../../lib/mqtt/compat";
import { EspruinoNet, EspruinoNetOptions, espruinoClock } from "../adapters/espruino-net";

type Options = CompatOptions & EspruinoNetOptions;

const str = (b: Uint8Array): string => E.toString(b);
const bin = (s: string): Uint8Array => E.toUint8Array(s);

function create(server: string, options?: Options): MQTT {
  return new MQTT(server, options, new EspruinoNet(options), espruinoClock, str, bin);
}

exports.create = create;
/** `connect({host, ...options})`: create and connect. */
exports.connect = function (options: Options & { host: string }): MQTT {
  const m = create(options.host, options);
  m.connect();
  return m;
};
