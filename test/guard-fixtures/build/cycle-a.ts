// Fixture (test/guard.test.ts): imports cycle-b, which esbuild therefore emits before this file.
import { fromB } from "./cycle-b";

export function fromA(): number {
  return 1;
}

export function both(): number {
  return fromA() + fromB;
}
