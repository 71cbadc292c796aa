// The StatefulWorkflow base class. Runs inside Temporal's workflow sandbox: @temporalio/workflow and
// plain TypeScript only, no Node built-ins, deterministic.
import {
  allHandlersFinished,
  type ChildWorkflowHandle,
  type ChildWorkflowOptions,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
  type SignalDefinition,
  setHandler,
  sleep,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { ChildRegistry, type HeldVersion } from './children.js';
import {
  type ApiAccess,
  type ApiTokenAck,
  type ApiTokenEnvelope,
  type ApiTokenInfo,
  apiAccessQuery,
  apiTokenAckSignal,
  apiTokenHandoffSignal,
  apiTokenHandoffUpdate,
  apiTokenInfoQuery,
  apiTokenQuery,
  apiTokenSignal,
  apiUrlQuery,
  apiUrlSignal,
  type HandoffRelayOutcome,
  type HandoffReply,
  RELAY_HANDOFF_ACTIVITY,
  type RelayHandoffActivities,
  type StatefulHandoff,
} from './messages.js';
import { ApiTokenState, type HeldApiToken, isEnvelope, isFutureVersion } from './token-state.js';

/**
 * The `patched()` id of propagation by handoff and ack (versions as a hybrid logical clock, the
 * reserved handoff signal, per-child coalescing). Histories without its marker were written by release
 * 0.1.0 and replay with that release's behaviour; a run started by 0.1.0 switches at its first
 * workflow task on an upgraded worker. Never remove it while such histories may still be replayed.
 */
export const HANDOFF_PATCH_ID = 'tokenrelay-apiToken-handoff';

/**
 * The `patched()` id of coalescing once per burst: a rotation that arrives while another one's window
 * is open only replaces the held token, and the window's owner hands down the newest when it ends.
 * Before it, every such rotation handed its token down at once (so a burst travelled the tree twice)
 * and extended the window by one more step, up to four. Histories without its marker replay the old
 * way. Never remove it while such histories may still be replayed.
 */
export const COALESCE_ONCE_PATCH_ID = 'tokenrelay-apiToken-coalesce-once';

/**
 * The `patched()` id of handoffs relayed by the worker: a parent hands a child its token through a
 * local activity that signals the child over the worker's own connection (the reserved signal, which
 * the authorizer lets through with `token.handoff`), and falls back to the workflow-to-workflow signal
 * when the worker cannot. Same signal, same meaning to the child, 3 server writes instead of 5.
 * Histories without its marker replay with workflow-to-workflow signals only. Never remove it while
 * such histories may still be replayed.
 */
export const RELAY_PATCH_ID = 'tokenrelay-apiToken-relay';

/**
 * The `patched()` id of the relay as a regular activity that hands each child its token by the
 * reserved update (the child replies once it holds it; one server write for the child instead of
 * three), falling back to the reserved signal per child. A local activity cannot wait on updates: it
 * holds its parent's workflow task open, and parents waiting on children could take every
 * workflow-task slot. Histories without its marker replay with the local activity, which signals
 * only. Never remove it while such histories may still be replayed.
 */
export const RELAY_ACTIVITY_PATCH_ID = 'tokenrelay-apiToken-relay-activity';

/**
 * How long a workflow that took a raw rotation waits before handing it down, by default. Rotations
 * that arrive meanwhile replace it, so a burst travels the tree once, as its newest token. Small next
 * to any token lifetime; costs one timer in the rotated workflow, none below it.
 */
export const DEFAULT_COALESCE_ROTATIONS_MS = 500;

/**
 * Histories recorded before {@link COALESCE_ONCE_PATCH_ID}: a burst's wait ended after this many
 * windows even if rotations kept arriving.
 */
const MAX_COALESCE_WINDOWS = 4;

/** Options of {@link StatefulWorkflow.workflow}. */
export interface StatefulWorkflowOptions {
  /** The workflow type; defaults to the class name with a lower-case first letter. */
  name?: string;
  /**
   * How long a raw `apiToken` rotation waits before it is handed to the children, so that rotations
   * arriving meanwhile travel as one (default {@link DEFAULT_COALESCE_ROTATIONS_MS}; 0 hands each
   * one down at once). A rotation arriving during the wait only replaces the token the wait will
   * hand down. Handoffs from a parent are passed on at once whatever this says. A Temporal
   * server with its default `history.timerProcessorMaxTimeShift` (1 s) fires a timer this short
   * after up to a second, which is then the wait's real length; the dev stack sets it to 100 ms.
   */
  coalesceRotationsMs?: number;
}

/**
 * How both relay proxies retry the activity itself. NotFoundError: the worker has not registered it (a
 * worker of its own, made without statefulWorkflowActivities); retrying cannot help, so fall back at
 * once.
 */
const RELAY_RETRY: RetryPolicy = {
  initialInterval: '200 milliseconds',
  maximumInterval: '5 seconds',
  nonRetryableErrorTypes: ['NotFoundError'],
};

/**
 * The relay as a local activity, for histories from before {@link RELAY_ACTIVITY_PATCH_ID} (it
 * signals only), run by the worker beside the workflow task: one per batch of children, each
 * child's outcome reported, never thrown. Only the activity itself failing is retried, and briefly:
 * after that the workflow-to-workflow signal (which the server retries itself) is the better path.
 */
const relayActivities = proxyLocalActivities<RelayHandoffActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '2 minutes',
  retry: RELAY_RETRY,
});

