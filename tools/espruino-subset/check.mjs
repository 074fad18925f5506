// The Espruino-subset check of one parsed program (acorn ESTree), shared by the source lint and the bundle
// guard. Scopes are resolved first (scope.mjs), so `Map` means the global only when nothing declares a `Map`;
// then one acorn-walk pass looks at every node (NODE_CHECKS below, one small function per node type), and
// a few checks work on the scope data as a whole (names, globals, class names, use before definition).
// Findings carry a JS offset and, for the lint's mapping back to TypeScript, the token expected there.
import * as walk from "acorn-walk";
import { analyzeScopes } from "./scope.mjs";
import { checkOrder } from "./order.mjs";
import { parentsOf, unsafeClassNames } from "./classname.mjs";
import {
  SYNTAX, MISSING_GLOBALS, MISSING_STATICS, MISSING_METHODS, LIB_GLOBALS, ERROR_CLASSES, ESPRUINO_KEYWORDS,
  KEYWORD_NAMES, espruinoGlobalNames,
} from "./rules.mjs";

const LIB_RULE = "lib/ depends only on lib/ and standard JavaScript; Espruino and host objects (E, I2C1, " +
  "require, console, timers, ...) belong to boards/ behind lib/hal/ interfaces (STYLE.md rule 1)";

/**
 * @typedef {object} Finding
 * @property {number} pos offset in the checked JS text
 * @property {string} rule rule id, e.g. "destructuring", "global", "use-before-define"
 * @property {string} message
 * @property {string|null} token text expected at the position (to refine a source-mapped position)
 * @property {number} [declPos] for use-before-define: offset of the declaration
 * @property {number[]} [via] for use-before-define: offsets of the calls it runs through
 */

/**
 * @param {object} ast acorn Program (any ecmaVersion)
 * @param {{ libGlobals?: boolean, bundle?: boolean }} [opts] libGlobals: refuse every global that is not
 *   standard ECMAScript (the lib/ rule). bundle: the checks that concern esbuild's output rather than the
 *   source: top-level declarations that shadow an Espruino global (bundles run as plain scripts), class
 *   expressions that refer to their own name, `\u{...}` escapes.
 * @returns {Finding[]} sorted by position
 */
export function checkProgram(ast, opts = {}) {
  const sc = analyzeScopes(ast);
  const out = [];
  const cx = {
    sc, opts, reported: new Set(), classes: staticMembers(ast, sc),
    add: (pos, rule, token, message = SYNTAX[rule]) => out.push({ pos, rule, message, token }),
    isGlobal: (n) => n && n.type === "Identifier" && sc.globals.has(n),
  };
  walk.fullAncestor(ast, (node, _st, anc) => {
    const check = NODE_CHECKS[node.type];
    if (check) check(cx, node, anc[anc.length - 2], anc);
    // `globalThis.NO_MQTT5` is the build's switch, not a global lib/ reads: the device build defines it as true
    // (tools/build.mjs), so no bundle contains it; on Node it is undefined (lib/broker/v5.ts)
    if (node.type === "MemberExpression" && !node.computed && node.property.name === "NO_MQTT5" &&
      node.object.type === "Identifier" && node.object.name === "globalThis") cx.reported.add(node.object);
  });
  checkNames(cx);
  checkGlobals(cx);
  if (opts.bundle) checkBundleOnly(cx, ast);
  for (const r of checkOrder(ast, sc)) {
    out.push({
      pos: r.node.start, rule: "use-before-define", token: r.node.name, declPos: r.decl.id.start,
      via: r.via.map((n) => n.start),
      message: `"${r.node.name}" is used before its ${r.decl.kind} declaration has run; Espruino does not ` +
        "hoist declarations: define it first",
    });
  }
  return out.sort((a, b) => a.pos - b.pos);
}

// ------------------------------------------------------------------------------------------ per node type

function pattern(cx, node, _parent, anc) {
  if (!insidePattern(anc)) cx.add(node.start, "destructuring", node.type === "ObjectPattern" ? "{" : "[");
}

