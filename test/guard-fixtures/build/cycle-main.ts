// Fixture (test/guard.test.ts): the entry of an import cycle, see README.md.
import { fromA } from "./cycle-a";

console.log(fromA());
