/**
 * The typed client on the real interpreter against a real broker (issue 4, requirement 8), driven by
 * test/espruino.client.test.ts, which starts Mosquitto, puts `var CFG = {...}` in front of this bundle and
 * plays the other side with MQTT.js. The exchange, one line each way:
 *
 *   device                                         test (MQTT.js)
 *   connects, subscribes CFG.prefix + "in/#" (QoS 2)
 *   READY                                   ->     publishes "in/sync"
 *   on the sync, after the idle loop:
 *   BASE <usage>                            ->     publishes CFG.rx messages on "in/m" at QoS 0, 1, 2 in turn
 *   publishes CFG.n QoS 1 messages on "out/1" and CFG.n QoS 2 on "out/2" (payloads "0".."2n-1"), as fast as
 *   the outbox takes them (a full outbox, Err.NoMemory, waits for the next ack)
 *   RUN rx=<received> acked=<acks>          ->     (when every ack and message is in) publishes "in/sync"
 *   END <usage> rx=.. acked=.. dropped=..          compares the usages, counts what arrived at MQTT.js
 *   then disconnects; CLOSED; nothing is left running, so the interpreter ends.
 *
 * Both usages (`process.memory().usage`, after a garbage collection) are taken in the same place: in a timer
 * set on the arrival of a sync message of the same size, so the objects that live from one packet to the next
 * (the decoder's packet object, the socket's buffers, the client's timer) are in the same state both times.
 * Anything the run itself left behind shows as a difference.
 */
import { Client } from "../../lib/mqtt/client";
import { EspruinoNet, espruinoClock } from "../../boards/adapters/espruino-net";
import { exchange } from "./client/exchange";

declare const CFG: { host: string; port: number; id: string; prefix: string; n: number; rx: number; writeLimit?: number };

const c = new Client({ host: CFG.host, port: CFG.port, clientId: CFG.id, keepalive: 30, maxPacket: 256, outbox: 1024 },
  new EspruinoNet({ writeLimit: CFG.writeLimit }), espruinoClock);
exchange(c, (t, p, q) => c.publish(t, p, q));
