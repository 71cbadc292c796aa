import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The issuer's Prometheus metrics, in a registry of their own so that two issuers in one process (tests)
 * or an application embedding the issuer never collide on metric names in the global registry.
 */
export class IssuerMetrics {
  readonly registry = new Registry();
  readonly tokensIssued = new Counter({
    name: 'tokenrelay_issuer_tokens_issued_total',
    help: 'Tokens issued, by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly tokenFailures = new Counter({
    name: 'tokenrelay_issuer_token_failures_total',
    help: 'Refused token requests, by reason (invalid_client, invalid_request, rate_limited, ...)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'tokenrelay_issuer_request_duration_seconds',
    help: 'HTTP request duration, by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'tokenrelay_issuer_rate_limited_total',
    help: 'Failed attempts answered with 429, by the limit that was hit (ip or key)',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly stateFileErrors = new Counter({
    name: 'tokenrelay_issuer_state_file_errors_total',
    help: 'Versions of a state file the running issuer could not use (it kept the last good one), by file',
    labelNames: ['file'] as const,
    registers: [this.registry],
  });
  readonly stateFileStale = new Gauge({
    name: 'tokenrelay_issuer_state_file_stale',
    help: '1 while the issuer serves an older copy of a state file because the current one is unusable',
    labelNames: ['file'] as const,
    registers: [this.registry],
  });
  readonly tlsReloads = new Counter({
    name: 'tokenrelay_issuer_tls_reloads_total',
    help: 'Certificate reloads, by outcome (ok, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
}
