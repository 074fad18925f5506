/** The packets with no variable header or payload: PINGREQ [MQTT-3.12], PINGRESP [MQTT-3.13], DISCONNECT [MQTT-3.14]. */
import { Err } from "../errors";
import { Packet, T } from "./types";
import { start } from "./wire";

/** Writes the 2-byte packet of `type` (T.PINGREQ, T.PINGRESP or T.DISCONNECT); returns 2 or Err.NoMemory. */
export function encodeEmpty(b: Uint8Array, off: number, type: T): number {
  return start(b, off, type << 4, 0);
}

/** Body of PINGREQ, PINGRESP, DISCONNECT: remaining length 0 (§3.12.1, §3.13.1, §3.14.1). */
export function parseEmpty(_p: Packet, _b: Uint8Array, s: number, e: number): number {
  return e > s ? Err.Length : Err.Ok;
}
