// Checks one TypeScript source file against the Espruino subset, reporting positions in the .ts file.
//
// How: esbuild strips the types (target esnext, so no syntax is lowered and every forbidden construct survives)
// and writes a source map; acorn parses the JavaScript; check.mjs finds the problems; each JavaScript position
// is mapped back through the source map (@jridgewell/trace-mapping) and then moved onto the exact token
// (`...`, `?.`, `**`, the name) by looking for it from the mapped position in the .ts text, since esbuild maps
// the start of an expression rather than every token. Import rules are read from the .ts text itself, so
// `import type` counts too.
import path from "node:path";
import { transform } from "esbuild";
import * as acorn from "acorn";
import { TraceMap, originalPositionFor, LEAST_UPPER_BOUND } from "@jridgewell/trace-mapping";
import { checkProgram } from "./check.mjs";
import { findToken, lineStarts, toLineCol } from "./text.mjs";

/**
 * @typedef {object} SourceFinding
 * @property {string} file path relative to the project root
 * @property {number} line 1-based
 * @property {number} col 1-based
 * @property {string} rule
 * @property {string} message
 */

/** Where a file sits: "lib" | "boards" | "firmware" | "device-test" | "sim-device" | null. */
export function layerOf(rel) {
  const p = rel.split(path.sep).join("/");
  if (p.startsWith("lib/")) return "lib";
  // the simulated chips and bus mocks also run inside device bundles (Espruino's Linux build): lib/'s rules
  if (p.startsWith("sim/chips/") || p.startsWith("sim/hal/")) return "sim-device";
  if (p.startsWith("boards/")) return "boards";
  if (p.startsWith("firmware/")) return "firmware";
  if (p.startsWith("test/device/")) return "device-test";
  return null;
}

/**
 * @param {string} abs absolute path of the .ts file
 * @param {string} text its contents
 * @param {{ root: string, layering?: boolean }} opts layering: also apply the lib/ globals rule and the
 *   import (dependency direction) rules
 * @returns {Promise<SourceFinding[]>}
 */
export async function checkTsSource(abs, text, opts) {
  const rel = path.relative(opts.root, abs).split(path.sep).join("/");
  const layer = opts.layering ? layerOf(rel) : null;
  let out;
  try {
    out = await transform(text, {
      loader: "ts", target: "esnext", format: "esm", sourcemap: "external", sourcefile: rel,
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } }, logLevel: "silent",
    });
  } catch (e) {
    return (e.errors ?? [{ text: String(e) }]).map((x) => ({
      file: rel, line: x.location?.line ?? 1, col: (x.location?.column ?? 0) + 1, rule: "syntax", message: x.text,
    }));
  }
  const js = out.code;
  const map = new SourcePositions(js, new TraceMap(out.map), text);
  let ast;
  try {
    ast = acorn.parse(js, { ecmaVersion: "latest", sourceType: "module" });
  } catch (e) {
    const at = map.original(e.pos ?? 0, null);
    return [{ file: rel, line: at.line, col: at.col, rule: "syntax", message: e.message.replace(/ \(\d+:\d+\)$/, "") }];
  }
  const findings = checkProgram(ast, { libGlobals: layer === "lib" || layer === "sim-device" });
  const res = findings.map((f) => {
    const at = map.original(f.pos, f.token);
    let message = f.message;
    if (f.rule === "use-before-define") message += useDetail(map, f);
    return { file: rel, line: at.line, col: at.col, rule: f.rule, message };
  });
  if (layer) res.push(...checkImports(rel, text, layer));
  return res.sort((a, b) => a.line - b.line || a.col - b.col);
}

function useDetail(map, f) {
  const d = map.original(f.declPos, null);
  let s = ` (declared at ${d.line}:${d.col})`;
  if (f.via.length) {
    const c = map.original(f.via[0], null);
    s += `, reached when the call at ${c.line}:${c.col} runs`;
  }
  return s;
}

/** Maps offsets of generated JavaScript to 1-based line/column of the original text. */
export class SourcePositions {
  constructor(js, traceMap, original) {
    this.gen = lineStarts(js);
    this.tm = traceMap;
    this.orig = original;
    this.origStarts = lineStarts(original);
  }

  original(pos, token) {
    const g = toLineCol(this.gen, pos);
    let o = originalPositionFor(this.tm, { line: g.line, column: g.col });
    if (o.line == null) o = originalPositionFor(this.tm, { line: g.line, column: g.col, bias: LEAST_UPPER_BOUND });
    if (o.line == null) return { line: g.line, col: g.col + 1 };
    let off = (this.origStarts[o.line - 1] ?? 0) + o.column;
    if (token) off = findToken(this.orig, off, token);
    const r = toLineCol(this.origStarts, off);
    return { line: r.line, col: r.col + 1 };
  }
}

// ------------------------------------------------------------------------------------------------ imports

// Static imports and re-exports, `import type` included, read at the start of a line (so that examples in
// comments, which start with ` * `, are not taken for imports). Dynamic `import()`/`require()` in lib/ are
// caught by the globals rule.
const IMPORT_RE = /^[ \t]*(?:import|export)\b(?:[^;'"`]*?\bfrom\b)?\s*(["'])([^"'\n]+)\1/gm;

function checkImports(rel, text, layer) {
  const starts = lineStarts(text);
  const out = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[2];
    const pos = m.index + m[0].lastIndexOf(m[1] + spec);
    const problem = importProblem(rel, spec, layer);
    if (!problem) continue;
    const lc = toLineCol(starts, pos);
    out.push({ file: rel, line: lc.line, col: lc.col + 1, rule: "layering", message: problem });
  }
  return out;
}

/** Why `spec`, imported from `rel` in `layer`, breaks the dependency rules (STYLE.md rule 1), or null. */
export function importProblem(rel, spec, layer) {
  let target;
  if (spec === "@board") target = "boards/";
  else if (spec === "@config") return layer === "firmware" ? null : `imports "@config": only firmware/ has a config`;
  else if (spec.startsWith(".")) target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
  else return `imports the package "${spec}": device code has no runtime dependencies`;
  if (target.startsWith("../")) return `imports "${spec}", outside the project`;
  const top = target.split("/")[0];
  if (layer === "lib" && top !== "lib") {
    return `imports "${spec}" (${target}): lib/ never imports boards/, firmware/, sim/ or test/ ` +
      "(dependencies point one way, STYLE.md rule 1)";
  }
  if (layer === "sim-device" && top !== "lib" && !/^sim\/(chips|hal)\//.test(target)) {
    return `imports "${spec}" (${target}): sim/chips/ and sim/hal/ may import only lib/, sim/chips/ and sim/hal/`;
  }
  // the Linux board links in simulated chips (sim/chips, sim/hal: written in the Espruino subset too)
  if (layer === "boards" && top !== "lib" && top !== "boards" && !/^sim\/(chips|hal)\//.test(target)) {
    return `imports "${spec}" (${target}): boards/ may import only lib/, boards/, sim/chips/ and sim/hal/`;
  }
  if (layer === "firmware") {
    if (top === "boards" && spec !== "@board") {
      return `imports "${spec}": firmware reaches its board only as "@board", so one source builds for every board`;
    }
    if (top !== "lib" && top !== "boards" && top !== "firmware") {
      return `imports "${spec}" (${target}): firmware/ may import only lib/, "@board" and firmware/`;
    }
  }
  return null;
}
