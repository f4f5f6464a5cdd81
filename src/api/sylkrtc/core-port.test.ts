/** The core's objects have the shape the door codes against (core-port.ts); this file fails to typecheck otherwise. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Account, Call, Connection, Gateway } from '../../core/index.ts';
import type { AccountPort, CallPort, ConnectionPort, GatewayPort } from './core-port.ts';

type Assignable<T, U extends T> = U;
export type Checks = [Assignable<GatewayPort, Gateway>, Assignable<ConnectionPort, Connection>, Assignable<AccountPort, Account>, Assignable<CallPort, Call>];

it('the core satisfies the door\'s port (checked by the type checker)', () => {
  assert.ok(true);
});
