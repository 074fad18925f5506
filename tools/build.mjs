#!/usr/bin/env node
// Builds the device bundles with esbuild:
//   dist/<board>.js        firmware/node/main.ts for each boards/<board>.ts ("@board" -> that file)
//   dist/test/<name>.js    each test/device/<name>.ts (on-device self-tests), for the linux board
//   dist/sizes.json        { "<file>": { "bytes": N, "gzipBytes": N } }, file relative to dist/
//   dist/meta/<file>.json  esbuild metafile (module shares: npm run size)
//   dist/meta/<file>.map   source map (sources relative to the project root), used by the guard's messages
// then refuses the build (exit 1) when a bundle fails the Espruino-subset guard (tools/guard.mjs).
//
// Language level: target es2015 with these features marked unsupported. Checked with esbuild 0.28:
//   - destructuring, rest-argument, array-spread, default-argument, async-await, async-generator, generator,
//     for-await: esbuild stops with "Transforming ... to the configured target environment is not supported".
//   - optional-chain: lowered to `(a = o) == null ? void 0 : a.b`; checked on Espruino 2v29: runs.
//   - object-rest-spread: `{...o}` is lowered to helpers (Object.defineProperties, getOwnPropertyDescriptors and a
//     guarded getOwnPropertySymbols); checked on 2v29: runs (object rest in a pattern is destructuring: error).
//   - exponent-operator: lowered to Math.pow, which is inexact on Espruino (Math.pow(10, 15) gives
//     1000000000000005.875): refused at the source, see below.
//   - not in that list but lowered at es2015: private class members (#x) become WeakMap/WeakSet, which
//     Espruino lacks: refused at the source.
//   - unicode-escapes is marked unsupported too: Espruino cannot parse `\u{1F600}`; esbuild then writes
//     `\uD83D\uDE00`.
// After esbuild, top-level classes it turned into `var a = class r {...}` get their inner name changed to the
// variable's (Espruino does not bind `r` inside the class; see nameClassesForEspruino below).
// On top of esbuild's own errors, every project .ts file that goes into a bundle is checked as it is loaded
// (tools/espruino-subset/source.mjs, the same check as the lint without the layering rules), so the build
// itself refuses all of the above with the .ts file:line:col, including what esbuild would lower.
//
// Output format: plain top-level statements (esbuild "esm" output of an entry without exports), not an IIFE.
// Measured on Espruino 2v29 with ../shared/tools/espruino/run.sh, free JsVars (process.memory().free) of the
// same code in both formats: the codec encoding and decoding five packets (8.4 kB minified), kept running by a
// timer as a firmware is, and the boot stub (firmware/node/main.ts):
//                                                  top-level    IIFE
//   codec, esp32 shape, from RAM, right after load    14,357   13,692   (the IIFE holds a copy of its body while it runs)
//   codec, esp32 shape, from RAM, steady              15,189   15,130
//   codec, esp32 shape, from flash, steady            15,689   15,630
//   codec, esp8266 shape, from flash, steady           1,000      941
//   codec, esp8266 shape, from RAM                  out of memory in both (too big to load from RAM there)
//   boot stub, esp8266 shape, from RAM, at boot        1,581    1,557
//   boot stub, esp8266 shape, from flash, at boot      1,626    1,619
// Top-level code keeps about 60 more JsVars free while running (each function made inside an IIFE keeps a link
// to its scope: 6 % of an ESP8266's free memory here) and about 650 more while loading from RAM. Its one risk:
// top-level names become globals, and the minifier may pick a name Espruino already uses (without care it
// named a function `E`, which hid `E` and the E.on("kill") handlers). So every entry gets an unused function
// that mentions all Espruino global names: esbuild never renames to a name the bundle refers to as a global,
// and tree-shaking drops the function. The guard also refuses any top-level declaration that shadows one.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { checkTsSource } from "./espruino-subset/source.mjs";
import { espruinoGlobalNames } from "./espruino-subset/rules.mjs";
import { analyzeScopes } from "./espruino-subset/scope.mjs";
import { parentsOf, renameClassExpressions } from "./espruino-subset/classname.mjs";
import * as acorn from "acorn";
import { guardFile, formatGuardFinding } from "./guard.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");
const ENTRY = path.join(ROOT, "firmware/node/main.ts");
const TEST_BOARD = "linux";

