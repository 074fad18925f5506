/**
 * AUTH [MQTT-3.15], new in MQTT 5 (packet type 15, fixed flags 0000 [MQTT-3.15.1-1]): an Authenticate Reason
 * Code (0x00 Success, 0x18 Continue authentication, 0x19 Re-authenticate [MQTT-3.15.2-1]) and properties
 * (Authentication Method, Authentication Data, Reason String, User Property). The body is DISCONNECT's shape
 * (disconnect.ts).
 */
import { In, Packet5, Props, T5 } from "./types";
import { encodeReason, parseReason, reasonSize } from "./disconnect";

/** Size of an AUTH (as encodeAuth5 writes it), or an Err. */
export function auth5Size(code: number, props?: Props): number {
  return reasonSize(T5.AUTH as number, code, props, false);
}

/**
 * Writes an AUTH: always with its reason code and Property Length, though §3.15.2.1 lets code 0 without
 * properties be 2 bytes (an AUTH always carries an Authentication Method in practice, §3.15.2.2.2, and
 * mqtt-packet refuses the empty form). Returns its size, Err.ReturnCode [MQTT-3.15.2-1], a property error, or
 * Err.NoMemory.
 */
export function encodeAuth5(b: Uint8Array, off: number, code: number, props?: Props): number {
  return encodeReason(b, off, T5.AUTH as number, code, props, false);
}

/**
 * AUTH body: an Authenticate Reason Code [MQTT-3.15.2-1] (0 when the body is empty, §3.15.2.1), properties
 * valid for AUTH (props.ts). That the Authentication Method is there and is the CONNECT's (§3.15.2.2.2,
 * §4.12) is for the session to check.
 */
export function parseAuth5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parseReason(p, b, s, e, In.AUTH);
}
