// Scope analysis of an acorn (ESTree) program, with acorn-walk: which declaration every identifier refers to,
// and which identifiers are globals. Declarations are resolved as JavaScript does (a name declared anywhere in
// a scope is that scope's), so a reference to something declared later in the same scope is found; the order
// check (order.mjs) then decides whether Espruino, which hoists nothing, would have defined it yet.
import * as walk from "acorn-walk";

export class Scope {
  /**
   * @param {"program"|"function"|"block"|"name"} kind "name" holds the own name of a function or class
   *   expression.
   */
  constructor(kind, node, parent) {
    this.kind = kind;
    this.node = node;
    this.parent = parent;
    /** @type {Map<string, Decl>} */
    this.vars = new Map();
    /** The nearest function or program scope (where `var` goes). */
    this.fn = kind === "function" || kind === "program" ? this : parent.fn;
  }
}

/**
 * @typedef {object} Decl
 * @property {string} name
 * @property {"var"|"let"|"const"|"function"|"class"|"param"|"catch"|"name"|"import"} kind
 * @property {import("acorn").Identifier} id the binding identifier
 * @property {Scope} scope
 * @property {object|null} value the function or class node it names, when that is known statically
 */

/**
 * @returns {{ root: Scope, declOf: Map<object, Decl>, bindingOf: Map<object, Decl>, globals: Set<object>,
 *   scopeOf: Map<object, Scope>, functions: object[], localsOf: Map<object, Decl[]>,
 *   scopeAt: Map<object, Scope>, writes: Set<object> }}
 *   declOf: reference Identifier -> its declaration; bindingOf: binding Identifier -> its declaration;
 *   globals: reference Identifiers with no declaration; scopeOf: function node -> its scope; functions: every
 *   function node; localsOf: function/program node -> the declarations it owns (its blocks' included);
 *   scopeAt: reference Identifier -> the scope it appears in; writes: references that assign the variable.
 */
