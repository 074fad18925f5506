/**
 * Ambient declarations that @types/espruino 1.95 lacks, checked against Espruino 2v29. Only what the device
 * code uses; add more when a board adapter needs them. Device code only: lib/ must not use any of these (the
 * lint refuses Espruino globals in lib/, STYLE.md rule 1).
 */

/** Espruino's console (console.log prints its arguments separated by spaces, like `print`). */
declare var console: {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};

interface EspruinoMemory {
  /** Free JsVars (memory blocks). */
  free: number;
  /** JsVars in use. */
  usage: number;
  /** All JsVars. */
  total: number;
  /** JsVars used by the command history. */
  history: number;
  /** Bytes per JsVar. */
  blocksize: number;
}

declare var process: {
  /** Runs a garbage collection first unless `gc` is false. */
  memory(gc?: boolean): EspruinoMemory;
  /** e.g. "2v29" */
  version: string;
  env: { VERSION: string; BOARD: string; [key: string]: unknown };
};

declare function setTimeout(callback: () => void, ms?: number): number;
declare function setInterval(callback: () => void, ms?: number): number;

/** Ends the Linux build's interpreter (absent on microcontroller builds). */
declare function quit(): void;

declare namespace E {
  /**
   * Bytes (a Uint8Array, an array of numbers, a number, ...) as a binary string, one char per byte: what
   * `socket.write` needs, since writing a Uint8Array sends the text "65,66,67".
   */
  function toString(...data: unknown[]): string;
}

/**
 * A module's exports: Espruino runs a module's text (`Modules.addCached(name, text)`, or a file in
 * node_modules/) in a scope that holds `exports` and `module`. Only the entries in boards/modules/ use it.
 */
declare var exports: { [name: string]: unknown };
