/**
 * A small stats store with Envoy's naming ("listener.127.0.0.1_10000.downstream_cx_total").
 * Counters only grow; gauges go up and down. Providers add values computed at read time (for
 * example counters kept by the kernel in a BPF map).
 */
export interface Counter {
  inc(by?: number): void;
  value(): number;
}

export interface Gauge {
  inc(by?: number): void;
  dec(by?: number): void;
  set(value: number): void;
  value(): number;
}

export type StatKind = 'counter' | 'gauge';
export interface StatValue {
  name: string;
  kind: StatKind;
  value: number;
}

/** Returns values that are read when stats are read, e.g. kernel-side counters. */
export type StatsProvider = () => StatValue[];

export class StatsStore {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();
  private readonly providers: StatsProvider[] = [];

  counter(name: string): Counter {
    if (!this.counters.has(name)) this.counters.set(name, 0);
    const map = this.counters;
    return {
      inc: (by = 1) => map.set(name, (map.get(name) ?? 0) + by),
      value: () => map.get(name) ?? 0,
    };
  }

  gauge(name: string): Gauge {
    if (!this.gauges.has(name)) this.gauges.set(name, 0);
    const map = this.gauges;
    return {
      inc: (by = 1) => map.set(name, (map.get(name) ?? 0) + by),
      dec: (by = 1) => map.set(name, (map.get(name) ?? 0) - by),
      set: (v) => map.set(name, v),
      value: () => map.get(name) ?? 0,
    };
  }

  addProvider(provider: StatsProvider): void {
    this.providers.push(provider);
  }

  /** Every stat, sorted by name. */
  snapshot(): StatValue[] {
    const all: StatValue[] = [];
    for (const [name, value] of this.counters) all.push({ name, kind: 'counter', value });
    for (const [name, value] of this.gauges) all.push({ name, kind: 'gauge', value });
    for (const provider of this.providers) all.push(...provider());
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }
}
