// The rotator's activities (node side). Each makes only the Temporal calls its step needs, so the
// worker running them can be an identity that may rotate and read metadata but not read raw tokens:
// visibility list / describe (`read`), the `apiToken` signal (`token.rotate`), `apiTokenInfo`
// queries (`read`). Issuing calls the TokenSource; revoking calls the hook — neither touches Temporal.
import { Context } from '@temporalio/activity';
import { type Client, type ScheduleDescription, ScheduleNotFoundError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { decodeJwt } from 'jose';
import { type TokenSourceLike, toTokenSource } from '../../auth/token-source.js';
import { rotateApiToken } from '../client.js';
import { apiTokenFingerprint } from '../fingerprint.js';
import { getApiTokenTree } from '../tree.js';
import {
  API_TOKEN_ROTATION_WORKFLOW,
  type ApiTokenRotationResult,
  type IssuedTokenRecord,
  type RotationTargets,
  type TreeRotationReport,
} from './types.js';

/** A token the rotator issued: the token itself (encrypted in history by the codec) and its record. */
export interface IssuedApiToken {
  token: string;
  record: IssuedTokenRecord;
}

/** Called with the previous token's record once its successor is confirmed everywhere. */
export type RevokeHook = (previous: IssuedTokenRecord) => Promise<void>;

export interface ApiTokenRotationActivityOptions {
  /**
   * Reaches the trees' namespace, with the payload codec the trees' workers use (the token travels
   * in the `apiToken` signal). Its identity needs `read` and `token.rotate` there.
   */
  client: Client;
  /** Where new API tokens come from, e.g. a `ClientCredentialsTokenSource` for the external API. */
  tokenSource: TokenSourceLike;
  /** Revokes a rotated-out token at the API (see {@link revokeByJsonPost}). Default: none. */
  revoke?: RevokeHook;
  /** How often the confirm step walks each tree. Default 500 ms. */
  confirmIntervalMs?: number;
}

/** The activities of {@link apiTokenRotation}; register them on the worker that runs it. */
export type ApiTokenRotationActivities = ReturnType<typeof createApiTokenRotationActivities>;

/** Workflow ids named in a report, at most. */
const MAX_NAMED = 20;
/** How long the confirm step waits for one node's answer, at most. */
const QUERY_TIMEOUT_MS = 5_000;

export function createApiTokenRotationActivities(options: ApiTokenRotationActivityOptions) {
  const { client } = options;
  const source = toTokenSource(options.tokenSource);
  const confirmIntervalMs = options.confirmIntervalMs ?? 500;
  return {
    /** The targets that are running now, and the listed ones that are not (reported, never retried). */
    async resolveRotationTargets(
      targets: RotationTargets,
    ): Promise<{ running: string[]; notFound: string[] }> {
      const running: string[] = [];
      const notFound: string[] = [];
      for (const workflowId of targets.workflowIds ?? []) {
        try {
          const { status } = await client.workflow.getHandle(workflowId).describe();
          (status.name === 'RUNNING' ? running : notFound).push(workflowId);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          notFound.push(workflowId);
        }
      }
      if (targets.query) {
        const query = `(${targets.query}) AND ExecutionStatus = 'Running'`;
        for await (const execution of client.workflow.list({ query })) {
          // A tree is rotated through its root; children get the token from their parents.
          if (execution.parentExecution) continue;
          if (execution.type === API_TOKEN_ROTATION_WORKFLOW) continue;
          if (!running.includes(execution.workflowId)) running.push(execution.workflowId);
        }
      }
      return { running, notFound };
    },

    /**
     * The token the schedule's latest completed rotation issued (from its result: fingerprint and id,
     * no token), or null when there is none (or the schedule is gone).
     *
     * Read from the schedule's own record of the runs it started, not from a visibility list: the
     * list lags behind, and a rotation that starts right after the previous one completed (the run
     * the schedule buffered while it ran) would find the one before it and revoke the wrong token.
     */
    async previousRotation(input: {
      scheduleId: string;
      exceptWorkflowId: string;
    }): Promise<IssuedTokenRecord | null> {
      let recent: ScheduleDescription['info']['recentActions'];
      try {
        recent = (await client.schedule.getHandle(input.scheduleId).describe()).info.recentActions;
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return null;
        throw err;
      }
      const newestFirst = [...recent].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
      for (const { action } of newestFirst) {
        const { workflowId, firstExecutionRunId } = action.workflow;
        if (workflowId === input.exceptWorkflowId) continue;
        const handle = client.workflow.getHandle(workflowId, firstExecutionRunId);
        const status = await handle.describe().then(
          (d) => d.status.name,
          (err: unknown) => {
            // Gone past the namespace's retention: passed over like a run that did not complete.
            if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
            throw err;
          },
        );
        if (status !== 'COMPLETED') continue;
        const result = (await handle.result()) as ApiTokenRotationResult;
        return result?.issued ?? null;
      }
      return null;
    },

    /** A new token from the source; its record names it by fingerprint, `jti` and expiry. */
    async issueApiToken(): Promise<IssuedApiToken> {
      const { token, expiresAt } = await source.getToken();
      return { token, record: recordOf(token, expiresAt) };
    },

    /** Signals `token` to each root; a root that closed meanwhile is `not_found`. */
    async deliverApiToken(input: {
      workflowIds: string[];
      token: string;
    }): Promise<Record<string, 'sent' | 'not_found'>> {
      const outcome: Record<string, 'sent' | 'not_found'> = {};
      for (const workflowId of input.workflowIds) {
        try {
          // Targets are roots (or listed on purpose): no root check, which would cost a query each.
          await rotateApiToken(client, workflowId, input.token, { notRoot: 'ignore' });
          outcome[workflowId] = 'sent';
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          outcome[workflowId] = 'not_found';
        }
        Context.current().heartbeat();
      }
      return outcome;
    },

    /**
     * Walks each tree until every opted-in node holds the token with `fingerprint` (the root holds it
     * and the tree is settled), or `timeoutMs` passed: then the tree is `lagging`, naming the nodes.
     */
    async confirmApiToken(input: {
      workflowIds: string[];
      fingerprint: string;
      timeoutMs: number;
    }): Promise<TreeRotationReport[]> {
      const context = Context.current();
      const deadline = Date.now() + input.timeoutMs;
      const reports = new Map<string, TreeRotationReport>();
      let pending = [...input.workflowIds];
      for (;;) {
        const next: string[] = [];
        for (const workflowId of pending) {
          // A node whose worker stalls holds its query until the timeout: never past the deadline,
          // or one stalled node makes the rotation overrun and delay the next one.
          const queryTimeoutMs = Math.max(1_000, Math.min(QUERY_TIMEOUT_MS, deadline - Date.now()));
          const report = await treeReport(client, workflowId, input.fingerprint, queryTimeoutMs);
          reports.set(workflowId, report);
          if (report.outcome === 'lagging') next.push(workflowId);
          context.heartbeat();
        }
        pending = next;
        if (pending.length === 0 || Date.now() + confirmIntervalMs > deadline) break;
        await context.sleep(confirmIntervalMs);
      }
      return input.workflowIds.map((id) => reports.get(id)!);
    },

    /** Calls the revoke hook for the previous token. */
    async revokeApiToken(previous: IssuedTokenRecord): Promise<'revoked' | 'no_hook'> {
      if (!options.revoke) return 'no_hook';
      await options.revoke(previous);
      return 'revoked';
    },
  };
}

async function treeReport(
  client: Client,
  workflowId: string,
  fingerprint: string,
  queryTimeoutMs: number,
): Promise<TreeRotationReport> {
  let tree: Awaited<ReturnType<typeof getApiTokenTree>>;
  try {
    tree = await getApiTokenTree(client, workflowId, { queryTimeout: queryTimeoutMs });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'tree.workflow_not_found') throw err;
    return {
      workflowId,
      outcome: 'not_found',
      nodes: 0,
      holding: 0,
      behind: [],
      version: null,
      detail: 'closed before it confirmed',
    };
  }
  const [root] = tree.nodes;
  const counted = tree.nodes.filter((n) => !n.excluded && !n.skipped);
  const holding = counted.filter((n) => n.fingerprint === fingerprint).length;
  const behind = counted.filter((n) => n.fingerprint !== fingerprint || n.status !== 'current');
  const rotated = tree.settled && root?.fingerprint === fingerprint && behind.length === 0;
  return {
    workflowId,
    outcome: rotated ? 'rotated' : 'lagging',
    nodes: tree.nodes.length,
    holding,
    behind: behind.slice(0, MAX_NAMED).map((n) => n.workflowId),
    version: root?.version ?? null,
    ...(rotated
      ? {}
      : {
          detail:
            root?.fingerprint !== fingerprint
              ? 'the root holds a different token (a newer rotation, or the signal was not taken)'
              : `${behind.length} of ${counted.length} nodes do not hold the new token yet`,
        }),
  };
}

