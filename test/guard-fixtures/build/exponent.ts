// Fixture (test/guard.test.ts): esbuild lowers `**` to Math.pow, which Espruino computes inexactly.
const base: number = 10;
console.log(base ** 15);
