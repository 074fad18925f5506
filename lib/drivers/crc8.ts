/**
 * CRC-8, most significant bit first, no reflection, no final xor, over `b[s..e)`: Sensirion's SHT3x ("Datasheet
 * SHT3x-DIS", section 4.12, Table 19: polynomial 0x31 = x^8 + x^5 + x^4 + 1, initial value 0xFF; 0xBEEF gives
 * 0x92) and Aosong's AHT20 (the same polynomial and initial value; CRC-8/NRSC-5 in the CRC catalogue, whose check
 * value over "123456789" is 0xF7). Bitwise, no table: 256 bytes of table cost more RAM on a device than the few
 * bytes it checks per reading cost time.
 */
export function crc8(b: Uint8Array, s: number, e: number, poly: number, init: number): number {
  let c = init & 0xff;
  for (let i = s; i < e; i++) {
    c ^= b[i]!;
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ poly) & 0xff : (c << 1) & 0xff;
  }
  return c;
}
