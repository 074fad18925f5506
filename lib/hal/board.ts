/**
 * What the rest of the code may know about a board: pure data, no Espruino objects (STYLE.md rules 1 and 2,
 * after Moddable's `host/provider.js`). `boards/<board>.ts` exports one `board` constant that `satisfies` this
 * interface; firmware reaches it through the `@board` import, which the build points at the board being built.
 * Adapters from these numbers to Espruino objects (`I2C1`, `OneWire`, `require("net")`) live in boards/ too, and
 * come with the drivers and the client in later issues.
 */

/**
 * A GPIO number. On Espruino's ESP32 and ESP8266 builds the pin object `Dn` is GPIO n (pin index n), so the
 * number is also what Espruino calls `Dn`. It is NOT the silkscreen label of NodeMCU/Wemos boards: their "D1"
 * is GPIO5, i.e. Espruino's `D5` (Espruino's `NodeMCU.D1`).
 */
export type Gpio = number;

/** An I2C bus wiring. */
export interface I2cPins {
  readonly sda: Gpio;
  readonly scl: Gpio;
}

export interface Board {
  /** Short name, also the name of the bundle: dist/<name>.js. */
  readonly name: string;
  /** The hardware, for people. */
  readonly title: string;
  /**
   * How the network comes up: "wifi" means the firmware joins a WiFi network first (`require("Wifi")`);
   * "up" means the host already has it (Espruino's Linux build).
   */
  readonly net: "wifi" | "up";
  /** Whether `require("tls")` is usable (mbedTLS; costs a lot of RAM on ESP32, absent on ESP8266). */
  readonly tls: boolean;
  /** The default I2C wiring, or null when the board has no I2C to offer (the Linux build). */
  readonly i2c: I2cPins | null;
  /** Suggested data pin for single-wire sensors (OneWire DS18B20, DHT11/22), or null when there is none. */
  readonly wire1: Gpio | null;
}