/** Identifiers of a token for the rotation's result: fingerprint, the JWT's `jti` and expiry. */
export function recordOf(token: string, expiresAt?: number): IssuedTokenRecord {
  let tokenId: string | null = null;
  let exp: number | null = Number.isFinite(expiresAt) ? (expiresAt as number) : null;
  try {
    const claims = decodeJwt(token);
    if (typeof claims.jti === 'string') tokenId = claims.jti;
    if (typeof claims.exp === 'number') exp = claims.exp * 1000;
  } catch {
    // An opaque token: identified by its fingerprint only, and not revocable by id.
  }
  return {
    fingerprint: apiTokenFingerprint(token),
    tokenId,
    expiresAt: exp === null ? null : new Date(exp).toISOString(),
  };
}

/**
 * A revoke hook that POSTs `{"jti": "<token id>"}` as JSON to `url` (the demo API's `/admin/revoke`
 * takes exactly that) and expects a 2xx. A token without an id cannot be revoked this way: skipped.
 */
export function revokeByJsonPost(url: string, init: { headers?: Record<string, string> } = {}): RevokeHook {
  return async (previous) => {
    if (!previous.tokenId) return;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: JSON.stringify({ jti: previous.tokenId }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`revocation of token ${previous.tokenId} refused with HTTP ${res.status}`);
  };
}
