/**
 * A simulated WiFi (lib/hal/wifi.ts's Wifi) on the injected clock: `connect` succeeds after `joinMs` when the
 * access point is up and the password matches, else calls back with Espruino's kind of error text; `drop()`
 * takes the link down ("disconnected" event), `restore()` lets the next connect succeed again. RSSI follows a
 * settable value. Espruino subset: it runs inside device bundles too.
 */
import { Clock } from "../../lib/hal/net";
import { Wifi } from "../../lib/hal/wifi";

export interface SimWifiOptions {
  clock: Clock;
  ssid: string;
  password?: string;
  /** Time to join, ms (default 1500). */
  joinMs?: number;
  ip?: string;
  mac?: string;
}

export class SimWifi implements Wifi {
  /** The access point answers (false: connects fail, an "outage"). */
  apUp = true;
  rssi = -60;
  connected = false;
  /** connect() calls made. */
  attempts = 0;
  private h_: { [e: string]: ((d: object) => void)[] } = {};

  constructor(readonly o: SimWifiOptions) {}

  connect(ssid: string, o: { password?: string }, cb: (err: string | null) => void): void {
    this.attempts++;
    const t = this;
    this.o.clock.after(this.o.joinMs ?? 1500, function () {
      if (!t.apUp || ssid != t.o.ssid) return cb("No AP found");
      if ((o.password || "") != (t.o.password || "")) return cb("Auth fail");
      t.connected = true;
      cb(null);
      t.emit_("connected", { ssid: ssid });
    });
  }

  disconnect(cb?: () => void): void {
    const was = this.connected;
    this.connected = false;
    if (was) this.emit_("disconnected", { reason: "8" });
    if (cb) cb();
  }

  getIP(cb?: (err: string | null, ip: { ip: string; mac: string }) => void): { ip: string; mac: string } {
    const r = { ip: this.connected ? this.o.ip || "10.0.0.2" : "0.0.0.0", mac: this.o.mac || "de:ad:be:ef:00:01" };
    if (cb) cb(null, r);
    return r;
  }

  getDetails(cb?: (d: { rssi?: number; status?: string }) => void): { rssi?: number; status?: string } {
    const r = { rssi: this.connected ? this.rssi : 0, status: this.connected ? "connected" : "off" };
    if (cb) cb(r);
    return r;
  }

  on(event: "connected" | "disconnected", fn: (details: object) => void): void {
    (this.h_[event] || (this.h_[event] = [])).push(fn);
  }

  /** The link drops (AP gone): "disconnected", and connects fail until restore(). */
  drop(): void {
    this.apUp = false;
    this.disconnect();
  }

  restore(): void {
    this.apUp = true;
  }

  private emit_(e: string, d: object): void {
    const l = this.h_[e];
    if (l) for (let i = 0; i < l.length; i++) l[i]!(d);
  }
}
