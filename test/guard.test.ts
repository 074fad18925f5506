/**
 * The Espruino-subset guard (STYLE.md rule 14): every item ESPRUINO.md lists as missing is refused by the
 * source lint (tools/lint.mjs, positions in the .ts file) and by the bundle guard (tools/guard.mjs, positions
 * in the bundle), each message naming file:line:col; the build refuses what esbuild would lower; clean code
 * passes; the bundles in dist/ pass.
 *
 * Each case is one table row: the code, the rule, and where the finding must point: a line and a marker text
 * whose first occurrence on that line is the expected column (1-based).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** A virtual project for the lint cases: files are never read, only their path decides their layer. */
const PROJECT = path.join(ROOT, "test/guard-fixtures/project");
const FIXTURES = path.join(ROOT, "test/guard-fixtures/build");

interface Finding {
  file: string;
  line: number;
  col: number;
  rule: string;
  message: string;
  source?: string | null;
}
interface SourceTools {
  checkTsSource(abs: string, text: string, opts: { root: string; layering?: boolean }): Promise<Finding[]>;
}
interface LintTools {
  formatFinding(f: Finding): string;
  lintFiles(files: string[]): Promise<Finding[]>;
  tsFiles(paths: string[]): string[];
  LINT_DIRS: string[];
}
interface GuardTools {
  guardSource(code: string, name: string, map?: object | null): Finding[];
  guardFile(file: string): Finding[];
  distBundles(): string[];
  formatGuardFinding(f: Finding): string;
}
interface BuildTools {
  bundle(entry: string, board: string, outfile: string): Promise<{ code: string; map: object; meta: object }>;
}

// The tools are plain ES modules (.mjs, no type declarations): imported by URL and typed here.
async function load<T>(rel: string): Promise<T> {
  const url: string = pathToFileURL(path.join(ROOT, rel)).href;
  return (await import(url)) as T;
}

let source: SourceTools;
let lint: LintTools;
let guard: GuardTools;
let build: BuildTools;

beforeAll(async () => {
  source = await load<SourceTools>("tools/espruino-subset/source.mjs");
  lint = await load<LintTools>("tools/lint.mjs");
  guard = await load<GuardTools>("tools/guard.mjs");
  build = await load<BuildTools>("tools/build.mjs");
});

interface Case {
  what: string;
  rule: string;
  code: string;
  /** [line, marker]: the finding is at that line, at the column where `marker` first appears on it. */
  at: [number, string];
  /** project-relative file name (default lib/case.ts for the lint, dist/case.js for the guard) */
  file?: string;
  /** text the message must also contain */
  says?: string;
}

function where(c: Case): { line: number; col: number } {
  const [line, marker] = c.at;
  const text = c.code.split("\n")[line - 1] ?? "";
  const i = text.indexOf(marker);
  if (i < 0) throw new Error(`bad case "${c.what}": no "${marker}" on line ${line}`);
  return { line, col: i + 1 };
}

/** Asserts that one of `msgs` is `<file>:<line>:<col>: ... [<rule>]` (and contains `says`). */
function expectFinding(msgs: string[], file: string, c: Case): void {
  const { line, col } = where(c);
  const prefix = `${file}:${line}:${col}: `;
  const hit = msgs.find((m) => m.startsWith(prefix) && m.includes(`[${c.rule}]`));
  expect(hit, `expected "${prefix}... [${c.rule}]" among:\n${msgs.join("\n") || "(no findings)"}`).toBeDefined();
  if (c.says) expect(hit).toContain(c.says);
}

// ------------------------------------------------------------------------------------------ lint cases

const missingGlobals = ["Map", "Set", "WeakMap", "WeakSet"].map((g): Case => ({
  what: g, rule: "global", code: `export const m = new ${g}();\n`, at: [1, g],
  says: `${g} does not exist on Espruino`,
}));

