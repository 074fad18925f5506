/**
 * The node's sensors from its config: one driver per configured sensor, on the bus its config names (the
 * board's default bus or pin when it gives no pins). Sensors on the same I2C pins or OneWire pin share one bus
 * object (the platform caches them). `drivers` holds only the drivers this node's config uses: the build
 * generates it ("@config"), so a bundle carries no driver it does not need.
 */
import type { Platform } from "../../lib/hal/board";
import type { Sensor } from "../../lib/drivers/types";
import type { SensorConfig } from "../../lib/node/config";

export type Connect = (bus: unknown, o: { [k: string]: unknown }) => Sensor;

export function makeSensors(list: SensorConfig[], p: Platform, drivers: { [type: string]: Connect }): Sensor[] {
  const out: Sensor[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    const pins = s.pins;
    const o: { [k: string]: unknown } = { clock: p.clock };
    if (s.options) for (const k in s.options) o[k] = s.options[k];
    if (s.address !== undefined) o.address = s.address;
    if (s.rom !== undefined) o.rom = s.rom;
    if (s.type == "dht22") o.type = 22;
    if (s.type == "dht11") o.type = 11;
    const data = pins && pins.data !== undefined ? pins.data : null;
    const bus = s.bus == "i2c" ? p.i2c(pins && pins.sda !== undefined ? { sda: pins.sda, scl: pins.scl! } : null)
      : s.bus == "onewire" ? p.onewire(data) : p.pin(data);
    out.push(drivers[s.type]!(bus, o));
  }
  return out;
}
