// The StatefulWorkflow base class. Runs inside Temporal's workflow sandbox: @temporalio/workflow and
// plain TypeScript only, no Node built-ins, deterministic.
import {
  allHandlersFinished,
  type ChildWorkflowHandle,
  type ChildWorkflowOptions,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { ChildRegistry } from './children.js';
import {
  type ApiAccess,
  type ApiTokenEnvelope,
  type ApiTokenInfo,
  apiAccessQuery,
  apiTokenInfoQuery,
  apiTokenQuery,
  apiTokenSignal,
  apiUrlQuery,
  apiUrlSignal,
  type StatefulHandoff,
} from './messages.js';
import { ApiTokenState } from './token-state.js';

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
 * Every instance answers the `apiToken` signal (a raw string from a rotator, or a `{ token, version }`
 * envelope from its parent) and the `apiToken`, `apiTokenInfo`, `apiAccess` and `apiUrl` queries, and
 * forwards each newer token to the children it started with {@link StatefulWorkflow.startChild}.
 * Tokens travel in signal and child-input payloads, which are workflow history: run workers and clients
 * with an encrypting payload codec (`AesGcmPayloadCodec`) so history never holds them in plain text.
 */
export abstract class StatefulWorkflow<I = void, R = void> {
  /** The workflow's input, as started. */
  protected readonly input: I;
  #token = new ApiTokenState();
  #children = new ChildRegistry();
  #apiUrl: string | null;
  /** True while the propagation loop runs; only one runs, so each child has one signal in flight. */
  #pumping = false;

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
    options: { name?: string } = {},
  ): StatefulWorkflowFunction<I, R> {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass being wrapped, not the base class.
    const className = this.name;
    const name = options.name ?? className.charAt(0).toLowerCase() + className.slice(1);
    const fn = async (input: I, handoff?: StatefulHandoff): Promise<R> => {
      const instance = new this(input);
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

  /** What the `apiTokenInfo` query answers: metadata and child counts, never the token. */
  apiTokenInfo(): ApiTokenInfo {
    const held = this.#token.current;
    return {
      version: this.#token.version,
      fingerprint: held?.fingerprint ?? null,
      updatedAt: held?.updatedAt ?? null,
      children: this.#children.counts(this.#token.version),
    };
  }

  /** Resolves with the current token, waiting for the first one if none arrived yet. */
  protected async waitForApiToken(): Promise<string> {
    await condition(() => this.#token.current !== null);
    return this.#token.current!.token;
  }

  /**
   * Starts a child workflow and registers it for propagation: it receives the current token in its
   * start input and every newer one by signal, until it completes. Grandchildren get tokens from the
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
    const held = this.#token.current;
    const handoff: StatefulHandoff | undefined =
      propagateApiToken && held ? { apiToken: { token: held.token, version: held.version } } : undefined;
    this.#children.starting(workflowId, propagateApiToken);
    try {
      const handle = await startChild<StatefulWorkflowFunction<CI, CR>>(workflowType, {
        ...childOptions,
        workflowId,
        args: handoff ? [input, handoff] : [input],
      });
      // A rotation may have arrived while the start was in flight; the loop then sends the newer token.
      this.#children.started(workflowId, handoff?.apiToken?.version ?? 0);
      this.#kick();
      return handle;
    } catch (err) {
      this.#children.forget(workflowId);
      throw err;
    }
  }

  /**
   * Resolves once every signal handler finished and every opted-in child holds the current token (or
   * was skipped). Returning or continuing-as-new before that would cut propagation off.
   */
  protected async settled(): Promise<void> {
    await condition(() => allHandlersFinished() && this.#propagationSettled());
  }

  /**
   * Continues-as-new once propagation settled, carrying the token, its version, `apiUrl` and the
   * registered children to the next run. Children are found again by workflow id, so start the ones
   * that must outlive a run with `parentClosePolicy: 'ABANDON'`.
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
    if (handoff?.apiToken) {
      // The handed version is kept as is: a parent's later envelopes are compared against it.
      const updatedAt = handoff.updatedAt ?? new Date().toISOString();
      this.#token = new ApiTokenState({ envelope: handoff.apiToken, updatedAt });
    }
    if (handoff?.apiUrl !== undefined) this.#apiUrl = handoff.apiUrl;
    if (handoff?.children) this.#children = new ChildRegistry(handoff.children);

    setHandler(apiTokenSignal, (value) => this.#onApiToken(value));
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

  async #onApiToken(value: unknown): Promise<void> {
    const outcome = this.#token.accept(value, new Date());
    if (!outcome.accepted) {
      // Never log the value: it may be a token. A stale envelope is a normal race; malformed is a bug.
      const report = outcome.reason === 'stale' ? log.info : log.warn;
      report(`apiToken signal ignored: ${outcome.reason}`, { heldVersion: this.#token.version });
      return;
    }
    this.#kick();
    // Keeping the handler open until propagation settled makes allHandlersFinished() mean "propagated".
    await condition(() => this.#propagationSettled());
  }

  #propagationSettled(): boolean {
    return !this.#pumping && this.#children.settled(this.#token.version);
  }

  #kick(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#pump();
  }

  /**
   * Sends the current token to every child that does not hold it yet, in waves, until none is owed.
   * A wave waits for all its signals, so a child never has two in flight and cannot receive an older
   * version after a newer one; the receiver's version check guards replays and direct signals anyway.
   */
  async #pump(): Promise<void> {
    try {
      for (;;) {
        const held = this.#token.current;
        const due = held ? this.#children.due(held.version) : [];
        if (!held || due.length === 0) break;
        const envelope: ApiTokenEnvelope = { token: held.token, version: held.version };
        await Promise.all(due.map((workflowId) => this.#deliver(workflowId, envelope)));
      }
    } catch (err) {
      // Only cancellation reaches here (#deliver absorbs the rest); the workflow is being cancelled.
      log.info('apiToken propagation stopped', { cancelled: isCancellation(err) });
    } finally {
      // Cleared in the same tick as the final check, so a kick right after it starts a new loop.
      this.#pumping = false;
    }
  }

  async #deliver(workflowId: string, envelope: ApiTokenEnvelope): Promise<void> {
    try {
      await getExternalWorkflowHandle(workflowId).signal(apiTokenSignal, envelope);
      this.#children.delivered(workflowId, envelope.version);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The server refuses signals to closed workflows (ExternalWorkflowExecutionNotFound): the child
      // completed or was terminated. That must not fail the parent; the child no longer needs tokens.
      this.#children.skip(workflowId);
      log.info('apiToken not delivered to a child that is no longer running; skipping it', {
        childWorkflowId: workflowId,
        reason: err instanceof Error ? err.message : String(err),
      });
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

/** Whether `fn` was made by {@link StatefulWorkflow.workflow}. */
export function isStatefulWorkflow(fn: unknown): fn is StatefulWorkflowFunction<unknown, unknown> {
  return typeof fn === 'function' && (fn as { statefulWorkflow?: unknown }).statefulWorkflow === true;
}

function apiUrlOf(input: unknown): string | null {
  if (typeof input !== 'object' || input === null) return null;
  const url = (input as { apiUrl?: unknown }).apiUrl;
  return typeof url === 'string' ? url : null;
}
