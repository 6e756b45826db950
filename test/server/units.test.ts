import type * as net from 'node:net';
import { formatStatsJson, formatStatsPrometheus, formatStatsText, prometheusName } from '../../src/admin/stats_format';
import { listenerStatPrefix } from '../../src/server/listener_address';
import { sumStats } from '../../src/server/stats_aggregation';
import type { StatValue } from '../../src/stats/stats';
import { RoundRobinLoadBalancer } from '../../src/upstream/round_robin_lb';

const address = (addr: string, family: string, port: number) => ({ address: addr, family, port }) as net.AddressInfo;

describe('listener stat names', () => {
  it("follow Envoy's listener.<address>_<port> with ':' sanitized", () => {
    expect(listenerStatPrefix(address('127.0.0.1', 'IPv4', 10000), '')).toBe('listener.127.0.0.1_10000.');
    expect(listenerStatPrefix(address('::1', 'IPv6', 10000), '')).toBe('listener.[__1]_10000.');
    expect(listenerStatPrefix(address('127.0.0.1', 'IPv4', 10000), 'ingress')).toBe('listener.ingress.');
  });
});

describe('stats formats', () => {
  const stats: StatValue[] = [
    { name: 'z.count', kind: 'counter', value: 2 },
    { name: 'a.gauge', kind: 'gauge', value: -1 },
  ];

  it('text, json and prometheus are sorted by name', () => {
    expect(formatStatsText(stats)).toBe('a.gauge: -1\nz.count: 2\n');
    expect(JSON.parse(formatStatsJson(stats))).toEqual({ stats: [{ name: 'a.gauge', value: -1 }, { name: 'z.count', value: 2 }] });
    expect(formatStatsPrometheus(stats)).toBe('# TYPE envoy_a_gauge gauge\nenvoy_a_gauge -1\n# TYPE envoy_z_count counter\nenvoy_z_count 2\n');
    expect(prometheusName('listener.[__1]_80.downstream_cx_total')).toBe('envoy_listener____1__80_downstream_cx_total');
  });

  it('sums the same stat across processes', () => {
    expect(sumStats([stats, [{ name: 'z.count', kind: 'counter', value: 3 }]])).toEqual([
      { name: 'a.gauge', kind: 'gauge', value: -1 },
      { name: 'z.count', kind: 'counter', value: 5 },
    ]);
  });
});

describe('RoundRobinLoadBalancer', () => {
  it('takes each host in turn and has nothing to offer without hosts', () => {
    const lb = new RoundRobinLoadBalancer(['a', 'b', 'c']);
    expect([1, 2, 3, 4, 5].map(() => lb.chooseHost())).toEqual(['a', 'b', 'c', 'a', 'b']);
    expect(new RoundRobinLoadBalancer([]).chooseHost()).toBeUndefined();
  });
});
