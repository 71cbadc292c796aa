import { readFile } from 'node:fs/promises';
import { IssuerConfigError } from './errors.js';
import { fileSignature } from './file-signature.js';
import { signingKeySchedule } from './signing-key-schedule.js';
import {
  parseSigningKeysFile,
  type SigningKey,
  type StoredSigningKey,
  scheduledKey,
  toSigningKey,
} from './signing-keys.js';

/** The keys to use at one moment: the one that signs (if any) and every one to publish. */
export interface SigningKeysNow {
  /** Undefined only when no key has activated yet (the file was edited by hand). */
  signer: SigningKey | undefined;
  published: SigningKey[];
}

export interface SigningKeyRingOptions {
  /** The longest token lifetime the issuer grants now, which keeps retiring keys published. */
  maxTokenLifetimeSeconds: () => Promise<number>;
  /**
   * Called once for each version of the file that cannot be used while older keys are still being
   * served (a torn hand edit, a bad restore): the issuer logs and counts it, so a rotation that
   * silently never took effect is visible. Called with undefined once a good version is read again.
   */
  onStaleKeys?: (problem: IssuerConfigError | undefined) => void;
  now?: () => number;
}

/**
 * The running issuer's view of the signing keys file. Each use re-reads the file and re-imports keys
 * only when its bytes changed, so a rotation written by another process (`tokenrelay keys rotate`)
 * is followed without a restart; states come from {@link signingKeySchedule}, so a pending key starts
 * signing when its time comes with nobody touching the file.
 */
export class SigningKeyRing {
  readonly path: string;
  private readonly options: SigningKeyRingOptions;
  private cache: { text: string; stored: StoredSigningKey[]; keys: Map<string, SigningKey> } | undefined;
  private loading: Promise<void> | undefined;
  /** The keys file's signature when `cache` was read; unchanged means no need to read it again. */
  private signature: string | undefined;
  /** The signature of a version found unusable: not read again until the file changes. */
  private badSignature: string | undefined;

  constructor(path: string, options: SigningKeyRingOptions) {
    this.path = path;
    this.options = options;
  }

  async current(): Promise<SigningKeysNow> {
    await this.reload();
    const cache = this.cache as NonNullable<typeof this.cache>;
    const now = (this.options.now ?? Date.now)();
    const schedule = signingKeySchedule(
      cache.stored.map(scheduledKey),
      now,
      await this.options.maxTokenLifetimeSeconds(),
    );
    const keyOf = (kid: string) => cache.keys.get(kid) as SigningKey;
    const activeKid = schedule.find((k) => k.state === 'active')?.kid;
    return {
      signer: activeKid === undefined ? undefined : keyOf(activeKid),
      published: schedule.filter((k) => k.state !== 'retired').map((k) => keyOf(k.kid)),
    };
  }

  // One read at a time: concurrent requests share it instead of each importing the same keys.
  private reload(): Promise<void> {
    this.loading ??= this.readFile().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async readFile(): Promise<void> {
    const signature = await fileSignature(this.path);
    if (signature !== undefined && (signature === this.signature || signature === this.badSignature)) return;
    const text = await readFile(this.path, 'utf8').catch((cause: unknown) => {
      // Keep serving the last good keys if the file briefly cannot be read; fail only without any.
      if (this.cache) return undefined;
      throw new IssuerConfigError(`cannot read signing keys ${this.path}`, { cause });
    });
    if (text === undefined) return;
    if (text === this.cache?.text) {
      this.signature = signature;
      this.recovered();
      return;
    }
    let stored: StoredSigningKey[];
    let keys: Map<string, SigningKey>;
    try {
      stored = parseSigningKeysFile(text, this.path).keys;
      keys = new Map<string, SigningKey>();
      for (const key of stored) {
        keys.set(key.kid, this.cache?.keys.get(key.kid) ?? (await toSigningKey(key)));
      }
    } catch (err) {
      if (!this.cache) throw err;
      // The last good keys keep signing (refusing every token would be worse), but not silently.
      this.badSignature = signature;
      const problem =
        err instanceof IssuerConfigError
          ? err
          : new IssuerConfigError(`${this.path}: a key cannot be imported`, { cause: err });
      this.options.onStaleKeys?.(problem);
      return;
    }
    this.cache = { text, stored, keys };
    this.signature = signature;
    this.recovered();
  }

  private recovered(): void {
    if (this.badSignature === undefined) return;
    this.badSignature = undefined;
    this.options.onStaleKeys?.(undefined);
  }
}
