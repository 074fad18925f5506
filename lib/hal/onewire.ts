/**
 * OneWire as lib/ sees it: the shape of Espruino's `OneWire` object (`new OneWire(pin)`, jswrap_onewire.c):
 *
 * - `reset()`: a reset pulse; true when a device answered with a presence pulse.
 * - `select(rom)`: MATCH ROM (0x55) and the 64-bit ROM given as 16 hex digits, least significant byte first
 *   (the form `search()` returns).
 * - `skip()`: SKIP ROM (0xCC).
 * - `write(data, power)`: bytes out; with `power` the line is driven high afterwards (parasite power).
 * - `read()`: one byte; `read(n)`: a Uint8Array of n bytes (Espruino has returned a Uint8Array since 2015).
 * - `search(command)`: the ROMs found by SEARCH ROM (0xF0, or `command`, e.g. 0xEC ALARM SEARCH), as hex strings.
 */
export interface OneWireBus {
  reset(): boolean;
  select(rom: string): void;
  skip(): void;
  write(data: number | number[], power?: boolean): void;
  read(): number;
  read(count: number): Uint8Array;
  search(command?: number): string[];
}
