/**
 * Espruino's Linux build (the host interpreter used by tests and the simulator): the host's network is already
 * up and `net` sockets work on loopback. It has a `tls` module, but nothing here needs it (tests talk plain MQTT
 * to loopback brokers), so `tls` is false. No buses.
 */
import type { Board } from "../lib/hal/board";

export const board = {
  name: "linux",
  title: "Espruino Linux build",
  net: "up",
  tls: false,
  i2c: null,
  wire1: null,
} as const satisfies Board;
