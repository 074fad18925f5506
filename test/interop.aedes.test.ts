/**
 * Issue 4, requirement 6, second broker: the core interop cases (QoS 0/1/2 both ways, retained, will, persistent
 * session) against aedes (npm) on a loopback net server, with MQTT.js as the independent peer.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { startAedes, type RunningAedes } from "./helpers/aedes";
import { coreCases } from "./helpers/interop-cases";
import { sleep } from "./helpers/peers";

describe("aedes: core cases", () => {
  let a: RunningAedes;
  let port = 0;
  const gone = new Set<string>();

  beforeAll(async () => {
    a = await startAedes();
    a.broker.on("clientDisconnect", (c) => { gone.add(c.id); });
    port = a.port;
  });

  afterAll(async () => { await a?.close(); });

  coreCases(() => ({
    port,
    gone: async (id) => {
      for (let i = 0; i < 500 && !gone.has(id); i++) await sleep(10);
      if (!gone.has(id)) throw new Error("aedes never reported the disconnection of " + id);
    },
  }));
});
