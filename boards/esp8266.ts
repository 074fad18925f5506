/**
 * ESP8266 NodeMCU / Wemos D1 mini running Espruino's ESP8266 build: about 1,600-1,700 JsVars of 12 bytes, WiFi,
 * no usable TLS.
 *
 * Pin names: Espruino's ESP8266 port names pins by GPIO number, so Espruino's `D4` is GPIO4 and `D5` is GPIO5.
 * The board silkscreen uses NodeMCU labels instead, which Espruino offers as `NodeMCU.Dn`
 * (targets/esp8266/jswrap_nodemcu.c): silkscreen D1 = GPIO5, D2 = GPIO4, D4 = GPIO2, D5 = GPIO14.
 * The numbers below are GPIO numbers (= Espruino `Dn`).
 */
import type { Board } from "../lib/hal/board";
import { EspruinoPlatform } from "./adapters/espruino-platform";

export const board = {
  name: "esp8266",
  title: "ESP8266 NodeMCU / Wemos D1 mini",
  net: "wifi",
  tls: false,
  // the usual ESP8266 I2C wiring: SDA GPIO4 (silkscreen D2), SCL GPIO5 (silkscreen D1)
  i2c: { sda: 4, scl: 5 },
  // OneWire / DHT data: GPIO2 (silkscreen D4), as on the Wemos DHT shield. It is a boot-strap pin that must be
  // high at reset, which the sensor's pull-up keeps it; it also drives the ESP-12 blue LED.
  wire1: 2,
  // the ESP-12 module's blue LED, on GPIO2 (active low), shared with the single-wire data pin
  led: 2,
  // Wifi.setSNTP
  sntp: true,
  // bundle bytes: run from flash (.bootcde); the 1,700 variables are the real limit
  budget: 48000,
} as const satisfies Board;

export const platform = new EspruinoPlatform(board);

/** The broker's socket host, for the gateway firmware (tree-shaken from bundles that do not use it). */
export { listen } from "./adapters/espruino-server";
