/**
 * I2C transfers that report failure instead of throwing (Espruino's I2C throws on a missing ACK or a stuck bus,
 * lib/hal/i2c.ts): the drivers turn `false`/`null` into their Err (NoDevice or Bus, by what they were doing).
 */
import { I2cBus } from "../hal/i2c";

/** writeTo; false when the bus threw. */
export function tryWrite(bus: I2cBus, address: number, data: number | Uint8Array): boolean {
  try {
    bus.writeTo(address, data);
    return true;
  } catch (e) {
    return false;
  }
}

/** readFrom of `n` bytes; null when the bus threw or gave fewer bytes. */
export function tryRead(bus: I2cBus, address: number, n: number): Uint8Array | null {
  try {
    const d = bus.readFrom(address, n);
    return d && d.length >= n ? d : null;
  } catch (e) {
    return null;
  }
}
