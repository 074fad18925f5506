/**
 * Key/value storage as lib/ sees it: the shape of Espruino's `require("Storage")` (jswrap_storage.c): files
 * named by short strings (up to 28 characters), written whole.
 */
export interface KvStorage {
  /** The file's contents as a (binary) string, or undefined when there is none. */
  read(name: string): string | undefined;
  /** Writes the file whole; false when there is no room. */
  write(name: string, data: string): boolean;
  erase(name: string): void;
  /** Names of the files, optionally those matching `re`. */
  list(re?: RegExp): string[];
}
