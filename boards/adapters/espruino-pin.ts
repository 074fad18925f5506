/**
 * lib/hal/pin.ts's PinIo over a real Espruino pin: the Pin object's own read/write/mode, and the globals that act
 * on a pin (digitalPulse, setWatch, clearWatch), which lib/ cannot name (STYLE.md rule 1). I2C, OneWire and
 * Storage need no adapter: Espruino's objects already have the HAL's shape (test/hal.conformance.test.ts).
 */
import type { Edge, PinIo, WatchOptions } from "../../lib/hal/pin";

export class EspruinoPin implements PinIo {
  constructor(private readonly p_: Pin) {}

  read(): boolean {
    return this.p_.read();
  }

  write(v: boolean): void {
    this.p_.write(v);
  }

  mode(m: string): void {
    this.p_.mode(m);
  }

  pulse(value: boolean, ms: number | number[]): void {
    digitalPulse(this.p_, value, ms);
  }

  watch(fn: (e: Edge) => void, o: WatchOptions): unknown {
    return setWatch(fn as (e: { state: boolean; time: number; lastTime: number }) => void, this.p_,
      { edge: o.edge, repeat: o.repeat, debounce: o.debounce || 0 });
  }

  unwatch(h: unknown): void {
    clearWatch(h as number);
  }
}
