/**
 * Human-readable names of `Err` values, for logs, test messages and the simulator. Device bundles include this
 * only when they print error names; the numbers alone are enough on the wire.
 * Generated from lib/errors.ts; test/errors.test.ts checks that the two agree.
 */
import { Err } from "./errors";

const NAMES: { [code: string]: string } = {
  "0": "Ok",
  "-1": "NoMemory",
  "-2": "Protocol",
  "-3": "Timeout",
  "-4": "Closed",
  "-5": "Argument",
  "-10": "Bus",
  "-11": "NoDevice",
  "-12": "Checksum",
  "-13": "Range",
  "-20": "TooLarge",
  "-21": "RemainingLength",
  "-22": "PacketType",
  "-23": "HeaderFlags",
  "-24": "Qos",
  "-25": "ProtocolName",
  "-26": "ProtocolLevel",
  "-27": "ReservedFlag",
  "-28": "WillFlags",
  "-29": "PasswordNoUser",
  "-30": "Utf8",
  "-31": "TopicWildcard",
  "-32": "EmptyTopic",
  "-33": "FilterWildcard",
  "-34": "PacketId",
  "-35": "NoFilters",
  "-36": "Length",
  "-37": "ReturnCode",
  "-38": "DupQos0",
  "-39": "SessionPresent",
  "-41": "RefusedProtocol",
  "-42": "RefusedIdentifier",
  "-43": "RefusedUnavailable",
  "-44": "RefusedCredentials",
  "-45": "RefusedNotAuthorized",
};

/** The name of an `Err` value, e.g. `errName(Err.NoMemory) === "NoMemory"`; `"Err(<n>)"` for an unknown one. */
export function errName(e: Err | number): string {
  return NAMES[String(e)] ?? "Err(" + e + ")";
}
