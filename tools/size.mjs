#!/usr/bin/env node
// Prints the size of every bundle (dist/sizes.json) and, per bundle, each source module's share of it (the
// `bytesInOutput` of esbuild's metafile, dist/meta/<bundle>.json), largest first. Builds first when dist/ has
// no sizes.json. "(other)" is what no module accounts for: esbuild's glue and the separators between modules.
//
// Then the footprint figure of issue 4, requirement 9: codec + client (typed API: lib/mqtt/client.ts and what it
// imports, no transport, no compatibility module) bundled with the build's own esbuild options as a module
// that exports the Client class, and that bundle minified again with terser (`terser -c -m`, as the issue
// measures Espruino's MQTT module), against the 4,096-byte target. With ESPRUINO_DOCS set to a checkout of
// github:espruino/EspruinoDocs, Espruino's modules/MQTT.js and modules/tinyMQTT.js are minified the same way
// beside it (their code is read from there, never copied into this project). Last, each Espruino module bundle
// (MODULES: the typed client, the compatibility module, the broker) with its terser -c -m size.
//
//   node tools/size.mjs
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { minify } from "terser";
import { esbuildOptions, MODULES } from "./build.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");

function ensureBuilt() {
  if (existsSync(path.join(DIST, "sizes.json"))) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, "tools/build.mjs")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const num = (n) => n.toLocaleString("en-US");

/** Rows of [module, bytes] for one bundle, largest first, with "(other)" last. */
export function moduleShares(bundle, total) {
  const meta = JSON.parse(readFileSync(path.join(DIST, "meta", bundle.replace(/\.js$/, ".json")), "utf8"));
  const out = Object.values(meta.outputs).find((o) => o.entryPoint) ?? Object.values(meta.outputs)[0];
  const rows = Object.entries(out.inputs).map(([file, i]) => [file, i.bytesInOutput]).filter(([, b]) => b > 0);
  rows.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const other = total - rows.reduce((s, r) => s + r[1], 0);
  if (other > 0) rows.push(["(other)", other]);
  return rows;
}

