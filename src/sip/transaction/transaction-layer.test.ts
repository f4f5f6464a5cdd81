import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, createResponse, newBranch, type SipRequest, type SipResponse } from '../message/index.ts';
import { buildNon2xxAck } from './ack.ts';
import { TransactionClosedError, TransactionError } from './errors.ts';
import type { ServerTransaction } from './transaction.ts';
import {
  peerRequest,
  peerResponse,
  RawPeer,
  RecordingUser,
  sleep,
  stackRequest,
  startStack,
  until,
  type Stack,
} from './test-kit.ts';

interface Ctx {
  stack: Stack;
  peer: RawPeer;
  requests: Array<{ req: SipRequest; tx: ServerTransaction }>;
  acks: SipRequest[];
  strays: SipResponse[];
  port: number;
}

async function withStack(
  protocol: 'udp' | 'tcp',
  answer: (req: SipRequest, tx: ServerTransaction) => void,
  fn: (ctx: Ctx) => Promise<void>,
  t1 = 500,
): Promise<void> {
  const stack = await startStack({ t1 });
  const peer = await RawPeer.create(protocol);
  const ctx: Ctx = { stack, peer, requests: [], acks: [], strays: [], port: protocol === 'udp' ? stack.udpPort : stack.tcpPort };
  stack.layer.onRequest((req, tx) => {
    ctx.requests.push({ req, tx });
    answer(req, tx);
  });
  stack.layer.onAck((ack) => ctx.acks.push(ack));
  stack.layer.onStrayResponse((res) => ctx.strays.push(res));
  try {
    await fn(ctx);
  } finally {
    await stack.close();
    await peer.close();
  }
}

const reply = (tx: ServerTransaction, status: number): void => tx.respond(createResponse(tx.request, status, undefined, { toTag: 'uas' }));
const nothing = (): void => {};

/** The CANCEL a UAC builds for an INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From, To, CSeq number, top Via. */
function cancelFor(invite: SipRequest): SipRequest {
  const cancel = createRequest({
    method: 'CANCEL',
    uri: invite.uri,
    from: invite.headers.get('From')!,
    to: invite.headers.get('To')!,
    callId: invite.callId,
    cseq: invite.cseq.seq,
  });
  cancel.headers.prepend('Via', invite.headers.getAll('Via')[0]!);
  return cancel;
}

