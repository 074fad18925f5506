/**
 * `$SYS/broker/...` statistics, published every `sysInterval` with Mosquitto's names (clients, messages and
 * bytes in and out, uptime, retained and subscription counts), plus this broker's limit counters under
 * `$SYS/broker/limits/...`. They go to current subscribers as plain QoS 0 messages, not retained, so they
 * never take room from the application's retained messages; a `$SYS/#` subscriber sees them within one
 * interval. Filters starting with a wildcard do not match them [MQTT-4.7.2-1].
 */
import type { BrokerCore as Broker } from "./core";
import { Stats } from "./types";

const NAMES: string[] = [
  "clients/connected", "clientsConnected", "clients/total", "clientsTotal", "clients/maximum", "clientsMaximum",
  "messages/received", "msgsReceived", "messages/sent", "msgsSent", "bytes/received", "bytesReceived",
  "bytes/sent", "bytesSent", "messages/dropped", "msgsDropped", "limits/publish-denied", "publishDenied",
  "limits/subscribe-denied", "subscribeDenied", "limits/refused-clients", "refusedClients",
  "limits/refused-auth", "refusedAuth", "limits/retained-dropped", "retainedDropped", "limits/oversize", "oversize",
  "limits/protocol-errors", "protocolErrors", "limits/slow-clients", "slowClients",
  "limits/keepalive-timeouts", "keepaliveTimeouts", "limits/connect-timeouts", "connectTimeouts",
];

export function publishSys(b: Broker, now: number): void {
  const st = b.stats as unknown as { [k: string]: number }; // (one snapshot for the round)
  for (let i = 0; i < NAMES.length; i += 2) one(b, NAMES[i]!, "" + st[NAMES[i + 1]!]);
  one(b, "uptime", Math.floor((now - b.started) / 1000) + " seconds");
  one(b, "retained messages/count", "" + b.ret_.count);
  one(b, "subscriptions/count", "" + b.subs_.size);
  if (b.o.version) one(b, "version", b.o.version);
}

function one(b: Broker, name: string, v: string): void {
  const t = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) t[i] = v.charCodeAt(i) & 255;
  b.incoming_("$SYS/broker/" + name, t, 0, false, null);
}

/** (For type checks: every name above is a Stats field.) */
export type SysStats = Stats;
