/**
 * A simulated sensor site, driven by the real drivers (issue 6, requirement 7). Device code in the Espruino
 * subset: test/device/sensors.ts runs it on Espruino's Linux build, test/espruino.sensors.test.ts runs the same
 * function on Node and compares the lines.
 *
 * The site: one SimI2c with a BME280 (0x76), an SHT3x (0x44) and an AHT20 (0x38); one SimOneWire with three
 * DS18B20s (12, 11 and 9 bits); two SimPins with a DHT22 and a DHT11. Every chip takes its values from one
 * Scenario with a fixed seed, and all time is one SimClock (sim/hal/clock.ts): virtual, so the run is the same
 * on both and takes no real time (the DHT frame's microsecond edges could not come from real timers).
 *
 * Reads run one at a time: each is started, then the clock runs until its callback. Output, one line each:
 * - `FIND ds18b20 3 <rom>,<rom>,<rom>` from `find()`;
 * - `READING <sensor> tempC=.. [rhPct=..] [pressurePa=..]` per reading, `ROUNDS` rounds of every sensor;
 *   each reading is also compared with the value the chip took from the scenario for it, within the sensor's
 *   resolution (`FAIL <sensor> <field>=<got> scenario <want>` when not);
 * - per fault: `FAULT <sensor> <fault> -> <Err name>` (`FAIL ... expected <name>` when the error is not the
 *   expected one), then the fault cleared and `READING <sensor> ...` from a good read;
 * - `ERROR <sensor> <Err name>` for a good read that failed, `FAIL <sensor> no callback` for a read that never
 *   called back.
 * `runSite` returns how many of those went wrong (0 when all is well). Lines are the same on every interpreter:
 * numbers are printed by `fmt` (fixed decimals, no toFixed), and nothing depends on real time.
 */
import { connect as aht20 } from "../../../lib/drivers/aht20";
import { connect as bme280 } from "../../../lib/drivers/bme280";
import { connect as dht } from "../../../lib/drivers/dht";
import { connect as ds18b20, find } from "../../../lib/drivers/ds18b20";
import { connect as sht3x } from "../../../lib/drivers/sht3x";
import { Reading, Sensor } from "../../../lib/drivers/types";
import { Err } from "../../../lib/errors";
import { errName } from "../../../lib/errname";
import { Aht20Chip } from "../../../sim/chips/aht20";
import { Bme280Chip } from "../../../sim/chips/bme280";
import { DhtChip } from "../../../sim/chips/dht";
import { SimDs18b20 } from "../../../sim/chips/ds18b20";
import { Scenario, ScenarioOptions } from "../../../sim/chips/scenario";
import { Sht3xChip } from "../../../sim/chips/sht3x";
import { SimClock } from "../../../sim/hal/clock";
import { SimI2c } from "../../../sim/hal/i2c";
import { SimOneWire } from "../../../sim/hal/onewire";
import { SimPin } from "../../../sim/hal/pin";

export const SEED = 20240611;
export const ROUNDS = 3;
/** Virtual time between rounds, ms (the scenario's daily curve moves meanwhile). */
const ROUND_MS = 20 * 60000;
/** Longest virtual wait for one read's callback, ms. */
const READ_LIMIT_MS = 10000;

/** A Scenario that remembers the last values it gave, so a reading can be compared with what was measured. */
class Tap extends Scenario {
  t: number;
  rh: number;
  pa: number;

  // written out: esbuild's implicit one passes `...args` to super, which Espruino cannot parse
  constructor(o: ScenarioOptions) {
    super(o);
    this.t = NaN;
    this.rh = NaN;
    this.pa = NaN;
  }

  override tempC(at: number): number {
    this.t = super.tempC(at);
    return this.t;
  }

  override rhPct(at: number): number {
    this.rh = super.rhPct(at);
    return this.rh;
  }

  override pressurePa(at: number): number {
    this.pa = super.pressurePa(at);
    return this.pa;
  }
}

