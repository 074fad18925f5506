/**
 * WiFi as lib/ sees it: the part of Espruino's `require("Wifi")` a node uses (ESP32 and ESP8266 builds).
 * `connect` calls back once with null or an error text; the "disconnected" event comes when the link drops.
 */
export interface Wifi {
  connect(ssid: string, o: { password?: string }, cb: (err: string | null) => void): void;
  disconnect(cb?: () => void): void;
  getIP(cb?: (err: string | null, ip: { ip: string; mac: string }) => void): { ip: string; mac: string } | undefined;
  getDetails(cb?: (d: { rssi?: number; status?: string }) => void): { rssi?: number; status?: string } | undefined;
  on(event: "connected" | "disconnected", fn: (details: object) => void): void;
}
