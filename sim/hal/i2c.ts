/**
 * A simulated I2C bus (the mock behind lib/hal/i2c.ts's I2cBus) with simulated chips attached by address
 * (sim/chips/). It behaves as Espruino's I2C objects do: a transfer to an address nobody acknowledges, or on a
 * stuck bus, throws. Written in the Espruino subset: it also runs inside device bundles on Espruino's Linux build.
 */
import { I2cBus } from "../../lib/hal/i2c";

/** One chip on the bus: it sees each whole transfer, as the bytes after its address. */
export interface I2cDevice {
  readonly address: number;
  /** A write transfer; false: no ACK (the bus then throws, as a real one does). */
  write(data: Uint8Array): boolean;
  /** A read transfer of `n` bytes; null: no ACK. */
  read(n: number): Uint8Array | null;
}

function bytes(d: number | number[] | Uint8Array): Uint8Array {
  if (typeof d == "number") { const b = new Uint8Array(1); b[0] = d; return b; }
  return d instanceof Uint8Array ? d : new Uint8Array(d);
}

export class SimI2c implements I2cBus {
  /** SDA held low (a fault): every transfer throws. */
  stuck = false;
  /** Transfers made (for tests: no polling storms). */
  transfers = 0;
  private readonly devs_: I2cDevice[] = [];

  attach(d: I2cDevice): void {
    this.devs_.push(d);
  }

  detach(d: I2cDevice): void {
    const i = this.devs_.indexOf(d);
    if (i >= 0) this.devs_.splice(i, 1);
  }

  private dev_(address: number): I2cDevice {
    this.transfers++;
    if (this.stuck) throw new Error("I2C bus stuck (SDA held low)");
    for (let i = 0; i < this.devs_.length; i++) if (this.devs_[i]!.address == address) return this.devs_[i]!;
    throw new Error("I2C NACK from address 0x" + address.toString(16));
  }

  writeTo(address: number, data: number | number[] | Uint8Array): void {
    const d = this.dev_(address);
    if (!d.write(bytes(data))) throw new Error("I2C NACK from address 0x" + address.toString(16));
  }

  readFrom(address: number, quantity: number): Uint8Array {
    const r = this.dev_(address).read(quantity);
    if (!r) throw new Error("I2C NACK from address 0x" + address.toString(16));
    return r;
  }
}