function table(head, rows, align) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((c, i) => (align[i] === "r" ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join("  ");
  return [fmt(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(fmt)].join("\n");
}

/** The typed client's core: codec + client, as an Espruino module exporting the Client class. */
const CORE_ENTRY = 'import { Client } from "./lib/mqtt/client";\nexports.Client = Client;\n';
export const CORE_TARGET = 4096;

/** `terser -c -m` of a script's text (as a function body, like a module), in bytes. */
export async function terserBytes(code) {
  const r = await minify(code, { compress: true, mangle: true });
  return Buffer.byteLength(r.code);
}

/** esbuild and terser sizes of codec + client, and its module shares. */
export async function coreSize() {
  const r = await esbuild.build({
    ...esbuildOptions(),
    stdin: { contents: CORE_ENTRY, resolveDir: ROOT, loader: "ts", sourcefile: "(codec + client)" },
    format: "cjs",
    write: false,
    metafile: true,
  });
  const code = r.outputFiles[0].text;
  const out = Object.values(r.metafile.outputs)[0];
  const shares = Object.entries(out.inputs).map(([f, i]) => [f, i.bytesInOutput]).filter(([, b]) => b > 0).sort((a, b) => b[1] - a[1]);
  return { esbuild: Buffer.byteLength(code), terser: await terserBytes(code), shares };
}

/** Espruino's MQTT modules (ESPRUINO_DOCS checkout), minified with terser; null when not available. */
export async function peerSizes() {
  const dir = process.env.ESPRUINO_DOCS;
  if (!dir) return null;
  const out = [];
  for (const f of ["modules/MQTT.js", "modules/tinyMQTT.js"]) {
    const p = path.join(dir, f);
    if (!existsSync(p)) { out.push([f, null, null]); continue; }
    const text = readFileSync(p, "utf8");
    out.push([f, Buffer.byteLength(text), await terserBytes(text)]);
  }
  return out;
}

async function printCore() {
  const c = await coreSize();
  const verdict = c.terser <= CORE_TARGET ? "within" : "over by " + num(c.terser - CORE_TARGET);
  console.log(`\ncodec + client (typed API, no compatibility module): esbuild ${num(c.esbuild)} bytes, ` +
    `terser -c -m ${num(c.terser)} bytes; target ${num(CORE_TARGET)}: ${verdict}`);
  console.log(table(["module", "bytes (esbuild)"], c.shares.map(([f, n]) => [f, num(n)]), ["l", "r"]));
  const peers = await peerSizes();
  if (!peers) {
    console.log("Espruino's MQTT modules: not measured (set ESPRUINO_DOCS to a checkout of github:espruino/EspruinoDocs)");
    return;
  }
  console.log(table(["peer (ESPRUINO_DOCS)", "source", "terser -c -m"],
    peers.map(([f, s, t]) => [f, s === null ? "missing" : num(s), t === null ? "-" : num(t)]), ["l", "r", "r"]));
}

/**
 * The bundles of tools/sizes.recorded.json that are larger than recorded there (issue 9, requirement 4: the
 * 3.1.1 device bundles do not grow with MQTT 5): [bundle, recorded, now] for each, and those now smaller.
 */
export function checkRecorded(sizes) {
  const rec = JSON.parse(readFileSync(path.join(ROOT, "tools/sizes.recorded.json"), "utf8")).bytes;
  const grown = [];
  const shrunk = [];
  for (const [b, n] of Object.entries(rec)) {
    const now = sizes[b] ? sizes[b].bytes : null;
    if (now === null || now > n) grown.push([b, n, now]);
    else if (now < n) shrunk.push([b, n, now]);
  }
  return { grown, shrunk };
}

async function main() {
  ensureBuilt();
  const sizes = JSON.parse(readFileSync(path.join(DIST, "sizes.json"), "utf8"));
  const bundles = Object.keys(sizes).sort();
  console.log(table(["bundle", "bytes", "gzip"],
    bundles.map((b) => ["dist/" + b, num(sizes[b].bytes), num(sizes[b].gzipBytes)]), ["l", "r", "r"]));
  for (const b of bundles) {
    const total = sizes[b].bytes;
    const rows = moduleShares(b, total);
    console.log(`\ndist/${b}: ${num(total)} bytes`);
    console.log(table(["module", "bytes", "share"],
      rows.map(([f, n]) => [f, num(n), (100 * n / total).toFixed(1) + " %"]), ["l", "r", "r"]));
  }
  await printCore();
  await printCodecs();
  await printModules();
  await printDrivers();
  const { grown, shrunk } = checkRecorded(sizes);
  for (const [b, n, now] of shrunk) console.log(`\ndist/${b}: ${num(now)} bytes, ${num(n)} recorded: lower it in tools/sizes.recorded.json`);
  if (grown.length) {
    for (const [b, n, now] of grown) console.error(`\ndist/${b}: ${now === null ? "missing" : num(now) + " bytes"}, more than the ${num(n)} recorded in tools/sizes.recorded.json`);
    process.exitCode = 1;
  } else console.log("\nrecorded device bundles (tools/sizes.recorded.json): none grew");
}

/**
 * The codecs alone, every encoder and parser of each level, as modules exporting them: lib/mqtt (3.1.1) and
 * lib/mqtt5 (level 5, which imports the 3.1.1 field reader and writer, topic rules, the empty-packet parser and
 * the level-4 CONNECT parser; the Decoder is in neither). Not device bundles: a figure to set beside each other.
 */
const CODEC_ENTRIES = [
  ["MQTT 3.1.1 codec (lib/mqtt encoders + parsers)", 'export * from "./lib/mqtt/encode";\nexport * from "./lib/mqtt/parsers";\n'],
  ["MQTT 5 codec (lib/mqtt5 encoders + parsers)", 'export * from "./lib/mqtt5/encode";\nexport * from "./lib/mqtt5/parsers";\n' +
    'export { reasonName, reasonForErr } from "./lib/mqtt5/reason";\n'],
];

export async function codecSizes() {
  const rows = [];
  for (const [name, contents] of CODEC_ENTRIES) {
    const r = await esbuild.build({
      ...esbuildOptions(),
      stdin: { contents, resolveDir: ROOT, loader: "ts", sourcefile: name },
      format: "cjs",
      write: false,
    });
    const code = r.outputFiles[0].text;
    rows.push([name, Buffer.byteLength(code), await terserBytes(code)]);
  }
  return rows;
}

async function printCodecs() {
  const rows = await codecSizes();
  console.log("\n" + table(["codec", "esbuild", "terser -c -m"], rows.map(([n, e, t]) => [n, num(e), num(t)]), ["l", "r", "r"]));
}

/**
 * Each sensor driver (lib/drivers/<chip>.ts exporting `connect`) on its own, as a module exporting connect,
 * bundled with the build's esbuild options and minified again with terser (issue 6, requirement 6).
 */
export async function driverSizes() {
  const dir = path.join(ROOT, "lib/drivers");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort() : [];
  const rows = [];
  for (const f of files) {
    if (!/export function connect\b/.test(readFileSync(path.join(dir, f), "utf8"))) continue;
    const r = await esbuild.build({
      ...esbuildOptions(),
      stdin: { contents: `import { connect } from "./lib/drivers/${f.slice(0, -3)}";\nexports.connect = connect;\n`, resolveDir: ROOT, loader: "ts", sourcefile: f },
      format: "cjs",
      write: false,
    });
    const code = r.outputFiles[0].text;
    rows.push([f.slice(0, -3), Buffer.byteLength(code), await terserBytes(code)]);
  }
  return rows;
}

async function printDrivers() {
  const rows = await driverSizes();
  if (!rows.length) return;
  console.log("\n" + table(["sensor driver (lib/drivers)", "esbuild", "terser -c -m"], rows.map(([n, e, t]) => [n, num(e), num(t)]), ["l", "r", "r"]));
}

/** Each Espruino module bundle (MODULES in tools/build.mjs) minified again with terser, as the core is. */
async function printModules() {
  const rows = [];
  for (const m of MODULES) {
    const code = readFileSync(path.join(DIST, m.out), "utf8");
    rows.push(["dist/" + m.out, num(Buffer.byteLength(code)), num(await terserBytes(code))]);
  }
  console.log("\n" + table(["module", "esbuild", "terser -c -m"], rows, ["l", "r", "r"]));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
