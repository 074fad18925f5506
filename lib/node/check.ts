/**
 * The small checkers of the node's and the gateway's config validators (config.ts, gateway-config.ts): each
 * pushes `path: message` to `errs` when the value is wrong and returns a usable value (the default) either way.
 * Espruino subset: the validators also run on the device for a Storage override.
 */

export type Rec = { [k: string]: unknown };

const ID_RE = /^[A-Za-z0-9_-]+$/;

export function isRec(v: unknown): v is Rec {
  return typeof v == "object" && v !== null && !Array.isArray(v);
}

/** `v` as an object with only `keys`; null (and an error) when it is not an object. Unknown keys are errors. */
export function rec(errs: string[], v: unknown, path: string, keys: string[]): Rec | null {
  if (!isRec(v)) {
    errs.push((path || "config") + ": must be an object");
    return null;
  }
  for (const k of Object.keys(v)) {
    if (keys.indexOf(k) < 0) errs.push((path ? path + "." : "") + k + ": unknown key");
  }
  return v;
}

export function isInt(v: unknown): v is number {
  return typeof v == "number" && isFinite(v) && Math.floor(v) == v;
}

/** An integer from lo to hi, or `def` when absent (def undefined: required). */
export function int(errs: string[], v: unknown, path: string, def: number | undefined, lo: number, hi: number): number {
  if (v === undefined && def !== undefined) return def;
  if (!isInt(v) || v < lo || v > hi) {
    errs.push(path + ": must be an integer from " + lo + " to " + hi);
    return def ?? lo;
  }
  return v;
}

export function str(errs: string[], v: unknown, path: string, def: string | undefined, max: number): string {
  if (v === undefined && def !== undefined) return def;
  if (typeof v != "string" || v.length > max) {
    errs.push(path + ": must be a string of up to " + max + " characters");
    return def ?? "";
  }
  return v;
}

/** A name usable as an MQTT topic level and a Home Assistant id: [A-Za-z0-9_-], 1..32 characters. */
export function ident(errs: string[], v: unknown, path: string, def: string | undefined): string {
  if (v === undefined && def !== undefined) return def;
  if (typeof v != "string" || v.length > 32 || !ID_RE.test(v)) {
    errs.push(path + (v === undefined ? ": required" : ": must be 1-32 characters of A-Z a-z 0-9 _ -"));
    return def ?? "";
  }
  return v;
}

export function bool(errs: string[], v: unknown, path: string, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v != "boolean") {
    errs.push(path + ": must be true or false");
    return def;
  }
  return v;
}

/** `over` merged into a copy of `base`: objects key by key, everything else (lists included) replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isRec(base) || !isRec(over)) return over;
  const r: Rec = {};
  for (const k of Object.keys(base)) r[k] = base[k];
  for (const k of Object.keys(over)) r[k] = deepMerge(base[k], over[k]);
  return r;
}

/**
 * Applies an override (JSON text, e.g. a Storage file) to a validated `base` and validates the result as a whole
 * with `check`; with any error (text that is not JSON, not an object, or a merged config that does not validate)
 * the returned config is `base`, unchanged, and `errors` says why (paths prefixed "override").
 */
export function mergeOverride<T>(base: T, overrideText: string, check: (obj: unknown) => { config: T; errors: string[] }): { config: T; errors: string[] } {
  let over: unknown;
  try {
    over = JSON.parse(overrideText);
  } catch (e) {
    return { config: base, errors: ["override: not valid JSON"] };
  }
  if (!isRec(over)) return { config: base, errors: ["override: must be a JSON object"] };
  const v = check(deepMerge(base, over));
  if (!v.errors.length) return v;
  const errs: string[] = [];
  for (const e of v.errors) errs.push("override " + e);
  return { config: base, errors: errs };
}
