/**
 * MQTT 5 reason codes (§2.4, Table 2-6): which packets each may appear in, and their names. A sender MUST
 * use one of the codes listed for the packet: CONNACK [MQTT-3.2.2-8], PUBACK [MQTT-3.4.2-1], PUBREC
 * [MQTT-3.5.2-1], PUBREL [MQTT-3.6.2-1], PUBCOMP [MQTT-3.7.2-1], SUBACK [MQTT-3.9.3-2], UNSUBACK
 * [MQTT-3.11.3-2], DISCONNECT [MQTT-3.14.2-1], AUTH [MQTT-3.15.2-1]; the parsers refuse any other with
 * Err.ReturnCode. The names are in their own table, which a bundle carries only if it calls `reasonName`.
 */
import { Err } from "../errors";
import { T } from "../mqtt/types";
import { In } from "./types";

// (a const enum: the table below is then literal numbers, which a bundle that does not use it drops)
// (literal numbers, the In bits: esbuild inlines a const enum member whose value is a literal)
const enum R {
  CA = 4, // In.CONNACK
  PA = 48, // In.PUBACK | In.PUBREC
  PR = 192, // In.PUBREL | In.PUBCOMP
  SA = 512, // In.SUBACK
  UA = 2048, // In.UNSUBACK
  DC = 16384, // In.DISCONNECT
  AU = 32768, // In.AUTH
}

/** Every reason code, ascending. */
const CODES = [0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x18, 0x19, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
  0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2];

/** The packets each code may appear in (bit `1 << type`, Table 2-6). */
const WHERE = [R.CA | R.PA | R.PR | R.SA | R.UA | R.DC | R.AU, R.SA, R.SA, R.DC, R.PA, R.UA, R.AU, R.AU, R.CA | R.PA | R.SA | R.UA | R.DC, R.CA | R.DC, R.CA | R.DC,
  R.CA | R.PA | R.SA | R.UA | R.DC, R.CA, R.CA, R.CA, R.CA | R.PA | R.SA | R.UA | R.DC, R.CA, R.CA | R.DC, R.CA, R.DC, R.CA, R.DC, R.DC, R.SA | R.UA | R.DC, R.CA | R.PA | R.DC,
  R.PA | R.SA | R.UA, R.PR, R.DC, R.DC, R.CA | R.DC, R.DC, R.CA | R.PA | R.SA | R.DC, R.DC, R.CA | R.PA | R.DC, R.CA | R.DC, R.CA | R.DC, R.CA | R.DC, R.CA | R.DC, R.SA | R.DC,
  R.CA | R.DC, R.DC, R.SA | R.DC, R.SA | R.DC];

/** Whether `code` is a reason code a packet of type `type` may carry (Table 2-6). */
export function reasonValid(type: number, code: number): boolean {
  for (let i = 0; i < CODES.length; i++) if (CODES[i] === code) return (WHERE[i]! & 1 << type) != 0;
  return false;
}

const NAMES = ["Success", "Granted QoS 1", "Granted QoS 2", "Disconnect with Will Message", "No matching subscribers",
  "No subscription existed", "Continue authentication", "Re-authenticate", "Unspecified error", "Malformed Packet",
  "Protocol Error", "Implementation specific error", "Unsupported Protocol Version", "Client Identifier not valid",
  "Bad User Name or Password", "Not authorized", "Server unavailable", "Server busy", "Banned", "Server shutting down",
  "Bad authentication method", "Keep Alive timeout", "Session taken over", "Topic Filter invalid", "Topic Name invalid",
  "Packet Identifier in use", "Packet Identifier not found", "Receive Maximum exceeded", "Topic Alias invalid",
  "Packet too large", "Message rate too high", "Quota exceeded", "Administrative action", "Payload format invalid",
  "Retain not supported", "QoS not supported", "Use another server", "Server moved",
  "Shared Subscriptions not supported", "Connection rate exceeded", "Maximum connect time",
  "Subscription Identifiers not supported", "Wildcard Subscriptions not supported"];

/**
 * The spec's name of a reason code (Table 2-6), as a packet of `type` means it: 0 is "Normal disconnection"
 * in a DISCONNECT and "Granted QoS 0" in a SUBACK; "Reason(<n>)" for a code the spec does not define.
 */
export function reasonName(code: number, type?: number): string {
  if (code === 0 && type == T.DISCONNECT) return "Normal disconnection";
  if (code === 0 && type == T.SUBACK) return "Granted QoS 0";
  for (let i = 0; i < CODES.length; i++) if (CODES[i] === code) return NAMES[i]!;
  return "Reason(" + code + ")";
}

/**
 * The reason code to send (CONNACK or DISCONNECT) when the decoder stops with `e`: 0x84 Unsupported Protocol
 * Version for Err.ProtocolLevel (§3.1.2.2), 0x95 Packet too large for Err.TooLarge, 0x82 Protocol Error for
 * what the spec calls one (Err.Protocol: a repeated property, an unexpected packet; Err.Range: a property
 * value the spec does not allow), 0x81 Malformed Packet for every other codec error (§4.13.1).
 */
export function reasonForErr(e: Err | number): number {
  if (e == Err.ProtocolLevel) return 0x84;
  if (e == Err.TooLarge) return 0x95;
  return e == Err.Protocol || e == Err.Range ? 0x82 : 0x81;
}