/**
 * One sensor of the site: its driver, how many decimals its fields are printed with, and the largest
 * difference from the scenario's value its resolution allows (NaN: the field is not measured).
 */
interface Entry {
  name: string;
  s: Sensor;
  dp: number;
  tolT: number;
  tolRh: number;
  tolPa: number;
}

/** A fault: set, cleared, and the error the driver must report while it is set. */
interface Fault {
  sensor: string;
  name: string;
  set: () => void;
  clear: () => void;
  want: Err;
}

/** `v` with `dp` decimals, rounded half up (the same text on Espruino and Node, unlike toFixed's edge cases). */
export function fmt(v: number, dp: number): string {
  let m = 1;
  for (let i = 0; i < dp; i++) m *= 10;
  const neg = v < 0;
  const n = Math.floor((neg ? -v : v) * m + 0.5);
  let s = String(n);
  if (dp > 0) {
    while (s.length <= dp) s = "0" + s;
    s = s.substr(0, s.length - dp) + "." + s.substr(s.length - dp);
  }
  return (neg && n > 0 ? "-" : "") + s;
}

// ---------------------------------------------------------------- one read at a time

let called = false;
let gotErr: Err = Err.Ok;
const got: Reading = { tempC: NaN, rhPct: NaN, pressurePa: NaN };

/** The one read callback: copies the reading (drivers hand out the same object every time). */
function onRead(err: Err, r: Reading | null): void {
  called = true;
  gotErr = err;
  got.tempC = r ? r.tempC : NaN;
  got.rhPct = r && r.rhPct !== undefined ? r.rhPct : NaN;
  got.pressurePa = r && r.pressurePa !== undefined ? r.pressurePa : NaN;
}

function isCalled(): boolean {
  return called;
}

/** Reads `s` once; false when it never called back. */
function readOnce(clock: SimClock, s: Sensor): boolean {
  called = false;
  gotErr = Err.Ok;
  s.read(onRead);
  return clock.runUntil(isCalled, READ_LIMIT_MS);
}

// ---------------------------------------------------------------- the run

class Run {
  errors = 0;
  readonly clock = new SimClock(0);
  readonly sc = new Tap({ seed: SEED, startHour: 9 });
  readonly out: (line: string) => void;
  readonly probe: (() => void) | undefined;

  constructor(out: (line: string) => void, probe: (() => void) | undefined) {
    this.out = out;
    this.probe = probe;
  }

  /** One read of `s`, with the probe called once it is over. */
  read(s: Sensor): boolean {
    const ok = readOnce(this.clock, s);
    if (this.probe) this.probe();
    return ok;
  }

  fail(line: string): void {
    this.errors++;
    this.out("FAIL " + line);
  }

  /** Compares one field with the scenario's value for it. */
  check(e: Entry, field: string, v: number, want: number, tol: number): void {
    if (!(tol >= 0)) return;
    const d = v - want;
    if (!(d <= tol && d >= -tol)) this.fail(e.name + " " + field + "=" + v + " scenario " + want);
  }

  /** A read that must succeed: its READING line, or ERROR / FAIL. */
  good(e: Entry): void {
    if (!this.read(e.s)) { this.fail(e.name + " no callback"); return; }
    if (gotErr) { this.errors++; this.out("ERROR " + e.name + " " + errName(gotErr)); return; }
    let l = "READING " + e.name + " tempC=" + fmt(got.tempC, e.dp);
    if (e.tolRh >= 0) l += " rhPct=" + fmt(got.rhPct!, e.dp);
    if (e.tolPa >= 0) l += " pressurePa=" + fmt(got.pressurePa!, 2);
    this.out(l);
    const sc = this.sc;
    this.check(e, "tempC", got.tempC, sc.t, e.tolT);
    this.check(e, "rhPct", got.rhPct!, sc.rh, e.tolRh);
    this.check(e, "pressurePa", got.pressurePa!, sc.pa, e.tolPa);
  }

