// Counters from a Prometheus text endpoint (the Temporal server's `metricsUrl`). No vitest here, so
// the benchmarks read the same counters as the tests.

/** The sum of every sample line of `text` that `metric` matches (name and labels, before the value). */
export function sumMetricText(text: string, metric: RegExp): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !metric.test(line)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** {@link sumMetricText} of what `url` serves now. */
export async function sumMetric(url: string, metric: RegExp): Promise<number> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return sumMetricText(await response.text(), metric);
}

/**
 * A matcher for the server's `persistence_requests` counter of `operation` in `namespace`: how many
 * times the history service wrote (or read) a workflow's state for that namespace.
 */
export function persistenceRequests(namespace: string, operation: string): RegExp {
  const quoted = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^persistence_requests\\{(?=[^}]*\\bnamespace="${quoted(namespace)}")(?=[^}]*\\boperation="${quoted(operation)}")`,
  );
}