describe('TransactionLayer', () => {
  describe('sending requests', () => {
    it('puts one Via with our sent-by, a magic-cookie branch and rport on top (RFC 3261 §8.1.1.7, RFC 3581)', async () => {
      for (const protocol of ['udp', 'tcp'] as const) {
        await withStack(protocol, nothing, async ({ stack, peer }) => {
          stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, new RecordingUser());
          const req = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
          const vias = req.vias;
          assert.equal(vias.length, 1);
          assert.equal(vias[0]!.protocol, protocol.toUpperCase());
          assert.equal(vias[0]!.host, '127.0.0.1');
          assert.equal(vias[0]!.port, protocol === 'udp' ? stack.udpPort : stack.tcpPort);
          assert.match(vias[0]!.branch!, /^z9hG4bK./);
          assert.ok(vias[0]!.params.has('rport'));
        });
      }
    });

    it('keeps the Via of a CANCEL; CANCEL and INVITE with one branch are two transactions (RFC 3261 §17.1.3)', async () => {
      await withStack('udp', nothing, async ({ stack, peer, port, strays }) => {
        const inviteUser = new RecordingUser();
        const cancelUser = new RecordingUser();
        const inviteReq = stackRequest('INVITE');
        const itx = stack.layer.sendRequest(inviteReq, peer.target, inviteUser);
        const invite = await until(() => peer.requests('INVITE')[0], 1000, 'INVITE');
        await peer.send(peerResponse(invite, 180), port);
        await until(() => inviteUser.responses.length === 1, 1000, '180');
        const ctx = stack.layer.sendRequest(cancelFor(inviteReq), peer.target, cancelUser);
        assert.equal(ctx.branch, itx.branch);
        const cancel = await until(() => peer.requests('CANCEL')[0], 1000, 'CANCEL');
        assert.equal(cancel.headers.getAll('Via').length, 1);
        assert.equal(cancel.topVia.branch, invite.topVia.branch);
        await peer.send(peerResponse(cancel, 200), port);
        await peer.send(peerResponse(invite, 487), port);
        await until(() => inviteUser.responses.length === 2 && cancelUser.responses.length === 1, 1000, 'both finals');
        assert.deepEqual(cancelUser.events, ['response 200 in Completed']);
        assert.deepEqual(inviteUser.events, ['response 180 in Proceeding', 'response 487 in Completed']);
        assert.equal(strays.length, 0);
      });
    });

    it('does not match a response with another branch: it goes to onStrayResponse', async () => {
      await withStack('udp', nothing, async ({ stack, peer, port, strays }) => {
        const user = new RecordingUser();
        const tx = stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        const req = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
        const res = peerResponse(req, 200);
        const via = res.topVia;
        res.setTopVia({ ...via, branch: `${via.branch}x`, params: new Map([...via.params, ['branch', `${via.branch}x`]]) });
        await peer.send(res, port);
        await until(() => strays.length === 1, 1000, 'stray');
        assert.equal(user.responses.length, 0);
        assert.equal(tx.state, 'Trying');
        // Same branch, other CSeq method: no match either (RFC 3261 §17.1.3)
        const other = peerResponse(req, 200);
        other.headers.set('CSeq', `${req.cseq.seq} INFO`);
        await peer.send(other, port);
        await until(() => strays.length === 2, 1000, 'second stray');
        assert.equal(user.responses.length, 0);
      });
    });

    it('refuses an ACK: ACK for 2xx goes through sendAck2xx, which adds a fresh Via', async () => {
      await withStack('udp', nothing, async ({ stack, peer }) => {
        const ack = stackRequest('ACK');
        assert.throws(
          () => stack.layer.sendRequest(ack, peer.target, new RecordingUser()),
          (e: unknown) => e instanceof TransactionError && e.code === 'SIP_ERR_TRANSACTION_BAD_REQUEST',
        );
        await stack.layer.sendAck2xx(ack, peer.target);
        const seen = await until(() => peer.requests('ACK')[0], 1000, 'ACK');
        assert.match(seen.topVia.branch!, /^z9hG4bK/);
        assert.equal(stack.layer.size, 0, 'no transaction for ACK');
      });
    });
  });

  describe('receiving requests', () => {
    it('sends an ACK with the INVITE branch to the server transaction and one with a new branch to onAck', async () => {
      await withStack('udp', (_r, tx) => reply(tx, 486), async ({ peer, port, requests, acks }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        const res = await until(() => peer.responses(486)[0], 1000, '486');
        await peer.send(buildNon2xxAck(invite, res), port);
        await until(() => requests[0]!.tx.state === 'Confirmed', 1000, 'Confirmed');
        assert.equal(acks.length, 0);
        const stray = buildNon2xxAck(invite, res);
        stray.headers.set('Via', `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${newBranch()}`);
        await peer.send(stray, port);
        await until(() => acks.length === 1, 1000, 'ACK at onAck');
        assert.equal(requests.length, 1);
      });
    });

    it('hands CANCEL to onRequest with its own transaction; findInviteServerTransaction finds the INVITE (RFC 3261 §9.2)', async () => {
      await withStack('udp', nothing, async ({ stack, peer, port, requests }) => {
        const invite = peerRequest(peer, 'INVITE');
        await peer.send(invite, port);
        await until(() => requests.length === 1, 1000, 'INVITE');
        reply(requests[0]!.tx, 180);
        const cancel = cancelFor(invite);
        await peer.send(cancel, port);
        await until(() => requests.length === 2, 1000, 'CANCEL');
        const { req, tx } = requests[1]!;
        assert.equal(req.method, 'CANCEL');
        assert.notEqual(tx, requests[0]!.tx);
        assert.equal(stack.layer.findInviteServerTransaction(req), requests[0]!.tx);
        reply(tx, 200);
        reply(requests[0]!.tx, 487);
        await until(() => peer.responses(487).length === 1 && peer.responses(200).length === 1, 1000, '200 + 487');
        const unknown = cancelFor(peerRequest(peer, 'INVITE'));
        assert.equal(stack.layer.findInviteServerTransaction(unknown), undefined);
      });
    });

    it('treats the same branch from another sent-by as a different transaction (RFC 3261 §17.2.3)', async () => {
      await withStack('udp', nothing, async ({ peer, port, requests }) => {
        const branch = newBranch();
        const a = peerRequest(peer, 'OPTIONS', { branch });
        const b = peerRequest(peer, 'OPTIONS', { branch });
        b.headers.set('Via', `SIP/2.0/UDP 127.0.0.2:5099;branch=${branch}`);
        await peer.send(a, port);
        await peer.send(b, port);
        await until(() => requests.length === 2, 1000, 'two transactions');
        await peer.send(a, port);
        await sleep(50);
        assert.equal(requests.length, 2, 'the retransmission of the first is absorbed');
      });
    });

    it('matches RFC 2543 requests (branch without z9hG4bK) on their fields, and their ACK by To tag', async () => {
      await withStack('udp', (_r, tx) => reply(tx, 486), async ({ peer, port, requests, acks }) => {
        const invite = peerRequest(peer, 'INVITE', { branch: 'old-style-1' });
        await peer.send(invite, port);
        const res = await until(() => peer.responses(486)[0], 1000, '486');
        await peer.send(invite, port);
        await until(() => peer.responses(486).length >= 2, 1000, 'final re-sent for the retransmission');
        assert.equal(requests.length, 1);
        // An ACK whose To tag is not the one we sent does not match the transaction
        const wrongTag = buildNon2xxAck(invite, peerResponse(invite, 486, 'someone-else'));
        await peer.send(wrongTag, port);
        await until(() => acks.length === 1, 1000, 'unmatched ACK at onAck');
        await peer.send(buildNon2xxAck(invite, res), port);
        await until(() => requests[0]!.tx.state === 'Confirmed', 1000, 'Confirmed by the right ACK');
        // No branch at all is RFC 2543 too
        const bare = peerRequest(peer, 'OPTIONS');
        bare.headers.set('Via', `SIP/2.0/UDP 127.0.0.1:${peer.port}`);
        await peer.send(bare, port);
        await peer.send(bare, port);
        await until(() => requests.length === 2, 1000, 'OPTIONS');
        await sleep(50);
        assert.equal(requests.length, 2, 'branch-less retransmission absorbed');
      });
    });

    it('answers 500 when the TU throws before answering', async () => {
      await withStack(
        'udp',
        () => {
          throw new Error('boom');
        },
        async ({ peer, port }) => {
          await peer.send(peerRequest(peer, 'MESSAGE'), port);
          const res = await until(() => peer.responses(500)[0], 1000, '500');
          assert.ok(res.toTag);
        },
      );
    });
  });

  describe('closing and close()', () => {
    it('answers new requests with 503 and Retry-After once closing, while transactions in flight go on', async () => {
      await withStack('udp', nothing, async ({ stack, peer, port, requests }) => {
        const user = new RecordingUser();
        stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        const out = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
        stack.layer.closing();
        assert.equal(stack.layer.isClosing, true);
        await peer.send(peerRequest(peer, 'INVITE'), port);
        const res = await until(() => peer.responses(503)[0], 1000, '503');
        assert.equal(res.headers.get('Retry-After'), '5');
        assert.ok(res.toTag, 'final response carries a To tag');
        assert.equal(requests.length, 0, 'the TU never sees it');
        await peer.send(peerResponse(out, 200), port);
        await until(() => user.responses.length === 1, 1000, 'in-flight response still delivered');
      });
    });

    it('is idempotent, ends every transaction, clears every timer, and sends nothing afterwards', async () => {
      const stack = await startStack({ t1: 10 });
      const peer = await RawPeer.udp();
      try {
        stack.layer.onRequest((_r, tx) => reply(tx, 486));
        const client = stack.layer.sendRequest(stackRequest('INVITE'), peer.target, new RecordingUser());
        await peer.send(peerRequest(peer, 'INVITE'), stack.udpPort);
        await until(() => peer.responses(486).length >= 2 && peer.requests('INVITE').length >= 2, 1000, 'retransmissions running');
        const first = stack.layer.close();
        const second = stack.layer.close();
        assert.equal(first, second);
        await first;
        assert.equal(client.state, 'Terminated');
        assert.equal(client.activeTimers, 0);
        assert.equal(stack.layer.size, 0);
        await sleep(30); // packets sent just before close may still be arriving
        const count = peer.seen.length;
        await sleep(150);
        assert.equal(peer.seen.length, count, 'no retransmission after close');
        assert.throws(() => stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, new RecordingUser()), TransactionClosedError);
        await assert.rejects(stack.layer.sendAck2xx(stackRequest('ACK'), peer.target), TransactionClosedError);
      } finally {
        await stack.close();
        await peer.close();
      }
    });

    it('with graceMs, waits for transactions in flight to finish', async () => {
      await withStack('tcp', nothing, async ({ stack, peer, port }) => {
        const user = new RecordingUser();
        stack.layer.sendRequest(stackRequest('OPTIONS'), peer.target, user);
        const req = await until(() => peer.requests('OPTIONS')[0], 1000, 'OPTIONS');
        const started = performance.now();
        const closed = stack.layer.close({ graceMs: 2000 });
        await sleep(50);
        await peer.send(peerResponse(req, 200), port);
        await closed;
        assert.equal(user.responses.length, 1, 'the response made it before the end');
        assert.ok(performance.now() - started < 1000, 'closed as soon as the last transaction ended');
      });
    });
  });
});
