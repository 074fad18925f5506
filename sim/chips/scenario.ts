/**
 * Where simulated chips take their values from: a daily temperature curve, humidity moving against it, pressure
 * drifting slowly, and noise from a seeded generator, so the same seed gives the same readings. Time is the
 * injected clock's (ms). Espruino subset: it also runs inside device bundles.
 */

/** xorshift32 (Marsaglia): seeded, shifts and xors only (Espruino has no Math.imul). Returns [0, 1). */
export function seeded(seed: number): () => number {
  let x = seed | 0 || 1;
  return function () {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export interface ScenarioOptions {
  seed?: number;
  /** Daily mean and half swing, °C (defaults 21 and 4); coldest at 04:00, warmest at 16:00. */
  meanC?: number;
  swingC?: number;
  /** Mean relative humidity and its swing, % (defaults 50 and 15; highest when coldest). */
  meanRh?: number;
  swingRh?: number;
  /** Mean pressure, Pa (default 101,325), and slow drift amplitude (default 600 Pa over 3 days). */
  meanPa?: number;
  /** Noise amplitude: °C, %RH, Pa (defaults 0.05, 0.3, 5). */
  noiseC?: number;
  noiseRh?: number;
  noisePa?: number;
  /** The time of day at t = 0, hours (default 0). */
  startHour?: number;
}

const DAY = 86400000;

export class Scenario {
  private readonly r_: () => number;
  constructor(readonly o: ScenarioOptions) {
    this.r_ = seeded(o.seed || 1);
  }

  private phase_(t: number): number {
    const h = (o0(this.o.startHour) + t / 3600000) % 24;
    // cosine with its minimum at 04:00 and its maximum at 16:00
    return -Math.cos((h - 4) / 24 * 2 * Math.PI);
  }

  private noise_(a: number): number {
    return (this.r_() * 2 - 1) * a;
  }

  tempC(t: number): number {
    const mean = this.o.meanC ?? 21;
    return mean + (this.o.swingC ?? 4) * this.phase_(t) + this.noise_(this.o.noiseC ?? 0.05);
  }

  rhPct(t: number): number {
    const v = (this.o.meanRh ?? 50) - (this.o.swingRh ?? 15) * this.phase_(t) + this.noise_(this.o.noiseRh ?? 0.3);
    return v < 0 ? 0 : v > 100 ? 100 : v;
  }

  pressurePa(t: number): number {
    return (this.o.meanPa ?? 101325) + 600 * Math.sin(t / (3 * DAY) * 2 * Math.PI) + this.noise_(this.o.noisePa ?? 5);
  }
}

function o0(v: number | undefined): number {
  return v || 0;
}
