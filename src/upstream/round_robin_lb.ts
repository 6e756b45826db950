/** Envoy's RoundRobinLoadBalancer without weights: each pick takes the next host in turn. */
export class RoundRobinLoadBalancer<H> {
  private next = 0;

  constructor(private readonly hosts: readonly H[]) {}

  chooseHost(): H | undefined {
    if (this.hosts.length === 0) return undefined;
    const host = this.hosts[this.next % this.hosts.length];
    this.next = (this.next + 1) % this.hosts.length;
    return host;
  }
}