/** The relay as a regular activity (see {@link RELAY_ACTIVITY_PATCH_ID}); the same activity function. */
const relayByActivity = proxyActivities<RelayHandoffActivities>({
  // An update may wait up to 10 s for a busy child, 32 at a time: a parent of thousands needs minutes.
  // A relay that runs longer heartbeats, so a lost worker is noticed in 30 s, not at the timeout.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { ...RELAY_RETRY, maximumAttempts: 3 },
});

/** Release 0.1.0's parent → child delivery: an envelope on the public signal. Only under !patched. */
const legacyEnvelopeSignal = defineSignal<[ApiTokenEnvelope]>('apiToken');

/**
 * The workflow function made from a StatefulWorkflow subclass by `.workflow()`. Its second argument is
 * the handoff from a parent, `startParent` or continue-as-new; callers normally leave it out.
 */
export type StatefulWorkflowFunction<I, R> = ((input: I, handoff?: StatefulHandoff) => Promise<R>) & {
  /** Marks functions made by `.workflow()`, so `startChild` can tell them from plain workflows. */
  readonly statefulWorkflow: true;
};

/** A concrete StatefulWorkflow subclass, as `.workflow()` sees it. */
export interface StatefulWorkflowClass<I, R> {
  new (input: I): StatefulWorkflow<I, R>;
  readonly name: string;
}

/** Options of {@link StatefulWorkflow.startChild}: Temporal's child options plus the input and opt-out. */
export type StatefulChildOptions<I> = Omit<ChildWorkflowOptions, 'args'> & {
  /** The child's input (its first workflow argument). */
  input: I;
  /**
   * `false` keeps the child out of propagation: it is started without a token and never signalled
   * one (it still counts as `excluded` in `apiTokenInfo`). Default `true`.
   */
  propagateApiToken?: boolean;
};

/**
 * Base class of a workflow that holds an API token for an external service and hands it down its tree.
 *
 * Subclass it, implement `run()`, and export the workflow function Temporal runs:
 *
 * @example
 * ```ts
 * import { StatefulWorkflow } from 'tokenrelay/workflow';
 *
 * export class CatalogSync extends StatefulWorkflow<{ apiUrl: string; shards: number }, number> {
 *   async run(): Promise<number> {
 *     const shards = [];
 *     for (let i = 0; i < this.input.shards; i++) {
 *       shards.push(await this.startChild(syncShard, { input: { apiUrl: this.input.apiUrl, shard: i } }));
 *     }
 *     const counts = await Promise.all(shards.map((s) => s.result()));
 *     return counts.reduce((a, b) => a + b, 0);
 *   }
 * }
 * export const catalogSync = CatalogSync.workflow();
 * ```
 *
 * Every instance answers the `apiToken` signal (a raw token string from a rotator) and the `apiToken`,
 * `apiTokenInfo`, `apiAccess` and `apiUrl` queries. It hands each newer token to the children it
 * started with {@link StatefulWorkflow.startChild} by the reserved `__tokenrelay_apiTokenHandoff`
 * update or signal, one handoff in flight per child and always the newest token. The worker sends it
 * (one activity per parent and rotation, see {@link RELAY_ACTIVITY_PATCH_ID}) when its credentials
 * hold `token.handoff`; otherwise the workflow signals. A handoff the server accepted
 * counts as held (the child takes every handoff unless it holds a newer token, and Temporal's queries
 * see every event before them); a child that refuses one says so with `__tokenrelay_apiTokenAck`. A
 * raw rotation waits {@link StatefulWorkflowOptions.coalesceRotationsMs} first, so a burst travels
 * once. Tokens travel in signal, update, child-input and relay-activity payloads, which
 * are workflow history: run workers and clients with an encrypting payload codec
 * (`AesGcmPayloadCodec`) so history never holds them in plain text.
 */
