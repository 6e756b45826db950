import type { StatValue } from '../stats/stats';

/** Sums stats of the same name across processes, as Envoy merges its workers' stats. */
export function sumStats(sources: readonly (readonly StatValue[])[]): StatValue[] {
  const byName = new Map<string, StatValue>();
  for (const stats of sources) {
    for (const stat of stats) {
      const seen = byName.get(stat.name);
      byName.set(stat.name, seen ? { ...seen, value: seen.value + stat.value } : { ...stat });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
