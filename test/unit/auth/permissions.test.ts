import { describe, expect, it } from 'vitest';
import {
  globMatches,
  isPermission,
  Permissions,
  parsePermission,
  permissionProblem,
} from '../../../src/auth/permissions.js';

describe('the permission grammar', () => {
  it.each([
    ['default:read', { kind: 'role', namespace: 'default', role: 'read' }],
    ['temporal-system:admin', { kind: 'role', namespace: 'temporal-system', role: 'admin' }],
    ['*:write', { kind: 'role', namespace: '*', role: 'write' }],
    ['default:token.rotate', { kind: 'grant', namespace: 'default', action: 'token.rotate', pattern: '*' }],
    [
      'default:token.read:inventory*',
      { kind: 'grant', namespace: 'default', action: 'token.read', pattern: 'inventory*' },
    ],
    [
      'orders.prod:taskqueue.poll:orders/eu-1',
      { kind: 'grant', namespace: 'orders.prod', action: 'taskqueue.poll', pattern: 'orders/eu-1' },
    ],
    ['*:workflow.terminate:*', { kind: 'grant', namespace: '*', action: 'workflow.terminate', pattern: '*' }],
  ])('parses %s', (text, expected) => {
    expect(parsePermission(text)).toEqual(expected);
    expect(isPermission(text)).toBe(true);
  });

  it.each([
    'default',
    'default:reader',
    'default:token',
    'default:token.rotate:',
    'default:token.rotate:a b',
    'default:token.rotate:a:b',
    'default:write:extra',
    ':read',
    '-ns:read',
    'default:workflow.start:$(rm)',
  ])('refuses %j and says what to write instead', (text) => {
    expect(isPermission(text)).toBe(false);
    expect(permissionProblem(text)).toMatch(/<namespace>:<role>.*<namespace>:<grant>\[:<pattern>\]/);
  });

  it('names a non-string permission', () => {
    expect(permissionProblem(42)).toBe('a permission must be a string');
  });
});

describe('globMatches', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything', true],
    ['inventory*', 'inventorySync', true],
    ['inventory*', 'Inventory', false],
    ['*Sync', 'storeSync', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ])('%s against %s is %s', (pattern, name, expected) => {
    expect(globMatches(pattern, name)).toBe(expected);
  });

  it('stays fast on a pattern that makes a backtracking matcher explode', () => {
    const pattern = `${'a*'.repeat(100)}b`;
    expect(globMatches(pattern, 'a'.repeat(5_000))).toBe(false);
  });
});

describe('Permissions', () => {
  const perms = new Permissions([
    'default:read',
    'default:token.read:inventory*',
    'orders:taskqueue.poll:orders-*',
    'temporal-system:worker',
    'not a permission',
  ]);

  it('answers grants by namespace, action and pattern', () => {
    expect(perms.allows('default', 'token.read', 'inventorySync')).toBe(true);
    expect(perms.allows('default', 'token.read', 'storeSync')).toBe(false);
    expect(perms.allows('other', 'token.read', 'inventorySync')).toBe(false);
    expect(perms.allows('default', 'token.rotate', 'inventorySync')).toBe(false);
    expect(perms.allows('orders', 'taskqueue.poll', 'orders-eu')).toBe(true);
  });

  it('never lets a role imply a token grant', () => {
    const admin = new Permissions(['temporal-system:admin', 'default:admin']);
    expect(admin.role('default')).toBe('admin');
    expect(admin.allows('default', 'token.read', 'x')).toBe(false);
    expect(admin.allows('default', 'token.rotate', 'x')).toBe(false);
  });

  it('orders roles as Temporal does (worker < read < write < admin) and counts cluster roles', () => {
    expect(perms.role('default')).toBe('read');
    expect(perms.role('elsewhere')).toBe('worker');
    expect(new Permissions(['*:write', 'default:read']).role('default')).toBe('write');
    expect(new Permissions([]).role('default')).toBeUndefined();
  });
});
