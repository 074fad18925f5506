// What the Espruino interpreter lacks, as data for the source lint (tools/lint.mjs), the build's source check
// (tools/build.mjs) and the bundle guard (tools/guard.mjs). Everything here was checked on Espruino 2v29 (the
// Linux build and the 32-bit ESP8266/ESP32-shaped builds of ../shared/tools/espruino): a name is listed only
// when the interpreter throws "is not defined" or the member is `undefined`. See ../shared/ESPRUINO.md.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** Syntax the interpreter does not run (parse error or wrong result), keyed by rule id. */
export const SYNTAX = {
  destructuring: "destructuring is not supported by Espruino",
  rest: "rest parameters/elements (...x) are not supported by Espruino",
  spread: "spread (...x) is not supported by Espruino",
  "default-param": "default parameters are not supported by Espruino",
  async: "async functions are not supported by Espruino",
  await: "await is not supported by Espruino",
  "for-await": "for await is not supported by Espruino",
  generator: "generators (function*) are not supported by Espruino",
  yield: "yield is not supported by Espruino",
  "optional-chain": "optional chaining (?.) is not supported by Espruino",
  exponent: "the ** operator is not supported by Espruino (and Math.pow is inexact for integers: use * or shifts)",
  label: "labelled statements (and labelled break/continue) are not supported by Espruino",
  "private-member": "private class members (#x) are lowered to WeakMap/WeakSet, which Espruino lacks",
  "extends-error": "class X extends Error does not work on Espruino (no message, broken instanceof): use the Err enum",
  "keyword-member": "Espruino cannot parse a class member (or an object literal getter/setter) named after " +
    "one of its reserved words: rename it",
  "keyword-name": "Espruino cannot parse this name: it is one of its reserved words (of, static, undefined)",
  "computed-key": "computed keys ({[k]: v}, class members [k]() {}) are not supported by Espruino",
  "new-target": "new.target is not supported by Espruino",
  "unicode-escape": "\\u{...} escapes are not supported by Espruino (the build writes surrogate pairs instead)",
  "loop-closure": "a closure made in a loop captures a let/const of the loop head, and Espruino shares one " +
    "binding across iterations (every closure sees the last value): copy it into a const inside the body",
  "class-name": "Espruino does not bind a class expression's own name inside its body, so this reference is " +
    "undefined at run time (the build renames esbuild's `var A = class B` where it safely can)",
  "static-inherit": "static members are not inherited through extends on Espruino: name the class that " +
    "declares it",
  "length-assign": "assigning an array's .length throws on Espruino (TypeError: Assignment to a constant): " +
    "empty it with `while (a.length) a.pop()` or keep a count (a plain object's field: rename it)",
};

/**
 * Espruino's reserved words (src/jslex.h, LEX_R_IF .. LEX_R_OF). Checked on 2v29: none of them can name a class
 * method, getter, setter or static method, nor an object literal getter/setter ("Got of expected ID"); plain
 * keys (`{of: 1}`), object literal methods and member access (`o.of`) work.
 */
export const ESPRUINO_KEYWORDS = new Set(["if", "else", "do", "while", "for", "break", "continue", "function",
  "return", "var", "let", "const", "this", "throw", "try", "catch", "finally", "true", "false", "null",
  "undefined", "new", "in", "instanceof", "switch", "case", "default", "delete", "typeof", "void", "debugger",
  "class", "extends", "super", "static", "of"]);

/** Of those, the ones JavaScript allows as names of variables and functions, which Espruino cannot parse. */
export const KEYWORD_NAMES = new Set(["of", "static", "undefined"]);

/** Global objects/functions Espruino does not define (all verified "is not defined" on 2v29). */
export const MISSING_GLOBALS = new Set([
  "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Symbol", "Proxy", "Reflect",
  "TextEncoder", "TextDecoder", "BigInt", "BigInt64Array", "BigUint64Array", "Intl", "Atomics",
  "SharedArrayBuffer", "queueMicrotask", "structuredClone", "setImmediate", "Buffer", "URL", "AbortController",
  "RangeError", "EvalError", "URIError", "AggregateError", "Iterator", "escape", "unescape",
]);

const TYPED = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float32Array", "Float64Array"];

