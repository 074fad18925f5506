#!/usr/bin/env node
// Builds the device bundles with esbuild:
//   dist/<board>.js        firmware/node/main.ts for each boards/<board>.ts ("@board" -> that file)
//   dist/test/<name>.js    each test/device/<name>.ts (on-device self-tests), for the linux board
//   dist/modules/<name>.js Espruino modules (MODULES below): `Modules.addCached("<name>", text)` or a file in the
//                          board's node_modules/, then `require("<name>")`
//   dist/sizes.json        { "<file>": { "bytes": N, "gzipBytes": N } }, file relative to dist/
//   dist/meta/<file>.json  esbuild metafile (module shares: npm run size)
//   dist/meta/<file>.map   source map (sources relative to the project root), used by the guard's messages
// then refuses the build (exit 1) when a bundle fails the Espruino-subset guard (tools/guard.mjs).
//
// Language level: target es2015 with these features marked unsupported. Checked with esbuild 0.28:
//   - nullish-coalescing is marked supported: `a ?? b` runs on Espruino 2v29 (checked on the 1,700-variable
//     shape: null, undefined, 0 and nested uses), so it is not lowered to `a != null ? a : b`. (`a ??= b` is a
//     parse error there, so logical-assignment stays lowered.)
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
// Private members: every property whose name ends in `_` (STYLE: private members end in `_`) is renamed to a
// short name (esbuild mangleProps), quoted uses included, with one name cache for the whole build so that a
// member has the same short name in every bundle (an object made by one bundle can be handed to another).
// Nothing outside the project may rely on such a name. No short name is ever one of the project's public
// property names either (those not ending in `_`, collected from every device source by publicPropertyNames
// and put in the cache as `name: false`, which esbuild reads as "taken"): esbuild avoids the property names of
// the bundle it is building, but reuses a cached name as it is, so without this a name given in one bundle
// could be a public property of a later one (the broker's `subs_` got the client's short name `o`, which is
// also the broker's public options `o`: every option was lost on Espruino). Names of Espruino's own
// Object.prototype members (`on`, `emit`, ...) are never generated: the entry mentions them (see
// reservedNamesSource), and the build checks the cache against them and against the public names.
//
// Modules (MODULES): the same code as an Espruino module: Espruino runs a module's text in a scope that has
// `exports` and `module`, so these entries assign `exports.x = ...` and are bundled in esbuild's "cjs" format
// (in "esm" a mention of `exports` makes esbuild wrap the whole entry as a CommonJS module). Their top-level
// names are then local to the module. Espruino's built-in modules (`net`, `tls`, ...) are reached as
// `global.require(name)` in any bundle: a plain `require("net")` is a module esbuild would try to bundle.
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
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { checkTsSource } from "./espruino-subset/source.mjs";
import { espruinoGlobalNames } from "./espruino-subset/rules.mjs";
import { analyzeScopes } from "./espruino-subset/scope.mjs";
import { parentsOf, renameClassExpressions } from "./espruino-subset/classname.mjs";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { guardFile, formatGuardFinding } from "./guard.mjs";
import { tsFiles } from "./lint.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");
const TEST_BOARD = "linux";
/** Firmware roles: firmware/<role>/main.ts, built per board that has firmware/<role>/config/<board>.json. */
export const ROLES = ["node", "gateway"];

/**
 * Espruino modules: entry (relative to the project root) and output (relative to dist/). The board given to
 * "@board" is the Linux one, which these entries do not import. The compatibility module is its own bundle, so
 * the typed one never carries it.
 */
export const MODULES = [
  { entry: "boards/modules/mqtt.ts", out: "modules/mqtt-client.js" },
  { entry: "boards/modules/mqtt-compat.ts", out: "modules/MQTT.js" },
  { entry: "boards/modules/mqtt5.ts", out: "modules/mqtt5-client.js" },
  { entry: "boards/modules/broker.ts", out: "modules/broker.js" },
];

/** Members of every Espruino object (Object.prototype on 2v29) that a mangled `_` member must never be named. */
export const ESPRUINO_OBJECT_MEMBERS = ["on", "emit", "removeListener", "removeAllListeners", "prependListener",
  "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toString", "toLocaleString", "valueOf", "clone",
  "length", "constructor", "__proto__", "prototype", "call", "apply", "bind", "name", "replaceWith"];

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
// The property names of Espruino's own object members are mentioned too, so that esbuild's property mangler
// never picks one of them for a `_` member (a member named `on` would hide Espruino's built-in `on`).
function reservedNamesSource() {
  const names = [...espruinoGlobalNames(), "of"].filter((n) => !["require", "module", "exports"].includes(n)).sort();
  const members = ESPRUINO_OBJECT_MEMBERS.map((m) => `o.${m}`).join(", ");
  return `\nfunction __espruinoGlobals__(o) { return [${names.join(", ")}, ${members}]; }\n`;
}