  /** A read with the fault set: its FAULT line; then cleared, a good read. */
  fault(e: Entry, f: Fault): void {
    f.set();
    const ok = this.read(e.s);
    f.clear();
    if (!ok) { this.fail(e.name + " " + f.name + " no callback"); return; }
    this.out("FAULT " + e.name + " " + f.name + " -> " + errName(gotErr));
    if (gotErr != f.want) this.fail(e.name + " " + f.name + " gave " + errName(gotErr) + ", expected " + errName(f.want));
    this.clock.advance(2000); // a DHT's sampling period, and time for a chip plugged back in to power up
    this.good(e);
  }
}

function entry(name: string, s: Sensor, dp: number, tolT: number, tolRh: number, tolPa: number): Entry {
  return { name: name, s: s, dp: dp, tolT: tolT, tolRh: tolRh, tolPa: tolPa };
}

function fault(sensor: string, name: string, set: () => void, clear: () => void, want: Err): Fault {
  return { sensor: sensor, name: name, set: set, clear: clear, want: want };
}

/**
 * Builds the site, reads every sensor ROUNDS times, then every fault; returns the number of problems. `probe`,
 * if given, is called after every read (the device entry measures memory there).
 */
export function runSite(out: (line: string) => void, probe?: () => void): number {
  const run = new Run(out, probe);
  const clock = run.clock;
  const sc = run.sc;

  const i2c = new SimI2c();
  const bmeChip = new Bme280Chip({ clock: clock, scenario: sc, address: 0x76 });
  const shtChip = new Sht3xChip({ clock: clock, scenario: sc, address: 0x44 });
  const ahtChip = new Aht20Chip({ clock: clock, scenario: sc });
  i2c.attach(bmeChip);
  i2c.attach(shtChip);
  i2c.attach(ahtChip);

  const ow = new SimOneWire();
  const serials = [0x0000a1b2c3, 0x0000a1b2c4, 0x00007e0155];
  const dsChips: SimDs18b20[] = [];
  for (let i = 0; i < serials.length; i++) {
    const c = new SimDs18b20({ clock: clock, scenario: sc, serial: serials[i] });
    dsChips.push(c);
    ow.attach(c);
  }

  const pin22 = new SimPin(clock);
  const pin11 = new SimPin(clock);
  const dht22Chip = new DhtChip(pin22, { type: 22, scenario: sc, seed: SEED + 22 });
  const dht11Chip = new DhtChip(pin11, { type: 11, scenario: sc, seed: SEED + 11 });

  // tolerances: the sensor's resolution (and its rounding), from the datasheets' conversion formulas
  const es: Entry[] = [
    // 0.01 °C output, 1/1024 %RH, 1/256 Pa; raw resolution at these oversamplings: 18-bit T, 20-bit P, 16-bit RH
    entry("bme280", bme280(i2c, { clock: clock, address: 0x76, osrsT: 4, osrsP: 16, osrsH: 1 }), 2, 0.02, 0.01, 0.5),
    // 175 / 65535 °C and 100 / 65535 %RH per step, rounded: half a step
    entry("sht3x", sht3x(i2c, { clock: clock, address: 0x44 }), 3, 0.0014, 0.0008, -1),
    // 200 / 2^20 °C and 100 / 2^20 %RH per step, rounded
    entry("aht20", aht20(i2c, { clock: clock }), 4, 0.0001, 0.00005, -1),
    // 0.1 °C and 0.1 %RH, rounded
    entry("dht22", dht(pin22, { clock: clock, type: 22 }), 1, 0.0501, 0.0501, -1),
    // 0.1 °C, 1 %RH, rounded
    entry("dht11", dht(pin11, { clock: clock, type: 11 }), 1, 0.0501, 0.5001, -1),
  ];

  const roms = find(ow);
  out("FIND ds18b20 " + roms.length + " " + roms.join(","));
  if (roms.length != serials.length) run.fail("find gave " + roms.length + " ROMs, expected " + serials.length);
  const bits: (9 | 10 | 11 | 12)[] = [12, 11, 9];
  for (let i = 0; i < roms.length && i < bits.length; i++) {
    // the chip rounds to 1/16 °C (half a step off at most); at fewer bits the driver also clears the bits below
    // the resolution, a further step at most
    const step = 0.0625 * (1 << (12 - bits[i]!));
    es.push(entry("ds18b20#" + i, ds18b20(ow, { clock: clock, rom: roms[i], resolution: bits[i] }), 4,
      bits[i] == 12 ? 0.0313 : step + 0.0313, -1, -1));
  }

  for (let k = 0; k < ROUNDS; k++) {
    for (let i = 0; i < es.length; i++) run.good(es[i]!);
    clock.advance(ROUND_MS);
  }

  // the chip behind ds18b20#0 (search order is by ROM bits, not by the order they were attached)
  let ds0 = dsChips[0]!;
  for (let i = 0; i < dsChips.length; i++) if (dsChips[i]!.romHex == roms[0]) ds0 = dsChips[i]!;
  const fs: Fault[] = [
    fault("bme280", "noAck", function () { bmeChip.fault.noAck = true; }, function () { bmeChip.clearFaults(); }, Err.NoDevice),
    fault("bme280", "stuckBusy", function () { bmeChip.fault.stuckBusy = true; }, function () { bmeChip.clearFaults(); }, Err.Timeout),
    fault("bme280", "i2cStuck", function () { i2c.stuck = true; }, function () { i2c.stuck = false; }, Err.NoDevice),
    fault("sht3x", "corruptCrc", function () { shtChip.corruptCrc = true; }, function () { shtChip.corruptCrc = false; }, Err.Checksum),
    fault("sht3x", "noAck", function () { shtChip.noAck = true; }, function () { shtChip.noAck = false; }, Err.NoDevice),
    fault("sht3x", "neverCompletes", function () { shtChip.neverCompletes = true; }, function () { shtChip.neverCompletes = false; }, Err.Timeout),
    fault("aht20", "corruptCrc", function () { ahtChip.corruptCrc = true; }, function () { ahtChip.corruptCrc = false; }, Err.Checksum),
    fault("aht20", "busyStuck", function () { ahtChip.busyStuck = true; }, function () { ahtChip.busyStuck = false; }, Err.Timeout),
    fault("aht20", "unplugAfter1", function () { ahtChip.unplugAfter = 1; }, function () { ahtChip.plugIn(); }, Err.Bus),
    fault("dht22", "badChecksum", function () { dht22Chip.badChecksum = true; }, function () { dht22Chip.badChecksum = false; }, Err.Checksum),
    fault("dht22", "unplugged", function () { dht22Chip.unplugged = true; }, function () { dht22Chip.unplugged = false; }, Err.NoDevice),
    fault("dht11", "truncateAfter20", function () { dht11Chip.truncateAfter = 20; }, function () { dht11Chip.truncateAfter = -1; }, Err.Timeout),
    fault("dht11", "stuckLow", function () { dht11Chip.stuckLow(true); }, function () { dht11Chip.stuckLow(false); }, Err.Bus),
    fault("ds18b20#0", "badCrc", function () { ds0.badCrc = true; }, function () { ds0.badCrc = false; }, Err.Checksum),
    fault("ds18b20#0", "unplugAfter0", function () { ds0.unplugAfter = 0; }, function () { ds0.plug(); }, Err.NoDevice),
    fault("ds18b20#0", "stuck85", function () { ds0.stuck85 = true; }, function () { ds0.stuck85 = false; }, Err.Range),
  ];
  for (let i = 0; i < fs.length; i++) {
    const f = fs[i]!;
    let e: Entry | null = null;
    for (let j = 0; j < es.length; j++) if (es[j]!.name == f.sensor) e = es[j]!;
    if (e) run.fault(e, f);
    else run.fail("no sensor " + f.sensor);
  }
  return run.errors;
}
