/**
 * The micro-broker as an Espruino module (dist/modules/broker.js): `Broker`, the device broker (BrokerCore,
 * lib/broker/core.ts: no $SYS statistics, no snapshot/restore, a flat subscription list), the
 * socket host `listen` (boards/adapters/espruino-server.ts), the Espruino clock, and `start(options)`, which
 * makes a Broker on that clock, starts it and listens on `options.port`.
 *
 *   var b = require("broker").start({ port: 1883, maxClients: 4, maxSubs: 16, maxRetained: 8, maxPacket: 256 });
 *   // b.broker.stats.clientsConnected, ...; b.close() stops listening and ends every connection
 *
 * Options: those of BrokerOptions (lib/broker/types.ts), `port`, and `writeLimit` (each connection's bound on
 * unsent bytes). Set `maxPacket` for the device: the broker's encode buffer is that size, and its default
 * (65,536, for Node) does not fit an ESP8266; `start` uses 1,024 when none is given. `writeLimit` defaults to
 * 1,072 + `maxPacket`: the acks to two received chunks of 536 bytes (see boards/adapters/espruino-server.ts)
 * and the largest packet.
 */
import { BrokerCore as Broker } from "../../lib/broker/core";
import { BrokerOptions } from "../../lib/broker/types";
import { espruinoClock } from "../adapters/espruino-net";
import { listen } from "../adapters/espruino-server";

exports.Broker = Broker;
exports.listen = listen;
exports.clock = espruinoClock;
exports.start = function (o: BrokerOptions & { port: number; writeLimit?: number }): { broker: Broker; close(): void } {
  if (!o.maxPacket) o.maxPacket = 1024;
  const b = new Broker(o, espruinoClock);
  b.start();
  const l = listen(o.port, b.accept, { writeLimit: o.writeLimit || 1072 + o.maxPacket });
  return { broker: b, close: () => { l.close(); b.close(); } };
};
