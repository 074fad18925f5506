// Use before definition. Espruino hoists nothing: a function declaration, class, `var`, `let` or `const`
// exists only once the interpreter has run its statement, at the top level and inside functions alike
// (checked on 2v29: calling `f()` above `function f(){}` throws ReferenceError, in a function body too).
//
// The check follows execution: it walks the statements of the program in order, keeping the set of
// declarations already run, and reports a reference to one not yet run. Code that runs later is not walked
// (function bodies, callbacks, methods), except what runs right now: an immediately called function
// expression (`(function(){...})()`, `(() => {...})()`, `.call`/`.apply`), a call `f()` or `new C()` of a
// function or class declared in code being walked (its body is walked at that point, transitively), and class
// heritage, computed keys and static initializers. Every function body is also walked on its own, as it runs
// when called later, to find its own locals used before their definition. Calls through properties or
// aliases (`o.f()`, `g = f; g()`) are not followed. Both branches of an `if` count as run.
import * as walk from "acorn-walk";

const ORDERED = new Set(["var", "let", "const", "function", "class"]);
/** How many times one function body is re-walked per run, through different calls. */
const MAX_EXPANSIONS = 8;

/**
 * @param {object} ast acorn Program
 * @param {ReturnType<import("./scope.mjs").analyzeScopes>} sc
 * @returns {{ node: object, decl: import("./scope.mjs").Decl, via: object[] }[]} the references used too
 *   early; `via` lists the calls (outermost first) through which the reference runs at that point.
 */
export function checkOrder(ast, sc) {
  const found = new Map();
  const visitors = makeVisitors(sc, found);
  run(ast, ast, visitors);
  for (const fn of sc.functions) run(fn, null, visitors);
  return [...found.values()];
}

function run(root, program, visitors) {
  const ctx = { tracked: new Set([root]), defined: new Set(), stack: [], expanded: new Map() };
  if (program) walk.recursive(program, ctx, visitors);
  else walkBody(root, ctx, visitors);
}

function walkBody(fn, ctx, visitors) {
  const c = (node, st, override) => visitors[override || node.type](node, st, c);
  if (fn.expression) c(fn.body, ctx, "Expression");
  else for (const s of fn.body.body) c(s, ctx, "Statement");
}