export const UNSUPPORTED = ["destructuring", "object-rest-spread", "rest-argument", "array-spread",
  "default-argument", "optional-chain", "exponent-operator", "async-await", "async-generator", "generator",
  "for-await"];

/** Board names: every boards/<name>.ts except declaration files. */
export function boardNames() {
  return readdirSync(path.join(ROOT, "boards"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).map((f) => f.slice(0, -3)).sort();
}

/** The device self-tests: test/device/*.ts, none when the folder is absent. */
function deviceTests() {
  let files = [];
  try { files = readdirSync(path.join(ROOT, "test/device")); } catch (e) { if (e.code !== "ENOENT") throw e; }
  return files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort()
    .map((f) => ({ entry: path.join(ROOT, "test/device", f), out: "test/" + f.slice(0, -3) + ".js", board: TEST_BOARD }));
}

// Names esbuild must not give to top-level symbols. `require`, `module` and `exports` are left out: mentioning
// them would make esbuild treat the entry as CommonJS.
// `of` is added: a valid JavaScript name the minifier could generate, but a reserved word to Espruino.
function reservedNamesSource() {
  const names = [...espruinoGlobalNames(), "of"].filter((n) => !["require", "module", "exports"].includes(n)).sort();
  return `\nfunction __espruinoGlobals__() { return [${names.join(", ")}]; }\n`;
}

/** esbuild plugin: "@board" per bundle, the subset check of each source, the reserved names in the entry. */
function espruinoPlugin(board, entry, checked) {
  return {
    name: "espruino",
    setup(b) {
      b.onResolve({ filter: /^@board$/ }, () => ({ path: path.join(ROOT, "boards", board + ".ts") }));
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        let contents = readFileSync(args.path, "utf8");
        if (!checked.has(args.path)) checked.set(args.path, checkTsSource(args.path, contents, { root: ROOT }));
        const errors = (await checked.get(args.path)).map((f) => ({
          text: `${f.message} [${f.rule}]`,
          location: { file: f.file, line: f.line, column: f.col - 1, lineText: contents.split("\n")[f.line - 1] ?? "" },
        }));
        if (args.path === entry) contents += reservedNamesSource();
        return { contents, loader: "ts", errors };
      });
    },
  };
}

/**
 * Bundles one entry for one board, in memory. Rejects with esbuild's errors (`err.errors`, with .ts locations)
 * when the source breaks the Espruino subset or esbuild cannot lower something.
 * @param {string} entry absolute path of the entry .ts
 * @param {string} board board name (boards/<board>.ts is "@board")
 * @param {string} outfile the bundle's path (names the output and its source map)
 * @param {Map<string, Promise<object[]>>} [checked] cache of source checks shared between bundles
 * @returns {Promise<{ code: string, map: object, meta: object }>}
 */
export async function bundle(entry, board, outfile, checked = new Map()) {
  const r = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    target: "es2015",
    // and "unicode-escapes": Espruino cannot parse `\u{1F600}`, so esbuild writes `\uD83D\uDE00`
    supported: Object.fromEntries([...UNSUPPORTED, "unicode-escapes"].map((k) => [k, false])),
    legalComments: "none",
    sourcemap: "external",
    sourcesContent: false,
    absWorkingDir: ROOT,
    metafile: true,
    write: false,
    logLevel: "silent",
    tsconfig: path.join(ROOT, "tsconfig.json"),
    plugins: [espruinoPlugin(board, entry, checked)],
  });
  let code = r.outputFiles.find((f) => f.path.endsWith(".js")).text;
  let map = JSON.parse(r.outputFiles.find((f) => f.path.endsWith(".map")).text);
  ({ code, map } = nameClassesForEspruino(code, map));
  const exported = Object.values(r.metafile.outputs).flatMap((o) => o.exports);
  if (exported.length) {
    throw new Error(`${path.relative(ROOT, entry)}: an entry point must not export (${exported.join(", ")}): ` +
      "a bundle runs as a plain script");
  }
  // sources relative to the project root
  map.sources = map.sources.map((s) => path.relative(ROOT, path.resolve(path.dirname(outfile), s)).split(path.sep).join("/"));
  return { code, map, meta: r.metafile };
}

