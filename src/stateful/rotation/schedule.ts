// Rotation on a schedule: a real Temporal Schedule that starts the built-in rotator
// (`apiTokenRotation`) every interval, holding back one run while the previous one is still going
// (it starts as soon as that one ends) and catching up at most one missed run. Node side.
import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  type ScheduleHandle,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { RotationError } from './errors.js';
import { assertIntervalFitsLifetime, defaultRotationIntervalMs, durationMs } from './interval.js';
import {
  API_TOKEN_ROTATION_WORKFLOW,
  type ApiTokenRotationInput,
  type ApiTokenRotationResult,
  DEFAULT_ROTATION_TASK_QUEUE,
  type RotationTargets,
} from './types.js';

export interface ScheduleApiTokenRotationOptions {
  /** The Schedule's id; rotations it starts get workflow ids `<scheduleId>-<time>`. */
  scheduleId: string;
  /** Rotate this often. Give `every` or `cron`, or neither and `tokenLifetime` (a third of it). */
  every?: Duration;
  /** A cron expression (5 to 7 fields, UTC) instead of `every`. */
  cron?: string;
  /**
   * How long the API tokens live. Without `every`/`cron` the interval is a third of it; with `every`,
   * an interval of half the lifetime or more is refused (one failed rotation would let tokens expire).
   */
  tokenLifetime?: Duration;
  targets: RotationTargets;
  /** The rotation worker's task queue. Default `tokenrelay-rotation`. */
  taskQueue?: string;
  /**
   * How long a rotation waits for every tree to confirm. Default: 70 % of the interval less
   * `revokeAfter` (at least 1 s, at most 60 s).
   */
  confirmTimeout?: Duration;
  /**
   * Revoke the previous rotation's token this long after every tree confirmed the new one (through
   * the worker's revoke hook). Must be shorter than the interval. Default: never revoke.
   */
  revokeAfter?: Duration;
  /** Missed rotations (server down) are caught up within this window, one at most. Default: the interval, at least 10 s. */
  catchupWindow?: Duration;
  /** Create it paused. */
  paused?: boolean;
  /** Run the first rotation right away instead of after one interval. */
  triggerImmediately?: boolean;
}

/** The options as checked and resolved to numbers (ms). */
export interface RotationSchedulePlan {
  scheduleId: string;
  /** null when a cron expression sets the times. */
  everyMs: number | null;
  cron: string | null;
  taskQueue: string;
  input: ApiTokenRotationInput;
  catchupWindowMs: number;
}

const scheduleIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