/** esbuild plugin: "@board" per bundle, the subset check of each source, the reserved names in the entry. */
function espruinoPlugin(board, entry, checked, configSource) {
  return {
    name: "espruino",
    setup(b) {
      b.onResolve({ filter: /^@board$/ }, () => ({ path: path.join(ROOT, "boards", board + ".ts") }));
      b.onResolve({ filter: /^@config$/ }, () => {
        if (configSource === undefined) return { errors: [{ text: "\"@config\" is only for firmware entries (firmware/<role>/main.ts)" }] };
        return { path: "@config", namespace: "config" };
      });
      b.onLoad({ filter: /.*/, namespace: "config" }, () => ({ contents: configSource, loader: "js", resolveDir: ROOT }));
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
 * @param {{ format?: "esm" | "cjs", mangleCache?: object }} [opts] "cjs" for Espruino modules (see above);
 *   mangleCache: the names given to `_` members so far (updated in place)
 * @returns {Promise<{ code: string, map: object, meta: object }>}
 */
export async function bundle(entry, board, outfile, checked = new Map(), opts = {}) {
  const configSource = opts.config ? await configModule(opts.config, opts.role, board) : undefined;
  const r = await esbuild.build({
    ...esbuildOptions(opts.mangleCache),
    entryPoints: [entry],
    outfile,
    format: opts.format ?? "esm",
    legalComments: "none",
    sourcemap: "external",
    sourcesContent: false,
    absWorkingDir: ROOT,
    metafile: true,
    write: false,
    plugins: [espruinoPlugin(board, entry, checked, configSource)],
  });
  if (opts.mangleCache && r.mangleCache) Object.assign(opts.mangleCache, r.mangleCache);
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

/** Driver module per sensor type (lib/drivers/<file>.ts, its `connect`). */
const DRIVER_FILES = { bme280: "bme280", sht3x: "sht3x", aht20: "aht20", dht22: "dht", dht11: "dht", ds18b20: "ds18b20" };

let hostModules = null;

/**
 * The config validators and the board data, bundled for Node once per process from the same sources the
 * device runs (lib/node/config.ts, lib/node/gateway-config.ts, boards/<board>.ts).
 */
export async function host() {
  if (hostModules) return hostModules;
  const gw = existsSync(path.join(ROOT, "lib/node/gateway-config.ts"));
  const boards = boardNames();
  const src = [
    `export { validate } from ${JSON.stringify(path.join(ROOT, "lib/node/config.ts"))};`,
    gw ? `export { validateGateway } from ${JSON.stringify(path.join(ROOT, "lib/node/gateway-config.ts"))};` : "export const validateGateway = null;",
    ...boards.map((b, i) => `import { board as b${i} } from ${JSON.stringify(path.join(ROOT, "boards", b + ".ts"))};`),
    `export const boards = { ${boards.map((b, i) => `${JSON.stringify(b)}: b${i}`).join(", ")} };`,
  ].join("\n");
  const r = await esbuild.build({
    stdin: { contents: src, resolveDir: ROOT, loader: "ts" }, bundle: true, format: "esm", platform: "node",
    write: false, logLevel: "silent", tsconfig: path.join(ROOT, "tsconfig.json"),
  });
  hostModules = await import("data:text/javascript;base64," + Buffer.from(r.outputFiles[0].text).toString("base64"));
  return hostModules;
}

/** The board's data (boards/<board>.ts `board`); throws for an unknown board. */
export async function boardData(board) {
  const b = (await host()).boards[board];
  if (!b) throw new Error(`unknown board "${board}" (boards: ${boardNames().join(", ")})`);
  return b;
}

/** The most bundle bytes the board takes. */
export async function boardBudget(board) {
  return (await boardData(board)).budget;
}

/** The capabilities a config is checked against (lib/node/config.ts BoardCaps). */
function capsOf(b) {
  return { tls: b.tls, i2c: !!b.i2c, wire1: !!b.wire1, net: b.net, sim: b.name == "linux" };
}

/**
 * Reads and validates a role's config file for a board; resolves to the validated config, or rejects with an
 * Error listing every problem as `<file>: <field>: <message>`.
 */
export async function loadConfig(file, role, board) {
  const h = await host();
  const rel = path.relative(process.cwd(), file) || file;
  let obj;
  try {
    obj = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(e.code == "ENOENT" ? `${rel}: no such config file` : `${rel}: not valid JSON (${e.message})`);
  }
  const v = role == "gateway" ? (h.validateGateway ? h.validateGateway(obj, capsOf(await boardData(board))) : null)
    : h.validate(obj, capsOf(await boardData(board)));
  if (!v) throw new Error(`${rel}: no validator for role "${role}"`);
  if (v.errors.length) {
    const e = new Error(v.errors.map((m) => `${rel}: ${m}`).join("\n"));
    e.configErrors = v.errors;
    throw e;
  }
  return v.config;
}

/** The source of "@config": the validated config, the drivers its sensors use, the version. */
async function configModule(file, role, board) {
  const config = await loadConfig(file, role, board);
  const version = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
  const types = [...new Set((config.sensors || []).map((s) => s.type))].sort();
  const lines = types.map((t, i) => `import { connect as d${i} } from ${JSON.stringify(path.join(ROOT, "lib/drivers", DRIVER_FILES[t] + ".ts"))};`);
  lines.push(`export const config = ${JSON.stringify(config)};`);
  lines.push(`export const drivers = { ${types.map((t, i) => `${t}: d${i}`).join(", ")} };`);
  lines.push(`export const version = ${JSON.stringify(version)};`);
  return lines.join("\n");
}

/** The default config of a role on a board: firmware/<role>/config/<board>.json. */
export function defaultConfig(role, board) {
  return path.join(ROOT, "firmware", role, "config", board + ".json");
}

/**
 * Builds one firmware bundle: `role` for `board` with the config file `config` (default: the role's config for
 * the board), to dist/<board>/<role>.js. Rejects with the config's problems, esbuild's errors, the guard's
 * findings, or a bundle over the board's budget. Resolves to `{ out, bytes, budget }`. `out`: another path for
 * the bundle (tests build their own configs without touching dist/).
 */
export async function buildFirmware({ board, role = "node", config, out }) {
  await boardData(board);
  if (!ROLES.includes(role)) throw new Error(`unknown role "${role}" (roles: ${ROLES.join(", ")})`);
  const entry = path.join(ROOT, "firmware", role, "main.ts");
  if (!existsSync(entry)) throw new Error(`no firmware for role "${role}" (${path.relative(ROOT, entry)})`);
  const file = config ? path.resolve(config) : defaultConfig(role, board);
  const publicNames = await publicPropertyNames();
  const mangleCache = Object.fromEntries([...publicNames].map((n) => [n, false]));
  const dest = out ? path.resolve(out) : path.join(DIST, board, role + ".js");
  const job = { entry, out: path.relative(DIST, dest), board, role, config: file };
  let r;
  try {
    r = await bundle(entry, board, dest, new Map(), { mangleCache, config: file, role });
  } catch (e) {
    if (e.errors && e.errors.length) throw new Error(e.errors.map(formatEsbuildError).join("\n"));
    throw e;
  }
  const w = write(job, r);
  const guard = guardFile(dest);
  if (guard.length) throw new Error(guard.map(formatGuardFinding).join("\n"));
  const budget = await boardBudget(board);
  if (w.bytes > budget) throw new Error(`${path.relative(process.cwd(), dest)}: ${w.bytes} bytes, over the ${board} budget of ${budget}`);
  return { out: dest, bytes: w.bytes, budget };
}

/** Every (role, board) with a config file, for a full build. */
function firmwareJobs() {
  const jobs = [];
  for (const role of ROLES) {
    const entry = path.join(ROOT, "firmware", role, "main.ts");
    if (!existsSync(entry)) continue;
    for (const board of boardNames()) {
      const config = defaultConfig(role, board);
      if (existsSync(config)) jobs.push({ entry, out: board + "/" + role + ".js", board, role, config });
    }
  }
  return jobs;
}

/**
 * The esbuild options every device bundle shares (tools/size.mjs measures with them too): minified, es2015 with
 * the Espruino subset, `_` members mangled. `mangleCache` (optional) carries member names between bundles.
 */
export function esbuildOptions(mangleCache) {
  return {
    bundle: true,
    minify: true,
    platform: "neutral",
    target: "es2015",
    // and "unicode-escapes": Espruino cannot parse `\u{1F600}`, so esbuild writes `\uD83D\uDE00`
    supported: { ...Object.fromEntries([...UNSUPPORTED, "unicode-escapes"].map((k) => [k, false])), "nullish-coalescing": true },
    mangleProps: /_$/,
    mangleQuoted: true,
    // MQTT 5 stays out of the device bundles: the broker's level-5 paths are behind `!globalThis.NO_MQTT5`
    // (lib/broker/v5.ts), which this turns into `false`, so they and what only they import drop out
    define: { "globalThis.NO_MQTT5": "true" },
    ...(mangleCache ? { mangleCache: { ...mangleCache } } : {}),
    logLevel: "silent",
    tsconfig: path.join(ROOT, "tsconfig.json"),
  };
}

/**
 * Mangled names that would hide a member every Espruino object has (see ESPRUINO_OBJECT_MEMBERS), or that are
 * one of the project's public property names (`publicNames`, see publicPropertyNames).
 */
export function badMangledNames(cache, publicNames = new Set()) {
  return Object.entries(cache).filter(([, v]) => typeof v == "string" && (ESPRUINO_OBJECT_MEMBERS.includes(v) || publicNames.has(v)));
}

/** Folders of the device sources (what bundles are made of). */
const DEVICE_DIRS = ["lib", "boards", "firmware", "test/device"];

/** The name a property key or member node gives, when it is a fixed one (`a.b`, `a["b"]`, `{ b: 1 }`, `class { b() {} }`). */
function propertyName(n) {
  const k = n.type == "MemberExpression" ? n.property : n.key;
  if (!k) return null;
  if (k.type == "Identifier" && !n.computed) return k.name;
  if (k.type == "Literal" && typeof k.value == "string") return k.value;
  return null;
}

/**
 * Every property name used in the device sources that is not mangled (does not end in `_`): member accesses,
 * object literal keys and class members, quoted or not. Over-counting is harmless (a name esbuild will not
 * generate), missing one is not.
 */
export async function publicPropertyNames() {
  const names = new Set();
  const kinds = ["MemberExpression", "Property", "MethodDefinition", "PropertyDefinition"];
  for (const f of tsFiles(DEVICE_DIRS.map((d) => path.join(ROOT, d)))) {
    let ast;
    try {
      const { code } = await esbuild.transform(readFileSync(f, "utf8"), { loader: "ts", target: "esnext", format: "esm", logLevel: "silent" });
      ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "module" });
    } catch {
      continue; // a file that does not parse: bundling it reports the error, with its place
    }
    walk.full(ast, (n) => {
      if (!kinds.includes(n.type)) return;
      const name = propertyName(n);
      if (name !== null && !name.endsWith("_")) names.add(name);
    });
  }
  return names;
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
  const outfile = path.resolve(DIST, job.out);
  // the source map beside the metafile (beside the bundle when it is outside dist/); sourceRoot leads from there
  // to the project root
  const metaBase = job.out.startsWith("..") ? outfile : path.join(DIST, "meta", job.out);
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
    ...firmwareJobs(),
    ...MODULES.map((m) => ({ entry: path.join(ROOT, m.entry), out: m.out, board: TEST_BOARD, format: "cjs" })),
    ...deviceTests(),
  ];
  const checked = new Map();
  // one after another: the mangle cache carries each `_` member's short name into the next bundle; it starts
  // with every public property name marked as taken
  const publicNames = await publicPropertyNames();
  const mangleCache = Object.fromEntries([...publicNames].map((n) => [n, false]));
  const results = [];
  for (const j of jobs) {
    try {
      results.push({ status: "fulfilled", value: await bundle(j.entry, j.board, path.join(DIST, j.out), checked, { format: j.format, mangleCache, config: j.config, role: j.role }) });
    } catch (reason) {
      results.push({ status: "rejected", reason });
    }
  }
  const bad = badMangledNames(mangleCache, publicNames);
  if (bad.length) {
    console.error("build: mangled names that hide Espruino object members or public properties: " + bad.map((b) => b.join(" -> ")).join(", "));
    return false;
  }
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

  const over = [];
  for (const j of jobs) {
    if (!j.role) continue;
    const budget = await boardBudget(j.board);
    if (sizes[j.out].bytes > budget) over.push(`dist/${j.out}: ${sizes[j.out].bytes} bytes, over the ${j.board} budget of ${budget}`);
  }
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
  for (const l of over) console.error(l);
  return !over.length;
}

/** `--board B [--role R] [--config FILE]`: one firmware bundle; no arguments: everything. */
async function main(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!["--board", "--role", "--config"].includes(k) || argv[i + 1] === undefined) {
      console.error(`build: unknown argument "${k}" (usage: build.mjs [--board B [--role node|gateway] [--config FILE]])`);
      return false;
    }
    o[k.slice(2)] = argv[++i];
  }
  if (!Object.keys(o).length) return build();
  if (!o.board) {
    console.error("build: --role and --config need --board");
    return false;
  }
  try {
    const r = await buildFirmware(o);
    console.log(`${path.relative(process.cwd(), r.out)}  ${r.bytes} bytes (budget ${r.budget})`);
    return true;
  } catch (e) {
    console.error(e.message);
    return false;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!(await main(process.argv.slice(2)))) process.exit(1);
}
