import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SipResponse } from '../message/index.ts';
import { IllegalTransitionError } from './errors.ts';
import { NonInviteClientTransaction } from './non-invite-client-transaction.ts';
import type { TimerConfig } from './timers.ts';
import { gaps, peerResponse, RawPeer, RecordingUser, sleep, stackRequest, startStack, until, type Stack } from './test-kit.ts';

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

describe('NonInviteClientTransaction', () => {
  describe('Trying', () => {
    it('retransmits on UDP with Timer E doubling from T1 and capped at T2', async () => {
      await withPeer('udp', { t1: 10, t2: 40 }, async (stack, peer) => {
        const tx = stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, new RecordingUser());
        assert.ok(tx instanceof NonInviteClientTransaction);
        assert.equal(tx.state, 'Trying');
        // Due at 0, 10, 30, 70, then every 40 ms: 17 sends by 600 ms. Without the cap only 0, 10, 30, 70,
        // 150, 310 (six). Timers may run late on a busy machine, never early.
        await sleep(600);
        const times = peer.times('OPTIONS');
        const g = gaps(times);
        // Arrival times carry this process's event-loop noise, so count sends (17 due by 600 ms, six without
        // the cap, about sixty if the interval never grew) and check spans rather than single gaps.
        assert.ok(times.length >= 8 && times.length <= 17, `${times.length} sends, ${g.map((x) => x.toFixed(0)).join(', ')} ms apart`);
        assert.ok(times[3]! - times[0]! >= 50, 'first intervals double: 10 + 20 + 40');
        const capped = times.length - 4;
        assert.ok(times.at(-1)! - times[3]! >= capped * 40 - 15, `later intervals are T2 = 40: ${g.join(', ')}`);
        assert.equal(tx.state, 'Trying');
      });
    });

    it('times out with Timer F = 64*T1 and tells the TU, which treats it as 408', async () => {
      await withPeer('udp', { t1: 10, t2: 40 }, async (stack, peer) => {
        const user = new RecordingUser();
        const started = performance.now();
        const tx = stack.layer.sendRequest(stackRequest('MESSAGE'), peer.target, user);
        await until(() => user.timeouts.length > 0, 2000, 'Timer F');
        assert.ok(user.timeoutAt - started >= 638, `Timer F after ${user.timeoutAt - started} ms`);
        assert.deepEqual(user.events, ['timeout F in Terminated']);
        assert.equal(user.timeouts[0]!.timer, 'F');
        assert.equal(user.timeouts[0]!.status, 408);
        assert.equal(tx.state, 'Terminated');
        await sleep(30);
        const sent = peer.requests('MESSAGE').length;
        await sleep(80);
        assert.equal(peer.requests('MESSAGE').length, sent, 'no retransmission after Timer F');
      });
    });

    it('sends once over TCP (no Timer E) and still times out with Timer F', async () => {
      await withPeer('tcp', { t1: 10 }, async (stack, peer) => {
        const user = new RecordingUser();
        stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        await until(() => user.timeouts.length > 0, 2000, 'Timer F');
        assert.equal(peer.requests('OPTIONS').length, 1);
      });
    });
  });

  describe('Proceeding', () => {
    it('moves to Proceeding on 1xx, hands it up, and retransmits every T2', async () => {
      await withPeer('udp', { t1: 10, t2: 200 }, async (stack, peer) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('REGISTER'), peer.target, user);
        const first = await until(() => peer.requests('REGISTER')[0], 1000, 'REGISTER');
        await peer.send(peerResponse(first, 100), stack.udpPort);
        await until(() => user.responses.length === 1, 1000, '100');
        assert.equal(tx.state, 'Proceeding');
        // The retransmission already armed goes out; from then on every T2 = 200 ms (RFC 3261 §17.1.2.2).
        // Had the interval kept doubling from T1 (20, 40, 80, ...), gaps would be shorter than T2.
        const from = peer.seen.length;
        await sleep(500);
        const times = peer.seen.slice(from).filter((s) => 'method' in s.msg).map((s) => s.at);
        assert.ok(times.length >= 2 && times.length <= 4, `${times.length} retransmissions in Proceeding`);
        assert.ok(gaps(times).every((x) => x >= 175), `intervals of T2: ${gaps(times).join(', ')}`);
        assert.deepEqual(user.events, ['response 100 in Proceeding']);
      });
    });
  });

  describe('Completed', () => {
    it('hands the final response up once, absorbs retransmissions until Timer K, then terminates', async () => {
      await withPeer('udp', { t1: 10, t2: 40, t4: 300 }, async (stack, peer) => {
        const user = new RecordingUser();
        const strays: SipResponse[] = [];
        stack.layer.onStrayResponse((res) => strays.push(res));
        const tx = stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        const req = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
        const ok = peerResponse(req, 200);
        await peer.send(ok, stack.udpPort);
        await until(() => tx.state === 'Completed', 1000, 'Completed');
        const sent = peer.requests('OPTIONS').length;
        await peer.send(ok, stack.udpPort);
        await peer.send(ok, stack.udpPort);
        await sleep(30);
        assert.equal(user.responses.length, 1, 'retransmissions absorbed');
        assert.equal(strays.length, 0);
        assert.equal(tx.state, 'Completed');
        // Timer K = T4 = 300 ms
        await until(() => tx.state === 'Terminated', 1000, 'Timer K');
        assert.equal(peer.requests('OPTIONS').length, sent, 'no retransmission in Completed');
        await peer.send(ok, stack.udpPort);
        await until(() => strays.length === 1, 1000, 'stray after Timer K');
        assert.deepEqual(user.events, ['response 200 in Completed']);
      });
    });

    it('lets go of the TU (and the response it was handed) while it waits for Timer K', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      await withPeer('udp', { t1: 10, t2: 40, t4: 5000 }, async (stack, peer) => {
        let user: RecordingUser | undefined = new RecordingUser();
        const gone = new WeakRef(user);
        const tx = stack.layer.sendRequest(stackRequest('REGISTER'), peer.target, user);
        const req = await until(() => peer.requests('REGISTER')[0], 1000, 'REGISTER');
        await peer.send(peerResponse(req, 200), stack.udpPort);
        await until(() => user!.responses.length === 1, 1000, '200');
        user = undefined;
        // Two collections: the first may only reach what the last callbacks still held.
        await sleep(10);
        gc();
        await sleep(10);
        gc();
        assert.equal(tx.state, 'Completed');
        assert.equal(gone.deref(), undefined, 'a Completed transaction keeps its TU alive for T4');
      });
    });

    it('leaves only its key in the layer for Timer K: the transaction object may go, retransmissions are still absorbed', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      await withPeer('udp', { t1: 10, t2: 40, t4: 400 }, async (stack, peer) => {
        const user = new RecordingUser();
        const strays: SipResponse[] = [];
        stack.layer.onStrayResponse((res) => strays.push(res));
        let tx: ReturnType<typeof stack.layer.sendRequest> | undefined = stack.layer.sendRequest(stackRequest('REGISTER'), peer.target, user);
        const gone = new WeakRef(tx);
        const req = await until(() => peer.requests('REGISTER')[0], 1000, 'REGISTER');
        const ok = peerResponse(req, 200);
        await peer.send(ok, stack.udpPort);
        await until(() => user.responses.length === 1, 1000, '200');
        assert.equal(tx.state, 'Completed');
        tx = undefined;
        await sleep(10);
        gc();
        await sleep(10);
        gc();
        assert.equal(gone.deref(), undefined, 'the layer keeps a Completed transaction (and its request) for T4');
        assert.equal(stack.layer.size, 1, 'its key is still there');
        await peer.send(ok, stack.udpPort);
        await sleep(30);
        assert.equal(user.responses.length, 1, 'the retransmission is absorbed');
        assert.equal(strays.length, 0);
        await until(() => stack.layer.size === 0, 1000, 'Timer K');
        await peer.send(ok, stack.udpPort);
        await until(() => strays.length === 1, 1000, 'a stray once Timer K has run');
      });
    });

    it('reads Terminated once the layer closes, before Timer K', async () => {
      await withPeer('udp', { t1: 10, t2: 40, t4: 5000 }, async (stack, peer) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        const req = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
        await peer.send(peerResponse(req, 200), stack.udpPort);
        await until(() => tx.state === 'Completed', 1000, 'Completed');
        await stack.layer.close();
        assert.equal(tx.state, 'Terminated');
        assert.equal(stack.layer.size, 0);
      });
    });

    it('on TCP Timer K is zero: terminates as soon as the final response is handed up', async () => {
      await withPeer('tcp', { t1: 500 }, async (stack, peer) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        const req = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
        await peer.send(peerResponse(req, 404), stack.tcpPort);
        await until(() => user.responses.length === 1, 1000, '404');
        assert.deepEqual(user.events, ['response 404 in Completed']);
        assert.equal(tx.state, 'Terminated');
        assert.equal(tx.activeTimers, 0);
        assert.equal(stack.layer.size, 0);
      });
    });
  });

  describe('transitions', () => {
    it('throws on a transition the RFC does not define', async () => {
      await withPeer('udp', { t1: 500 }, async (stack, peer) => {
        const tx = stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, new RecordingUser());
        const machine = tx as unknown as { transition(to: string): void };
        assert.throws(() => machine.transition('Trying'), IllegalTransitionError);
        assert.throws(() => machine.transition('Accepted'), IllegalTransitionError);
        assert.equal(tx.state, 'Trying');
      });
    });
  });
});
