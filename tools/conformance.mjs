#!/usr/bin/env node
// Checks README's "Broker conformance (MQTT 3.1.1)" table, the part between <!-- conformance:start --> and
// <!-- conformance:end -->, so that it stays true:
//
// - every normative statement of MQTT 3.1.1 Plus Errata 01 (Appendix B, below as STATEMENTS) has exactly one
//   row, and no row names a statement that does not exist;
// - every test a row cites is there: a citation is a file letter from the section's legend (`**C**
//   \`test/broker.conformance.test.ts\``), optionally followed by a quoted part of a test name. With the quote,
//   some line of that file, or of a fixture file it imports, must hold both the quoted text and every spec ID
//   of the row (test names carry their IDs, so the ID is in the named test); without it, each ID must appear
//   somewhere in those files;
// - a row that cites no test ("-") says why in its note column ("client-only", "not applicable: ...").
//
//   node tools/conformance.mjs          prints one line per problem and exits 1, or a summary and exits 0
//
// test/conformance.table.test.ts runs it with the rest of the tests.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** "1.5.3-1:3" is [MQTT-1.5.3-1] .. [MQTT-1.5.3-3]. */
const RANGES = [
  "1.5.3-1:3", "2.2.2-1:2", "2.3.1-1:7", "3.1.0-1:2", "3.1.2-1:24", "3.1.3-1:11", "3.1.4-1:5", "3.2.0-1:1",
  "3.2.2-1:6", "3.3.1-1:12", "3.3.2-1:3", "3.3.4-1:1", "3.3.5-1:2", "3.6.1-1:1", "3.8.1-1:1", "3.8.3-1:4",
  "3.8.4-1:6", "3.9.3-1:2", "3.10.1-1:1", "3.10.3-1:2", "3.10.4-1:6", "3.12.4-1:1", "3.14.1-1:1", "3.14.4-1:3",
  "4.1.0-1:2", "4.3.1-1:1", "4.3.2-1:2", "4.3.3-1:2", "4.4.0-1:1", "4.5.0-1:2", "4.6.0-1:6", "4.7.1-1:3",
  "4.7.2-1:1", "4.7.3-1:4", "4.8.0-1:2", "6.0.0-1:4", "7.0.0-1:2", "7.1.1-1:1", "7.1.2-1:1",
];

/**
 * Every numbered statement of MQTT 3.1.1 Plus Errata 01, Appendix B. Three are printed misnumbered in the
 * standard and listed here as they are meant: [MQTT-3.1.2.7] is [MQTT-3.1.2-7], [MQTT-3-8.3-4] is
 * [MQTT-3.8.3-4], and the body's [MQTT-3.3.1.-1] is [MQTT-3.3.1-1].
 */
export const STATEMENTS = RANGES.flatMap((r) => {
  const [base, last] = r.split(":");
  const [sec, first] = base.split("-");
  const out = [];
  for (let i = Number(first); i <= Number(last); i++) out.push("[MQTT-" + sec + "-" + i + "]");
  return out;
});

const START = "<!-- conformance:start -->";
const END = "<!-- conformance:end -->";
const ID = /\[MQTT-\d+\.\d+\.\d+-\d+\]/g;

/** The marked section of `readme`, or null. */
function section(readme) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  return a < 0 || b < a ? null : readme.slice(a + START.length, b);
}

