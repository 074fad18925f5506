/**
 * What the rest of the code may know about a board: pure data, no Espruino objects (STYLE.md rules 1 and 2,
 * after Moddable's `host/provider.js`). `boards/<board>.ts` exports one `board` constant that `satisfies` this
 * interface; firmware reaches it through the `@board` import, which the build points at the board being built.
 * Adapters from these numbers to Espruino objects (`I2C1`, `OneWire`, `require("net")`) live in boards/ too, and
 * come with the drivers and the client in later issues.
 */

import type { Clock, Transport } from "./net";
import type { I2cBus } from "./i2c";
import type { OneWireBus } from "./onewire";
import type { PinIo } from "./pin";
import type { KvStorage } from "./storage";
import type { Wifi } from "./wifi";

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
  /** Short name, also the folder of its bundles: dist/<name>/<role>.js. */
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
  /** A LED for `identify` (blinked), or null. */
  readonly led: Gpio | null;
  /** Whether the clock can be set from the network (SNTP), so timestamps are absolute. */
  readonly sntp: boolean;
  /** Largest bundle the board takes, bytes (checked by the build and by `npm run flash`). */
  readonly budget: number;
}

/**
 * What firmware needs from the board at run time, beside the data above: buses made from pin numbers, the
 * network, storage, and the few system calls. boards/<board>.ts exports one as `platform`; on Espruino boards it
 * wraps Espruino's own objects, on the Linux build the buses carry simulated chips.
 */
export interface Platform {
  readonly clock: Clock;
  /** An I2C bus on these pins, or the board's default bus (null). */
  i2c(pins: I2cPins | null): I2cBus;
  /** A OneWire bus on this pin, or the board's default single-wire pin (null). */
  onewire(pin: Gpio | null): OneWireBus;
  /** A digital pin, or the board's default single-wire pin (null). */
  pin(n: Gpio | null): PinIo;
  /** A client transport (TLS when `tls`; `ca` etc. as PEM text). */
  net(tls: boolean): Transport;
  /** The WiFi station, or null when the network is up already. */
  wifi(): Wifi | null;
  /** Flash storage, or null. */
  storage(): KvStorage | null;
  /** A stable id of this chip (MAC based), used as the default MQTT client id. */
  chipId(): string;
  /** Free interpreter variables (after a garbage collection). */
  freeVars(): number;
  /** Milliseconds since 1970 when the clock is set (SNTP), else -1. */
  wallMs(): number;
  /** Starts setting the clock from the network, where the board can. */
  timeSync(): void;
  /** Blinks the LED (or prints a line). */
  identify(): void;
  /** Restarts the firmware from flash. */
  restart(): void;
  /** Deep sleep for `ms`, then start again from flash. */
  sleep(ms: number): void;
  log(s: string): void;
}
