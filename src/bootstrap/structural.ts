/** Checks that need the whole bootstrap rather than one message. */
import * as net from 'node:net';
import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/bootstrap';
import type { Address } from '../generated/envoy/config/core/v3/address';
import type { ConfigIssue } from './errors';

function checkIpLiteral(address: Address | undefined, path: string, what: string, issues: ConfigIssue[]): void {
  const ip = address?.socket_address?.address;
  if (ip === undefined || ip === '' || net.isIP(ip) !== 0) return;
  issues.push({
    path: `${path}.socket_address.address`,
    message: `must be an IPv4 or IPv6 address, not a hostname (got '${ip}'): ${what}`,
  });
}

function checkUnique(names: string[], path: (i: number) => string, what: string, issues: ConfigIssue[]): void {
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    const j = first.get(name);
    if (j === undefined) first.set(name, i);
    else issues.push({ path: path(i), message: `duplicate ${what} name '${name}' (first used at index ${j})` });
  });
}

export function checkStructure(bootstrap: Bootstrap): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const listeners = bootstrap.static_resources?.listeners ?? [];
  const clusters = bootstrap.static_resources?.clusters ?? [];
  checkUnique(listeners.map((l) => l.name), (i) => `static_resources.listeners[${i}].name`, 'listener', issues);
  checkUnique(clusters.map((c) => c.name), (i) => `static_resources.clusters[${i}].name`, 'cluster', issues);
  listeners.forEach((listener, i) => {
    const path = `static_resources.listeners[${i}].address`;
    if (!listener.address) issues.push({ path, message: 'is required (a static listener needs an address)' });
    else checkIpLiteral(listener.address, path, 'listeners bind to IP literals', issues);
  });
  clusters.forEach((cluster, i) => {
    cluster.load_assignment?.endpoints.forEach((locality, j) =>
      locality.lb_endpoints.forEach((lb, k) => {
        const path = `static_resources.clusters[${i}].load_assignment.endpoints[${j}].lb_endpoints[${k}].endpoint.address`;
        checkIpLiteral(lb.endpoint?.address, path, 'STATIC cluster endpoints are IP literals', issues);
      }),
    );
  });
  if (bootstrap.admin?.address) checkIpLiteral(bootstrap.admin.address, 'admin.address', 'the admin listener binds to an IP literal', issues);
  return issues;
}
