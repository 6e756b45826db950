import type { StatValue } from '../stats/stats';

/** Envoy's /stats text: one "name: value" line per stat, sorted by name. */
export function formatStatsText(stats: readonly StatValue[]): string {
  return sortByName(stats).map((s) => `${s.name}: ${s.value}\n`).join('');
}

/** Envoy's /stats?format=json: {"stats":[{"name":...,"value":...}]}. */
export function formatStatsJson(stats: readonly StatValue[]): string {
  return JSON.stringify({ stats: sortByName(stats).map(({ name, value }) => ({ name, value })) });
}

/** "listener.127.0.0.1_80.downstream_cx_total" -> "envoy_listener_127_0_0_1_80_downstream_cx_total". */
export function prometheusName(statName: string): string {
  return `envoy_${statName.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** Prometheus text exposition (version 0.0.4) with a TYPE line per metric. */
export function formatStatsPrometheus(stats: readonly StatValue[]): string {
  return sortByName(stats)
    .map((s) => {
      const name = prometheusName(s.name);
      return `# TYPE ${name} ${s.kind}\n${name} ${s.value}\n`;
    })
    .join('');
}

function sortByName(stats: readonly StatValue[]): StatValue[] {
  return [...stats].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
