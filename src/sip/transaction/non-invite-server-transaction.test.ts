import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResponse, type SipRequest } from '../message/index.ts';
import { IllegalTransitionError, TransactionStateError } from './errors.ts';
import { NonInviteServerTransaction } from './non-invite-server-transaction.ts';
import type { TimerConfig } from './timers.ts';
import type { ServerTransaction } from './transaction.ts';
import { peerRequest, RawPeer, sleep, startStack, until, type Stack } from './test-kit.ts';

interface Ctx {
  stack: Stack;
  peer: RawPeer;
  txs: ServerTransaction[];
  port: number;
}

async function withServer(
  protocol: 'udp' | 'tcp',
  timers: Partial<TimerConfig>,
  answer: (req: SipRequest, tx: ServerTransaction) => void,
  fn: (ctx: Ctx) => Promise<void>,
): Promise<void> {
  const stack = await startStack(timers);
  const peer = await RawPeer.create(protocol);
  const txs: ServerTransaction[] = [];
  stack.layer.onRequest((req, tx) => {
    txs.push(tx);
    answer(req, tx);
  });
  try {
    await fn({ stack, peer, txs, port: protocol === 'udp' ? stack.udpPort : stack.tcpPort });
  } finally {
    await stack.close();
    await peer.close();
  }
}

const reply = (tx: ServerTransaction, status: number): void => tx.respond(createResponse(tx.request, status, undefined, { toTag: 'uas' }));

describe('NonInviteServerTransaction', () => {
  describe('Trying', () => {
    it('hands the request to the TU once and discards retransmissions while the TU is silent', async () => {
      await withServer('udp', { t1: 500 }, () => {}, async ({ peer, port, txs }) => {
        const req = peerRequest(peer, 'OPTIONS');
        await peer.send(req, port);
        await until(() => txs.length === 1, 1000, 'OPTIONS at the TU');
        assert.ok(txs[0] instanceof NonInviteServerTransaction);
        assert.equal(txs[0]!.state, 'Trying');
        await peer.send(req, port);
        await peer.send(req, port);
        await sleep(250);
        assert.equal(txs.length, 1, 'retransmissions absorbed');
        assert.equal(peer.seen.length, 0, 'nothing to repeat yet, and no automatic 100 for non-INVITE');
      });
    });
  });

  describe('Proceeding', () => {
    it('moves to Proceeding on a provisional response and re-sends it for each retransmission', async () => {
      await withServer('udp', { t1: 500 }, (_req, tx) => reply(tx, 100), async ({ peer, port, txs }) => {
        const req = peerRequest(peer, 'REGISTER');
        await peer.send(req, port);
        await until(() => peer.responses(100).length === 1, 1000, '100');
        assert.equal(txs[0]!.state, 'Proceeding');
        await peer.send(req, port);
        await until(() => peer.responses(100).length === 2, 1000, '100 re-sent');
        reply(txs[0]!, 200);
        await until(() => peer.responses(200).length === 1, 1000, '200');
        assert.equal(txs[0]!.state, 'Completed');
        assert.equal(txs.length, 1);
      });
    });
  });

  describe('Completed', () => {
    it('re-sends the final response for retransmissions until Timer J, then forgets the request', async () => {
      await withServer('udp', { t1: 10 }, (_req, tx) => reply(tx, 200), async ({ stack, peer, port, txs }) => {
        const req = peerRequest(peer, 'MESSAGE');
        await peer.send(req, port);
        await until(() => peer.responses(200).length === 1, 1000, '200');
        await peer.send(req, port);
        await until(() => peer.responses(200).length === 2, 1000, '200 re-sent');
        assert.equal(txs.length, 1);
        assert.equal(txs[0]!.state, 'Completed');
        // Timer J = 64*T1 = 640 ms; afterwards the same request is new to the layer
        await until(() => txs[0]!.state === 'Terminated', 1500, 'Timer J');
        assert.equal(stack.layer.size, 0);
        await peer.send(req, port);
        await until(() => txs.length === 2, 1000, 'seen as a new request after Timer J');
      });
    });

    it('on TCP Timer J is zero: terminates right after the final response', async () => {
      await withServer('tcp', { t1: 500 }, (_req, tx) => reply(tx, 200), async ({ stack, peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'OPTIONS'), port);
        await until(() => peer.responses(200).length === 1, 1000, '200');
        assert.equal(txs[0]!.state, 'Terminated');
        assert.equal(stack.layer.size, 0);
      });
    });

    it('refuses any response after the final one (RFC 3261 §17.2.2)', async () => {
      await withServer('udp', { t1: 500 }, (_req, tx) => reply(tx, 200), async ({ peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'OPTIONS'), port);
        await until(() => peer.responses(200).length === 1, 1000, '200');
        assert.throws(() => reply(txs[0]!, 500), TransactionStateError);
        assert.throws(() => reply(txs[0]!, 180), TransactionStateError);
        await sleep(30);
        assert.equal(peer.seen.length, 1, 'nothing else on the wire');
      });
    });
  });

  describe('transport errors', () => {
    it('reports a response that cannot be sent to the TU as a TransportError and terminates (RFC 3261 §17.2.4)', async () => {
      const errors: string[] = [];
      await withServer(
        'tcp',
        { t1: 500 },
        (_req, tx) => {
          tx.user = { onTransportError: (err, t) => errors.push(`${err.name} ${err.code} in ${t.state}`) };
        },
        async ({ peer, port, txs }) => {
          await peer.send(peerRequest(peer, 'OPTIONS'), port);
          await until(() => txs.length === 1, 1000, 'OPTIONS');
          await peer.close(); // the connection, and the port it came from, are gone
          await sleep(50);
          reply(txs[0]!, 200);
          await until(() => errors.length === 1, 2000, 'transport error');
          assert.match(errors[0]!, /^TransportError SIP_ERR_TRANSPORT_[A-Z]+ in Terminated$/);
          assert.equal(txs[0]!.state, 'Terminated');
        },
      );
    });
  });

  describe('transitions', () => {
    it('throws on a transition the RFC does not define', async () => {
      await withServer('udp', { t1: 500 }, () => {}, async ({ peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'OPTIONS'), port);
        await until(() => txs.length === 1, 1000, 'OPTIONS');
        const machine = txs[0] as unknown as { transition(to: string): void };
        assert.throws(() => machine.transition('Confirmed'), IllegalTransitionError);
        assert.throws(() => machine.transition('Trying'), IllegalTransitionError);
        reply(txs[0]!, 200);
      });
    });
  });
});
