/**
 * Salted password hashes for the Node broker's `users` (config.ts), checked by lib/broker/acl.ts's `verify`.
 *
 * Stored forms (one string per user, base64 salt and hash):
 *   scrypt$<N>$<r>$<p>$<salt>$<hash>     made by `hashPassword` (N=16384, r=8, p=1, 16-byte salt, 32-byte hash)
 *   pbkdf2$<iterations>$<salt>$<hash>    PBKDF2-HMAC-SHA256, accepted for hashes made elsewhere
 * Hashes are compared with `timingSafeEqual`. A check costs tens of milliseconds on purpose, and the broker
 * asks synchronously at CONNECT, so `makeVerify` remembers the last password that matched per user (as an
 * HMAC under a key made for this process) and a client reconnecting with it is not hashed again.
 */
import { createHmac, pbkdf2Sync, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

const SCRYPT_N = 16384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on what a stored form may ask for, so a config cannot make one check take minutes or gigabytes. */
const MAX_SCRYPT_MEM = 256 * 1024 * 1024;
const MAX_PBKDF2_ITERATIONS = 10_000_000;

export type Stored =
  | { kind: "scrypt"; n: number; r: number; p: number; salt: Buffer; hash: Buffer }
  | { kind: "pbkdf2"; iterations: number; salt: Buffer; hash: Buffer };

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const INT = /^[1-9][0-9]{0,9}$/;

function b64(s: string | undefined): Buffer | null {
  if (s === undefined || !B64.test(s)) return null;
  const b = Buffer.from(s, "base64");
  return b.length > 0 ? b : null;
}

function int(s: string | undefined): number {
  return s !== undefined && INT.test(s) ? Number(s) : 0;
}

function parseScrypt(f: string[]): Stored | string {
  if (f.length != 6) return "scrypt needs 6 fields: scrypt$N$r$p$salt$hash";
  const n = int(f[1]), r = int(f[2]), p = int(f[3]);
  if (n < 2 || (n & (n - 1)) != 0) return "scrypt N must be a power of 2 >= 2";
  if (!r || !p) return "scrypt r and p must be integers >= 1";
  if (128 * n * r * 2 > MAX_SCRYPT_MEM || r * p >= 1 << 30) return "scrypt parameters too large";
  const salt = b64(f[4]), hash = b64(f[5]);
  if (!salt || !hash) return "scrypt salt and hash must be base64";
  return { kind: "scrypt", n, r, p, salt, hash };
}

function parsePbkdf2(f: string[]): Stored | string {
  if (f.length != 4) return "pbkdf2 needs 4 fields: pbkdf2$iterations$salt$hash";
  const iterations = int(f[1]);
  if (!iterations || iterations > MAX_PBKDF2_ITERATIONS) return "pbkdf2 iterations must be an integer from 1 to " + MAX_PBKDF2_ITERATIONS;
  const salt = b64(f[2]), hash = b64(f[3]);
  if (!salt || !hash) return "pbkdf2 salt and hash must be base64";
  return { kind: "pbkdf2", iterations, salt, hash };
}

/** The parts of a stored form, or why it is not one (a message for config errors). */
export function parseStored(stored: string): Stored | string {
  const f = stored.split("$");
  if (f[0] == "scrypt") return parseScrypt(f);
  if (f[0] == "pbkdf2") return parsePbkdf2(f);
  return "not a password hash (scrypt$N$r$p$salt$hash or pbkdf2$iterations$salt$hash)";
}

function derive(s: Stored, pw: Buffer): Buffer {
  if (s.kind == "pbkdf2") return pbkdf2Sync(pw, s.salt, s.iterations, s.hash.length, "sha256");
  return scryptSync(pw, s.salt, s.hash.length, { N: s.n, r: s.r, p: s.p, maxmem: MAX_SCRYPT_MEM + 1024 * 1024 });
}

const toBuf = (pw: Uint8Array | string): Buffer =>
  typeof pw == "string" ? Buffer.from(pw, "utf8") : Buffer.from(pw.buffer, pw.byteOffset, pw.length);

/** The stored form of `pw` (scrypt, a new random salt each time). */
export function hashPassword(pw: Uint8Array | string): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(toBuf(pw), salt, HASH_BYTES, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P });
  return ["scrypt", SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.toString("base64"), hash.toString("base64")].join("$");
}

/** Does `pw` (UTF-8 when a string, raw bytes as CONNECT carries them otherwise) match `stored`? False for a malformed `stored`. */
export function verifyPassword(stored: string, pw: Uint8Array | string): boolean {
  const s = parseStored(stored);
  if (typeof s == "string") return false;
  const got = derive(s, toBuf(pw));
  return got.length == s.hash.length && timingSafeEqual(got, s.hash);
}

/**
 * The `verify` for lib/broker/acl.ts's Acl: `users` maps a name to its stored form. A null password or an
 * unknown user is refused. The last password that matched is remembered per user (an HMAC of it under a key
 * made at random here, never the password), so reconnects do not pay for scrypt again.
 */
export function makeVerify(users: Readonly<Record<string, string>>): (user: string, pw: Uint8Array | null) => boolean {
  const key = randomBytes(32);
  const known = new Map<string, Buffer>();
  return (user, pw) => {
    if (pw === null || !Object.prototype.hasOwnProperty.call(users, user)) return false;
    const stored = users[user]!;
    const mac = createHmac("sha256", key).update(stored).update("\0").update(toBuf(pw)).digest();
    const last = known.get(user);
    if (last && timingSafeEqual(last, mac)) return true;
    if (!verifyPassword(stored, pw)) return false;
    known.set(user, mac);
    return true;
  };
}