/** Checks and resolves the options without contacting Temporal. */
export function planApiTokenRotation(options: ScheduleApiTokenRotationOptions): RotationSchedulePlan {
  const invalid = (message: string) => new RotationError('rotation.invalid_option', message);
  if (typeof options?.scheduleId !== 'string' || !scheduleIdPattern.test(options.scheduleId)) {
    throw invalid('scheduleId must be 1-200 letters, digits or ._:/- starting with a letter or digit');
  }
  const targets = checkTargets(options.targets);
  if (options.every !== undefined && options.cron !== undefined)
    throw invalid('give every or cron, not both');
  const lifetimeMs =
    options.tokenLifetime === undefined ? undefined : durationMs(options.tokenLifetime, 'tokenLifetime');
  let everyMs: number | null = null;
  let cron: string | null = null;
  if (options.cron !== undefined) {
    const fields = typeof options.cron === 'string' ? options.cron.trim().split(/\s+/) : [];
    if (fields.length < 5 || fields.length > 7) throw invalid('cron must have 5 to 7 fields');
    cron = fields.join(' ');
  } else if (options.every !== undefined) {
    everyMs = durationMs(options.every, 'every');
    if (everyMs < 1_000) throw invalid('every must be at least 1 s');
    if (lifetimeMs !== undefined) assertIntervalFitsLifetime(everyMs, lifetimeMs);
  } else if (lifetimeMs !== undefined) {
    everyMs = defaultRotationIntervalMs(lifetimeMs);
  } else {
    throw invalid('give every, cron, or tokenLifetime (the interval is then a third of it)');
  }
  const period = everyMs ?? 60_000;
  const revokeAfterMs =
    options.revokeAfter === undefined ? undefined : durationMs(options.revokeAfter, 'revokeAfter');
  // Long enough for a busy cluster, short enough that confirming and the revocation grace end
  // before the next rotation is due (which then waits for it).
  const confirmTimeoutMs =
    options.confirmTimeout === undefined
      ? Math.min(60_000, Math.max(1_000, Math.floor(period * 0.7) - (revokeAfterMs ?? 0)))
      : durationMs(options.confirmTimeout, 'confirmTimeout');
  if (revokeAfterMs !== undefined && everyMs !== null && revokeAfterMs >= everyMs) {
    throw invalid('revokeAfter must be shorter than the interval, or every rotation delays the next');
  }
  const catchupWindowMs =
    options.catchupWindow === undefined
      ? Math.max(10_000, period)
      : durationMs(options.catchupWindow, 'catchupWindow');
  // Temporal's own floor: a shorter catch-up window is raised to 10 s by the server.
  if (catchupWindowMs < 10_000) throw invalid('catchupWindow must be at least 10 s');
  const taskQueue = options.taskQueue ?? DEFAULT_ROTATION_TASK_QUEUE;
  if (typeof taskQueue !== 'string' || taskQueue.trim() === '')
    throw invalid('taskQueue must be a non-empty string');
  return {
    scheduleId: options.scheduleId,
    everyMs,
    cron,
    taskQueue,
    input: {
      targets,
      confirmTimeoutMs,
      ...(revokeAfterMs !== undefined ? { revokeAfterMs } : {}),
      scheduleId: options.scheduleId,
    },
    catchupWindowMs,
  };
}

function checkTargets(targets: RotationTargets | undefined): RotationTargets {
  const invalid = (message: string) => new RotationError('rotation.invalid_option', message);
  if (typeof targets !== 'object' || targets === null)
    throw invalid('targets must be { workflowIds?, query? }');
  const ids = targets.workflowIds ?? [];
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id.trim() === '')) {
    throw invalid('targets.workflowIds must be non-empty strings');
  }
  const query = targets.query?.trim();
  if (targets.query !== undefined && (typeof targets.query !== 'string' || !query)) {
    throw invalid('targets.query must be a non-empty visibility query');
  }
  if (ids.length === 0 && !query)
    throw invalid('name the targets: targets.workflowIds, targets.query, or both');
  return { ...(ids.length ? { workflowIds: [...new Set(ids)] } : {}), ...(query ? { query } : {}) };
}

/**
 * Creates a Temporal Schedule that rotates the targets' API token every interval with the built-in
 * rotator. A rotation worker must poll `taskQueue` (see `startApiTokenRotationWorker`).
 *
 * @example
 * ```ts
 * await scheduleApiTokenRotation(client, {
 *   scheduleId: 'catalog-sync-rotation',
 *   tokenLifetime: '1h', // rotates every 20 minutes
 *   targets: { query: "WorkflowType = 'catalogSync'" },
 *   revokeAfter: '30s',
 * });
 * ```
 */
