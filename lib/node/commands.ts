/**
 * The node's command topic (issue 7, requirement 2): `<prefix>/<node>/set` takes one command per message, and
 * the node answers each on `<prefix>/<node>/set/reply` (QoS 0, not retained; the node subscribes to `set` only,
 * so its own replies never come back to it).
 *
 * Payloads, ASCII, up to 256 bytes:
 *   plain words          publish | identify | restart               (surrounding white space ignored)
 *   a JSON string        "publish" ...
 *   a JSON object        {"interval":30000} | {"publish":true} | {"identify":true} | {"restart":true},
 *                        each optionally with "id": a string of up to 32 characters echoed in the reply
 *
 * parseCommand never throws: a bad payload gives a Command with `cmd` Cmd.None and `error` set
 * (`interval: must be an integer from 1000 to 86400000 (ms)`). replyText gives the reply:
 *   {"ok":true,"cmd":"interval","intervalMs":30000,"id":"a1"}     {"ok":false,"error":"...","id":"a1"}
 * (`intervalMs` only for interval, `id` only when the command had one).
 */
import { INTERVAL_MAX_MS, INTERVAL_MIN_MS } from "./config";

export const enum Cmd {
  None = 0,
  Interval = 1,
  Publish = 2,
  Identify = 3,
  Restart = 4,
}

export interface Command {
  cmd: Cmd;
  /** For Cmd.Interval: the new reading interval. */
  intervalMs: number;
  /** The caller's correlation id, echoed in the reply; "" when none. */
  id: string;
  /** Why the payload was refused ("" when cmd is not Cmd.None). */
  error: string;
}

/** Leaves under `<prefix>/<node>/` (config.ts nodeTopic). */
export const COMMAND_LEAF = "set";
export const REPLY_LEAF = "set/reply";
export const MAX_COMMAND_BYTES = 256;

/** Command names, indexed by Cmd. */
const NAMES = ["", "interval", "publish", "identify", "restart"];

function fail(error: string, id: string): Command {
  return { cmd: Cmd.None, intervalMs: 0, id: id, error: error };
}

/** The payload as text, or null when it is too long or not printable ASCII (tab, CR, LF allowed). */
function asText(p: string | Uint8Array): string | null {
  if (p.length > MAX_COMMAND_BYTES) return null;
  let s = "";
  for (let i = 0; i < p.length; i++) {
    const c = typeof p == "string" ? p.charCodeAt(i) : p[i]!;
    if (c > 0x7e || (c < 0x20 && c != 9 && c != 10 && c != 13)) return null;
    s += String.fromCharCode(c);
  }
  return s;
}

function word(w: string, id: string): Command {
  const k = NAMES.indexOf(w);
  if (k == Cmd.Interval) return fail("interval: needs a value: {\"interval\":30000}", id);
  if (k < 2) return fail("payload: unknown command \"" + w + "\" (interval, publish, identify, restart)", id);
  return { cmd: k as Cmd, intervalMs: 0, id: id, error: "" };
}

function fromObject(o: { [k: string]: unknown }): Command {
  const id = o.id;
  if (id !== undefined && (typeof id != "string" || id.length > 32)) return fail("id: must be a string of up to 32 characters", "");
  const ids = typeof id == "string" ? id : "";
  let name = "";
  for (const k of Object.keys(o)) {
    if (k == "id") continue;
    if (NAMES.indexOf(k) < 1) return fail(k + ": unknown command (interval, publish, identify, restart)", ids);
    if (name) return fail("payload: one command per message", ids);
    name = k;
  }
  if (!name) return fail("payload: no command", ids);
  const v = o[name];
  if (name != "interval") return v === true ? word(name, ids) : fail(name + ": must be true", ids);
  if (typeof v != "number" || Math.floor(v) != v || v < INTERVAL_MIN_MS || v > INTERVAL_MAX_MS) {
    return fail("interval: must be an integer from " + INTERVAL_MIN_MS + " to " + INTERVAL_MAX_MS + " (ms)", ids);
  }
  return { cmd: Cmd.Interval, intervalMs: v, id: ids, error: "" };
}

/** Parses one payload of the command topic (the client's payload view, or a string). */
export function parseCommand(payload: string | Uint8Array): Command {
  const t = asText(payload);
  if (t === null) return fail("payload: must be ASCII text of up to " + MAX_COMMAND_BYTES + " bytes", "");
  const s = t.trim();
  if (!s) return fail("payload: empty", "");
  const c = s.charAt(0);
  if (c != "{" && c != "\"") return word(s, "");
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    return fail("payload: not valid JSON", "");
  }
  if (typeof v == "string") return word(v, "");
  if (typeof v != "object" || v === null || Array.isArray(v)) return fail("payload: must be a command word or a JSON object", "");
  return fromObject(v as { [k: string]: unknown });
}

/** The name of a command ("" for Cmd.None). */
export function commandName(c: Cmd): string {
  return NAMES[c] ?? "";
}

/** The reply published on `<prefix>/<node>/set/reply` for a parsed command. */
export function replyText(c: Command): string {
  const r: { [k: string]: unknown } = { ok: c.cmd != Cmd.None };
  if (c.cmd == Cmd.None) r.error = c.error;
  else r.cmd = NAMES[c.cmd];
  if (c.cmd == Cmd.Interval) r.intervalMs = c.intervalMs;
  if (c.id) r.id = c.id;
  return JSON.stringify(r);
}
