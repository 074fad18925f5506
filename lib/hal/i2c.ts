/**
 * I2C as lib/ sees it: the shape of Espruino's own `I2C` objects (`I2C1`, or `new I2C()` for software I2C), so
 * a real bus satisfies the type as it is (STYLE.md rule 2). Checked against Espruino 2v29's jswrap_i2c.c:
 *
 * - `writeTo(address, data)`: data is a byte, an array of bytes, a Uint8Array or a binary string; a repeated
 *   start is not available through this call (each writeTo ends with a STOP).
 * - `readFrom(address, quantity)`: a Uint8Array of `quantity` bytes.
 * - A device that does not acknowledge its address, or a bus that is stuck, makes the call throw (the hardware
 *   I2C of the ESP32 and the software I2C both report it as an exception; the text differs by port, so drivers
 *   treat any exception from the bus as a failed transfer and tell NoDevice from Bus by what they were doing:
 *   the first transfer of a read, the chip-id check, is NoDevice).
 */
export interface I2cBus {
  writeTo(address: number, data: number | number[] | Uint8Array): void;
  readFrom(address: number, quantity: number): Uint8Array;
}