export async function scheduleApiTokenRotation(
  client: Client,
  options: ScheduleApiTokenRotationOptions,
): Promise<{ handle: ScheduleHandle; plan: RotationSchedulePlan }> {
  const plan = planApiTokenRotation(options);
  const immediately = options.triggerImmediately ?? false;
  let handle: ScheduleHandle;
  try {
    handle = await client.schedule.create({
      scheduleId: plan.scheduleId,
      spec:
        plan.everyMs !== null
          ? {
              intervals: [
                { every: plan.everyMs, ...(immediately ? { offset: firstTickOffset(plan.everyMs) } : {}) },
              ],
            }
          : { cronExpressions: [plan.cron!] },
      action: {
        type: 'startWorkflow',
        workflowType: API_TOKEN_ROTATION_WORKFLOW,
        workflowId: plan.scheduleId,
        taskQueue: plan.taskQueue,
        args: [plan.input],
      },
      // The spec comes back compiled to calendars; the expression itself is kept for `describe`.
      ...(plan.cron ? { memo: { cron: plan.cron } } : {}),
      policies: {
        // A rotation that overruns its interval (a loaded cluster, a slow tree, an issuer outage)
        // delays the next one instead of dropping it: dropped, the tree's token would have to live a
        // whole interval longer. At most one waits; the schedule drops the rest.
        overlap: ScheduleOverlapPolicy.BUFFER_ONE,
        catchupWindow: plan.catchupWindowMs,
        // A failed rotation must not stop the ones after it: the next run tries again.
        pauseOnFailure: false,
      },
      state: {
        paused: options.paused ?? false,
        note: 'API token rotation (tokenrelay)',
      },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) {
      throw new RotationError(
        'rotation.schedule_exists',
        `a schedule ${plan.scheduleId} exists already: delete it first, or choose another id`,
        { cause: err },
      );
    }
    throw err;
  }
  if (immediately) {
    // Not the create request's `triggerImmediately`: the client sends that one as ALLOW_ALL, and a
    // run started so is not tracked as running, so a regular run that came due while it overran
    // started beside it. An interval schedule's phase is shifted as well, so that its first regular
    // run is one whole interval after this one.
    await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
  }
  return { handle, plan };
}

/** The interval offset that puts the first regular run one interval from now. */
function firstTickOffset(everyMs: number): number {
  return Date.now() % everyMs;
}

/** Stops further rotations until resumed (a running one finishes). */
export async function pauseApiTokenRotation(
  client: Client,
  scheduleId: string,
  note?: string,
): Promise<void> {
  await onSchedule(client, scheduleId, (h) => h.pause(note ?? 'paused (tokenrelay)'));
}

export async function resumeApiTokenRotation(
  client: Client,
  scheduleId: string,
  note?: string,
): Promise<void> {
  await onSchedule(client, scheduleId, (h) => h.unpause(note ?? 'resumed (tokenrelay)'));
}

/** Starts a rotation now; if one is running, right after it (never two at once). */
export async function triggerApiTokenRotation(client: Client, scheduleId: string): Promise<void> {
  await onSchedule(client, scheduleId, (h) => h.trigger(ScheduleOverlapPolicy.BUFFER_ONE));
}

/** Deletes the schedule; a rotation already running finishes. */
export async function deleteApiTokenRotation(client: Client, scheduleId: string): Promise<void> {
  await onSchedule(client, scheduleId, (h) => h.delete());
}

/** One rotation the schedule started, as `describe` reports it. */
export interface RotationRun {
  workflowId: string;
  runId: string;
  startedAt: string;
  status: string;
  /** Completed: the result (per tree, no token). */
  result?: ApiTokenRotationResult;
  /** Failed, timed out or terminated: why. */
  failure?: string;
  /** Running: activities being retried, with their attempt and the last failure. */
  retrying?: Array<{ activity: string; attempt: number; lastFailure: string | null }>;
}

export interface RotationScheduleDescription {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  everyMs: number | null;
  cron: string | null;
  taskQueue: string | null;
  input: ApiTokenRotationInput | null;
  nextRotations: string[];
  rotationsStarted: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
  /** Newest last. */
  runs: RotationRun[];
  /** What needs attention: failing or lagging rotations, missing targets (empty when healthy). */
  problems: string[];
}

/**
 * The schedule, its next times, and its recent and running rotations with their outcome: a rotation
 * that is being retried shows its attempt count and last failure as soon as the first attempt failed.
 */
export async function describeApiTokenRotation(
  client: Client,
  scheduleId: string,
): Promise<RotationScheduleDescription> {
  const description = await onSchedule(client, scheduleId, (h) => h.describe());
  const action = description.action as Partial<ScheduleDescription['action']>;
  const input = (action.args?.[0] ?? null) as ApiTokenRotationInput | null;
  const every = description.spec.intervals?.[0]?.every;
  const started = new Map<string, { runId: string; takenAt: Date }>();
  for (const recent of description.info.recentActions) {
    started.set(recent.action.workflow.workflowId, {
      runId: recent.action.workflow.firstExecutionRunId,
      takenAt: recent.takenAt,
    });
  }
  const runs = await Promise.all(
    [...started].map(([workflowId, { runId, takenAt }]) => rotationRun(client, workflowId, runId, takenAt)),
  );
  return {
    scheduleId,
    paused: description.state.paused,
    note: description.state.note ?? null,
    everyMs: every === undefined ? null : Number(every),
    cron: typeof description.memo?.cron === 'string' ? description.memo.cron : null,
    taskQueue: typeof action.taskQueue === 'string' ? action.taskQueue : null,
    input,
    nextRotations: description.info.nextActionTimes.map((d) => d.toISOString()),
    rotationsStarted: description.info.numActionsTaken,
    skippedOverlap: description.info.numActionsSkippedOverlap,
    missedCatchupWindow: description.info.numActionsMissedCatchupWindow,
    runs,
    problems: problemsOf(runs),
  };
}

/** Schedules in the namespace that run the built-in rotator. */
export async function listApiTokenRotations(
  client: Client,
): Promise<
  Array<{ scheduleId: string; paused: boolean; every: string | null; nextRotation: string | null }>
> {
  const out = [];
  for await (const summary of client.schedule.list()) {
    if (summary.action?.workflowType !== API_TOKEN_ROTATION_WORKFLOW) continue;
    const every = summary.spec?.intervals?.[0]?.every;
    out.push({
      scheduleId: summary.scheduleId,
      paused: summary.state.paused,
      every:
        every === undefined
          ? typeof summary.memo?.cron === 'string'
            ? `cron ${summary.memo.cron}`
            : null
          : `${Number(every) / 1000}s`,
      nextRotation: summary.info.nextActionTimes[0]?.toISOString() ?? null,
    });
  }
  return out;
}

async function rotationRun(
  client: Client,
  workflowId: string,
  runId: string,
  takenAt: Date,
): Promise<RotationRun> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const base = { workflowId, runId, startedAt: takenAt.toISOString() };
  let described: Awaited<ReturnType<typeof handle.describe>>;
  try {
    described = await handle.describe();
  } catch (err) {
    return { ...base, status: 'UNKNOWN', failure: (err as Error).message };
  }
  const status = described.status.name;
  if (status === 'RUNNING') {
    const retrying = (described.raw.pendingActivities ?? [])
      .filter((a) => (a.attempt ?? 1) > 1 || a.lastFailure)
      .map((a) => ({
        activity: a.activityType?.name ?? 'unknown',
        attempt: a.attempt ?? 1,
        lastFailure: a.lastFailure?.message ?? null,
      }));
    return { ...base, status, ...(retrying.length ? { retrying } : {}) };
  }
  if (status === 'COMPLETED') {
    const result = (await handle.result().catch(() => undefined)) as ApiTokenRotationResult | undefined;
    return { ...base, status, ...(result ? { result } : {}) };
  }
  const failure = await handle.result().then(
    () => undefined,
    (err: Error) => (err.cause as Error | undefined)?.message ?? err.message,
  );
  return { ...base, status, ...(failure ? { failure } : {}) };
}

function problemsOf(runs: RotationRun[]): string[] {
  const problems: string[] = [];
  for (const run of runs) {
    for (const r of run.retrying ?? []) {
      problems.push(
        `${run.workflowId}: ${r.activity} failing, attempt ${r.attempt}: ${r.lastFailure ?? 'timed out'}`,
      );
    }
    if (run.failure) problems.push(`${run.workflowId}: ${run.status.toLowerCase()}: ${run.failure}`);
  }
  // Only the newest completed rotation speaks for the trees now.
  const latest = runs.filter((r) => r.result).at(-1)?.result;
  for (const tree of latest?.trees ?? []) {
    if (tree.outcome !== 'rotated') {
      problems.push(
        `${tree.workflowId}: ${tree.outcome.replace('_', ' ')}${tree.detail ? ` (${tree.detail})` : ''}`,
      );
    }
  }
  return problems;
}

async function onSchedule<T>(
  client: Client,
  scheduleId: string,
  fn: (h: ScheduleHandle) => Promise<T>,
): Promise<T> {
  try {
    return await fn(client.schedule.getHandle(scheduleId));
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new RotationError('rotation.schedule_not_found', `no schedule ${scheduleId} in this namespace`, {
        cause: err,
      });
    }
    throw err;
  }
}
