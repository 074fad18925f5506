/** aedes (npm), the second broker of the interop tests, on a loopback port chosen by the system. */
import net from "node:net";
import { Aedes } from "aedes";

export interface RunningAedes { broker: Aedes; port: number; close(): Promise<void> }

export async function startAedes(): Promise<RunningAedes> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  return {
    broker,
    port: typeof a == "object" && a ? a.port : 0,
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
