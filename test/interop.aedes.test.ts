/**
 * Issue 4, requirement 6, second broker: the core interop cases (QoS 0/1/2 both ways, retained, will, persistent
 * session) against aedes (npm) on a loopback net server, with MQTT.js as the independent peer.
 */
import net from "node:net";
import { Aedes } from "aedes";
import { afterAll, beforeAll, describe } from "vitest";
import { coreCases } from "./helpers/interop-cases";
import { sleep } from "./helpers/peers";

describe("aedes: core cases", () => {
  let broker: Aedes;
  let server: net.Server;
  let port = 0;
  const gone = new Set<string>();

  beforeAll(async () => {
    broker = await Aedes.createBroker();
    broker.on("clientDisconnect", (c) => { gone.add(c.id); });
    server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const a = server.address();
    port = typeof a == "object" && a ? a.port : 0;
  });

  afterAll(async () => {
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  coreCases(() => ({
    port,
    gone: async (id) => {
      for (let i = 0; i < 500 && !gone.has(id); i++) await sleep(10);
      if (!gone.has(id)) throw new Error("aedes never reported the disconnection of " + id);
    },
  }));
});
