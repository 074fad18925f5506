/**
 * ESP32 DevKitC (ESP32-WROOM-32) running Espruino's ESP32 build: about 16,000 JsVars of 14 bytes, WiFi, TLS.
 * Pins are GPIO numbers, the same as Espruino's `Dn` names (`D21` is GPIO21).
 */
import type { Board } from "../lib/hal/board";

export const board = {
  name: "esp32",
  title: "ESP32 DevKitC",
  net: "wifi",
  tls: true,
  // the ESP32 Arduino/IDF default I2C wiring, printed on most DevKitC pinouts
  i2c: { sda: 21, scl: 22 },
  // OneWire / DHT data: GPIO4 is free of boot-strapping and flash duties
  wire1: 4,
} as const satisfies Board;
