/**
 * What every sensor driver shares (STYLE.md rules 3-5): Espruino-style `connect(bus, options)` returning a
 * driver with `read(cb)` and `close()`. A reading names its units in its fields. `cb(err, reading)`: `err` is
 * Err.Ok (0) or a value of the project's one error enum (Err.NoDevice, Err.Checksum, Err.Timeout, Err.Bus,
 * Err.Range, Err.Argument, Err.Closed); on an error `reading` is null, never a number that was not measured.
 * A read never throws into the application.
 */
import { Err } from "../errors";
import { Clock } from "../hal/net";

export interface Reading {
  /** Degrees Celsius. */
  tempC: number;
  /** Relative humidity, percent (sensors that measure it). */
  rhPct?: number;
  /** Pressure, pascals (BME280). */
  pressurePa?: number;
}

export type ReadCallback = (err: Err, reading: Reading | null) => void;

export interface Sensor {
  read(cb: ReadCallback): void;
  close(): void;
}

/** Options every driver takes: the injected clock (STYLE rule 10) for conversion waits and timeouts. */
export interface DriverOptions {
  clock: Clock;
}
