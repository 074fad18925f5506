#!/usr/bin/env node
// Espruino-subset guard of the emitted bundles: parses each file with acorn (as a plain script, which is how
// Espruino runs it) and walks it with acorn-walk, refusing
//   - syntax Espruino lacks: destructuring, spread/rest, default parameters, async/await, generators, optional
//     chaining, `**`, labelled statements, private class members, `class X extends Error`, computed keys,
//     new.target, `\u{...}` escapes, class members and names that are Espruino keywords, closures over a
//     for-loop's let/const, class expressions that use their own name inside (tools/espruino-subset/classname.mjs);
//   - references to globals and members it lacks: Map, Set, WeakMap, WeakSet, Symbol, Proxy, Reflect,
//     TextEncoder, TextDecoder, ..., Array.from, Uint8Array.from (and every TypedArray.from/of), Number.isInteger,
//     Math.trunc, ... (tools/espruino-subset/rules.mjs), and assignments to an array's `.length`;
//   - anything used before its declaration has run (Espruino hoists nothing), following the code that runs at
//     load time: top-level statements, immediately called functions, and calls of declared functions
//     (tools/espruino-subset/order.mjs); references inside function bodies that run later are fine;
//   - top-level declarations that would replace an Espruino global (the bundle runs as a plain script).
//
//   node tools/guard.mjs [FILE.js ...]     (default: every dist/**/*.js except dist/meta/)
//
// Prints `dist/<file>:line:col: message [rule] (from <source>.ts:line:col)` (1-based; the source position
// comes from dist/meta/<file>.map when the build wrote one). Exits 1 when anything is found.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as acorn from "acorn";
import { TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import { checkProgram } from "./espruino-subset/check.mjs";
import { findToken, lineStarts, toLineCol } from "./espruino-subset/text.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");

/**
 * @typedef {object} GuardFinding
 * @property {string} file bundle path (relative to the project root when inside it)
 * @property {number} line 1-based
 * @property {number} col 1-based
 * @property {string} rule
 * @property {string} message
 * @property {string|null} source original position, "lib/x.ts:12:5", when a source map is known
 */

/**
 * Checks bundle text.
 * @param {string} code the bundle
 * @param {string} name the file name used in messages
 * @param {object|null} [map] its source map (sources relative to the project root), for original positions
 * @returns {GuardFinding[]}
 */
export function guardSource(code, name, map = null) {
  const starts = lineStarts(code);
  const at = (pos) => toLineCol(starts, pos);
  let ast;
  try {
    ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script" });
  } catch (e) {
    const lc = at(e.pos ?? 0);
    return [{ file: name, line: lc.line, col: lc.col + 1, rule: "parse",
      message: `not a plain script Espruino can run: ${e.message.replace(/ \(\d+:\d+\)$/, "")}`, source: null }];
  }
  const tm = map ? new TraceMap({ ...map, sourceRoot: undefined }) : null;
  const orig = (pos) => {
    if (!tm) return null;
    const lc = at(pos);
    const o = originalPositionFor(tm, { line: lc.line, column: lc.col });
    return o.source ? `${o.source}:${o.line}:${o.column + 1}` : null;
  };
  return checkProgram(ast, { bundle: true }).map((f) => {
    const pos = f.token ? findToken(code, f.pos, f.token) : f.pos;
    const lc = at(pos);
    let message = f.message;
    if (f.rule === "use-before-define") {
      const d = at(f.declPos);
      const ds = orig(f.declPos);
      message += ` (declared at ${d.line}:${d.col + 1}${ds ? ", " + ds : ""})`;
      if (f.via.length) {
        const c = at(f.via[0]);
        const cs = orig(f.via[0]);
        message += `, reached when the call at ${c.line}:${c.col + 1}${cs ? " (" + cs + ")" : ""} runs`;
      }
    }
    return { file: name, line: lc.line, col: lc.col + 1, rule: f.rule, message, source: orig(pos) };
  });
}

/** Checks one bundle file, with its source map from dist/meta/ when there is one. */
export function guardFile(file) {
  const abs = path.resolve(file);
  const rel = path.relative(ROOT, abs);
  const name = rel.startsWith("..") ? abs : rel.split(path.sep).join("/");
  let map = null;
  const inDist = path.relative(DIST, abs);
  if (!inDist.startsWith("..")) {
    const mapFile = path.join(DIST, "meta", inDist.replace(/\.js$/, ".map"));
    if (existsSync(mapFile)) map = JSON.parse(readFileSync(mapFile, "utf8"));
  }
  return guardSource(readFileSync(abs, "utf8"), name, map);
}

/** Every bundle under dist/ (dist/meta/ excluded), sorted. */
export function distBundles(dir = DIST) {
  const out = [];
  const visit = (d) => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) { if (p !== path.join(DIST, "meta")) visit(p); }
      else if (e.endsWith(".js")) out.push(p);
    }
  };
  if (existsSync(dir)) visit(dir);
  return out;
}

export function formatGuardFinding(f) {
  return `${f.file}:${f.line}:${f.col}: ${f.message} [${f.rule}]${f.source ? ` (from ${f.source})` : ""}`;
}

function main() {
  const args = process.argv.slice(2);
  const files = args.length ? args : distBundles();
  if (!files.length) {
    console.error("guard: no bundles in dist/ (run npm run build)");
    process.exit(1);
  }
  const findings = files.flatMap((f) => guardFile(f));
  for (const f of findings) console.error(formatGuardFinding(f));
  if (findings.length) {
    console.error(`guard: ${findings.length} problem(s) in ${new Set(findings.map((f) => f.file)).size} bundle(s)`);
    process.exit(1);
  }
  console.log(`guard: ${files.length} bundle(s) clean`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
