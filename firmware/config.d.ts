/**
 * "@config": the virtual module tools/build.mjs makes for each firmware bundle from the role's config file,
 * validated at build time (lib/node/config.ts for a node, lib/node/gateway-config.ts for a gateway).
 */
declare module "@config" {
  /** The validated config, defaults filled: a NodeConfig (node) or a GatewayConfig (gateway). */
  export const config: unknown;
  /** The sensor drivers this config uses, by sensor type (`connect(bus, options)` of lib/drivers/<driver>.ts). */
  export const drivers: { [type: string]: (bus: unknown, o: { [k: string]: unknown }) => import("../lib/drivers/types").Sensor };
  /** package.json's version. */
  export const version: string;
}
