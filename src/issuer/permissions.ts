/** Temporal's namespace roles, as its default claim mapper reads them from `<namespace>:<role>`. */
export const temporalRoles = ['read', 'write', 'worker', 'admin'] as const;
export type TemporalRole = (typeof temporalRoles)[number];

// Temporal namespace names: letters, digits, `-`, `_`, `.`; `temporal-system` means the whole cluster.
const permissionPattern = /^([A-Za-z0-9][A-Za-z0-9._-]{0,254}):(read|write|worker|admin)$/;

export function isPermission(value: unknown): value is string {
  return typeof value === 'string' && permissionPattern.test(value);
}

export function parsePermission(value: string): { namespace: string; role: TemporalRole } | undefined {
  const match = permissionPattern.exec(value);
  if (!match) return undefined;
  return { namespace: match[1] as string, role: match[2] as TemporalRole };
}
