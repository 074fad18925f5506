/**
 * One GPIO as lib/ sees it, shaped after Espruino's `Pin` object and the globals that act on a pin: `read()`,
 * `write(v)`, `mode(m)` are the Pin methods of the same names; `pulse` is `digitalPulse(pin, value, time)`;
 * `watch`/`unwatch` are `setWatch(fn, pin, options)` / `clearWatch(id)`. boards/ adapts a real pin in a few lines
 * (the globals cannot be reached from lib/); sim/hal/ drives simulated chips through the same interface.
 */

/** What a watch reports for each edge, as Espruino's setWatch does: the new state and times in seconds. */
export interface Edge {
  state: boolean;
  /** When the edge happened (seconds, getTime() scale). */
  time: number;
  /** When the pin last changed, in either direction (as Espruino sets it, whatever edge is watched). */
  lastTime: number;
}

export interface WatchOptions {
  edge: "rising" | "falling" | "both";
  repeat: boolean;
  /** Debounce in ms (Espruino's `debounce`); 0 for protocols that time every edge. */
  debounce?: number;
}

export interface PinIo {
  read(): boolean;
  write(v: boolean): void;
  /** "input", "input_pullup", "output", "opendrain" (Espruino's pinMode names). */
  mode(m: string): void;
  /** Drives the pin to `value` for `ms` (then the opposite value), as digitalPulse; an array alternates. */
  pulse(value: boolean, ms: number | number[]): void;
  /** Calls `fn` on edges; returns a handle for unwatch. */
  watch(fn: (e: Edge) => void, o: WatchOptions): unknown;
  unwatch(h: unknown): void;
}