/** Legend: **X** `path` -> { X: path }. */
function legend(text) {
  const files = {};
  for (const m of text.matchAll(/\*\*([A-Z])\*\* `([^`]+)`/g)) files[m[1]] = m[2];
  return files;
}

/** Table rows whose first cell names statements: { ids, cells, line }. */
function rows(text) {
  const out = [];
  text.split("\n").forEach((l, i) => {
    if (!l.startsWith("|")) return;
    const cells = l.split("|").slice(1, -1).map((c) => c.trim());
    const ids = cells[0] ? cells[0].match(ID) : null;
    if (ids) out.push({ ids, cells, line: i + 1 });
  });
  return out;
}

/** "C \"text\"; D" -> [{ file: "C", text }, { file: "D" }], or null when the cell is not all citations. */
function citations(cell) {
  if (cell == "-" || cell == "") return [];
  const out = [];
  for (const part of cell.split(";")) {
    const m = part.trim().match(/^([A-Z])(?: "([^"]+)")?$/);
    if (!m) return null;
    out.push({ file: m[1], text: m[2] });
  }
  return out;
}

const cache = new Map();

/** The lines of a test file and of the ./fixtures/ files it imports. */
function linesOf(root, rel) {
  if (cache.has(root + rel)) return cache.get(root + rel);
  const abs = path.join(root, rel);
  let lines = null;
  if (existsSync(abs)) {
    const src = readFileSync(abs, "utf8");
    lines = src.split("\n");
    for (const m of src.matchAll(/from "\.\/(fixtures\/[^"]+)"/g)) {
      const f = path.join(path.dirname(abs), m[1] + (m[1].endsWith(".ts") ? "" : ".ts"));
      if (existsSync(f)) lines = lines.concat(readFileSync(f, "utf8").split("\n"));
    }
  }
  cache.set(root + rel, lines);
  return lines;
}

function checkCitation(root, files, row, c, problems) {
  const where = "README.md table line " + row.line + " (" + row.ids.join(" ") + ")";
  const rel = files[c.file];
  if (!rel) return problems.push(where + ": no file for letter " + c.file + " in the legend");
  const lines = linesOf(root, rel);
  if (!lines) return problems.push(where + ": " + rel + " does not exist");
  if (c.text === undefined) {
    for (const id of row.ids) if (!lines.some((l) => l.includes(id))) problems.push(where + ": " + id + " appears nowhere in " + rel);
    return;
  }
  const hits = lines.filter((l) => l.includes(c.text));
  if (!hits.length) return problems.push(where + ": no test in " + rel + " contains \"" + c.text + "\"");
  for (const id of row.ids) {
    if (!hits.some((l) => l.includes(id))) problems.push(where + ": the test \"" + c.text + "\" in " + rel + " is not named with " + id);
  }
}

/** Checks the README under `root`; returns { problems, summary }. */
export function checkConformance(root = ROOT, readmeText = null) {
  cache.clear();
  const problems = [];
  const readme = readmeText ?? readFileSync(path.join(root, "README.md"), "utf8");
  const text = section(readme);
  if (text === null) return { problems: ["README.md: no " + START + " ... " + END + " section"], summary: "" };
  const files = legend(text);
  const seen = new Map();
  let tested = 0;
  let untested = 0;
  for (const row of rows(text)) {
    for (const id of row.ids) {
      if (!STATEMENTS.includes(id)) problems.push("README.md table line " + row.line + ": " + id + " is not a statement of MQTT 3.1.1");
      if (seen.has(id)) problems.push("README.md table line " + row.line + ": " + id + " already has a row (line " + seen.get(id) + ")");
      seen.set(id, row.line);
    }
    const cs = citations(row.cells[2] ?? "");
    if (cs === null) {
      problems.push("README.md table line " + row.line + ": the tests column must be citations like C \"part of a test name\"; D (or -), got: " + row.cells[2]);
      continue;
    }
    if (!cs.length && !(row.cells[3] ?? "").trim()) problems.push("README.md table line " + row.line + ": no test and no reason given for " + row.ids.join(" "));
    if (cs.length) tested += row.ids.length;
    else untested += row.ids.length;
    for (const c of cs) checkCitation(root, files, row, c, problems);
  }
  for (const id of STATEMENTS) if (!seen.has(id)) problems.push("README.md table: no row for " + id);
  const summary = STATEMENTS.length + " statements: " + tested + " with tests, " + untested + " without (reason given)";
  return { problems, summary };
}

if (process.argv[1] && import.meta.url == pathToFileURL(path.resolve(process.argv[1])).href) {
  const { problems, summary } = checkConformance();
  for (const p of problems) console.log(p);
  if (problems.length) {
    console.log(problems.length + " problem(s) in README.md's conformance table");
    process.exit(1);
  }
  console.log("conformance table: " + summary);
}
