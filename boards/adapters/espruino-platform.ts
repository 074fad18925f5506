/**
 * lib/hal/board.ts's Platform over Espruino's own objects (issue 7, requirement 7): buses from GPIO numbers
 * (`new I2C()` in software on any two pins, `new OneWire(pin)`), `require("Wifi")`, `require("Storage")`, and
 * the system calls (`load()`, deep sleep, LED). Used as it is by the ESP32 and ESP8266 boards; the Linux board
 * replaces the buses with simulated chips (boards/linux.ts).
 *
 * Checked against Espruino 2v29: Storage and OneWire have the HAL's shape already (test/hal.conformance.test.ts);
 * a pin is the global `D<n>` (on the ESP ports pin n is GPIO n); deep sleep is `ESP32.deepSleep(us)` and
 * `ESP8266.deepSleep(us)` (the ESP8266 needs GPIO16 wired to RST to wake); SNTP is `Wifi.setSNTP` on the
 * ESP8266 (the ESP32 port has no SNTP client: its timestamps stay relative).
 */
import type { Board, Gpio, I2cPins, Platform } from "../../lib/hal/board";
import type { I2cBus } from "../../lib/hal/i2c";
import type { OneWireBus } from "../../lib/hal/onewire";
import type { PinIo } from "../../lib/hal/pin";
import type { KvStorage } from "../../lib/hal/storage";
import type { Transport } from "../../lib/hal/net";
import type { Wifi } from "../../lib/hal/wifi";
import { EspruinoNet, espruinoClock } from "./espruino-net";
import { EspruinoPin } from "./espruino-pin";

type Any = { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
const G = global as unknown as Any;

/** The pin object of GPIO `n` (Espruino's `D<n>`). */
export function gpio(n: Gpio): Pin {
  return G["D" + n] as Pin;
}

/** A 2019-or-later clock counts as set (SNTP or the host's): before that it counts from 1970 at power-on. */
const SET_AFTER = 1546300800000;

export class EspruinoPlatform implements Platform {
  readonly clock = espruinoClock;
  private readonly b_: Board;
  private readonly buses_: { [k: string]: unknown } = {};

  constructor(board: Board) {
    this.b_ = board;
  }

  i2c(pins: I2cPins | null): I2cBus {
    const p = pins || this.b_.i2c!;
    const k = "i" + p.sda + "," + p.scl;
    if (!this.buses_[k]) {
      const b = new (G.I2C as { new(): I2C })();
      b.setup({ sda: gpio(p.sda), scl: gpio(p.scl), bitrate: 100000 });
      this.buses_[k] = b;
    }
    return this.buses_[k] as unknown as I2cBus;
  }

  onewire(pin: Gpio | null): OneWireBus {
    const n = pin === null ? this.b_.wire1! : pin;
    const k = "o" + n;
    if (!this.buses_[k]) this.buses_[k] = new (G.OneWire as { new(p: Pin): OneWire })(gpio(n));
    return this.buses_[k] as unknown as OneWireBus;
  }

  pin(n: Gpio | null): PinIo {
    return new EspruinoPin(gpio(n === null ? this.b_.wire1! : n));
  }

  net(tls: boolean): Transport {
    return new EspruinoNet({ tls: tls });
  }

  wifi(): Wifi | null {
    return this.b_.net == "wifi" ? (G.require("Wifi") as Wifi) : null;
  }

  storage(): KvStorage | null {
    return G.require("Storage") as KvStorage;
  }

  chipId(): string {
    const w = this.wifi();
    const ip = w ? w.getIP() : undefined;
    const mac = ip && ip.mac ? ip.mac.split(":").join("") : "";
    return this.b_.name + "-" + (mac ? mac.substring(6) : ("" + Math.floor(Math.random() * 1e6)));
  }

  freeVars(): number {
    return process.memory().free;
  }

  wallMs(): number {
    const t = Date.now();
    return t > SET_AFTER ? t : -1;
  }

  timeSync(): void {
    if (!this.b_.sntp || this.b_.net != "wifi") return;
    try {
      const w = G.require("Wifi") as Any;
      if (w.setSNTP) w.setSNTP("pool.ntp.org", 0);
    } catch (e) {
      this.log("sntp: " + e); // a build without the Wifi module: timestamps stay relative
    }
  }

  identify(): void {
    const l = this.b_.led;
    if (l === null) { this.log("IDENTIFY"); return; }
    digitalPulse(gpio(l), false, [200, 200, 200, 200, 200]);
  }

  restart(): void {
    G.load();
  }

  sleep(ms: number): void {
    const n = this.b_.name;
    if (n == "esp32") G.ESP32.deepSleep(ms * 1000);
    else if (n == "esp8266") G.ESP8266.deepSleep(ms * 1000);
    else { this.log("SLEEP " + ms); G.quit(); }
  }

  log(s: string): void {
    console.log(s);
  }
}
