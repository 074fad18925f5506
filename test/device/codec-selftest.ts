/**
 * On-device self-test of the codec (issue 3, requirement 9): every row of the golden table is decoded whole
 * and split at a few offsets (fields compared with the row's packet) and encoded (bytes compared, guard bytes
 * around the buffer, a one-byte-short buffer refused); every row of the invalid table must give exactly its
 * error and packet type, whole and split. Prints one line per failure, then
 * `selftest codec: N passed, M failed` (N + M = rows), and ends: nothing keeps the interpreter alive.
 *
 * Bundled by tools/build.mjs to dist/test/codec-selftest.js; run by test/espruino.codec.test.ts. Needs the
 * ESP32's memory (run from flash there: the tables alone take about 12,000 variables); the 1,700-variable
 * ESP8266 shape gets the rows streamed in instead (codec-stream.ts). Each row is dropped from its table once
 * checked, so the memory it held (40 kB of hex for the 20,000-byte PUBLISH) is free for the next.
 */
import { Golden, GOLDEN } from "../fixtures/golden";
import { Invalid, INVALID } from "../fixtures/invalid";
import { golden, invalid, summary } from "./codec/check";

const bad: (Invalid | null)[] = INVALID;
for (let i = 0; i < bad.length; i++) {
  const v = bad[i]!;
  bad[i] = null;
  invalid(v.name, v.hex, v.err, v.type, v.max);
}

const good: (Golden | null)[] = GOLDEN;
for (let i = 0; i < good.length; i++) {
  const g = good[i]!;
  good[i] = null;
  golden(g.name, g.hex, g.packet);
}

summary();
