/**
 * Every sensor driver on Espruino against the simulated chips (issue 6, requirement 7): the site of
 * test/device/sensors/site.ts (a SimI2c with a BME280, an SHT3x and an AHT20, a SimOneWire with three DS18B20s,
 * two SimPins with a DHT22 and a DHT11, one seeded Scenario, virtual time), its READING/FIND/FAULT lines, then
 * `DONE <problems>`, `PEAK <highest process.memory().usage after a read>` and `MEM <process.memory().usage>`
 * (both after a garbage collection, which process.memory() runs). Bundled to dist/test/sensors.js; run by
 * test/espruino.sensors.test.ts, which compares the lines with the same function run on Node.
 */
import { runSite } from "./sensors/site";

let peak = 0;
const problems = runSite(function (l) { console.log(l); }, function () {
  const u = process.memory().usage;
  if (u > peak) peak = u;
});
console.log("DONE " + problems);
console.log("PEAK " + peak);
console.log("MEM " + process.memory().usage);
