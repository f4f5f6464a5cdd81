import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResponse, newBranch, type SipRequest } from '../message/index.ts';
import type { Flow } from '../transport/index.ts';
import { buildNon2xxAck } from './ack.ts';
import { IllegalTransitionError, TransactionStateError, type TransactionTimeoutError } from './errors.ts';
import { InviteServerTransaction } from './invite-server-transaction.ts';
import type { TimerConfig } from './timers.ts';
import type { ServerTransaction } from './transaction.ts';
import { gaps, peerRequest, RawPeer, sleep, startStack, until, type Stack } from './test-kit.ts';

interface Ctx {
  stack: Stack;
  peer: RawPeer;
  /** Server transactions the TU was handed, in order. */
  txs: ServerTransaction[];
  acks: SipRequest[];
  port: number;
}

/** A stack whose TU records requests and runs `answer` on each; a peer to drive it. */
async function withServer(
  protocol: 'udp' | 'tcp',
  timers: Partial<TimerConfig>,
  answer: (req: SipRequest, tx: ServerTransaction) => void,
  fn: (ctx: Ctx) => Promise<void>,
): Promise<void> {
  const stack = await startStack(timers);
  const peer = await RawPeer.create(protocol);
  const txs: ServerTransaction[] = [];
  const acks: SipRequest[] = [];
  stack.layer.onRequest((req, tx) => {
    txs.push(tx);
    answer(req, tx);
  });
  stack.layer.onAck((ack: SipRequest, _flow: Flow) => acks.push(ack));
  try {
    await fn({ stack, peer, txs, acks, port: protocol === 'udp' ? stack.udpPort : stack.tcpPort });
  } finally {
    await stack.close();
    await peer.close();
  }
}

const reply = (tx: ServerTransaction, status: number): void => tx.respond(createResponse(tx.request, status, undefined, { toTag: 'uas' }));
const silent = (): void => {};

