// Named class expressions. Espruino does not bind a class expression's own name inside its body: in
// `var a = class r { static make() { return new r(); } }` the `r` in `make` is "not defined" (checked on 2v29;
// named function expressions are fine). esbuild writes exactly that when bundling: it turns every top-level
// `class Box {}` into `var Box = class _Box {}` and, once minified, the two names often differ (`var a=class r`).
// When the outer name is the same as the inner one, Espruino's lookup falls through to the variable, which
// holds the same class, so that form works.
//
// `renameClassExpressions` (run by tools/build.mjs on each bundle) gives the inner name the outer variable's
// name, `var a = class a {...}`, wherever that is safe: the variable is assigned only there, and no scope
// between a reference and the class declares the outer name. `unsafeClassNames` (used by the guard) reports
// what is left.
import { TraceMap, decodedMappings } from "@jridgewell/trace-mapping";
import { lineStarts, toLineCol } from "./text.mjs";

/**
 * Every class expression with a name referenced inside it: { cls, refs, outer } where `outer` is the
 * declaration of the variable it initializes (null if none).
 */
function namedClasses(ast, sc, parents) {
  const refsOf = new Map();
  for (const [r, d] of sc.declOf) {
    if (d.kind === "name") refsOf.set(d, [...(refsOf.get(d) ?? []), r]);
  }
  const out = [];
  for (const [d, refs] of refsOf) {
    if (!d.value || d.value.type !== "ClassExpression") continue;
    const cls = d.value;
    const p = parents.get(cls);
    const outer = p && p.type === "VariableDeclarator" && p.init === cls && p.id.type === "Identifier"
      ? sc.bindingOf.get(p.id) : null;
    out.push({ cls, refs, outer });
  }
  return out;
}

function assignedElsewhere(decl, sc) {
  for (const w of sc.writes) if (sc.declOf.get(w) === decl) return true;
  return false;
}

// true when no scope between `ref` and the class's own name scope declares `name`
function reachable(ref, name, cls, sc) {
  for (let s = sc.scopeAt.get(ref); s; s = s.parent) {
    if (s.kind === "name" && s.node === cls) return true;
    if (s.vars.has(name)) return false;
  }
  return false;
}

/** The class expressions whose own name Espruino would not find: [{ cls, ref }] (first reference). */
export function unsafeClassNames(ast, sc, parents) {
  return namedClasses(ast, sc, parents)
    .filter(({ cls, outer }) => !(outer && outer.name === cls.id.name && !assignedElsewhere(outer, sc)))
    .map(({ cls, refs }) => ({ cls, ref: refs[0] }));
}

/**
 * Renames, in `code`, the inner name of each `var A = class B {...}` whose body refers to B, to A (when safe).
 * @returns {{ code: string, map: object|null, renamed: number }} the map's generated columns follow the edits
 */
export function renameClassExpressions(code, map, ast, sc, parents) {
  const edits = [];
  for (const { cls, refs, outer } of namedClasses(ast, sc, parents)) {
    if (!outer || outer.name === cls.id.name || assignedElsewhere(outer, sc)) continue;
    if (!refs.every((r) => reachable(r, outer.name, cls, sc))) continue;
    for (const n of [cls.id, ...refs]) edits.push({ start: n.start, end: n.end, text: outer.name });
  }
  if (!edits.length) return { code, map, renamed: 0 };
  const renamed = new Set(edits.map((e) => e.text)).size;
  return { ...applyEdits(code, map, edits), renamed };
}

/** Replaces ranges of `code` (none spanning a line break) and moves the map's generated columns with them. */
export function applyEdits(code, map, edits) {
  edits.sort((a, b) => a.start - b.start);
  let out = "";
  let last = 0;
  for (const e of edits) {
    out += code.slice(last, e.start) + e.text;
    last = e.end;
  }
  out += code.slice(last);
  if (!map) return { code: out, map };
  const starts = lineStarts(code);
  const lines = decodedMappings(new TraceMap(map)).map((l) => l.map((s) => [...s]));
  for (const e of [...edits].reverse()) {
    const at = toLineCol(starts, e.start);
    const delta = e.text.length - (e.end - e.start);
    for (const seg of lines[at.line - 1] ?? []) if (seg[0] >= at.col + (e.end - e.start)) seg[0] += delta;
  }
  return { code: out, map: { ...map, mappings: encodeMappings(lines) } };
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function vlq(n) {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let s = "";
  do {
    let d = v & 31;
    v >>>= 5;
    if (v) d |= 32;
    s += B64[d];
  } while (v);
  return s;
}

/** Source map v3 "mappings" from decoded segments [genCol, source, line, col, name?] per line. */
export function encodeMappings(lines) {
  let src = 0, line = 0, col = 0, name = 0;
  return lines.map((segs) => {
    let gen = 0;
    return segs.map((s) => {
      let r = vlq(s[0] - gen);
      gen = s[0];
      if (s.length >= 4) {
        r += vlq(s[1] - src) + vlq(s[2] - line) + vlq(s[3] - col);
        src = s[1]; line = s[2]; col = s[3];
        if (s.length >= 5) { r += vlq(s[4] - name); name = s[4]; }
      }
      return r;
    }).join(",");
  }).join(";");
}

/** Parent of every node. */
export function parentsOf(ast) {
  const parents = new Map();
  const visit = (node) => {
    for (const k in node) {
      const v = node[k];
      if (Array.isArray(v)) {
        for (const x of v) if (x && typeof x.type === "string") { parents.set(x, node); visit(x); }
      } else if (v && typeof v.type === "string" && k !== "loc") { parents.set(v, node); visit(v); }
    }
  };
  visit(ast);
  return parents;
}