const missingStatics: [string, string][] = [
  ["Array", "from"], ["Array", "of"], ["Uint8Array", "from"], ["Uint8Array", "of"], ["Int16Array", "from"],
  ["Float64Array", "of"], ["Number", "isInteger"], ["Math", "trunc"], ["Object", "freeze"],
];

const LINT: Case[] = [
  { what: "object destructuring", rule: "destructuring", code: "const o = { a: 1 };\nexport const { a } = o;\n", at: [2, "{ a }"] },
  { what: "array destructuring", rule: "destructuring", code: "const arr = [1, 2];\nconst [x, y] = arr;\nexport const s = x! + y!;\n", at: [2, "[x, y]"] },
  { what: "destructuring assignment", rule: "destructuring", code: "let a = 0;\nlet b = 1;\n[a, b] = [b, a];\nexport const s = a + b;\n", at: [3, "[a, b]"] },
  { what: "a destructured parameter", rule: "destructuring", code: "export function f({ a }: { a: number }): number {\n  return a;\n}\n", at: [1, "{ a }"] },
  { what: "a rest parameter", rule: "rest", code: "export function f(a: number, ...rest: number[]): number {\n  return a + rest.length;\n}\n", at: [1, "...rest"] },
  { what: "array spread", rule: "spread", code: "const a = [1];\nexport const b = [...a, 2];\n", at: [2, "...a"] },
  { what: "spread in a call", rule: "spread", code: "export function f(a: number[]): number {\n  return Math.max(...a);\n}\n", at: [2, "...a"] },
  { what: "object spread", rule: "spread", code: "const o = { a: 1 };\nexport const p = { ...o, b: 2 };\n", at: [2, "...o"] },
  { what: "a default parameter", rule: "default-param", code: "export function f(a: number, b = 2): number {\n  return a + b;\n}\n", at: [1, "b = 2"] },
  { what: "an async function", rule: "async", code: "export async function f(): Promise<number> {\n  return 1;\n}\n", at: [1, "async"] },
  { what: "an async arrow function", rule: "async", code: "export const f = async (): Promise<number> => 1;\n", at: [1, "async"] },
  { what: "an async method", rule: "async", code: "export class A {\n  async m(): Promise<void> {}\n}\n", at: [2, "async"] },
  { what: "top-level await", rule: "await", code: "export const x = 1;\nawait Promise.resolve(x);\n", at: [2, "await"] },
  { what: "for await", rule: "for-await", code: "export async function f(xs: number[]): Promise<number> {\n  let n = 0;\n  for await (const x of xs) n += x;\n  return n;\n}\n", at: [3, "for await"] },
  { what: "a generator function", rule: "generator", code: "export function* g(): Generator<number> {\n  yield 1;\n}\n", at: [1, "function*"] },
  { what: "a generator method", rule: "generator", code: "export class A {\n  *g(): Generator<number> {\n    yield 1;\n  }\n}\n", at: [2, "*g"] },
  { what: "optional chaining", rule: "optional-chain", code: "export function f(o: { a?: { b: number } }): number | undefined {\n  return o.a?.b;\n}\n", at: [2, "?."] },
  { what: "an optional call", rule: "optional-chain", code: "export function f(o: { g?: () => number }): number | undefined {\n  return o.g?.();\n}\n", at: [2, "?."] },
  { what: "the ** operator", rule: "exponent", code: "export function sq(x: number): number {\n  return x ** 2;\n}\n", at: [2, "**"] },
  { what: "the **= operator", rule: "exponent", code: "let x = 2;\nx **= 3;\nexport const y = x;\n", at: [2, "**="] },
  { what: "a labelled statement", rule: "label", code: "export function f(): void {\n  outer: for (;;) {\n    for (;;) break outer;\n  }\n}\n", at: [2, "outer"] },
  { what: "a private class member", rule: "private-member", code: "export class A {\n  #n = 0;\n  next(): number {\n    return ++this.#n;\n  }\n}\n", at: [2, "#n"] },
  { what: "class extends Error", rule: "extends-error", code: "export class MyError extends Error {}\n", at: [1, "Error {"] },
  { what: "class extends TypeError", rule: "extends-error", code: "export const E2 = class extends TypeError {};\n", at: [1, "TypeError"] },
  { what: "assigning an array's length", rule: "length-assign", code: "export function clear(a: number[]): void {\n  a.length = 0;\n}\n", at: [2, "length"] },
  { what: "decrementing an array's length", rule: "length-assign", code: "export function drop(a: number[]): void {\n  a.length--;\n}\n", at: [2, "length"] },
  ...missingGlobals,
  { what: "Symbol", rule: "global", code: "export const s = Symbol(\"id\");\n", at: [1, "Symbol"] },
  { what: "Proxy", rule: "global", code: "export const p = new Proxy({}, {});\n", at: [1, "Proxy"] },
  { what: "Reflect", rule: "global", code: "export const k = Reflect.ownKeys({});\n", at: [1, "Reflect"] },
  { what: "TextEncoder", rule: "global", code: "export const e = new TextEncoder().encode(\"x\");\n", at: [1, "TextEncoder"] },
  { what: "TextDecoder", rule: "global", code: "export function text(b: Uint8Array): string {\n  return new TextDecoder().decode(b);\n}\n", at: [2, "TextDecoder"] },
  ...missingStatics.map(([o, m]): Case => ({
    what: `${o}.${m}`, rule: "missing-static", code: `export const v: unknown = (${o} as any).${m};\n`, at: [1, o],
    says: `${o}.${m} does not exist on Espruino`,
  })),
  { what: "a static method named after an Espruino keyword", rule: "keyword-member", code: "export class Box {\n  static of(v: number): Box {\n    return new Box();\n  }\n}\n", at: [2, "of("] },
  { what: "a method named after an Espruino keyword", rule: "keyword-member", code: "export class Table {\n  delete(k: string): boolean {\n    return k != \"\";\n  }\n}\n", at: [2, "delete"] },
  { what: "a variable named of", rule: "keyword-name", code: "const of = 1;\nexport const x = of + 1;\n", at: [1, "of"] },
  { what: "a computed key", rule: "computed-key", code: "const k = \"a\";\nexport const o = { [k]: 1 };\n", at: [2, "[k]"] },
  { what: "a computed method name", rule: "computed-key", code: "const k = \"a\";\nexport class A {\n  [k](): number {\n    return 1;\n  }\n}\n", at: [3, "[k]"] },
  { what: "new.target", rule: "new-target", code: "export function F(this: unknown): boolean {\n  return new.target !== undefined;\n}\n", at: [2, "new.target"] },
  { what: "a closure capturing a for-loop let", rule: "loop-closure", code: "export function fs(): (() => number)[] {\n  const out: (() => number)[] = [];\n  for (let i = 0; i < 3; i++) out.push(() => i);\n  return out;\n}\n", at: [3, "i);"] },
  { what: "a closure capturing a for-of const", rule: "loop-closure", code: "export function fs(xs: number[]): (() => number)[] {\n  const out: (() => number)[] = [];\n  for (const x of xs) out.push(() => x);\n  return out;\n}\n", at: [3, "x);"] },
  { what: "a static method reached through a subclass", rule: "static-inherit", code: "class A {\n  static make(): number {\n    return 1;\n  }\n}\nclass B extends A {}\nexport const n = B.make();\n", at: [7, "make()"], says: "make is declared on A" },
  { what: "String.prototype.trimStart (by name)", rule: "missing-method", code: "export const t = \" x\".trimStart();\n", at: [1, "trimStart"] },
  { what: "a function called above its declaration", rule: "use-before-define", code: "export const x = f();\nfunction f(): number {\n  return 1;\n}\n", at: [1, "f()"], says: "declared at 2:10" },
  { what: "a const read, through a call, before its declaration", rule: "use-before-define", code: "function a(): number {\n  return LIMIT;\n}\nexport const r = a();\nconst LIMIT = 3;\n", at: [2, "LIMIT"], says: "reached when the call at 4:18 runs" },
  { what: "a local function called above its declaration", rule: "use-before-define", code: "export function f(): number {\n  const r = g();\n  function g(): number {\n    return 1;\n  }\n  return r;\n}\n", at: [2, "g()"] },
  { what: "a class instantiated above its declaration", rule: "use-before-define", code: "export const a = new A();\nclass A {}\n", at: [1, "A()"] },
  // lib/ may use only lib/ and standard JavaScript (STYLE.md rule 1)
  { what: "E in lib/", rule: "lib-global", code: "export function bytes(u: Uint8Array): string {\n  return E.toString(u);\n}\n", at: [2, "E."] },
  { what: "I2C1 in lib/", rule: "lib-global", code: "export function setup(): void {\n  I2C1.setup({ scl: D22, sda: D21 });\n}\n", at: [2, "I2C1"] },
  { what: "digitalWrite in lib/", rule: "lib-global", code: "export function on(): void {\n  digitalWrite(D2, 1);\n}\n", at: [2, "digitalWrite"] },
  { what: "require(\"net\") in lib/", rule: "lib-global", code: "export function connect(): void {\n  require(\"net\").connect({ host: \"h\", port: 1883 });\n}\n", at: [2, "require"], says: "require(\"net\") in lib/" },
  { what: "console in lib/", rule: "lib-global", code: "export function log(s: string): void {\n  console.log(s);\n}\n", at: [2, "console"] },
  { what: "setTimeout in lib/", rule: "lib-global", code: "export function later(f: () => void): void {\n  setTimeout(f, 10);\n}\n", at: [2, "setTimeout"] },
  // dependencies point one way: lib/ never imports boards/, firmware/, sim/ (STYLE.md rule 1)
  { what: "lib/ importing boards/", rule: "layering", code: "import { board } from \"../boards/esp32\";\nexport const name = board.name;\n", at: [1, "\"../boards/esp32\""] },
  { what: "lib/ importing @board", rule: "layering", code: "import { board } from \"@board\";\nexport const name = board.name;\n", at: [1, "\"@board\""] },
  { what: "lib/ importing firmware/ (type only)", rule: "layering", code: "import type { Node } from \"../firmware/node/main\";\nexport type N = Node;\n", at: [1, "\"../firmware"] },
  { what: "lib/ importing sim/", rule: "layering", file: "lib/mqtt/x.ts", code: "import {\n  FakeClock,\n} from \"../../sim/clock\";\nexport const c = FakeClock;\n", at: [3, "\"../../sim/clock\""] },
  { what: "lib/ importing a package", rule: "layering", code: "import mqtt from \"mqtt-packet\";\nexport const m = mqtt;\n", at: [1, "\"mqtt-packet\""] },
  { what: "boards/ importing firmware/", rule: "layering", file: "boards/x.ts", code: "import \"../firmware/node/main\";\n", at: [1, "\"../firmware"] },
  { what: "firmware/ importing sim/", rule: "layering", file: "firmware/node/x.ts", code: "import { fake } from \"../../sim/fake\";\nfake();\n", at: [1, "\"../../sim/fake\""] },
  { what: "firmware/ importing a board by path", rule: "layering", file: "firmware/node/x.ts", code: "import { board } from \"../../boards/esp32\";\nconsole.log(board.name);\n", at: [1, "\"../../boards/esp32\""] },
];