// esbuild turns top-level `class Box {}` into `var a = class r {}`, and Espruino does not bind `r` inside the
// class: give the inner name the variable's name (tools/espruino-subset/classname.mjs). The guard reports any
// class expression this could not fix.
function nameClassesForEspruino(code, map) {
  let ast;
  try { ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script" }); } catch { return { code, map }; }
  return renameClassExpressions(code, map, ast, analyzeScopes(ast), parentsOf(ast));
}

function write(job, { code, map, meta }) {
  const outfile = path.join(DIST, job.out);
  // the source map beside the metafile; sourceRoot leads from there to the project root
  const metaBase = path.join(DIST, "meta", job.out);
  map.sourceRoot = path.relative(path.dirname(metaBase), ROOT).split(path.sep).join("/") + "/";
  mkdirSync(path.dirname(outfile), { recursive: true });
  mkdirSync(path.dirname(metaBase), { recursive: true });
  writeFileSync(outfile, code);
  writeFileSync(metaBase.replace(/\.js$/, ".map"), JSON.stringify(map));
  writeFileSync(metaBase.replace(/\.js$/, ".json"), JSON.stringify(meta, null, 1));
  const bytes = Buffer.byteLength(code);
  return { out: job.out, bytes, gzipBytes: gzipSync(code, { level: 9 }).length };
}

function formatEsbuildError(e) {
  const l = e.location;
  return l ? `${l.file}:${l.line}:${l.column + 1}: ${e.text}` : e.text;
}

export async function build() {
  rmSync(DIST, { recursive: true, force: true });
  const jobs = [
    ...boardNames().map((board) => ({ entry: ENTRY, out: board + ".js", board })),
    ...deviceTests(),
  ];
  const checked = new Map();
  const results = await Promise.allSettled(jobs.map((j) => bundle(j.entry, j.board, path.join(DIST, j.out), checked)));
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) {
    const lines = new Set();
    for (const f of failed) {
      const errs = f.reason.errors;
      if (errs && errs.length) for (const e of errs) lines.add(formatEsbuildError(e));
      else lines.add(String(f.reason.message ?? f.reason));
    }
    for (const l of lines) console.error(l);
    console.error(`build: failed (${failed.length} of ${jobs.length} bundles)`);
    return false;
  }
  const sizes = {};
  for (const [i, r] of results.entries()) {
    const w = write(jobs[i], r.value);
    sizes[w.out] = { bytes: w.bytes, gzipBytes: w.gzipBytes };
  }
  writeFileSync(path.join(DIST, "sizes.json"), JSON.stringify(sizes, null, 2) + "\n");

  const guard = Object.keys(sizes).flatMap((f) => guardFile(path.join(DIST, f)));
  for (const g of guard) console.error(formatGuardFinding(g));

  const w = Math.max(...Object.keys(sizes).map((k) => k.length + 5));
  console.log(`${"bundle".padEnd(w)}  ${"bytes".padStart(7)}  ${"gzip".padStart(7)}`);
  for (const [k, v] of Object.entries(sizes)) {
    console.log(`${("dist/" + k).padEnd(w)}  ${String(v.bytes).padStart(7)}  ${String(v.gzipBytes).padStart(7)}`);
  }
  if (guard.length) {
    console.error(`build: ${guard.length} Espruino-subset problem(s) in the bundles (tools/guard.mjs)`);
    return false;
  }
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!(await build())) process.exit(1);
}
