/**
 * Runs a started service until SIGTERM/SIGINT, announcing it as one JSON line (daemon logs are JSON
 * lines), then closes it and exits.
 */
export async function serveInForeground(
  event: string,
  start: () => Promise<{ url: string; close(): Promise<void> }>,
): Promise<void> {
  const running = await start();
  process.stdout.write(`${JSON.stringify({ event, url: running.url })}\n`);
  const shutdown = () => {
    running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