async function lintCode(file: string, code: string): Promise<string[]> {
  const found = await source.checkTsSource(path.join(PROJECT, file), code, { root: PROJECT, layering: true });
  return found.map((f) => lint.formatFinding(f));
}

describe("lint of the TypeScript source (tools/lint.mjs)", () => {
  for (const c of LINT) {
    test(`refuses ${c.what}, at file:line:col`, async () => {
      const file = c.file ?? "lib/case.ts";
      expectFinding(await lintCode(file, c.code), file, c);
    });
  }

  test("passes clean code in lib/, boards/ and firmware/", async () => {
    const libCode = [
      "import type { Board } from \"./hal/board\";",
      "import { helper } from \"./util\";",
      "const enum K { A = 1 }",
      "export class Meter {",
      "  private n = 0;",
      "  get count(): number { return this.n; }",
      "  add(xs: Uint8Array): void { for (const x of xs) this.n += x; }",
      "}",
      "export function name(b: Board | null): string { return b?.name ?? \"none\"; }".replace("b?.name", "(b && b.name)"),
      "export function from(o: { length: number }, len: number): number { o.length = len; return K.A; }",
      "export function later(cb: (v: number) => void): void { cb(run()); }",
      "function run(): number { return helper(`${Math.pow(2, 3)}`, { Map: 1 }.Map); }",
      "export function shadow(Symbol: number, Map: { size: number }): number { return Symbol + Map.size; }",
      "export function err(): Error { try { return new Error(\"x\"); } catch (e) { return e as Error; } }",
    ].join("\n");
    expect(await lintCode("lib/clean.ts", libCode)).toEqual([]);
    const boardCode = "import type { Board } from \"../lib/hal/board\";\n" +
      "export function wire(b: Board): void {\n  I2C1.setup({ scl: D22, sda: D21 });\n  E.toString(new Uint8Array(2));\n  require(\"Wifi\");\n  console.log(b.name);\n}\n";
    expect(await lintCode("boards/x.ts", boardCode)).toEqual([]);
    const fwCode = "import { board } from \"@board\";\nimport type { Board } from \"../../lib/hal/board\";\n" +
      "const b: Board = board;\nconsole.log(\"boot \" + b.name + \" free=\" + process.memory().free);\n";
    expect(await lintCode("firmware/node/main.ts", fwCode)).toEqual([]);
  });

  test("passes the project's own lib/, boards/ and firmware/", async () => {
    const files = lint.tsFiles(lint.LINT_DIRS.map((d) => path.join(ROOT, d)));
    expect(files.length).toBeGreaterThan(0);
    expect((await lint.lintFiles(files)).map((f) => lint.formatFinding(f))).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------ bundle cases

const GUARD: Case[] = [
  { what: "object destructuring", rule: "destructuring", code: "var o={a:1};\nvar{a}=o;", at: [2, "{a}"] },
  { what: "array destructuring", rule: "destructuring", code: "var[x,y]=[1,2];", at: [1, "[x,y]"] },
  { what: "a destructured parameter", rule: "destructuring", code: "function f({a}){return a}", at: [1, "{a}"] },
  { what: "a rest parameter", rule: "rest", code: "function f(a,...r){return r}", at: [1, "...r"] },
  { what: "array spread", rule: "spread", code: "var a=[1],b=[...a];", at: [1, "...a"] },
  { what: "spread in a call", rule: "spread", code: "Math.max(...[1,2]);", at: [1, "..."] },
  { what: "object spread", rule: "spread", code: "var o={},p={...o};", at: [1, "...o"] },
  { what: "a default parameter", rule: "default-param", code: "function f(a=1){return a}", at: [1, "a=1"] },
  { what: "an async function", rule: "async", code: "async function f(){return 1}", at: [1, "async"] },
  { what: "an async arrow function", rule: "async", code: "var f=async()=>1;", at: [1, "async"] },
  { what: "for await", rule: "for-await", code: "async function f(x){for await(const y of x);}", at: [1, "for await"] },
  { what: "a generator", rule: "generator", code: "function*g(){yield 1}", at: [1, "function*"] },
  { what: "optional chaining", rule: "optional-chain", code: "var o={};\no.a?.b;", at: [2, "?."] },
  { what: "an optional call", rule: "optional-chain", code: "var o={};o.f?.();", at: [1, "?."] },
  { what: "the ** operator", rule: "exponent", code: "var x=2**3;", at: [1, "**"] },
  { what: "the **= operator", rule: "exponent", code: "var x=2;x**=2;", at: [1, "**="] },
  { what: "a labelled statement", rule: "label", code: "a:for(;;)break a;", at: [1, "a:"] },
  { what: "a private class member", rule: "private-member", code: "class A{#x=1;get x(){return this.#x}}", at: [1, "#x"] },
  { what: "class extends Error", rule: "extends-error", code: "class B extends Error{}", at: [1, "Error"] },
  { what: "assigning an array's length", rule: "length-assign", code: "var a=[1];a.length=0;", at: [1, "length"] },
  ...["Map", "Set", "WeakMap", "WeakSet", "Proxy", "TextEncoder", "TextDecoder"].map((g): Case => ({
    what: g, rule: "global", code: `var m=1;\nvar x=new ${g};`, at: [2, g], says: `${g} does not exist on Espruino`,
  })),
  { what: "Symbol", rule: "global", code: "var s=Symbol();", at: [1, "Symbol"] },
  { what: "Reflect", rule: "global", code: "Reflect.ownKeys({});", at: [1, "Reflect"] },
  ...missingStatics.map(([o, m]): Case => ({
    what: `${o}.${m}`, rule: "missing-static", code: `var v=${o}.${m};`, at: [1, o], says: `${o}.${m} does not exist`,
  })),
  { what: "a class method named after an Espruino keyword", rule: "keyword-member", code: "class A{static of(e){return e}}", at: [1, "of"] },
  { what: "a getter named after an Espruino keyword", rule: "keyword-member", code: "var o={get default(){return 1}};", at: [1, "default"] },
  { what: "a function named of", rule: "keyword-name", code: "function of(){}", at: [1, "of"] },
  { what: "a computed key", rule: "computed-key", code: "var k=\"a\",o={[k]:1};", at: [1, "[k]"] },
  { what: "new.target", rule: "new-target", code: "function F(){return new.target}", at: [1, "new.target"] },
  { what: "a \\u{...} escape", rule: "unicode-escape", code: "var s=\"\\u{1F600}\";", at: [1, "\\u{"] },
  { what: "a closure capturing a for-loop let", rule: "loop-closure", code: "var f=[];for(let i=0;i<3;i++)f.push(()=>i);", at: [1, "i);"] },
  { what: "a class expression referring to its own name", rule: "class-name", code: "var a=class r{static m(){return new r}};a.m();", at: [1, "r}}"] },
  { what: "a static field reached through a subclass", rule: "static-inherit", code: "var a=class{};a.x=1;var b=class extends a{};\nb.x;", at: [2, "x;"] },
  { what: "a function called above its declaration", rule: "use-before-define", code: "f();\nfunction f(){}", at: [1, "f"], says: "declared at 2:10" },
  { what: "a var read above its declaration", rule: "use-before-define", code: "var x=y+1;\nvar y=1;", at: [1, "y+1"] },
  { what: "a let read above its declaration", rule: "use-before-define", code: "let a=b;\nlet b=1;", at: [1, "b;"] },
  { what: "a class instantiated above its declaration", rule: "use-before-define", code: "new K;\nclass K{}", at: [1, "K;"] },
  { what: "a function reached through a call before its declaration", rule: "use-before-define", code: "function a(){return b()}\na();\nfunction b(){}", at: [1, "b()"], says: "reached when the call at 2:1 runs" },
  { what: "a constructor reading a later var", rule: "use-before-define", code: "class K{constructor(){this.v=q}}\nvar k=new K;\nvar q=1;", at: [1, "q}"] },
  { what: "a local function used above its declaration in an IIFE", rule: "use-before-define", code: "(function(){g();function g(){}})();", at: [1, "g()"] },
  { what: "a local function used above its declaration in a function body", rule: "use-before-define", code: "function o(){i();function i(){}}", at: [1, "i()"] },
  { what: "a top-level name that hides an Espruino global", rule: "shadows-global", code: "function E(){}\nE();", at: [1, "E("], says: "replaces the Espruino global" },
  { what: "a module (not a plain script)", rule: "parse", code: "var a=1;\nexport{a};", at: [2, "export"] },
];

describe("guard of the emitted bundles (tools/guard.mjs)", () => {
  for (const c of GUARD) {
    test(`refuses ${c.what}, at bundle:line:col`, () => {
      const file = c.file ?? "dist/case.js";
      expectFinding(guard.guardSource(c.code, file).map((f) => guard.formatGuardFinding(f)), file, c);
    });
  }

  test("passes clean code, shadowed names and calls that run later", () => {
    const code = [
      "var C=function(e){e.a=1;return e}(C||{});", // esbuild's enum pattern: Espruino makes the var first
      "function later(){return w}",
      "var w=2;",
      "setTimeout(later,10);", // a callback runs after the whole file
      "function f(Map,Symbol){return new Map(Symbol)}", // parameters, not the globals
      "function n(){return 1}",
      "var o={Map:1,length:0,of:1,delete(){return 2}};o.Map;o.length=n();o.of;o.delete();", // keys, object methods: fine
      "class P{get v(){return 1}static s(){return new P}}",
      "var q=P.s().v;",
      "for(const x of[1,2]);",
      "var z=null??1,t=`a${z}`;",
      "(function(){function g(){}g()})();",
      "var u=new Uint8Array(2).subarray(1),m=Math.pow(2,3),k=Object.keys({}),s=String.fromCharCode(65);",
      "E.on(\"init\",function(){console.log(process.memory().free)});",
      "var B=class B{static m(){return new B}};B.m();", // esbuild's form when the names agree: Espruino finds the var
      "var D=class extends B{static m(){return super.m()}};D.m();D.name;", // own static, super call, function props
      "var L=[];for(let i=0;i<2;i++){const j=i;L.push(()=>j)}", // a const made in the body is per iteration
      "for(const x of[1,2])[3].forEach(y=>L.push(x+y));", // a callback run at once sees the current value
      "var s=\"\\uD83D\\uDE00\";",
    ].join("\n");
    expect(guard.guardSource(code, "dist/clean.js").map((f) => guard.formatGuardFinding(f))).toEqual([]);
  });

  test("every bundle in dist/ passes", () => {
    if (!existsSync(path.join(ROOT, "dist/sizes.json"))) {
      const r = spawnSync(process.execPath, [path.join(ROOT, "tools/build.mjs")], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    }
    const bundles = guard.distBundles();
    const sizes = JSON.parse(readFileSync(path.join(ROOT, "dist/sizes.json"), "utf8")) as Record<string, unknown>;
    expect(bundles.map((b) => path.relative(path.join(ROOT, "dist"), b).split(path.sep).join("/")).sort())
      .toEqual(Object.keys(sizes).sort());
    for (const b of ["esp32/node.js", "esp8266/node.js", "linux/node.js"]) expect(Object.keys(sizes)).toContain(b);
    expect(bundles.flatMap((b) => guard.guardFile(b)).map((f) => guard.formatGuardFinding(f))).toEqual([]);
  });
});

describe("renaming class expressions for Espruino (tools/espruino-subset/classname.mjs)", () => {
  interface ClassTools {
    renameClassExpressions(code: string, map: object | null, ast: object, sc: object, parents: object): { code: string; renamed: number };
    parentsOf(ast: object): object;
  }
  interface Parse { parse(code: string, o: object): object }
  interface Scopes { analyzeScopes(ast: object): object }

  async function rename(code: string): Promise<{ code: string; renamed: number }> {
    const cls = await load<ClassTools>("tools/espruino-subset/classname.mjs");
    const scopes = await load<Scopes>("tools/espruino-subset/scope.mjs");
    const acorn = (await import("acorn")) as unknown as Parse;
    const ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script" });
    return cls.renameClassExpressions(code, null, ast, scopes.analyzeScopes(ast), cls.parentsOf(ast));
  }

  test("gives `var a = class r` the variable's name, which the guard then passes", async () => {
    const out = await rename("var a=class r{static m(){return new r}same(x){return x instanceof r}};a.m();");
    expect(out.code).toBe("var a=class a{static m(){return new a}same(x){return x instanceof a}};a.m();");
    expect(out.renamed).toBe(1);
    expect(guard.guardSource(out.code, "dist/x.js")).toEqual([]);
  });

  test("leaves it when a scope in between declares the variable's name, and the guard reports it", async () => {
    const code = "var a=class r{static m(a){return new r(a)}};a.m(1);";
    const out = await rename(code);
    expect(out.code).toBe(code);
    expect(guard.guardSource(out.code, "dist/x.js").map((f) => f.rule)).toEqual(["class-name"]);
  });
});

// ------------------------------------------------------------------------------------------ the build

describe("the build (tools/build.mjs)", () => {
  async function buildErrors(entry: string): Promise<string[]> {
    try {
      await build.bundle(path.join(FIXTURES, entry), "linux", path.join(ROOT, "dist/fixture.js"));
    } catch (e) {
      const errs = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }).errors;
      return (errs ?? []).map((x) => (x.location ? `${x.location.file}:${x.location.line}:${x.location.column + 1}: ` : "") + x.text);
    }
    return [];
  }
  const rel = (f: string): string => path.relative(ROOT, path.join(FIXTURES, f)).split(path.sep).join("/");

  const REFUSED: [string, string, number, string][] = [
    // file, rule, line, marker: what esbuild would lower rather than refuse
    ["exponent.ts", "exponent", 3, "**"],
    ["private.ts", "private-member", 3, "#n"],
    ["optional.ts", "optional-chain", 3, "?."],
  ];
  for (const [file, rule, line, marker] of REFUSED) {
    test(`refuses ${file} with the .ts position`, async () => {
      const code = readFileSync(path.join(FIXTURES, file), "utf8");
      expectFinding(await buildErrors(file), rel(file), { what: file, rule, code, at: [line, marker] });
    });
  }

  test("bundles clean code, which the guard passes", async () => {
    const out = await build.bundle(path.join(FIXTURES, "clean.ts"), "linux", path.join(ROOT, "dist/fixture.js"));
    expect(out.code).toContain("sum=");
    expect(guard.guardSource(out.code, "dist/fixture.js", out.map)).toEqual([]);
  });

  test("a use before definition seen only in the bundle (import cycle) is named in the bundle and the .ts", async () => {
    for (const f of ["cycle-main.ts", "cycle-a.ts", "cycle-b.ts"]) {
      const found = await source.checkTsSource(path.join(FIXTURES, f), readFileSync(path.join(FIXTURES, f), "utf8"), { root: ROOT });
      expect(found).toEqual([]); // each module alone is fine
    }
    const out = await build.bundle(path.join(FIXTURES, "cycle-main.ts"), "linux", path.join(ROOT, "dist/fixture.js"));
    const found = guard.guardSource(out.code, "dist/fixture.js", out.map);
    expect(found.map((f) => f.rule)).toEqual(["use-before-define"]);
    const f = found[0]!;
    const cycleB = readFileSync(path.join(FIXTURES, "cycle-b.ts"), "utf8").split("\n");
    const line = cycleB.findIndex((l) => l.includes("fromA() + 1")) + 1;
    const col = cycleB[line - 1]!.indexOf("fromA()") + 1;
    expect(guard.formatGuardFinding(f)).toMatch(new RegExp(`^dist/fixture\\.js:${f.line}:${f.col}: .*\\[use-before-define\\] \\(from ${rel("cycle-b.ts").replace(/[.]/g, "\\.")}:${line}:${col}\\)$`));
  });
});