export abstract class StatefulWorkflow<I = void, R = void> {
  /** The workflow's input, as started. */
  protected readonly input: I;
  #token = new ApiTokenState();
  #children = new ChildRegistry();
  #apiUrl: string | null;
  /**
   * Whether this run propagates by handoff and ack (`patched(HANDOFF_PATCH_ID)`); false while
   * replaying a history of release 0.1.0. Set only by #refreshMode, at fixed points of the code, so
   * replay sees the same value at the same place; once true it stays true.
   */
  #handoffs = false;
  /** Release 0.1.0's propagation loop (waves) is running; only one runs. */
  #pumping = false;
  /**
   * The worker could not relay a handoff this run (no `token.handoff` grant, or tokenrelay's
   * activities are not registered): hand down by workflow-to-workflow signal from then on. Set only
   * from a recorded activity outcome, so replay sets it at the same place.
   */
  #relayUnavailable = false;
  /**
   * Children whose handoff of one envelope waits for the relay activity to be scheduled: every
   * handoff asked for in one tick (a rotation reaching a parent starts one per child) goes out in one
   * activity, so the worker runs one per parent and rotation rather than one per child.
   */
  #relayBatch: RelayBatch | null = null;
  /** Children with a handoff in flight: at most one each. */
  readonly #inFlight = new Set<string>();
  /** An ack to the parent is wanted / being sent (at most one in flight). */
  #ackWanted = false;
  #acking = false;
  /** The handoff version the wanted ack refuses, if that is why it is sent. */
  #ackRefusedVersion: number | undefined;
  /** See {@link StatefulWorkflowOptions.coalesceRotationsMs}. */
  #coalesceRotationsMs = DEFAULT_COALESCE_ROTATIONS_MS;
  /** A raw rotation is waiting out the coalescing window; later ones only replace the token. */
  #coalescing = false;
  /** Another rotation arrived during the current window: wait one more, up to the cap. */
  #coalesceExtended = false;

  constructor(input: I) {
    this.input = input;
    this.#apiUrl = apiUrlOf(input);
  }

  /** The workflow's own work. The workflow completes after it returns and propagation settled. */
  abstract run(): Promise<R>;

  /**
   * Turns the subclass into the workflow function Temporal runs. Export it under the workflow type
   * `name`, which defaults to the class name with a lower-case first letter (`CatalogSync` →
   * `catalogSync`), because `startChild` starts children by that name.
   */
  static workflow<I, R>(
    this: StatefulWorkflowClass<I, R>,
    options: StatefulWorkflowOptions = {},
  ): StatefulWorkflowFunction<I, R> {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass being wrapped, not the base class.
    const className = this.name;
    const name = options.name ?? className.charAt(0).toLowerCase() + className.slice(1);
    const coalesceRotationsMs = options.coalesceRotationsMs ?? DEFAULT_COALESCE_ROTATIONS_MS;
    if (!Number.isFinite(coalesceRotationsMs) || coalesceRotationsMs < 0) {
      throw new RangeError(
        `${name}: coalesceRotationsMs must be a non-negative number of milliseconds, got ${coalesceRotationsMs}`,
      );
    }
    const fn = async (input: I, handoff?: StatefulHandoff): Promise<R> => {
      const instance = new this(input);
      instance.#coalesceRotationsMs = coalesceRotationsMs;
      instance.#attach(handoff);
      const result = await instance.run();
      await instance.settled();
      return result;
    };
    // Temporal derives a child's workflow type from the function's name.
    Object.defineProperty(fn, 'name', { value: name });
    return Object.assign(fn, { statefulWorkflow: true as const });
  }

  /** The current token, or null before the first one arrived. */
  get apiToken(): string | null {
    return this.#token.current?.token ?? null;
  }

  /** The current token's version, 0 before the first one arrived. */
  get apiTokenVersion(): number {
    return this.#token.version;
  }

  /** This workflow's own API base URL: from `input.apiUrl`, replaced by the `apiUrl` signal. */
  get apiUrl(): string | null {
    return this.#apiUrl;
  }

