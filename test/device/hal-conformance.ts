/**
 * The HAL conformance suite (test/device/hal-checks.ts) against Espruino's own objects, on Espruino's Linux
 * build: `require("Storage")`, a software `I2C` with nothing on it, and a `OneWire` on a pin with nothing on it.
 * Prints PASS/FAIL lines and DONE <failures>; test/hal.conformance.test.ts runs it when ESPRUINO_BIN is set.
 */
import { I2cBus } from "../../lib/hal/i2c";
import { OneWireBus } from "../../lib/hal/onewire";
import { KvStorage } from "../../lib/hal/storage";
import { i2cChecks, oneWireChecks, runChecks, storageChecks } from "./hal/checks";

declare const D1: Pin;
declare const D2: Pin;
declare const D3: Pin;

// Espruino's classes, reached through `global` (@types/espruino declares I2C and OneWire as types only)
const g = global as unknown as {
  require(n: string): KvStorage;
  I2C: new () => I2cBus & { setup(o: object): void };
  OneWire: new (p: Pin) => OneWireBus;
};
const i2c = new g.I2C();
i2c.setup({ scl: D1, sda: D2 });
const cs = storageChecks(g.require("Storage"))
  .concat(i2cChecks(i2c, 0x76))
  .concat(oneWireChecks(new g.OneWire(D3)));
const failed = runChecks(cs, function (l) { console.log(l); });
console.log("DONE " + failed);
