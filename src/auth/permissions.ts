// The permission grammar of tokenrelay's JWTs, shared by the issuer (which refuses applications whose
// permissions do not parse) and by node-side services that decide on token access (the codec server).
// The Temporal server build in server/ implements the same grammar in Go; docs/architecture.md holds
// the table both follow.

/** Temporal's namespace roles, with Temporal's own meaning. */
export const temporalRoles = ['read', 'write', 'worker', 'admin'] as const;
export type TemporalRole = (typeof temporalRoles)[number];

/**
 * tokenrelay's grants. Roles never imply the `token.*` ones: reading or rotating a raw API token needs
 * an explicit grant even for a namespace or cluster admin.
 */
export const grantActions = [
  'token.rotate',
  'token.read',
  // Sending the reserved parent→child handoff signal: for workers, which relay their workflows'
  // handoffs over their own connection (docs/architecture.md §3).
  'token.handoff',
  'workflow.start',
  'workflow.signal',
  'workflow.query',
  'workflow.cancel',
  'workflow.terminate',
  'taskqueue.poll',
] as const;
export type GrantAction = (typeof grantActions)[number];

export type Permission =
  | { kind: 'role'; namespace: string; role: TemporalRole }
  /** `pattern` matches a workflow type, or a task queue name for `taskqueue.poll`. */
  | { kind: 'grant'; namespace: string; action: GrantAction; pattern: string };

// A namespace name, or `*` for every namespace. `temporal-system` names the whole cluster (roles only).
const namespacePart = '(\\*|[A-Za-z0-9][A-Za-z0-9._-]{0,254})';
const rolePattern = new RegExp(`^${namespacePart}:(read|write|worker|admin)$`);
const grantPattern = new RegExp(
  `^${namespacePart}:(${grantActions.map((a) => a.replace('.', '\\.')).join('|')})(?::([A-Za-z0-9._/*-]{1,255}))?$`,
);

/** Parses one permission string; undefined when it is not in the grammar. */
export function parsePermission(value: string): Permission | undefined {
  const role = rolePattern.exec(value);
  if (role) return { kind: 'role', namespace: role[1] as string, role: role[2] as TemporalRole };
  const grant = grantPattern.exec(value);
  if (!grant) return undefined;
  return {
    kind: 'grant',
    namespace: grant[1] as string,
    action: grant[2] as GrantAction,
    pattern: grant[3] ?? '*',
  };
}

/** Whether `value` is a permission string of the grammar. */
export function isPermission(value: unknown): value is string {
  return typeof value === 'string' && parsePermission(value) !== undefined;
}

/**
 * Why `value` is not a permission, for error messages that tell the user what to write instead.
 * Undefined when it is one.
 */
export function permissionProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'a permission must be a string';
  if (parsePermission(value)) return undefined;
  return (
    `"${value.slice(0, 80)}" is not a permission: expected <namespace>:<role> (role: ${temporalRoles.join(', ')}) ` +
    `or <namespace>:<grant>[:<pattern>] (grant: ${grantActions.join(', ')}; pattern: letters, digits, . _ / - and * wildcards)`
  );
}

/** Whether the glob `pattern` (`*` = any run of characters) matches `name` entirely. */
export function globMatches(pattern: string, name: string): boolean {
  // Iterative wildcard match: linear-ish and immune to the backtracking blow-up a RegExp could hit.
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The permissions of one token, parsed once, answering "may this caller do X". */
export class Permissions {
  readonly #parsed: Permission[];

  /** Strings that do not parse are ignored here; the issuer refuses them before they are ever signed. */
  constructor(values: readonly unknown[]) {
    this.#parsed = values.flatMap((v) => {
      const p = typeof v === 'string' ? parsePermission(v) : undefined;
      return p ? [p] : [];
    });
  }

  /** Whether a grant for `action` in `namespace` matches `target` (a workflow type or task queue). */
  allows(namespace: string, action: GrantAction, target: string): boolean {
    return this.#parsed.some(
      (p) =>
        p.kind === 'grant' &&
        p.action === action &&
        namespaceMatches(p.namespace, namespace) &&
        globMatches(p.pattern, target),
    );
  }

  /** The strongest Temporal role held in `namespace` (cluster-wide `temporal-system` roles count). */
  role(namespace: string): TemporalRole | undefined {
    let best = -1;
    for (const p of this.#parsed) {
      if (p.kind !== 'role') continue;
      if (p.namespace === 'temporal-system' || namespaceMatches(p.namespace, namespace)) {
        best = Math.max(best, roleRank(p.role));
      }
    }
    return best < 0 ? undefined : roleOrder[best];
  }
}

// Temporal's role bits compare as numbers: worker (1) < read (2) < write (4) < admin (8).
const roleOrder: readonly TemporalRole[] = ['worker', 'read', 'write', 'admin'];
function roleRank(role: TemporalRole): number {
  return roleOrder.indexOf(role);
}

function namespaceMatches(pattern: string, namespace: string): boolean {
  return pattern === '*' || pattern === namespace;
}