  /** Replaces this workflow's `apiUrl`; children keep theirs. */
  protected setApiUrl(url: string | null): void {
    this.#apiUrl = url;
  }

  /** What the `apiTokenInfo` query answers: metadata, place in the tree and children, never the token. */
  apiTokenInfo(): ApiTokenInfo {
    const held = this.#token.current;
    const info = workflowInfo();
    return {
      version: this.#token.version,
      fingerprint: held?.fingerprint ?? null,
      updatedAt: held?.updatedAt ?? null,
      workflowType: info.workflowType,
      parentWorkflowId: info.parent?.workflowId ?? null,
      children: this.#children.counts(heldVersion(held)),
      childList: this.#children.list(),
    };
  }

  /** Resolves with the current token, waiting for the first one if none arrived yet. */
  protected async waitForApiToken(): Promise<string> {
    await condition(() => this.#token.current !== null);
    return this.#token.current!.token;
  }

  /**
   * Starts a child workflow and registers it for propagation: it receives the current token in its
   * start input and every newer one by handoff, until it completes. Grandchildren get tokens from the
   * child, through its own `startChild`. With `propagateApiToken: false` the child never gets one.
   *
   * @param workflow a StatefulWorkflow function or its workflow type name. Start plain workflows with
   *   Temporal's own `startChild`: they have no handler for the token.
   */
  protected async startChild<CI, CR>(
    workflow: StatefulWorkflowFunction<CI, CR> | string,
    options: StatefulChildOptions<CI>,
  ): Promise<ChildWorkflowHandle<StatefulWorkflowFunction<CI, CR>>> {
    const { input, propagateApiToken = true, ...childOptions } = options;
    const workflowType = typeof workflow === 'string' ? workflow : workflow.name;
    // Guards untyped callers: a plain workflow would buffer token signals it never handles.
    if (typeof workflow !== 'string' && !isStatefulWorkflow(workflow)) {
      throw new TypeError(
        `startChild: ${workflowType} is not a StatefulWorkflow function; start it with Temporal's startChild`,
      );
    }
    // The id is fixed here so the child can be registered before its start resolves.
    const workflowId = childOptions.workflowId ?? uuid4();
    const held = propagateApiToken ? this.#token.current : null;
    const handoff: StatefulHandoff | undefined = held
      ? { apiToken: { token: held.token, version: held.version } }
      : undefined;
    this.#children.starting(workflowId, workflowType, propagateApiToken);
    try {
      const handle = await startChild<StatefulWorkflowFunction<CI, CR>>(workflowType, {
        ...childOptions,
        workflowId,
        args: handoff ? [input, handoff] : [input],
      });
      // A rotation may have arrived while the start was in flight; the kick then sends the newer token.
      this.#children.started(workflowId, held ? heldVersion(held) : null);
      this.#kick();
      return handle;
    } catch (err) {
      this.#children.forget(workflowId);
      throw err;
    }
  }

  /**
   * Resolves once every signal handler finished and the server accepted the current token for every
   * opted-in child (or the child was skipped). Children's acks are not waited for: a child that
   * completes before confirming must not hold its parent. Returning or continuing-as-new before that
   * would cut propagation off.
   */
  protected async settled(): Promise<void> {
    // A run started by release 0.1.0 switches here at the latest, so its children are sent the
    // handoff they confirm before it returns.
    this.#refreshMode();
    await condition(() => allHandlersFinished() && this.#propagationSettled());
  }

  /**
   * Continues-as-new once propagation settled, carrying the token, its version, `apiUrl` and the
   * registered children (with what was sent to and confirmed by each) to the next run. Children are
   * found again by workflow id, so start the ones that must outlive a run with
   * `parentClosePolicy: 'ABANDON'`.
   */
  protected async continueAsNew(nextInput: I = this.input): Promise<never> {
    await this.settled();
    // Read after settling: a rotation that arrived while waiting must be the one carried over.
    return continueAsNew<StatefulWorkflowFunction<I, R>>(nextInput, this.#handoff());
  }

  /**
   * Continues-as-new (see {@link StatefulWorkflow.continueAsNew}) when Temporal suggests it because
   * the history grew large; otherwise returns at once. Call it between units of work in a long loop.
   */
  protected async continueAsNewIfSuggested(nextInput: I = this.input): Promise<void> {
    if (workflowInfo().continueAsNewSuggested) await this.continueAsNew(nextInput);
  }

  #attach(handoff: StatefulHandoff | undefined): void {
    // First: a new run records the patch marker in its first workflow task, so all of it is current.
    this.#refreshMode();
    if (handoff?.apiToken) this.#takeStartToken(handoff.apiToken, handoff.updatedAt);
    if (handoff?.apiUrl !== undefined) this.#apiUrl = handoff.apiUrl;
    if (handoff?.children) this.#children = new ChildRegistry(handoff.children);

    setHandler(apiTokenSignal, (value: unknown) => this.#onApiToken(value));
    setHandler(apiTokenHandoffSignal, (value: unknown) => this.#onHandoff(value));
    setHandler(apiTokenHandoffUpdate, (value: unknown) => this.#onHandoffUpdate(value), {
      validator: (value: unknown) => this.#validateHandoffUpdate(value),
    });
    setHandler(apiTokenAckSignal, (value: unknown) => this.#onAck(value));
    setHandler(apiTokenQuery, () => this.apiToken);
    setHandler(apiTokenInfoQuery, () => this.apiTokenInfo());
    setHandler(apiAccessQuery, (): ApiAccess | null => {
      const held = this.#token.current;
      return held ? { token: held.token, version: held.version, apiUrl: this.#apiUrl } : null;
    });
    setHandler(apiUrlSignal, (url) => {
      if (url === null || typeof url === 'string') this.#apiUrl = url;
      else log.warn('apiUrl signal ignored: expected a string or null');
    });
    setHandler(apiUrlQuery, () => this.#apiUrl);
    // A carried child may be behind (continue-as-new raced a rotation it never saw): catch it up.
    this.#kick();
  }

  /** The token in the start input: from the parent, `startParent` or the previous run. */
  #takeStartToken(envelope: ApiTokenEnvelope, updatedAt: string | undefined): void {
    const now = new Date();
    if (this.#handoffs && isEnvelope(envelope) && isFutureVersion(envelope.version, now)) {
      log.warn('apiToken in the start input ignored: its version is more than an hour ahead', {
        version: envelope.version,
      });
      return;
    }
    // The handed version is kept as is: later handoffs are compared against it.
    this.#token = new ApiTokenState({ envelope, updatedAt: updatedAt ?? now.toISOString() });
  }

  /**
   * Asks `patched()` whether this run propagates by handoff and ack. False only while replaying a
   * history of release 0.1.0 up to where it ended; the first live workflow task records the marker
   * and switches the run over, and then the children are caught up by handoff.
   */
  #refreshMode(): boolean {
    if (!this.#handoffs && patched(HANDOFF_PATCH_ID)) {
      this.#handoffs = true;
      this.#kick();
    }
    return this.#handoffs;
  }

  /** The public signal: a raw token from a rotator. */
  async #onApiToken(value: unknown): Promise<void> {
    if (!this.#refreshMode()) return this.#onLegacyApiToken(value);
    const outcome = this.#token.rotate(value, new Date());
    if (!outcome.accepted) {
      // Never log the value: it may be a token.
      log.warn(`apiToken signal ignored: ${outcome.reason}`, { heldVersion: this.#token.version });
      // A parent still on release 0.1.0 when it sent this (an upgrade caught the envelope in flight)
      // learns from the ack what this child holds, wakes up upgraded, and sends a handoff instead.
      if (outcome.reason === 'envelope_refused') this.#requestAck();
      return;
    }
    if (await this.#coalesce()) this.#kick();
  }

  /**
   * Waits out the coalescing window once per burst: the first rotation of a burst sleeps, and its
   * kick hands down whatever is newest when the window ends; the ones arriving meanwhile return at
   * once (their token replaced the held one) and hand nothing down themselves.
   *
   * Resolves true when the caller should hand the token down now: it owned the window (which has
   * ended) or there was none. A rotation that joined an open window gets false.
   */
  async #coalesce(): Promise<boolean> {
    // A workflow with nobody to hand the token to (a leaf) has nothing to coalesce: no timer.
    if (this.#coalesceRotationsMs <= 0 || !this.#children.anyOptedIn()) return true;
    if (this.#coalescing) {
      if (patched(COALESCE_ONCE_PATCH_ID)) return false;
      // Histories recorded before the patch: a joining rotation extended the window by one more
      // step (up to MAX_COALESCE_WINDOWS) and handed its token down at once.
      this.#coalesceExtended = true;
      return true;
    }
    this.#coalescing = true;
    try {
      let windows = 0;
      do {
        this.#coalesceExtended = false;
        await sleep(this.#coalesceRotationsMs);
        windows++;
      } while (this.#coalesceExtended && windows < MAX_COALESCE_WINDOWS);
    } catch (err) {
      // A cancelled workflow stops propagating; anything else is a bug to surface.
      if (!isCancellation(err)) throw err;
    } finally {
      this.#coalescing = false;
    }
    return true;
  }

  /** A handoff from the parent (or a forgery, on a server that lets reserved signals through). */
  #onHandoff(value: unknown): void {
    this.#refreshMode();
    const outcome = this.#token.handoff(value, new Date());
    if (outcome.accepted) {
      this.#kick();
      return;
    }
    if (outcome.reason === 'stale') {
      // A normal race (this workflow was rotated on its own since): it holds a newer token, which is
      // what the parent assumes of a delivered handoff, so there is nothing to tell it.
      log.info('apiToken handoff ignored: stale', { heldVersion: this.#token.version });
      return;
    }
    log.warn(`apiToken handoff ignored: ${outcome.reason}`, { heldVersion: this.#token.version });
    // The parent counts a delivered handoff as held: take that back. A genuine parent never sends a
    // future version (versions follow workflow time), so this is for forgeries on a stock server.
    if (isEnvelope(value)) this.#requestAck(value.version);
  }

  /**
   * Admits the update form of a handoff when this workflow runs the current protocol and the envelope
   * is well formed and not from the future. A rejection leaves no trace in history; the relay then
   * sends the signal, whose handler does the rest (for a refusal, telling the parent).
   */
  #validateHandoffUpdate(value: unknown): void {
    if (!this.#handoffs) throw new Error('not on the handoff protocol yet: send the signal');
    if (!isEnvelope(value) || isFutureVersion(value.version, new Date())) {
      throw new Error('not a handoff this workflow would take: send the signal');
    }
  }

  /** The update form of a handoff, admitted by {@link #validateHandoffUpdate}: replies with what is held. */
  #onHandoffUpdate(value: unknown): HandoffReply {
    this.#onHandoff(value);
    return { version: this.#token.version };
  }

  /** A child's confirmation of what it holds. */
  #onAck(value: unknown): void {
    this.#refreshMode();
    if (!isAck(value) || isFutureVersion(value.version, new Date())) {
      log.warn('apiToken ack ignored: malformed');
      return;
    }
    if (!this.#children.confirm(value)) {
      log.info('apiToken ack ignored: not from a child of this workflow', {
        childWorkflowId: value.workflowId,
      });
    }
  }

  #propagationSettled(): boolean {
    if (this.#pumping) return false;
    if (!this.#handoffs) return this.#children.legacySettled(this.#token.version);
    return this.#inFlight.size === 0 && this.#children.settled(heldVersion(this.#token.current));
  }

  /** Sends the current token wherever it is owed: by handoff, or release 0.1.0's waves when replaying one. */
  #kick(): void {
    // A running 0.1.0 loop hands over to handoffs itself once its wave has landed.
    if (this.#pumping) return;
    if (this.#handoffs) {
      this.#sendHandoffs();
      return;
    }
    this.#pumping = true;
    void this.#legacyPump();
  }

  /**
   * Starts a delivery for every owed child that has none in flight. Each delivery sends the newest
   * token when it starts and, when the server accepted it, the newest again if a rotation arrived
   * meanwhile: a burst of rotations costs each child one handoff per landing (typically two), not
   * one per rotation, and a slow child holds up nobody else.
   */
  #sendHandoffs(): void {
    const held = this.#token.current;
    if (!held) return;
    for (const workflowId of this.#children.owed(heldVersion(held))) {
      if (this.#inFlight.has(workflowId)) continue;
      this.#inFlight.add(workflowId);
      void this.#deliverHandoffs(workflowId);
    }
  }

  async #deliverHandoffs(workflowId: string): Promise<void> {
    try {
      for (;;) {
        const held = this.#token.current;
        if (!held || !this.#children.owes(workflowId, heldVersion(held))) return;
        const envelope: ApiTokenEnvelope = { token: held.token, version: held.version };
        if (!(await this.#handChild(workflowId, envelope))) return;
        this.#children.delivered(workflowId, heldVersion(held));
      }
    } catch (err) {
      // Only cancellation reaches here (#signalChild absorbs the rest); the workflow is being cancelled.
      log.info('apiToken propagation stopped', { cancelled: isCancellation(err) });
    } finally {
      this.#inFlight.delete(workflowId);
    }
  }

  /**
   * Release 0.1.0's loop, unchanged so its histories replay: sends the current token to every child
   * that does not hold it yet, in waves, until none is owed. Once the run switched to handoffs it stops
   * at the next wave and hands over.
   */
  async #legacyPump(): Promise<void> {
    try {
      for (;;) {
        if (this.#refreshMode()) break;
        const held = this.#token.current;
        const due = held ? this.#children.legacyDue(held.version) : [];
        if (!held || due.length === 0) break;
        const envelope: ApiTokenEnvelope = { token: held.token, version: held.version };
        await Promise.all(due.map((workflowId) => this.#legacyDeliver(workflowId, held, envelope)));
      }
    } catch (err) {
      log.info('apiToken propagation stopped', { cancelled: isCancellation(err) });
    } finally {
      // Cleared in the same tick as the final check, so a kick right after it starts a new loop.
      this.#pumping = false;
    }
    if (this.#handoffs) this.#sendHandoffs();
  }

  async #legacyDeliver(workflowId: string, held: HeldApiToken, envelope: ApiTokenEnvelope): Promise<void> {
    if (await this.#signalChild(workflowId, legacyEnvelopeSignal, envelope)) {
      this.#children.sentOnLegacySignal(workflowId, heldVersion(held));
    }
  }

  /** Release 0.1.0's `apiToken` handler: raw tokens and envelopes, held open until propagated. */
  async #onLegacyApiToken(value: unknown): Promise<void> {
    const outcome = this.#token.acceptLegacy(value, new Date());
    if (!outcome.accepted) {
      const report = outcome.reason === 'stale' ? log.info : log.warn;
      report(`apiToken signal ignored: ${outcome.reason}`, { heldVersion: this.#token.version });
      return;
    }
    this.#kick();
    await condition(() => this.#propagationSettled());
  }

  /**
   * Hands `envelope` to a child on the reserved signal: relayed by the worker when it can, else by a
   * workflow-to-workflow signal. False when the child is no longer running (it is skipped from then on).
   */
  async #handChild(workflowId: string, envelope: ApiTokenEnvelope): Promise<boolean> {
    if (!this.#relayUnavailable && patched(RELAY_PATCH_ID)) {
      const outcome = await this.#relay(workflowId, envelope);
      if (outcome === 'delivered') return true;
      if (outcome === 'closed') {
        this.#children.skip(workflowId);
        log.info('apiToken not delivered to a child that is no longer running; skipping it', {
          childWorkflowId: workflowId,
        });
        return false;
      }
      // Refused or failed for this child: the workflow-to-workflow signal still reaches it.
    }
    return this.#signalChild(workflowId, apiTokenHandoffSignal, envelope);
  }

  /** Queues a child's handoff for the relay activity of this tick, scheduling it if it is the first. */
  #relay(workflowId: string, envelope: ApiTokenEnvelope): Promise<HandoffRelayOutcome> {
    let batch = this.#relayBatch;
    if (
      batch === null ||
      batch.envelope.version !== envelope.version ||
      batch.envelope.token !== envelope.token
    ) {
      batch = { envelope, waiting: new Map() };
      this.#relayBatch = batch;
      // After the current tick, so every delivery started with this one joins it.
      const scheduled = batch;
      void Promise.resolve().then(() => this.#sendRelayBatch(scheduled));
    }
    const waiting = batch.waiting;
    return new Promise((resolve, reject) => waiting.set(workflowId, { resolve, reject }));
  }

  async #sendRelayBatch(batch: RelayBatch): Promise<void> {
    if (this.#relayBatch === batch) this.#relayBatch = null;
    const ids = [...batch.waiting.keys()];
    let outcomes: HandoffRelayOutcome[];
    try {
      outcomes = patched(RELAY_ACTIVITY_PATCH_ID)
        ? await relayByActivity[RELAY_HANDOFF_ACTIVITY](ids, batch.envelope, { byUpdate: true })
        : await relayActivities[RELAY_HANDOFF_ACTIVITY](ids, batch.envelope);
    } catch (err) {
      if (isCancellation(err)) {
        for (const waiter of batch.waiting.values()) waiter.reject(err);
        return;
      }
      outcomes = ids.map(() => 'failed');
    }
    const reached = outcomes.some((o) => o === 'delivered' || o === 'closed');
    if (!reached && !this.#relayUnavailable) {
      // Not the grant of one child's type: the worker cannot relay at all (no token.handoff, or the
      // activity is not registered). Stop trying for this run.
      this.#relayUnavailable = true;
      log.warn(
        'apiToken handoffs go by workflow signal for the rest of this run: the worker could not relay them ' +
          '(give its credentials token.handoff, and register statefulWorkflowActivities if it is not run by startWorker)',
        { outcome: outcomes[0] },
      );
    }
    for (const [i, id] of ids.entries()) batch.waiting.get(id)?.resolve(outcomes[i] ?? 'failed');
  }

  /**
   * Signals a child by workflow id (its latest run). False when the server refused because the child
   * is closed: it is skipped from then on. Cancellation is rethrown.
   */
  async #signalChild(
    workflowId: string,
    signal: SignalDefinition<[ApiTokenEnvelope]>,
    envelope: ApiTokenEnvelope,
  ): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(workflowId).signal(signal, envelope);
      return true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The server refuses signals to closed workflows (ExternalWorkflowExecutionNotFound): the child
      // completed or was terminated. That must not fail the parent; the child no longer needs tokens.
      this.#children.skip(workflowId);
      log.info('apiToken not delivered to a child that is no longer running; skipping it', {
        childWorkflowId: workflowId,
        reason: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  }

  /**
   * Tells the parent what this workflow holds (and which handoff it refused, if that is why);
   * coalesced like handoffs, one in flight.
   */
  #requestAck(refusedVersion?: number): void {
    this.#ackWanted = true;
    // A plain request must not wipe a refusal still waiting to be sent: the parent needs it.
    if (refusedVersion !== undefined) this.#ackRefusedVersion = refusedVersion;
    if (this.#acking) return;
    this.#acking = true;
    void this.#sendAcks();
  }

  async #sendAcks(): Promise<void> {
    const info = workflowInfo();
    try {
      // By workflow id: the parent may have continued-as-new since it started this workflow.
      const parent = info.parent ? getExternalWorkflowHandle(info.parent.workflowId) : null;
      while (parent && this.#ackWanted) {
        this.#ackWanted = false;
        const refusedVersion = this.#ackRefusedVersion;
        this.#ackRefusedVersion = undefined;
        const ack: ApiTokenAck = {
          workflowId: info.workflowId,
          version: this.#token.version,
          fingerprint: this.#token.current?.fingerprint ?? null,
          ...(refusedVersion === undefined ? {} : { refusedVersion }),
        };
        await parent.signal(apiTokenAckSignal, ack);
      }
    } catch (err) {
      // A closed parent cannot be told and needs no telling; cancellation ends the workflow anyway.
      if (!isCancellation(err)) log.info('apiToken ack not delivered: the parent is no longer running');
    } finally {
      this.#ackWanted = false;
      this.#acking = false;
    }
  }

  #handoff(): StatefulHandoff {
    const held = this.#token.current;
    return {
      ...(held ? { apiToken: { token: held.token, version: held.version }, updatedAt: held.updatedAt } : {}),
      apiUrl: this.#apiUrl,
      children: this.#children.carry(),
    };
  }
}

/** Handoffs of one envelope waiting for one relay activity, each with its delivery's continuation. */
interface RelayBatch {
  envelope: ApiTokenEnvelope;
  waiting: Map<string, { resolve: (outcome: HandoffRelayOutcome) => void; reject: (err: unknown) => void }>;
}

/** Whether `fn` was made by {@link StatefulWorkflow.workflow}. */
export function isStatefulWorkflow(fn: unknown): fn is StatefulWorkflowFunction<unknown, unknown> {
  return typeof fn === 'function' && (fn as { statefulWorkflow?: unknown }).statefulWorkflow === true;
}

function apiUrlOf(input: unknown): string | null {
  if (typeof input !== 'object' || input === null) return null;
  const url = (input as { apiUrl?: unknown }).apiUrl;
  return typeof url === 'string' ? url : null;
}

function heldVersion(held: HeldApiToken | null): HeldVersion {
  return { version: held?.version ?? 0, fingerprint: held?.fingerprint ?? null };
}

function isAck(value: unknown): value is ApiTokenAck {
  if (typeof value !== 'object' || value === null) return false;
  const { workflowId, version, fingerprint, refusedVersion } = value as Record<string, unknown>;
  return (
    typeof workflowId === 'string' &&
    Number.isSafeInteger(version) &&
    (version as number) >= 0 &&
    (fingerprint === null || typeof fingerprint === 'string') &&
    (refusedVersion === undefined || (Number.isSafeInteger(refusedVersion) && (refusedVersion as number) > 0))
  );
}
