import { stat } from 'node:fs/promises';

export interface FileChangeWatcherOptions {
  /** Files to watch; a change to any of them counts. */
  paths: string[];
  /** How often to look. */
  intervalMs: number;
  /** Called once per settled change. Errors it throws are the caller's to report. */
  onChange: () => void | Promise<void>;
}

/**
 * Polls files for changes and reports a change only once it has settled (two polls in a row see the
 * same state), so a certificate and key written one after the other are picked up as a pair, not
 * half-way. Polling rather than `fs.watch`: rotation tools replace files by rename, and secret
 * mounts swap symlinks, both of which `fs.watch` reports unreliably across platforms.
 */
export class FileChangeWatcher {
  private readonly options: FileChangeWatcherOptions;
  private timer: NodeJS.Timeout | undefined;
  private reported: string | undefined;
  private lastSeen: string | undefined;
  private stopped = false;

  constructor(options: FileChangeWatcherOptions) {
    if (!Array.isArray(options.paths) || options.paths.length === 0) {
      throw new TypeError('FileChangeWatcher: paths must list at least one file');
    }
    if (!(options.intervalMs > 0)) throw new TypeError('FileChangeWatcher: intervalMs must be > 0');
    this.options = options;
  }

  /** Takes the files' current state as the baseline and starts polling. */
  async start(): Promise<void> {
    this.reported = await this.signature();
    this.lastSeen = this.reported;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), this.options.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const now = await this.signature();
    const settled = now === this.lastSeen;
    this.lastSeen = now;
    if (settled && now !== this.reported && !this.stopped) {
      this.reported = now;
      try {
        await this.options.onChange();
      } catch {
        // The callback reports its own failures; watching goes on.
      }
    }
    this.schedule();
  }

  private async signature(): Promise<string> {
    const parts = await Promise.all(
      this.options.paths.map(async (path) => {
        try {
          const s = await stat(path);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return 'missing';
        }
      }),
    );
    return parts.join('|');
  }
}
