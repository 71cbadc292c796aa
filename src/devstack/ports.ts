import { readFileSync } from 'node:fs';
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

/** A closed range of ports, `low` … `high`. */
export interface PortRange {
  low: number;
  high: number;
}

/** Linux's range when its file cannot be read; other systems use IANA's dynamic range. */
const LINUX_DEFAULT_EPHEMERAL: PortRange = { low: 32768, high: 60999 };
const IANA_EPHEMERAL: PortRange = { low: 49152, high: 65535 };

/**
 * Where the kernel picks the source port of an outgoing connection. A server told to listen on a fixed
 * port inside this range can find it taken by any client connection of the moment (seen in a test run:
 * the bench's server failed to bind a port an unrelated loopback connection held), so fixed ports
 * belong below it. Linux's live setting when `platform` is Linux and the file reads, else a default.
 */
export function ephemeralPortRange(
  platform: NodeJS.Platform = process.platform,
  readRangeFile: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): PortRange {
  if (platform !== 'linux') return IANA_EPHEMERAL;
  try {
    const [low, high] = readRangeFile().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!)
      return { low: low!, high: high! };
  } catch {
    // No /proc (a container without it): the kernel's default is the best guess.
  }
  return LINUX_DEFAULT_EPHEMERAL;
}

/** Whether any port of `ports` can also be handed out as a source port (see {@link ephemeralPortRange}). */
export function overlapsEphemeral(ports: PortRange, ephemeral: PortRange = ephemeralPortRange()): boolean {
  return ports.low <= ephemeral.high && ports.high >= ephemeral.low;
}
