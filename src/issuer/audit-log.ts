import { appendFile } from 'node:fs/promises';

/**
 * Who did an admin action: `os:<user>` for the CLI (the OS account that ran it), or what an embedding
 * service passes, e.g. `credential:<keyId>` for a caller authenticated with an admin credential.
 */
export type AuditActor = string;

/** Fields every admin action records: who, and why when they said. */
export interface AdminAuditFields {
  actor: AuditActor;
  reason?: string;
}

/** A field changed by `app update`: its value before and after (absent = the issuer default). */
export interface FieldChange<T> {
  from?: T;
  to?: T;
}

/** Everything the audit log records. Fields hold ids and reasons only, never a secret or a token. */
export type AuditEvent =
  | {
      event: 'token_issued';
      app: string;
      keyId: string;
      kid: string;
      jti: string;
      expiresAt: string;
      endpoint: string;
      ip?: string;
    }
  | { event: 'token_failed'; reason: string; keyId?: string; endpoint: string; ip?: string }
  | {
      event: 'rate_limited';
      scope: 'ip' | 'key';
      /** Why the attempt failed (bad_secret, unknown_key, ...): a 429 answers failed attempts only. */
      reason?: string;
      keyId?: string;
      endpoint: string;
      ip?: string;
    }
  | ({
      event: 'app_created';
      app: string;
      permissions: string[];
      tokenLifetimeSeconds?: number;
      audience?: string;
    } & AdminAuditFields)
  | ({ event: 'app_deleted'; app: string } & AdminAuditFields)
  | ({
      event: 'app_updated';
      app: string;
      changes: {
        permissions?: FieldChange<string[]>;
        tokenLifetimeSeconds?: FieldChange<number>;
        audience?: FieldChange<string>;
        description?: FieldChange<string>;
      };
    } & AdminAuditFields)
  | ({ event: 'key_created'; app: string; keyId: string; expiresAt?: string } & AdminAuditFields)
  | ({
      event: 'key_paused' | 'key_resumed' | 'key_revoked' | 'key_deleted';
      app: string;
      keyId: string;
    } & AdminAuditFields)
  | ({
      event: 'signing_key_rotated';
      kid: string;
      alg: string;
      activatesAt: string;
      previousKid?: string;
    } & Partial<AdminAuditFields>);

/** Receives audit events; {@link AuditLog} writes them to a file, tests may collect them. */
export type AuditSink = (event: AuditEvent) => void | Promise<void>;

/**
 * An append-only JSON-lines file, one event per line with a timestamp. Each line is written with a
 * single O_APPEND write, so lines from the issuer and from CLI processes interleave without tearing.
 */
export class AuditLog {
  readonly path: string;
  private readonly now: () => number;
  private pending: Promise<void> = Promise.resolve();

  constructor(path: string, options: { now?: () => number } = {}) {
    this.path = path;
    this.now = options.now ?? Date.now;
  }

  /** Appends `event`; resolves when it is on disk. Writes from one process keep their order. */
  record(event: AuditEvent): Promise<void> {
    const line = `${JSON.stringify({ time: new Date(this.now()).toISOString(), ...event })}\n`;
    const write = this.pending.then(() => appendFile(this.path, line, { mode: 0o600 }));
    // A failed write must not poison every later one; the caller of this write still sees the error.
    this.pending = write.catch(() => {});
    return write;
  }

  /** Resolves once every event recorded so far is written. */
  flush(): Promise<void> {
    return this.pending;
  }
}
