// Fixture (test/guard.test.ts): constructs Espruino runs, bundled and guarded clean.
class Box {
  private v: number;
  constructor(v: number) {
    this.v = v;
  }
  get value(): number {
    return this.v;
  }
  static make(v: number): Box {
    return new Box(v);
  }
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

const enum Unit { Milli = 1000 }

const u8 = new Uint8Array(4);
u8.set([1, 2], 1);
const found = [1, 2, 3].find((x) => x > 5);
console.log(`sum=${sum([Box.make(2).value, u8.subarray(1, 3).length])} ${found ?? "none"} ${Unit.Milli}`);
