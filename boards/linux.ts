/**
 * Espruino's Linux build (the host interpreter used by tests and the simulator): the host's network is already
 * up and `net` sockets work on loopback. It has a `tls` module, but nothing here needs it (tests talk plain MQTT
 * to loopback brokers), so `tls` is false.
 *
 * Its buses carry simulated chips (sim/chips, the same ones the driver tests use), so the node firmware reads
 * real driver bytes on a host without sensors: one I2C bus with an SHT3x (0x44), a BME280 (0x76) and an AHT20
 * (0x38), and one OneWire bus with one DS18B20 (so a config without a ROM reads it with SKIP ROM). They all follow one seeded scenario (a daily temperature curve
 * with noise) on Espruino's real clock. DHT sensors are not offered: their microsecond edges need the
 * simulator's virtual clock (the config check refuses them here: BoardCaps.sim). Storage is the Linux build's
 * file-backed one; `sleep` prints `SLEEP <ms>` and ends the interpreter (what is left of a deep sleep).
 */
import type { Board, Gpio, I2cPins } from "../lib/hal/board";
import type { I2cBus } from "../lib/hal/i2c";
import type { OneWireBus } from "../lib/hal/onewire";
import type { PinIo } from "../lib/hal/pin";
import { EspruinoPlatform } from "./adapters/espruino-platform";
import { Scenario } from "../sim/chips/scenario";
import { Sht3xChip } from "../sim/chips/sht3x";
import { Bme280Chip } from "../sim/chips/bme280";
import { Aht20Chip } from "../sim/chips/aht20";
import { SimDs18b20 } from "../sim/chips/ds18b20";
import { SimI2c } from "../sim/hal/i2c";
import { SimOneWire } from "../sim/hal/onewire";

export const board = {
  name: "linux",
  title: "Espruino Linux build",
  net: "up",
  tls: false,
  // simulated buses: pin numbers are not used
  i2c: { sda: 0, scl: 1 },
  wire1: 2,
  led: null,
  // the host's clock is set
  sntp: true,
  budget: 200000,
} as const satisfies Board;

class LinuxPlatform extends EspruinoPlatform {
  private i_: SimI2c | null = null;
  private o_: SimOneWire | null = null;

  constructor() {
    super(board);
  }

  private scenario_(): Scenario {
    return new Scenario({ seed: 7, startHour: (Date.now() / 3600000) % 24 });
  }

  override i2c(pins: I2cPins | null): I2cBus {
    if (!this.i_) {
      const b = this.i_ = new SimI2c();
      const s = this.scenario_();
      b.attach(new Sht3xChip({ clock: this.clock, scenario: s, address: 0x44 }));
      b.attach(new Bme280Chip({ clock: this.clock, scenario: s, address: 0x76 }));
      b.attach(new Aht20Chip({ clock: this.clock, scenario: s }));
    }
    return this.i_;
  }

  override onewire(pin: Gpio | null): OneWireBus {
    if (!this.o_) {
      const w = this.o_ = new SimOneWire();
      const s = this.scenario_();
      w.attach(new SimDs18b20({ clock: this.clock, scenario: s, serial: 1 }));
    }
    return this.o_;
  }

  override pin(n: Gpio | null): PinIo {
    throw new Error("linux board: no simulated single-wire pin");
  }
}

export const platform = new LinuxPlatform();

/** The broker's socket host, for the gateway firmware (tree-shaken from bundles that do not use it). */
export { listen } from "./adapters/espruino-server";
