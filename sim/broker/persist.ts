/**
 * The Node broker's persistence: a Snapshot (lib/broker/types.ts) as one JSON file. Saved atomically (a temp
 * file beside it, flushed, then renamed over it), so a crash mid-save leaves the previous snapshot whole.
 * Loading checks every field, so a damaged or foreign file is refused with a message naming it rather than
 * restored halfway.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Snapshot, SnapshotMsg, SnapshotSession } from "../../lib/broker/types";

/** The file's format tag: a file without it is not ours. */
const FORMAT = "espruino-mqtt-broker/1";

export class PersistError extends Error {
  override name = "PersistError";
}

type Obj = Record<string, unknown>;

function bad(where: string, why: string): never {
  throw new Error(where + ": " + why);
}

function isObj(v: unknown): v is Obj {
  return typeof v == "object" && v !== null && !Array.isArray(v);
}

function arr(v: unknown, where: string): unknown[] {
  return Array.isArray(v) ? v : bad(where, "not an array");
}

function str(v: unknown, where: string): string {
  return typeof v == "string" ? v : bad(where, "not a string");
}

function qos(v: unknown, where: string): number {
  return v === 0 || v === 1 || v === 2 ? v : bad(where, "not a QoS (0, 1 or 2)");
}

/** A list of integers in [lo, hi] (MQTT 5 fields of a snapshot). */
function ints(v: unknown, where: string, lo: number, hi: number): number[] {
  return arr(v, where).map((x, i) => typeof x == "number" && Number.isInteger(x) && x >= lo && x <= hi ? x
    : bad(where + "[" + i + "]", "not an integer from " + lo + " to " + hi));
}

function msg(v: unknown, where: string): SnapshotMsg {
  if (!isObj(v)) bad(where, "not an object");
  const payload = arr(v.payload, where + ".payload");
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i];
    if (typeof b != "number" || !Number.isInteger(b) || b < 0 || b > 255) bad(where + ".payload[" + i + "]", "not a byte");
  }
  if (typeof v.retain != "boolean") bad(where + ".retain", "not true or false");
  const m: SnapshotMsg = { topic: str(v.topic, where + ".topic"), payload: payload as number[], qos: qos(v.qos, where + ".qos"), retain: v.retain };
  // MQTT 5: a queued message's Subscription Identifiers
  if (v.subIds !== undefined) m.subIds = ints(v.subIds, where + ".subIds", 1, 268435455);
  return m;
}

function session(v: unknown, where: string): SnapshotSession {
  if (!isObj(v)) bad(where, "not an object");
  const filters = arr(v.filters, where + ".filters").map((f, i) => str(f, where + ".filters[" + i + "]"));
  const qoss = arr(v.qoss, where + ".qoss").map((q, i) => qos(q, where + ".qoss[" + i + "]"));
  if (qoss.length != filters.length) bad(where + ".qoss", "not as long as filters");
  const queue = arr(v.queue, where + ".queue").map((m, i) => msg(m, where + ".queue[" + i + "]"));
  const d: SnapshotSession = { clientId: str(v.clientId, where + ".clientId"), filters, qoss, queue };
  // MQTT 5: each filter's table entry (QoS, Subscription Options, Subscription Identifier: lib/broker/v5.ts), whose
  // QoS must be the one in qoss; the Session Expiry Interval
  if (v.opts5 !== undefined) {
    const o = ints(v.opts5, where + ".opts5", 0, Number.MAX_SAFE_INTEGER);
    if (o.length != filters.length) bad(where + ".opts5", "not as long as filters");
    o.forEach((x, i) => { if ((x & 3) != qoss[i]) bad(where + ".opts5[" + i + "]", "its QoS is not qoss[" + i + "]"); });
    d.opts5 = o;
  }
  if (v.expiry5 !== undefined) d.expiry5 = ints([v.expiry5], where + ".expiry5", 0, 0xffffffff)[0];
  return d;
}

/** Checks a parsed file's content; throws Error("<field>: <why>"). */
export function parseSnapshot(v: unknown): Snapshot {
  if (!isObj(v) || v.format !== FORMAT) bad("format", "not " + JSON.stringify(FORMAT));
  return {
    retained: arr(v.retained, "retained").map((m, i) => msg(m, "retained[" + i + "]")),
    sessions: arr(v.sessions, "sessions").map((s, i) => session(s, "sessions[" + i + "]")),
  };
}

/** The snapshot in `file`; null when there is no such file (a first start). A damaged file throws PersistError naming it. */
export function load(file: string): Snapshot | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code == "ENOENT") return null;
    throw new PersistError(file + ": cannot read the broker snapshot (" + ((e as NodeJS.ErrnoException).code ?? String(e)) + ")");
  }
  try {
    return parseSnapshot(JSON.parse(text));
  } catch (e) {
    throw new PersistError(file + ": not a valid broker snapshot (" + (e as Error).message + "); move it away to start empty");
  }
}

/** Writes `s` to `file` atomically: a temp file in the same folder, flushed to disk, then renamed over `file`. */
export function save(file: string, s: Snapshot): void {
  const tmp = path.join(path.dirname(file), "." + path.basename(file) + "." + process.pid + ".tmp");
  const text = JSON.stringify({ format: FORMAT, savedAt: new Date().toISOString(), retained: s.retained, sessions: s.sessions });
  try {
    writeFileSync(tmp, text + "\n", { mode: 0o600 });
    const fd = openSync(tmp, "r+");
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new PersistError(file + ": cannot save the broker snapshot (" + ((e as NodeJS.ErrnoException).code ?? String(e)) + ")");
  }
  syncDir(path.dirname(file));
}

/** Makes the rename itself durable where the platform allows it (best effort). */
function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // not supported here (Windows): the rename is still atomic
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
