/**
 * CRC-8 of Dallas/Maxim 1-Wire devices (Maxim Application Note 27, "Understanding and Using Cyclic Redundancy
 * Checks with Maxim 1-Wire and iButton Products"): polynomial x^8 + x^5 + x^4 + 1 (0x31) processed least
 * significant bit first, so the register shifts right and xors 0x8C (0x31 reflected); initial value 0, no final
 * xor (CRC-8/MAXIM-DOW in the CRC catalogue, check value over "123456789" 0xA1). It covers a ROM's 7 bytes
 * (family code, 48-bit serial; byte 7 is the CRC) and a DS18B20 scratchpad's 8 bytes (byte 8 is the CRC).
 * AN27's example ROM 02 1C B8 01 00 00 00 gives A2. Bitwise, no table (a table costs more device RAM than the
 * few bytes checked per reading cost time). lib/drivers/crc8.ts is the other, MSB-first CRC-8 (Sensirion, Aosong).
 */

/** One byte into the CRC register `c`. */
export function crc8MaximStep(c: number, v: number): number {
  c = (c ^ v) & 0xff;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x8c : c >> 1;
  return c;
}

/** CRC-8/MAXIM over `b[s..e)`. */
export function crc8Maxim(b: Uint8Array, s: number, e: number): number {
  let c = 0;
  for (let i = s; i < e; i++) c = crc8MaximStep(c, b[i]!);
  return c;
}