function fn(cx, node, parent) {
  const method = parent && (parent.type === "MethodDefinition" || (parent.type === "Property" && parent.method));
  const at = method && parent.value === node ? parent.start : node.start;
  if (node.async) cx.add(at, "async", "async");
  if (node.generator) cx.add(at, "generator", null);
}

function classMember(cx, node) {
  if (node.key.type === "PrivateIdentifier") cx.add(node.key.start, "private-member", "#" + node.key.name);
  else if (node.type === "MethodDefinition") {
    keywordMember(cx, node);
    if (node.computed) cx.add(node.start, "computed-key", "[");
  }
}

function keywordMember(cx, node) {
  const k = node.key;
  if (node.computed || k.type !== "Identifier" || !ESPRUINO_KEYWORDS.has(k.name)) return;
  cx.add(k.start, "keyword-member", k.name, `member "${k.name}": ${SYNTAX["keyword-member"]}`);
}

function literal(cx, node) {
  const raw = node.type === "Literal" ? node.raw : node.value.raw;
  if (cx.opts.bundle && typeof raw === "string" && /\\u\{/.test(raw)) cx.add(node.start, "unicode-escape", "\\u{");
}

/** Array methods that call their callback before they return: a closure passed to them dies with the iteration. */
const SYNC_CALLBACKS = new Set(["forEach", "map", "filter", "some", "every", "find", "findIndex", "reduce",
  "reduceRight", "sort"]);

// a closure made inside a loop that captures a let/const of the loop's head (and may outlive the iteration)
function loopClosure(cx, id, _parent, anc) {
  const d = cx.sc.declOf.get(id);
  if (!d || (d.kind !== "let" && d.kind !== "const") || !/^For/.test(d.scope.node.type)) return;
  const loop = anc.indexOf(d.scope.node);
  if (loop < 0) return;
  const i = anc.findIndex((a, k) => k > loop && /Function/.test(a.type));
  if (i < 0) return;
  const callSite = anc[i - 1];
  if (callSite.type === "CallExpression" && callSite.arguments.includes(anc[i]) &&
    callSite.callee.type === "MemberExpression" && SYNC_CALLBACKS.has(propName(callSite.callee))) return;
  cx.add(id.start, "loop-closure", id.name, `"${id.name}": ${SYNTAX["loop-closure"]}`);
}

function extendsError(cx, node) {
  const sup = node.superClass;
  if (!cx.isGlobal(sup) || !ERROR_CLASSES.has(sup.name)) return;
  cx.add(sup.start, "extends-error", sup.name,
    `class extends ${sup.name}: ${SYNTAX["extends-error"].replace(/^class X extends Error /, "")}`);
}

function member(cx, node, parent) {
  const prop = propName(node);
  const statics = cx.isGlobal(node.object) && MISSING_STATICS.get(node.object.name);
  if (statics && statics.has(prop)) {
    cx.add(node.object.start, "missing-static", node.object.name, `${node.object.name}.${prop} does not exist on Espruino`);
  }
  if (!prop || node.computed || node.object.type !== "Identifier") return;
  if (parent && parent.type === "AssignmentExpression" && parent.left === node) return;
  const owner = inheritedStatic(cx.classes, cx.sc.declOf.get(node.object), prop);
  if (owner) {
    cx.add(node.property.start, "static-inherit", prop,
      `${node.object.name}.${prop}: ${SYNTAX["static-inherit"]} (${prop} is declared on ${owner})`);
  }
}

function call(cx, node) {
  const callee = node.callee;
  if (cx.opts.libGlobals && cx.isGlobal(callee) && callee.name === "require") {
    const arg = node.arguments[0];
    const what = arg && arg.type === "Literal" ? `require(${JSON.stringify(arg.value)})` : "require(...)";
    cx.reported.add(callee);
    cx.add(callee.start, "lib-global", "require", `${what} in lib/: ${LIB_RULE}`);
  }
  const prop = callee.type === "MemberExpression" ? propName(callee) : null;
  if (!prop || !MISSING_METHODS.has(prop)) return;
  if (cx.isGlobal(callee.object) && MISSING_STATICS.has(callee.object.name)) return;
  cx.add(callee.property.start, "missing-method", prop, `.${prop}() does not exist on Espruino ` +
    `(${MISSING_METHODS.get(prop)}.prototype.${prop}; matched by name: rename the method if it is your own)`);
}

// `a.length = 0`, `a.length = b.length = 0`, `a.length--`, `a.length -= 2`: the array idioms. Without types a
// plain object's own `length` field (`packet.length = len`) cannot be told apart, so only a number literal
// (or a chained assignment ending in one) and updates are refused.
function assignment(cx, node) {
  if (node.operator === "**=") cx.add(node.left.end, "exponent", "**");
  if (isLength(node.left) && (node.operator !== "=" || isNumber(node.right))) {
    cx.add(node.left.property.start, "length-assign", "length");
  }
}

const NODE_CHECKS = {
  ObjectPattern: pattern,
  ArrayPattern: pattern,
  RestElement: (cx, node, _p, anc) => { if (!insidePattern(anc)) cx.add(node.start, "rest", "..."); },
  SpreadElement: (cx, node) => cx.add(node.start, "spread", "..."),
  AssignmentPattern: (cx, node, parent) => {
    if (parent && /Function/.test(parent.type)) cx.add(node.start, "default-param", nameOf(node.left));
  },
  FunctionDeclaration: fn,
  FunctionExpression: fn,
  ArrowFunctionExpression: fn,
  AwaitExpression: (cx, node, _p, anc) => {
    if (!anc.some((a) => /Function/.test(a.type) && a.async)) cx.add(node.start, "await", "await");
  },
  ForOfStatement: (cx, node) => { if (node.await) cx.add(node.start, "for-await", "for"); },
  ChainExpression: (cx, node) => cx.add(optionalAt(node), "optional-chain", "?."),
  BinaryExpression: (cx, node) => { if (node.operator === "**") cx.add(node.left.end, "exponent", "**"); },
  AssignmentExpression: assignment,
  UpdateExpression: (cx, node) => {
    if (isLength(node.argument)) cx.add(node.argument.property.start, "length-assign", "length");
  },
  LabeledStatement: (cx, node) => cx.add(node.start, "label", node.label.name),
  PropertyDefinition: classMember,
  MethodDefinition: classMember,
  Property: (cx, node, parent) => {
    if (node.kind !== "init") keywordMember(cx, node);
    if (node.computed && parent && parent.type === "ObjectExpression") cx.add(node.start, "computed-key", "[");
  },
  MetaProperty: (cx, node) => { if (node.meta.name === "new") cx.add(node.start, "new-target", "new"); },
  Literal: literal,
  TemplateElement: literal,
  Identifier: loopClosure,
  ClassDeclaration: extendsError,
  ClassExpression: extendsError,
  MemberExpression: member,
  CallExpression: call,
};

// ------------------------------------------------------------------------------------------ whole program

/** Names Espruino reads as keywords (`of`, `static`, and `undefined` as a binding). */
function checkNames(cx) {
  const { sc } = cx;
  for (const id of [...sc.bindingOf.keys(), ...sc.declOf.keys(), ...sc.globals]) {
    if (!KEYWORD_NAMES.has(id.name) || (id.name === "undefined" && !sc.bindingOf.has(id))) continue;
    cx.add(id.start, "keyword-name", id.name, `"${id.name}": ${SYNTAX["keyword-name"]}`);
  }
}

/** Globals Espruino lacks; in lib/, every global that is not standard JavaScript. */
function checkGlobals(cx) {
  for (const id of cx.sc.globals) {
    if (MISSING_GLOBALS.has(id.name)) cx.add(id.start, "global", id.name, `${id.name} does not exist on Espruino`);
    else if (cx.opts.libGlobals && !LIB_GLOBALS.has(id.name) && !cx.reported.has(id)) {
      cx.add(id.start, "lib-global", id.name, `the global ${id.name} in lib/: ${LIB_RULE}`);
    }
  }
}

/** Class expressions using their own name; top-level names that replace an Espruino global. */
function checkBundleOnly(cx, ast) {
  for (const { ref } of unsafeClassNames(ast, cx.sc, parentsOf(ast))) {
    cx.add(ref.start, "class-name", ref.name, `"${ref.name}": ${SYNTAX["class-name"]}`);
  }
  const reserved = espruinoGlobalNames();
  for (const [name, d] of cx.sc.root.vars) {
    if (!reserved.has(name)) continue;
    cx.add(d.id.start, "shadows-global", name,
      `top-level "${name}" replaces the Espruino global of that name (the bundle runs as a plain script)`);
  }
}

// ------------------------------------------------------------------------------------------ helpers

const FUNCTION_PROPS = new Set(["name", "length", "prototype", "call", "apply", "bind", "toString"]);

/**
 * Classes and their own static members (methods, accessors and fields in the body, and `C.x = ...`
 * assignments, which is how esbuild writes static fields): Map<Decl, { name, statics: Set, sup: Decl|null }>.
 */
function staticMembers(ast, sc) {
  const classes = new Map();
  for (const [id, d] of sc.bindingOf) {
    if (d.id !== id || d.kind === "name" || !d.value || !/Class/.test(d.value.type)) continue;
    const statics = new Set();
    for (const el of d.value.body.body) {
      if (el.static && !el.computed && el.key && el.key.type === "Identifier") statics.add(el.key.name);
    }
    const sup = d.value.superClass && d.value.superClass.type === "Identifier" ? sc.declOf.get(d.value.superClass) : null;
    classes.set(d, { name: d.name, statics, sup: sup ?? null });
  }
  walk.simple(ast, {
    AssignmentExpression(n) {
      const l = n.left;
      if (l.type !== "MemberExpression" || l.computed || l.object.type !== "Identifier") return;
      const c = classes.get(sc.declOf.get(l.object));
      if (c) c.statics.add(l.property.name);
    },
  });
  return classes;
}

/** The name of the ancestor class that declares static `prop`, when `decl`'s class itself does not. */
function inheritedStatic(classes, decl, prop) {
  const c = decl && classes.get(decl);
  if (!c || c.statics.has(prop) || FUNCTION_PROPS.has(prop)) return null;
  const seen = new Set([c]);
  for (let a = c.sup && classes.get(c.sup); a && !seen.has(a); a = a.sup && classes.get(a.sup)) {
    if (a.statics.has(prop)) return a.name;
    seen.add(a);
  }
  return null;
}

function insidePattern(anc) {
  for (let i = anc.length - 2; i >= 0; i--) {
    const t = anc[i].type;
    if (t === "ObjectPattern" || t === "ArrayPattern") return true;
    if (t !== "Property" && t !== "AssignmentPattern" && t !== "RestElement") return false;
  }
  return false;
}

function nameOf(p) {
  return p.type === "Identifier" ? p.name : null;
}

/** Offset of the first `?.` of an optional chain: right after the object of the innermost optional link. */
function optionalAt(chain) {
  let n = chain.expression;
  let at = chain.start;
  while (n && (n.type === "MemberExpression" || n.type === "CallExpression")) {
    const obj = n.type === "MemberExpression" ? n.object : n.callee;
    if (n.optional) at = obj.end;
    n = obj;
  }
  return at;
}

function propName(m) {
  if (!m.computed && m.property.type === "Identifier") return m.property.name;
  if (m.computed && m.property.type === "Literal" && typeof m.property.value === "string") return m.property.value;
  return null;
}

function isNumber(n) {
  if (n.type === "Literal" && typeof n.value === "number") return true;
  return n.type === "AssignmentExpression" && n.operator === "=" && isNumber(n.right);
}

function isLength(n) {
  return n && n.type === "MemberExpression" && propName(n) === "length";
}
