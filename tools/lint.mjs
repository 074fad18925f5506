#!/usr/bin/env node
// Espruino-subset lint of the device source: lib/, boards/, firmware/ (*.ts, not *.d.ts).
//
//   node tools/lint.mjs [FILE_OR_DIR ...]      (default: lib boards firmware)
//
// Refuses what the interpreter lacks (../shared/ESPRUINO.md, tools/espruino-subset/rules.mjs): destructuring,
// spread/rest, default parameters, async/await, generators, optional chaining, `**`, labels, private class
// members, `class X extends Error`, computed keys, new.target, Map/Set/WeakMap/WeakSet/Symbol/Proxy/Reflect/
// TextEncoder/TextDecoder/... and static members such as Array.from, Uint8Array.from (every TypedArray.from/of),
// Number.isInteger, Math.trunc, assignments to an array's `.length`, class members and names that are
// Espruino keywords (`static of()`, `let of`), closures over a for-loop's let/const, and declarations used
// before their statement has run (no hoisting). In lib/ also every global that is not standard JavaScript (E,
// I2C1, digitalWrite, require("net"), console, timers, ...) and every import that leaves lib/; boards/ and
// firmware/ may not import sim/ or test/, firmware reaches its board only as "@board" (STYLE.md rule 1).
// How each is found: tools/espruino-subset/check.mjs (syntax and globals, on an acorn AST of the .ts file with
// its types stripped by esbuild), order.mjs (use before definition), source.mjs (positions, imports).
// Prints `file:line:col: message [rule]` (1-based) for each finding; exits 1 if there is any.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkTsSource } from "./espruino-subset/source.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const LINT_DIRS = ["lib", "boards", "firmware", "sim/chips", "sim/hal"];

/** Every *.ts (not *.d.ts) under the given files/directories, sorted. */
export function tsFiles(paths) {
  const out = [];
  const visit = (p) => {
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) if (e !== "node_modules") visit(path.join(p, e));
    } else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  };
  for (const p of paths) {
    try { visit(p); } catch (e) { if (e.code !== "ENOENT") throw e; }
  }
  return out;
}

/**
 * Lints files (absolute paths) with the layering rules on.
 * @returns {Promise<import("./espruino-subset/source.mjs").SourceFinding[]>}
 */
export async function lintFiles(files, root = ROOT) {
  const all = await Promise.all(files.map((f) => checkTsSource(f, readFileSync(f, "utf8"), { root, layering: true })));
  return all.flat();
}

export function formatFinding(f) {
  return `${f.file}:${f.line}:${f.col}: ${f.message} [${f.rule}]`;
}

async function main() {
  const args = process.argv.slice(2);
  const files = tsFiles((args.length ? args : LINT_DIRS).map((p) => path.resolve(ROOT, p)));
  const findings = await lintFiles(files);
  for (const f of findings) console.error(formatFinding(f));
  if (findings.length) {
    console.error(`lint: ${findings.length} problem(s) in ${new Set(findings.map((f) => f.file)).size} file(s)`);
    process.exit(1);
  }
  console.log(`lint: ${files.length} files clean (Espruino subset, one-way dependencies)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
