// Fixture (test/guard.test.ts): esbuild lowers `?.`; the project refuses it all the same (ESPRUINO.md).
const o: { a?: { b: number } } = {};
console.log(o.a?.b);