function makeVisitors(sc, found) {
  const { declOf, bindingOf, localsOf } = sc;

  function define(ctx, pattern) {
    for (const id of bindingIds(pattern)) {
      const d = bindingOf.get(id);
      if (d) ctx.defined.add(d);
    }
  }

  function check(ctx, id) {
    const d = declOf.get(id);
    if (!d || !ORDERED.has(d.kind) || !ctx.tracked.has(d.scope.fn.node) || ctx.defined.has(d)) return;
    if (!found.has(id)) found.set(id, { node: id, decl: d, via: ctx.stack.map((f) => f.call) });
  }

  // runs the body of `fn` now, as called from `call`
  function enter(fn, call, ctx, c) {
    if (ctx.stack.some((f) => f.fn === fn)) return;
    const n = ctx.expanded.get(fn) ?? 0;
    if (n >= MAX_EXPANSIONS) return;
    ctx.expanded.set(fn, n + 1);
    ctx.stack.push({ fn, call });
    const added = !ctx.tracked.has(fn);
    if (added) ctx.tracked.add(fn);
    if (fn.expression) c(fn.body, ctx, "Expression");
    else for (const s of fn.body.body) c(s, ctx, "Statement");
    for (const d of localsOf.get(fn) ?? []) ctx.defined.delete(d); // the next call starts afresh
    if (added) ctx.tracked.delete(fn);
    ctx.stack.pop();
  }

  // `new C()`: the superclass constructor, the instance field initializers, then the constructor
  function construct(cls, call, ctx, c, depth) {
    if (depth > 8) return;
    const sup = cls.superClass && cls.superClass.type === "Identifier" ? known(cls.superClass, ctx) : null;
    if (sup && /Class/.test(sup.type)) construct(sup, call, ctx, c, depth + 1);
    for (const el of cls.body.body) {
      if (el.type === "PropertyDefinition" && !el.static && el.value) c(el.value, ctx, "Expression");
    }
    const ctor = cls.body.body.find((m) => m.kind === "constructor");
    if (ctor) enter(ctor.value, call, ctx, c);
  }

  // the function or class an identifier names, if it is declared in code being walked and already defined
  function known(id, ctx) {
    const d = declOf.get(id);
    return d && d.value && ctx.tracked.has(d.scope.fn.node) && ctx.defined.has(d) ? d.value : null;
  }

  function follow(node, ctx, c) {
    let callee = node.callee;
    if (callee.type === "MemberExpression" && !callee.computed && /^(call|apply)$/.test(callee.property.name)) {
      callee = callee.object;
    }
    let target = null;
    if (/^(FunctionExpression|ArrowFunctionExpression)$/.test(callee.type)) target = callee;
    else if (callee.type === "Identifier") target = known(callee, ctx);
    if (!target) return;
    if (/Class/.test(target.type)) {
      if (node.type === "NewExpression") construct(target, node, ctx, c, 0);
    } else enter(target, node, ctx, c);
  }

  return walk.make({
    Function(node, ctx) {
      if (node.type === "FunctionDeclaration" && node.id) define(ctx, node.id);
    },
    Class(node, ctx, c) {
      if (node.type === "ClassDeclaration" && node.id) define(ctx, node.id);
      if (node.superClass) c(node.superClass, ctx, "Expression");
      for (const el of node.body.body) {
        if (el.computed) c(el.key, ctx, "Expression");
        if (el.type === "StaticBlock") for (const s of el.body) c(s, ctx, "Statement");
        else if (el.type === "PropertyDefinition" && el.static && el.value) c(el.value, ctx, "Expression");
      }
    },
    VariableDeclarator(node, ctx, c) {
      // Espruino creates the variable before it runs the initializer: `var E = f(E || {})` works
      define(ctx, node.id);
      for (const e of patternExprs(node.id)) c(e, ctx, "Expression");
      if (node.init) c(node.init, ctx, "Expression");
    },
    CatchClause(node, ctx, c) {
      if (node.param) for (const e of patternExprs(node.param)) c(e, ctx, "Expression");
      c(node.body, ctx, "Statement");
    },
    ImportDeclaration() {},
    Identifier(node, ctx) { check(ctx, node); },
    VariablePattern(node, ctx) { check(ctx, node); },
    CallExpression(node, ctx, c) { walk.base.CallExpression(node, ctx, c); follow(node, ctx, c); },
    NewExpression(node, ctx, c) { walk.base.NewExpression(node, ctx, c); follow(node, ctx, c); },
  });
}

/** The binding identifiers of a declaration pattern. */
export function bindingIds(p, out = []) {
  switch (p.type) {
    case "Identifier": out.push(p); break;
    case "ObjectPattern":
      for (const q of p.properties) bindingIds(q.type === "RestElement" ? q.argument : q.value, out);
      break;
    case "ArrayPattern": for (const e of p.elements) if (e) bindingIds(e, out); break;
    case "RestElement": bindingIds(p.argument, out); break;
    case "AssignmentPattern": bindingIds(p.left, out); break;
  }
  return out;
}

/** The expressions inside a declaration pattern: default values and computed keys. */
function patternExprs(p, out = []) {
  switch (p.type) {
    case "ObjectPattern":
      for (const q of p.properties) {
        if (q.type === "RestElement") patternExprs(q.argument, out);
        else {
          if (q.computed) out.push(q.key);
          patternExprs(q.value, out);
        }
      }
      break;
    case "ArrayPattern": for (const e of p.elements) if (e) patternExprs(e, out); break;
    case "RestElement": patternExprs(p.argument, out); break;
    case "AssignmentPattern": patternExprs(p.left, out); out.push(p.right); break;
  }
  return out;
}
