/**
 * The level-5 client (lib/mqtt5/client.ts) on the real interpreter against Mosquitto at MQTT 5: the exchange of
 * test/device/mqtt-client.ts (test/device/client/exchange.ts), connecting at level 5 with a Session Expiry
 * Interval and publishing with a Message Expiry Interval and a user property. Driven by
 * test/espruino.client.test.ts, which also checks that the CONNECT was level 5.
 */
import { Client5 } from "../../lib/mqtt5/client";
import { EspruinoNet, espruinoClock } from "../../boards/adapters/espruino-net";
import { exchange } from "./client/exchange";

declare const CFG: { host: string; port: number; id: string; prefix: string; n: number; rx: number; writeLimit?: number };

const c = new Client5({ host: CFG.host, port: CFG.port, clientId: CFG.id, keepalive: 30, maxPacket: 256, outbox: 1024, sessionExpiry: 60 },
  new EspruinoNet({ writeLimit: CFG.writeLimit }), espruinoClock);
const PR = { messageExpiry: 600, userProps: ["dev", "esp"] };
c.on("level", (l) => { console.log("LEVEL " + l); });
exchange(c, (t, p, q) => c.publish(t, p, q, false, PR));
