import type { DevUpStep } from '../devstack/dev-stack.js';

/** Renders dev-up steps on stderr: a redrawn line on a terminal, plain lines otherwise (CI logs). */
export function devUpReporter(stream: NodeJS.WriteStream = process.stderr): (step: DevUpStep) => void {
  let lastPlainPercent = -1;
  let buildAnnounced = false;
  return (step) => {
    if (step.step === 'build') {
      if (!buildAnnounced) {
        buildAnnounced = true;
        stream.write('Building the Temporal server from its Go module (first run only, a few minutes)...\n');
      }
      const p = step.progress;
      if (!p) return;
      const percent = Math.floor(p.estimate * 100);
      const line = `  ~${percent}%  ${Math.round(p.elapsedMs / 1000)}s  ${p.current}`;
      if (stream.isTTY) stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 80) - 1)}`);
      else if (percent >= lastPlainPercent + 10) {
        lastPlainPercent = percent;
        stream.write(`${line}\n`);
      }
      return;
    }
    if (buildAnnounced && stream.isTTY) stream.write('\r\x1b[2K');
    const labels = {
      pki: 'Dev PKI ready',
      issuer: 'Starting issuer at',
      demoApi: 'Starting the demo API at',
      temporal: 'Starting Temporal (mTLS + JWT) at',
      namespace: 'Registering namespace',
      ready: 'Stack ready',
    } as const;
    stream.write(`${labels[step.step]}${step.detail ? ` ${step.detail}` : ''}\n`);
  };
}
