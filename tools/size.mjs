#!/usr/bin/env node
// Prints the size of every bundle (dist/sizes.json) and, per bundle, each source module's share of it (the
// `bytesInOutput` of esbuild's metafile, dist/meta/<bundle>.json), largest first. Builds first when dist/ has
// no sizes.json. "(other)" is what no module accounts for: esbuild's glue and the separators between modules.
//
//   node tools/size.mjs
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

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

function main() {
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
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
