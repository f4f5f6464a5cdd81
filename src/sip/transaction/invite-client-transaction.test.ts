import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { SipResponse } from '../message/index.ts';
import { IllegalTransitionError } from './errors.ts';
import { InviteClientTransaction } from './invite-client-transaction.ts';
import type { TimerConfig } from './timers.ts';
import {
  gaps,
  peerResponse,
  RawPeer,
  RecordingUser,
  sleep,
  stackRequest,
  startStack,
  until,
  type Stack,
} from './test-kit.ts';

/** Runs `fn` with a fresh stack and peer, and always tears both down. */
async function withPeer(
  protocol: 'udp' | 'tcp',
  timers: Partial<TimerConfig>,
  fn: (stack: Stack, peer: RawPeer) => Promise<void>,
): Promise<void> {
  const stack = await startStack(timers);
  const peer = await RawPeer.create(protocol);
  try {
    await fn(stack, peer);
  } finally {
    await stack.close();
    await peer.close();
  }
}

const stackPort = (stack: Stack, peer: RawPeer): number => (peer.protocol === 'udp' ? stack.udpPort : stack.tcpPort);

describe('InviteClientTransaction', () => {
  describe('Calling', () => {
    it('retransmits the INVITE on UDP with Timer A starting at T1 and doubling', async () => {
      await withPeer('udp', { t1: 20, t2: 100 }, async (stack, peer) => {
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, new RecordingUser());
        assert.ok(tx instanceof InviteClientTransaction);
        assert.equal(tx.state, 'Calling');
        // Sends due at 0, 20, 60, 140, 300 ms; the next one not before 620 ms. Timers may fire late on a
        // busy machine, never early, so the checks below are lower bounds plus the count in the window.
        await sleep(460);
        const times = peer.times('INVITE');
        const g = gaps(times);
        assert.equal(times.length, 5, `INVITEs ${g.map((x) => x.toFixed(0)).join(', ')} ms apart`);
        assert.ok(times[4]! - times[0]! >= 285, `span of 20 + 40 + 80 + 160 ms, got ${times[4]! - times[0]!}`);
        // Timer A has no T2 cap for INVITE (RFC 3261 §17.1.1.2): the last interval exceeds T2 = 100.
        assert.ok(g[2]! >= 60 && g[3]! >= 130, `intervals double (40, 80, 160 due): ${g.join(', ')}`);
        const branches = new Set(peer.requests('INVITE').map((r) => r.topVia.branch));
        assert.equal(branches.size, 1, 'retransmissions are the same request');
      });
    });

    it('moves to Proceeding on 1xx and stops retransmitting', async () => {
      await withPeer('udp', { t1: 20 }, async (stack, peer) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        await until(() => peer.requests('INVITE').length >= 2, 1000, 'a retransmission');
        await peer.send(peerResponse(peer.requests('INVITE')[0]!, 180), stack.udpPort);
        await until(() => user.responses.length === 1, 1000, '180 at the TU');
        assert.equal(tx.state, 'Proceeding');
        await sleep(30); // let a retransmission already on its way arrive
        const count = peer.requests('INVITE').length;
        await sleep(400); // without the 180, at least two more would have gone out
        assert.equal(peer.requests('INVITE').length, count);
        assert.deepEqual(user.events, ['response 180 in Proceeding']);
      });
    });

    it('times out with Timer B = 64*T1 and tells the TU, which treats it as 408', async () => {
      await withPeer('udp', { t1: 10 }, async (stack, peer) => {
        const user = new RecordingUser();
        const started = performance.now();
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        await until(() => user.timeouts.length > 0, 2000, 'Timer B');
        const elapsed = user.timeoutAt - started;
        assert.ok(elapsed >= 640 - 2, `Timer B fired after ${elapsed} ms`);
        assert.deepEqual(user.events, ['timeout B in Terminated']);
        assert.equal(user.timeouts[0]!.code, 'SIP_ERR_TRANSACTION_TIMEOUT');
        assert.equal(user.timeouts[0]!.status, 408);
        assert.equal(tx.state, 'Terminated');
        assert.equal(stack.layer.size, 0);
        // Due at 0, 10, 30, 70, 150, 310, 630: at most seven before B; fewer if timers ran late.
        await sleep(30);
        const sent = peer.requests('INVITE').length;
        assert.ok(sent >= 5 && sent <= 7, `${sent} INVITEs`);
        await sleep(100);
        assert.equal(peer.requests('INVITE').length, sent, 'nothing after termination');
      });
    });

    it('does not retransmit over TCP, and still times out with Timer B', async () => {
      await withPeer('tcp', { t1: 10 }, async (stack, peer) => {
        const user = new RecordingUser();
        stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        await until(() => user.timeouts.length > 0, 2000, 'Timer B');
        assert.equal(peer.requests('INVITE').length, 1);
        assert.deepEqual(user.events, ['timeout B in Terminated']);
      });
    });

    it('ends with a typed TransportError when the transport fails (RFC 3261 §17.1.4)', async () => {
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const stack = await startStack({ t1: 10 });
      try {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), { protocol: 'tcp', host: '127.0.0.1', port }, user);
        await until(() => user.transportErrors.length > 0, 2000, 'transport error');
        assert.equal(user.transportErrors[0]!.name, 'TransportError');
        assert.match(user.transportErrors[0]!.code, /^SIP_ERR_TRANSPORT_/);
        assert.deepEqual(user.events, [`transport ${user.transportErrors[0]!.code} in Terminated`]);
        assert.equal(tx.state, 'Terminated');
        assert.equal(stack.layer.size, 0);
      } finally {
        await stack.close();
      }
    });
  });

  describe('Proceeding', () => {
    it('hands every further 1xx up and moves to Completed on a final response', async () => {
      await withPeer('udp', { t1: 20 }, async (stack, peer) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        for (const status of [100, 180, 183]) await peer.send(peerResponse(invite, status), stack.udpPort);
        await until(() => user.responses.length === 3, 1000, 'three 1xx');
        assert.equal(tx.state, 'Proceeding');
        await peer.send(peerResponse(invite, 486), stack.udpPort);
        await until(() => user.responses.length === 4, 1000, '486');
        assert.equal(tx.state, 'Completed');
        assert.deepEqual(user.events, [
          'response 100 in Proceeding',
          'response 180 in Proceeding',
          'response 183 in Proceeding',
          'response 486 in Completed',
        ]);
      });
    });
  });

  describe('Completed', () => {
    it('builds and sends the ACK for a non-2xx itself (RFC 3261 §17.1.1.3)', async () => {
      await withPeer('udp', { t1: 20 }, async (stack, peer) => {
        const user = new RecordingUser();
        const req = stackRequest('INVITE', { route: '<sip:proxy.example.com;lr>' });
        stack.layer.sendRequest(req, peer.target, user);
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        const res = peerResponse(invite, 486, 'busy-tag');
        await peer.send(res, stack.udpPort);
        const ack = await until(() => peer.requests('ACK')[0], 1000, 'ACK');
        assert.equal(ack.startLine(), invite.startLine().replace(/^INVITE/, 'ACK'), 'same Request-URI');
        assert.equal(ack.callId, invite.callId);
        assert.equal(ack.headers.get('From'), invite.headers.get('From'));
        assert.equal(ack.toTag, 'busy-tag', 'To of the response');
        assert.equal(ack.headers.get('To'), res.headers.get('To'));
        assert.deepEqual(ack.headers.getAll('Via'), [invite.headers.getAll('Via')[0]], 'one Via, the INVITE top Via');
        assert.deepEqual(ack.cseq, { seq: invite.cseq.seq, method: 'ACK' });
        assert.deepEqual(ack.headers.getAll('Route'), ['<sip:proxy.example.com;lr>']);
        assert.equal(ack.body.length, 0);
        assert.deepEqual(user.events, ['response 486 in Completed']);
      });
    });

    it('absorbs retransmissions of the final response during Timer D, ACKing each, then terminates', async () => {
      await withPeer('udp', { t1: 10 }, async (stack, peer) => {
        const user = new RecordingUser();
        const strays: SipResponse[] = [];
        stack.layer.onStrayResponse((res) => strays.push(res));
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        const res = peerResponse(invite, 503);
        await peer.send(res, stack.udpPort);
        await until(() => peer.requests('ACK').length === 1, 1000, 'first ACK');
        const inviteCount = peer.requests('INVITE').length;
        await peer.send(res, stack.udpPort);
        await peer.send(res, stack.udpPort);
        await until(() => peer.requests('ACK').length === 3, 1000, 'an ACK per retransmission');
        assert.equal(user.responses.length, 1, 'retransmissions are not handed up');
        assert.equal(tx.state, 'Completed');
        // Timer D = 64*T1 = 640 ms here
        await until(() => tx.state === 'Terminated', 1500, 'Timer D');
        assert.equal(peer.requests('INVITE').length, inviteCount, 'no INVITE retransmission after the final response');
        await peer.send(res, stack.udpPort);
        await until(() => strays.length === 1, 1000, 'stray response after termination');
        assert.equal(peer.requests('ACK').length, 3, 'no ACK once terminated');
      });
    });

    it('on TCP Timer D is zero: it ACKs and terminates at once', async () => {
      await withPeer('tcp', { t1: 500 }, async (stack, peer) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        await peer.send(peerResponse(invite, 404), stackPort(stack, peer));
        await until(() => peer.requests('ACK').length === 1, 1000, 'ACK');
        assert.equal(tx.state, 'Terminated');
        assert.equal(tx.activeTimers, 0);
        assert.equal(stack.layer.size, 0);
      });
    });
  });

  describe('Accepted', () => {
    it('moves to Accepted on 2xx, sends no ACK itself and hands 2xx retransmissions up (RFC 6026 §8.4)', async () => {
      await withPeer('udp', { t1: 10 }, async (stack, peer) => {
        const user = new RecordingUser();
        const strays: SipResponse[] = [];
        stack.layer.onStrayResponse((res) => strays.push(res));
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, user);
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        const ok = peerResponse(invite, 200);
        await peer.send(ok, stack.udpPort);
        await until(() => user.responses.length === 1, 1000, '200');
        assert.equal(tx.state, 'Accepted');
        await peer.send(ok, stack.udpPort);
        await until(() => user.responses.length === 2, 1000, 'retransmitted 200 at the TU');
        assert.deepEqual(user.events, ['response 200 in Accepted', 'response 200 in Accepted']);
        // Timer M = 64*T1 = 640 ms, then later 2xx are strays for the UA core
        await until(() => tx.state === 'Terminated', 1500, 'Timer M');
        await peer.send(ok, stack.udpPort);
        await until(() => strays.length === 1, 1000, 'stray 200');
        assert.equal(peer.requests('ACK').length, 0, 'the ACK for 2xx is the TU job');
      });
    });
  });

  describe('transitions', () => {
    it('throws on a transition the RFC does not define', async () => {
      await withPeer('tcp', { t1: 500 }, async (stack, peer) => {
        const tx = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, new RecordingUser());
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        await peer.send(peerResponse(invite, 404), stack.tcpPort);
        await until(() => tx.state === 'Terminated', 1000, 'Terminated');
        const machine = tx as unknown as { transition(to: string): void };
        assert.throws(() => machine.transition('Calling'), IllegalTransitionError);
        assert.equal(tx.state, 'Terminated');
      });
    });
  });
});