export function analyzeScopes(ast) {
  const root = new Scope("program", ast, null);
  const bindingOf = new Map();
  const scopeOf = new Map([[ast, root]]);
  const localsOf = new Map([[ast, []]]);
  const functions = [];
  const refs = [];
  const writes = new Set();

  function declare(scope, id, kind, value) {
    // a later `var x` or `function x` in the same scope is the same variable as the first declaration
    const had = scope.vars.get(id.name);
    if (had) { bindingOf.set(id, had); return; }
    const d = { name: id.name, kind, id, scope, value: value ?? null };
    scope.vars.set(id.name, d);
    bindingOf.set(id, d);
    localsOf.get(scope.fn.node).push(d);
  }

  // Declares the identifiers of a binding pattern; default values and computed keys inside it are expressions.
  function declarePattern(scope, p, kind, value, exprScope, c) {
    switch (p.type) {
      case "Identifier": declare(scope, p, kind, value); break;
      case "ObjectPattern":
        for (const prop of p.properties) {
          if (prop.type === "RestElement") declarePattern(scope, prop.argument, kind, null, exprScope, c);
          else {
            if (prop.computed) c(prop.key, exprScope, "Expression");
            declarePattern(scope, prop.value, kind, null, exprScope, c);
          }
        }
        break;
      case "ArrayPattern":
        for (const e of p.elements) if (e) declarePattern(scope, e, kind, null, exprScope, c);
        break;
      case "RestElement": declarePattern(scope, p.argument, kind, null, exprScope, c); break;
      case "AssignmentPattern":
        declarePattern(scope, p.left, kind, value, exprScope, c);
        c(p.right, exprScope, "Expression");
        break;
      default: c(p, exprScope, "Pattern");
    }
  }

  function blockBody(node, scope, c) {
    const s = new Scope("block", node, scope);
    for (const stmt of node.body) c(stmt, s, "Statement");
  }

  const visitors = {
    Function(node, scope, c) {
      functions.push(node);
      let outer = scope;
      if (node.type === "FunctionDeclaration" && node.id) declare(scope, node.id, "function", node);
      else if (node.id) {
        outer = new Scope("name", node, scope);
        declare(outer, node.id, "name", node);
      }
      const fs = new Scope("function", node, outer);
      scopeOf.set(node, fs);
      localsOf.set(node, []);
      for (const p of node.params) declarePattern(fs, p, "param", null, fs, c);
      if (node.expression) c(node.body, fs, "Expression");
      else for (const stmt of node.body.body) c(stmt, fs, "Statement");
    },
    Class(node, scope, c) {
      let inner = scope;
      if (node.type === "ClassDeclaration" && node.id) declare(scope, node.id, "class", node);
      else if (node.id) {
        inner = new Scope("name", node, scope);
        declare(inner, node.id, "name", node);
      }
      if (node.superClass) c(node.superClass, scope, "Expression");
      for (const el of node.body.body) {
        if (el.type === "StaticBlock") { blockBody(el, inner, c); continue; }
        if (el.computed) c(el.key, inner, "Expression");
        if (el.value) c(el.value, inner, "Expression");
      }
    },
    VariableDeclaration(node, scope, c) {
      const target = node.kind === "var" ? scope.fn : scope;
      for (const d of node.declarations) {
        const init = d.init;
        const value = init && /Function|Class/.test(init.type) ? init : null;
        declarePattern(target, d.id, node.kind, value, scope, c);
        if (init) c(init, scope, "Expression");
      }
    },
    BlockStatement(node, scope, c) { blockBody(node, scope, c); },
    StaticBlock(node, scope, c) { blockBody(node, scope, c); },
    ForStatement(node, scope, c) { walk.base.ForStatement(node, new Scope("block", node, scope), c); },
    ForInStatement(node, scope, c) { walk.base.ForInStatement(node, new Scope("block", node, scope), c); },
    ForOfStatement(node, scope, c) { walk.base.ForOfStatement(node, new Scope("block", node, scope), c); },
    SwitchStatement(node, scope, c) {
      c(node.discriminant, scope, "Expression");
      const s = new Scope("block", node, scope);
      for (const cs of node.cases) c(cs, s);
    },
    CatchClause(node, scope, c) {
      const s = new Scope("block", node, scope);
      if (node.param) declarePattern(s, node.param, "catch", null, s, c);
      c(node.body, s, "Statement");
    },
    ImportDeclaration(node, scope) {
      for (const spec of node.specifiers) declare(scope, spec.local, "import", null);
    },
    Identifier(node, scope) { refs.push([node, scope]); },
    // an identifier assigned to (`x = 1`, `[a, b] = c`, `for (x of y)`): a reference too
    VariablePattern(node, scope) {
      refs.push([node, scope]);
      writes.add(node);
    },
    UpdateExpression(node, scope, c) {
      if (node.argument.type === "Identifier") writes.add(node.argument);
      c(node.argument, scope, "Expression");
    },
  };
  walk.recursive(ast, root, visitors);

  const declOf = new Map();
  const globals = new Set();
  const scopeAt = new Map();
  for (const [id, scope] of refs) {
    scopeAt.set(id, scope);
    const d = resolve(scope, id.name);
    if (d) declOf.set(id, d);
    else if (!(id.name === "arguments" && insideNonArrow(scope))) globals.add(id);
  }
  return { root, declOf, bindingOf, globals, scopeOf, functions, localsOf, scopeAt, writes };
}

export function resolve(scope, name) {
  for (let s = scope; s; s = s.parent) {
    const d = s.vars.get(name);
    if (d) return d;
  }
  return null;
}

function insideNonArrow(scope) {
  for (let s = scope; s; s = s.parent) {
    if (s.kind === "function" && s.node.type !== "ArrowFunctionExpression") return true;
  }
  return false;
}
