// Fixture (test/guard.test.ts): esbuild lowers private members to WeakMap, which Espruino lacks.
class Counter {
  #n = 0;
  next(): number {
    return ++this.#n;
  }
}
console.log(new Counter().next());
