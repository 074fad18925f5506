/**
 * ESP32 DevKitC (ESP32-WROOM-32) running Espruino's ESP32 build: about 16,000 JsVars of 14 bytes, WiFi, TLS.
 * Pins are GPIO numbers, the same as Espruino's `Dn` names (`D21` is GPIO21).
 */
import type { Board } from "../lib/hal/board";
import { EspruinoPlatform } from "./adapters/espruino-platform";

export const board = {
  name: "esp32",
  title: "ESP32 DevKitC",
  net: "wifi",
  tls: true,
  // the ESP32 Arduino/IDF default I2C wiring, printed on most DevKitC pinouts
  i2c: { sda: 21, scl: 22 },
  // OneWire / DHT data: GPIO4 is free of boot-strapping and flash duties
  wire1: 4,
  // DevKitC has no user LED (only power): identify prints a line
  led: null,
  // Espruino's ESP32 port has no SNTP client: timestamps are relative
  sntp: false,
  // bundle bytes we allow: saved to flash as .bootcde and run from there; the 16,000 variables are the limit
  budget: 100000,
} as const satisfies Board;

export const platform = new EspruinoPlatform(board);

/** The broker's socket host, for the gateway firmware (tree-shaken from bundles that do not use it). */
export { listen } from "./adapters/espruino-server";
