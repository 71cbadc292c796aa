// The built-in rotator: one rotation of the API token held by StatefulWorkflow trees, as a Schedule
// starts it. Runs in Temporal's workflow sandbox: @temporalio/workflow and plain TypeScript only.
// The token passes through here only as an activity result and an activity argument, which the
// worker's payload codec encrypts; the result names it by fingerprint and id, never by value.
import { defineQuery, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { ApiTokenRotationActivities } from './activities.js';
import type {
  ApiTokenRotationInput,
  ApiTokenRotationResult,
  ApiTokenRotationStatus,
  RevocationOutcome,
  TreeRotationReport,
} from './types.js';

/** Where the rotation is (no token in it): `tokenrelay rotation schedule describe` shows it. */
export const apiTokenRotationStatusQuery = defineQuery<ApiTokenRotationStatus>('apiTokenRotationStatus');

// Issuing, delivering and revoking are retried until they succeed: an issuer outage delays the
// rotation (the schedule holds back one run it overlaps, not more) and loses nothing. Each failed
// attempt shows in the workflow's pending activity, which `describe` reports.
const quick = proxyActivities<ApiTokenRotationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 seconds' },
});

/**
 * Rotates the API token of the target trees once: finds the trees (listed roots, or every running
 * root a visibility query matches), issues a new token from the worker's TokenSource, signals it to
 * each root, waits until each tree confirms it on every node, and — when asked and when every tree
 * confirmed — revokes the token the schedule's previous rotation issued, after a grace period.
 */
export async function apiTokenRotation(input: ApiTokenRotationInput): Promise<ApiTokenRotationResult> {
  const status: ApiTokenRotationStatus = { phase: 'resolving', targets: 0 };
  setHandler(apiTokenRotationStatusQuery, () => status);
  // Confirming polls the trees; it heartbeats so a lost worker is noticed within seconds.
  const confirming = proxyActivities<ApiTokenRotationActivities>({
    startToCloseTimeout: input.confirmTimeoutMs + 30_000,
    heartbeatTimeout: '15 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 3 },
  });

  const { running, notFound } = await quick.resolveRotationTargets(input.targets);
  status.targets = running.length + notFound.length;
  const missing = notFound.map((workflowId) =>
    notFoundReport(workflowId, 'no running workflow with this id'),
  );
  if (running.length === 0) {
    status.phase = 'done';
    return {
      issued: null,
      trees: missing,
      revocation: { outcome: 'nothing_to_revoke', previous: null },
      ok: false,
    };
  }

  // Looked up before this run issues anything, so it can never find its own token.
  const previous =
    input.revokeAfterMs !== undefined && input.scheduleId
      ? await quick.previousRotation({
          scheduleId: input.scheduleId,
          exceptWorkflowId: workflowInfo().workflowId,
        })
      : null;

  status.phase = 'issuing';
  const issued = await quick.issueApiToken();
  status.phase = 'delivering';
  const delivered = await quick.deliverApiToken({ workflowIds: running, token: issued.token });
  const sent = running.filter((id) => delivered[id] === 'sent');
  const gone = running
    .filter((id) => delivered[id] !== 'sent')
    .map((id) => notFoundReport(id, 'closed before the token reached it'));

  status.phase = 'confirming';
  const confirmed =
    sent.length > 0
      ? await confirming.confirmApiToken({
          workflowIds: sent,
          fingerprint: issued.record.fingerprint,
          timeoutMs: input.confirmTimeoutMs,
        })
      : [];
  const trees = [...confirmed, ...gone, ...missing];
  const ok = trees.every((t) => t.outcome === 'rotated');

  let outcome: RevocationOutcome = 'not_requested';
  if (input.revokeAfterMs !== undefined) {
    if (!previous?.tokenId || previous.fingerprint === issued.record.fingerprint)
      outcome = 'nothing_to_revoke';
    else if (!confirmed.every((t) => t.outcome === 'rotated') || confirmed.length === 0)
      outcome = 'held_back';
    else {
      status.phase = 'revoking';
      // Calls that read the old token just before their node switched are still in flight.
      await sleep(input.revokeAfterMs);
      outcome = await quick.revokeApiToken(previous);
    }
  }
  status.phase = 'done';
  return { issued: issued.record, trees, revocation: { outcome, previous }, ok };
}

function notFoundReport(workflowId: string, detail: string): TreeRotationReport {
  return { workflowId, outcome: 'not_found', nodes: 0, holding: 0, behind: [], version: null, detail };
}
