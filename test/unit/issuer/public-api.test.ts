// The package entry exposes the whole application-admin API, so what the CLI's `app` commands do
// (update an application, delete a revoked key) can be done from code with `npm install tokenrelay`.
import { describe, expect, it } from 'vitest';
import * as entry from '../../../src/index.js';
import * as admin from '../../../src/issuer/application-admin.js';

describe('the package entry', () => {
  it('exports every application-admin function', () => {
    const functions = Object.entries(admin).filter(([, value]) => typeof value === 'function');
    expect(functions.map(([name]) => name)).toEqual(
      expect.arrayContaining(['updateApplication', 'deleteAccessKey', 'createApplication']),
    );
    for (const [name, fn] of functions) {
      expect((entry as Record<string, unknown>)[name], name).toBe(fn);
    }
  });
});