describe('InviteServerTransaction', () => {
  describe('Proceeding', () => {
    it('sends 100 Trying on its own when the TU has not answered within 200 ms (RFC 3261 §17.2.1)', async () => {
      await withServer('udp', { t1: 500 }, silent, async ({ peer, port, txs }) => {
        const sentAt = performance.now();
        await peer.send(peerRequest(peer, 'INVITE'), port);
        const trying = await until(() => peer.seen.find((s) => 'status' in s.msg && s.msg.status === 100), 1000, '100 Trying');
        assert.ok(trying.at - sentAt >= 195, `100 after ${trying.at - sentAt} ms`);
        assert.equal(txs.length, 1);
        assert.ok(txs[0] instanceof InviteServerTransaction);
        assert.equal(txs[0]!.state, 'Proceeding');
        await sleep(250);
        assert.equal(peer.responses(100).length, 1, 'one 100 only');
      });
    });

    it('sends no 100 Trying when the TU answers first', async () => {
      await withServer('udp', { t1: 500 }, (_req, tx) => reply(tx, 180), async ({ peer, port }) => {
        await peer.send(peerRequest(peer, 'INVITE'), port);
        await sleep(300);
        assert.equal(peer.responses(100).length, 0);
        assert.equal(peer.responses(180).length, 1);
      });
    });

    it('absorbs a retransmitted INVITE and re-sends the last provisional response', async () => {
      await withServer('udp', { t1: 500 }, (_req, tx) => reply(tx, 180), async ({ peer, port, txs }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        await until(() => peer.responses(180).length === 1, 1000, '180');
        await peer.send(invite, port);
        await peer.send(invite, port);
        await until(() => peer.responses(180).length === 3, 1000, '180 re-sent per retransmission');
        assert.equal(txs.length, 1, 'the TU sees the INVITE once');
      });
    });
  });

  describe('Completed', () => {
    it('retransmits a non-2xx final response on UDP with Timer G doubling up to T2', async () => {
      await withServer('udp', { t1: 10, t2: 40 }, (_req, tx) => reply(tx, 486), async ({ peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'INVITE'), port);
        await until(() => peer.responses(486).length === 1, 1000, '486');
        assert.equal(txs[0]!.state, 'Completed');
        // Due at 0, 10, 30, 70, then every 40 ms: 17 sends by 600 ms; without the cap only six (0, 10, 30,
        // 70, 150, 310). Timers may run late on a busy machine, never early.
        await sleep(600);
        const times = peer.responseTimes(486);
        const g = gaps(times);
        // Arrival times carry this process's event-loop noise, so count sends (17 due by 600 ms, six without
        // the cap, about sixty if the interval never grew) and check spans rather than single gaps.
        assert.ok(times.length >= 8 && times.length <= 17, `${times.length} sends, ${g.map((x) => x.toFixed(0)).join(', ')} ms apart`);
        assert.ok(times[3]! - times[0]! >= 50, 'first intervals double: 10 + 20 + 40');
        const capped = times.length - 4;
        assert.ok(times.at(-1)! - times[3]! >= capped * 40 - 15, `later intervals are T2 = 40: ${g.join(', ')}`);
      });
    });

    it('gives up with Timer H when no ACK comes, and tells the TU', async () => {
      const timeouts: TransactionTimeoutError[] = [];
      const answer = (_req: SipRequest, tx: ServerTransaction): void => {
        tx.user = { onTimeout: (_tx, err) => timeouts.push(err) };
        reply(tx, 404);
      };
      await withServer('udp', { t1: 10, t2: 40 }, answer, async ({ stack, peer, port, txs }) => {
        const sentAt = performance.now();
        await peer.send(peerRequest(peer, 'INVITE'), port);
        await until(() => timeouts.length === 1, 2000, 'Timer H');
        assert.ok(performance.now() - sentAt >= 640, 'H = 64*T1');
        assert.equal(timeouts[0]!.timer, 'H');
        assert.equal(txs[0]!.state, 'Terminated');
        assert.equal(stack.layer.size, 0);
        await sleep(30);
        const count = peer.responses(404).length;
        await sleep(80);
        assert.equal(peer.responses(404).length, count, 'Timer G stopped');
      });
    });

    it('absorbs a retransmitted INVITE by re-sending the final response', async () => {
      await withServer('tcp', { t1: 500 }, (_req, tx) => reply(tx, 603), async ({ peer, port, txs }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        await until(() => peer.responses(603).length === 1, 1000, '603');
        await peer.send(invite, port);
        await until(() => peer.responses(603).length === 2, 1000, '603 again');
        assert.equal(txs.length, 1);
      });
    });

    it('sends the final response once over TCP: no Timer G', async () => {
      await withServer('tcp', { t1: 10, t2: 40 }, (_req, tx) => reply(tx, 486), async ({ peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'INVITE'), port);
        await until(() => peer.responses(486).length === 1, 1000, '486');
        await sleep(200);
        assert.equal(peer.responses(486).length, 1);
        assert.equal(txs[0]!.state, 'Completed', 'still waiting for the ACK (Timer H)');
      });
    });
  });

  describe('Confirmed', () => {
    it('moves to Confirmed on ACK, stops Timer G, absorbs ACKs until Timer I, then terminates', async () => {
      await withServer('udp', { t1: 10, t2: 40, t4: 400 }, (_req, tx) => reply(tx, 486), async ({ peer, port, txs, acks }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        const res = await until(() => peer.responses(486)[0], 1000, '486');
        const ack = buildNon2xxAck(invite, res);
        await peer.send(ack, port);
        await until(() => txs[0]!.state === 'Confirmed', 1000, 'Confirmed');
        await sleep(30);
        const count = peer.responses(486).length;
        await peer.send(ack, port); // a retransmitted ACK is absorbed
        await sleep(100);
        assert.equal(peer.responses(486).length, count, 'Timer G stopped');
        assert.equal(acks.length, 0, 'an ACK for a non-2xx never reaches the TU');
        assert.equal(txs[0]!.state, 'Confirmed');
        await until(() => txs[0]!.state === 'Terminated', 1000, 'Timer I');
      });
    });

    it('on TCP Timer I is zero: the ACK ends the transaction at once', async () => {
      await withServer('tcp', { t1: 500 }, (_req, tx) => reply(tx, 486), async ({ stack, peer, port, txs, acks }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        const res = await until(() => peer.responses(486)[0], 1000, '486');
        await peer.send(buildNon2xxAck(invite, res), port);
        await until(() => txs[0]!.state === 'Terminated', 1000, 'Terminated');
        assert.equal(acks.length, 0);
        assert.equal(stack.layer.size, 0);
      });
    });
  });

  describe('Accepted', () => {
    it('moves to Accepted on 2xx and retransmits nothing itself (RFC 6026 §7.1)', async () => {
      await withServer('udp', { t1: 10, t2: 40 }, (_req, tx) => reply(tx, 200), async ({ peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'INVITE'), port);
        await until(() => peer.responses(200).length === 1, 1000, '200');
        assert.equal(txs[0]!.state, 'Accepted');
        await sleep(200);
        assert.equal(peer.responses(200).length, 1, 'the UA core, not the transaction, retransmits 2xx');
      });
    });

    it('absorbs INVITE retransmissions, sends the TU 2xx retransmissions, passes the ACK up, ends with Timer L', async () => {
      await withServer('udp', { t1: 10 }, (_req, tx) => reply(tx, 200), async ({ peer, port, txs, acks }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        const ok = await until(() => peer.responses(200)[0], 1000, '200');
        await peer.send(invite, port);
        await sleep(40);
        assert.equal(peer.responses(200).length, 1, 'INVITE retransmission absorbed, nothing re-sent');
        assert.equal(txs.length, 1);
        txs[0]!.respond(ok); // the UA core retransmitting its 2xx
        await until(() => peer.responses(200).length === 2, 1000, '2xx retransmission from the TU');
        // ACK for 2xx is its own transaction-less request with a new branch (RFC 3261 §17.1.1.3)
        const ack = buildNon2xxAck(invite, ok);
        ack.headers.set('Via', `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${newBranch()}`);
        await peer.send(ack, port);
        await until(() => acks.length === 1, 1000, 'ACK for 2xx at the TU');
        assert.throws(() => reply(txs[0]!, 486), TransactionStateError);
        // Timer L = 64*T1 = 640 ms
        await until(() => txs[0]!.state === 'Terminated', 1500, 'Timer L');
      });
    });
  });

  describe('transitions', () => {
    it('throws on a transition the RFC does not define, and on a response after the final one', async () => {
      await withServer('tcp', { t1: 500 }, (_req, tx) => reply(tx, 486), async ({ peer, port, txs }) => {
        await peer.send(peerRequest(peer, 'INVITE'), port);
        await until(() => txs[0]?.state === 'Completed', 1000, 'Completed');
        const machine = txs[0] as unknown as { transition(to: string): void };
        assert.throws(() => machine.transition('Accepted'), IllegalTransitionError);
        assert.throws(() => machine.transition('Proceeding'), IllegalTransitionError);
        assert.throws(() => reply(txs[0]!, 180), TransactionStateError);
        assert.equal(txs[0]!.state, 'Completed');
      });
    });
  });
});
