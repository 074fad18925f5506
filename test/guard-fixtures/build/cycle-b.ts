// Fixture (test/guard.test.ts): runs a function of cycle-a at load time, before cycle-a's code has run.
import { fromA } from "./cycle-a";

export const fromB: number = fromA() + 1;
