/**
 * Issue 7, requirement 2: the command topic `<prefix>/<node>/set` (lib/node/commands.ts): plain and JSON
 * payloads, every refusal with its message, and the reply text on `<prefix>/<node>/set/reply`.
 */
import { describe, expect, test } from "vitest";
import { Cmd, commandName, parseCommand, replyText } from "../lib/node/commands";

const enc = (s: string) => new TextEncoder().encode(s);

describe("parseCommand: accepted", () => {
  const ok: [string, Cmd, number, string][] = [
    ["publish", Cmd.Publish, 0, ""],
    ["  identify\n", Cmd.Identify, 0, ""],
    ["restart", Cmd.Restart, 0, ""],
    ["\"publish\"", Cmd.Publish, 0, ""],
    ["{\"interval\":30000}", Cmd.Interval, 30000, ""],
    ["{\"interval\":1000,\"id\":\"a1\"}", Cmd.Interval, 1000, "a1"],
    ["{\"publish\":true}", Cmd.Publish, 0, ""],
    ["{\"id\":\"z\",\"identify\":true}", Cmd.Identify, 0, "z"],
    ["{\"restart\":true}", Cmd.Restart, 0, ""],
  ];
  for (const c of ok) {
    test(JSON.stringify(c[0]), () => {
      for (const p of [c[0], enc(c[0])]) {
        expect(parseCommand(p)).toEqual({ cmd: c[1], intervalMs: c[2], id: c[3], error: "" });
      }
    });
  }
});

describe("parseCommand: refused, with the reason", () => {
  const bad: [string, string | Uint8Array, string, string][] = [
    ["empty", "  ", "payload: empty", ""],
    ["too long", "x".repeat(257), "payload: must be ASCII text of up to 256 bytes", ""],
    ["not ASCII", enc("publish\u00e9"), "payload: must be ASCII text of up to 256 bytes", ""],
    ["unknown word", "reboot", "payload: unknown command \"reboot\" (interval, publish, identify, restart)", ""],
    ["interval without a value", "interval", "interval: needs a value: {\"interval\":30000}", ""],
    ["bad JSON", "{\"interval\":", "payload: not valid JSON", ""],
    ["not a word nor an object", "[1]", "payload: unknown command \"[1]\" (interval, publish, identify, restart)", ""],
    ["empty JSON object", "{}", "payload: no command", ""],
    ["unknown key", "{\"sleep\":true,\"id\":\"q\"}", "sleep: unknown command (interval, publish, identify, restart)", "q"],
    ["two commands", "{\"publish\":true,\"restart\":true}", "payload: one command per message", ""],
    ["interval too short", "{\"interval\":999}", "interval: must be an integer from 1000 to 86400000 (ms)", ""],
    ["interval not a number", "{\"interval\":\"30000\"}", "interval: must be an integer from 1000 to 86400000 (ms)", ""],
    ["interval fraction", "{\"interval\":1000.5}", "interval: must be an integer from 1000 to 86400000 (ms)", ""],
    ["publish not true", "{\"publish\":1}", "publish: must be true", ""],
    ["bad id", "{\"publish\":true,\"id\":5}", "id: must be a string of up to 32 characters", ""],
    ["JSON string of an unknown word", "\"stop\"", "payload: unknown command \"stop\" (interval, publish, identify, restart)", ""],
  ];
  for (const c of bad) {
    test(c[0], () => {
      expect(parseCommand(c[1])).toEqual({ cmd: Cmd.None, intervalMs: 0, id: c[3], error: c[2] });
    });
  }
});

describe("replyText", () => {
  test("success replies", () => {
    expect(JSON.parse(replyText(parseCommand("{\"interval\":30000,\"id\":\"a1\"}"))))
      .toEqual({ ok: true, cmd: "interval", intervalMs: 30000, id: "a1" });
    expect(replyText(parseCommand("publish"))).toBe("{\"ok\":true,\"cmd\":\"publish\"}");
    expect(replyText(parseCommand("restart"))).toBe("{\"ok\":true,\"cmd\":\"restart\"}");
  });

  test("error replies carry the reason and the id", () => {
    expect(JSON.parse(replyText(parseCommand("{\"interval\":5,\"id\":\"b\"}"))))
      .toEqual({ ok: false, error: "interval: must be an integer from 1000 to 86400000 (ms)", id: "b" });
    expect(JSON.parse(replyText(parseCommand("nope")))).toEqual({
      ok: false, error: "payload: unknown command \"nope\" (interval, publish, identify, restart)",
    });
  });

  test("commandName", () => {
    expect([Cmd.None, Cmd.Interval, Cmd.Publish, Cmd.Identify, Cmd.Restart].map(commandName))
      .toEqual(["", "interval", "publish", "identify", "restart"]);
  });
});