/** Static members Espruino lacks: `Object.member` (all `undefined` on 2v29). */
export const MISSING_STATICS = new Map([
  ["Array", ["from", "of"]],
  ...TYPED.map((t) => [t, ["from", "of"]]),
  ["Number", ["isInteger", "isSafeInteger", "isFinite", "isNaN", "parseInt", "parseFloat", "EPSILON",
    "MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER"]],
  ["Math", ["trunc", "log2", "log10", "cbrt", "hypot", "clz32", "fround", "imul", "expm1", "log1p", "sinh",
    "cosh", "tanh", "asinh", "acosh", "atanh"]],
  ["Object", ["getOwnPropertySymbols", "freeze", "isFrozen", "seal", "preventExtensions", "is"]],
  ["String", ["raw", "fromCodePoint"]],
  ["Promise", ["race", "allSettled", "any"]],
  ["ArrayBuffer", ["isView"]],
].map(([o, ms]) => [o, new Set(ms)]));

/**
 * Instance methods Espruino lacks, matched by name alone (no type information): only names distinctive enough
 * that a hit is almost surely the missing built-in. Others it lacks but that are too common as names of our
 * own methods (`at`, `keys`, `values`, `entries`, `normalize`) are not checked.
 */
export const MISSING_METHODS = new Map([
  ["flat", "Array"], ["flatMap", "Array"], ["findLast", "Array"], ["findLastIndex", "Array"],
  ["copyWithin", "Array/TypedArray"], ["trimStart", "String"], ["trimEnd", "String"], ["codePointAt", "String"],
  ["matchAll", "String"], ["localeCompare", "String"], ["toPrecision", "Number"], ["finally", "Promise"],
]);

/**
 * The only globals lib/ may use: standard ECMAScript that Espruino has. Anything else (E, I2C1, digitalWrite,
 * require, print, console, process, setTimeout, getTime, D4, ...) belongs to boards/ (STYLE.md rule 1: lib/
 * depends only on lib/; time comes from an injected clock, rule 10).
 */
export const LIB_GLOBALS = new Set([
  "undefined", "NaN", "Infinity", "Object", "Array", "Math", "JSON", "String", "Number", "Boolean", "Function",
  "Error", "TypeError", "SyntaxError", "ReferenceError", "Date", "Promise", "RegExp", "ArrayBuffer", "DataView",
  ...TYPED, "parseInt", "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent",
]);

/** `Error` and its subclasses: `class X extends <one of these>` is refused. */
export const ERROR_CLASSES = new Set(["Error", "TypeError", "SyntaxError", "ReferenceError", "RangeError",
  "EvalError", "URIError", "AggregateError"]);

let espruinoNames;
/**
 * Every global name the Espruino interpreter (or a firmware's environment) defines: the top-level declarations
 * of @types/espruino plus what it lacks and the ECMAScript globals. A bundle in plain top-level format must not
 * declare any of these at its top level, or it would replace the built-in (a minified `function E` hides `E`,
 * and with it `E.on("init"/"kill")`). tools/build.mjs makes esbuild's renamer avoid them; tools/guard.mjs checks.
 */
export function espruinoGlobalNames() {
  if (espruinoNames) return espruinoNames;
  const require = createRequire(import.meta.url);
  const dts = readFileSync(require.resolve("@types/espruino/index.d.ts"), "utf8");
  const names = new Set();
  for (const m of dts.matchAll(/^declare (?:var|let|const|function|namespace|class|interface) ([A-Za-z_$][\w$]*)/gm)) {
    names.add(m[1]);
  }
  // Pins beyond what @types/espruino lists (ESP32 has D0..D39, STM32 boards A0..H15), and the board objects
  // and functions the types leave out.
  for (const p of "ABCDEFGH") for (let i = 0; i < 48; i++) names.add(p + i);
  for (const n of ["E", "Pin", "ESP32", "ESP8266", "NodeMCU", "Wifi", "OneWire", "LED", "LED1", "LED2", "LED3",
    "BTN", "BTN1", "BTN2", "console", "process", "setTimeout", "setInterval", "quit", "global", "globalThis",
    "require", "module", "exports", "load", "save", "reset", "print", "echo", "edit", "dump", "peek8", "poke8",
    "getTime", "setTime", "trace", "tv", "url", "net", "fs", "http", "tls", "dgram", "crypto", "Storage"]) {
    names.add(n);
  }
  for (const n of MISSING_GLOBALS) names.add(n);
  for (const n of LIB_GLOBALS) names.add(n);
  for (const n of MISSING_STATICS.keys()) names.add(n);
  espruinoNames = names;
  return names;
}
