import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadFlow, runFlow, serveFlow } from '../../src/flow/index.ts';

/** `flow run` against `flow serve` on one machine: every built-in flow completes with zero failures. */
describe('flow run against flow serve', () => {
  it('completes the whole WebRTC REST flow for 20 clients with zero failures', async () => {
    const flow = loadFlow('webrtc-rest');
    const unmatched: string[] = [];
    const host = await serveFlow({ flow, onUnmatched: (m, u) => unmatched.push(`${m} ${u}`) });
    try {
      const r = await runFlow({ flow, target: host.url, clients: 20, rate: 100, durationMs: 20_000 });
      assert.deepEqual(unmatched, []);
      assert.equal(r.started, 20);
      assert.equal(r.succeeded, 20, JSON.stringify(r.summary.failures));
      assert.equal(r.failed, 0);
      assert.equal(r.summary.steps.failures, 0);
      assert.equal(r.summary.verdict, 'pass');
      // 20 HTTP requests per client crossed the wire, one WebSocket each, 5 notifications each.
      assert.equal(host.stats.requests, 20 * 20);
      assert.equal(host.stats.sockets, 20);
      assert.equal(host.stats.notifications, 20 * 5);
      const steps = new Set(r.summary.byStep.map((s) => s.step));
      for (const id of ['init', 'reg-srv', 'chan-create', 'setup-websocket', 'init-reg', 'call-subs', 'chat-subs', 'reg-subs', 'mms-subs', 'cap-disc', 'put-cap', 'reg', 'call-conn', 'call-connected', 'call-disconn', 'chat-invite', 'chat-accept', 'chat-is-composing', 'chat-msg', 'disp-report', 'dereg', 'chan-close']) {
        assert.ok(steps.has(id), `step ${id} ran`);
      }
    } finally {
      await host.close();
    }
  });

  it('completes the sylkRTC flow (ready, account-add, register, call, terminate)', async () => {
    const flow = loadFlow('sylkrtc');
    const host = await serveFlow({ flow });
    try {
      const r = await runFlow({ flow, target: host.url, clients: 5, rate: 100, durationMs: 10_000 });
      assert.equal(r.succeeded, 5, JSON.stringify(r.summary.failures));
      assert.equal(host.stats.sockets, 5);
      // Per client: ready, 1 + 3 + 5 + 2 replies.
      assert.equal(host.stats.notifications, 5 * 12);
    } finally {
      await host.close();
    }
  });

  it('plays the REST hooks against an echo web application', async () => {
    const flow = loadFlow('rest-hooks');
    const seen: string[] = [];
    const host = await serveFlow({ flow, onUnmatched: (m, u) => seen.push(`${m} ${u}`) });
    try {
      const r = await runFlow({ flow, target: host.url, clients: 4, rate: 100, durationMs: 10_000 });
      assert.equal(r.succeeded, 4, JSON.stringify(r.summary.failures));
      assert.deepEqual(seen, []);
      assert.equal(host.stats.requests, 4 * 13);
    } finally {
      await host.close();
    }
  });
});
