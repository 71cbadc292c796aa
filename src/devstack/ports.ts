import { createServer } from 'node:net';
import { DevStackError } from './errors.js';

export interface DevPorts {
  /** The base the plan derives from; temporal-dev.yml derives the same ports from it. */
  base: number;
  issuer: number;
  /** The reference application's protected API. */
  demoApi: number;
  frontend: number;
  /** The Temporal server's Prometheus endpoint. */
  temporalMetrics: number;
  /** Every port the Temporal server listens on, with a name for error messages. */
  temporal: Array<{ port: number; role: string }>;
}

/** Port plan from one base, matching the offsets in temporal-dev.yml. Default base 17200 (frontend 17233). */
export function devPorts(base: number = Number(process.env.TOKENRELAY_PORT_BASE ?? 17200)): DevPorts {
  if (!Number.isInteger(base) || base < 1024 || base > 65_000) {
    throw new DevStackError(
      'devstack.invalid_state',
      `TOKENRELAY_PORT_BASE must be an integer 1024-65000, got ${base}`,
    );
  }
  const at = (offset: number, role: string) => ({ port: base + offset, role });
  return {
    base,
    issuer: base + 180,
    demoApi: base + 181,
    frontend: base + 33,
    temporalMetrics: base + 90,
    temporal: [
      at(33, 'Temporal frontend gRPC'),
      at(43, 'Temporal frontend membership'),
      at(53, 'Temporal frontend HTTP'),
      at(36, 'Temporal internal-frontend gRPC'),
      at(46, 'Temporal internal-frontend membership'),
      at(56, 'Temporal internal-frontend HTTP'),
      at(34, 'Temporal history gRPC'),
      at(44, 'Temporal history membership'),
      at(35, 'Temporal matching gRPC'),
      at(45, 'Temporal matching membership'),
      at(39, 'Temporal worker gRPC'),
      at(49, 'Temporal worker membership'),
      at(90, 'Temporal Prometheus metrics'),
    ],
  };
}

/** Fails with one clear error naming the first taken port, its role, and how to get out of the way. */
export async function assertPortsFree(ports: Array<{ port: number; role: string }>): Promise<void> {
  for (const { port, role } of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) {
      throw new DevStackError(
        'devstack.port_in_use',
        `port ${port} (${role}) is already in use. Run \`tokenrelay dev down\` if it is an old stack, ` +
          `find the owner with \`ss -ltnp 'sport = :${port}'\`, or pick other ports with TOKENRELAY_PORT_BASE`,
      );
    }
  }
}
