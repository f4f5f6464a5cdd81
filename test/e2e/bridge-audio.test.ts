/**
 * Real audio through the media bridge, from headless Chromium:
 * - browser → Portico → Kamailio → SIPp UAS with -rtp_echo: SIPp answers PCMU/PCMA/telephone-event
 *   at its media port and sends every packet back; the browser must receive its own audio (inbound
 *   packets rising, audio energy above zero), decoded as the codec SIP chose;
 * - browser → Portico → echo@portico.local (the local domain's echo, answered by Portico itself).
 * The evidence is what the media did: Chromium's getStats(), the bridge's per-leg counters
 * (packets latched from SIPp's media port, relayed both ways), and the echo's counters.
 *
 * Runs inside a private network namespace (loopback only), created and removed by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/gateway/config.ts';
import { startGatewayService, type GatewayService } from '../../src/gateway/service.ts';
import { startKamailio, type Kamailio } from '../interop/peers/kamailio.ts';
import { startSipp, type Sipp } from '../interop/peers/sipp.ts';
import { TestBrowser, ha1, onPhone, statsAfter, waitForEvent } from './support/browser.ts';
import { insideNetns, runSelfInNetns } from './support/netns.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { alice: 'a-secret' };

if (!insideNetns()) {
  runSelfInNetns('runs the browser audio tests inside a private network namespace', fileURLToPath(import.meta.url), { timeoutMs: 80_000 });
} else {
  describe('browser audio through the bridge', { timeout: 70_000 }, () => {
    let browser: TestBrowser;
    before(async () => {
      browser = new TestBrowser();
      await browser.start();
    });
    after(async () => {
      await browser?.close();
    });

    describe('to a SIPp echo behind Kamailio', () => {
      let kamailio: Kamailio;
      let sipp: Sipp;
      let service: GatewayService;
      before(async () => {
        kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
        sipp = await startSipp({ scenario: 'uas-rtp-echo', calls: 1, extraArgs: ['-rtp_echo'] });
        service = await startGatewayService(
          parseConfig({
            http: { port: 0 },
            sip: { port: 0, outboundProxy: `sip:127.0.0.1:${kamailio.port('tcp')};transport=tcp`, domains: [DOMAIN], timers: { t1: 100 } },
            media: { inactivityTimeoutMs: 5000, setupTimeoutMs: 8000 },
            log: { level: 'silent' },
          }),
          { logger: undefined },
        );
      });
      after(async () => {
        await service?.close();
        await sipp?.stop();
        await kamailio?.stop();
      });

      it('returns the browser its own audio: inbound RTP rising with energy, RTP latched from SIPp', async () => {
        const page = await browser.phone(service.wsUrl());
        const aor = `alice@${DOMAIN}`;
        await onPhone(page, (p, a) => p.register(a.aor, a.ha1), { aor, ha1: ha1('alice', DOMAIN, PASSWORDS.alice) });
        await waitForEvent(page, (e) => e.event === 'registration-state' && e.state === 'registered');
        const session = 'e2e-sipp-1';
        await onPhone(page, (p, a) => p.call(a.aor, a.uri, a.session), { aor, uri: sipp.uri('echo').replace(/^sip:/, ''), session });
        await waitForEvent(page, (e) => e.session === session && e.state === 'established');
        const first = await statsAfter(page, session, 1500);
        const second = await statsAfter(page, session, 1500);
        const bridge = service.media.callStats(session);
        console.log('figures sipp-echo', JSON.stringify({ first: first.inbound, second: second.inbound, sent: second.outbound, bridge }));
        assert.equal(second.connectionState, 'connected');
        assert.ok(second.inbound, 'the browser has an inbound audio stream');
        assert.ok(second.inbound.packetsReceived - (first.inbound?.packetsReceived ?? 0) >= 50, `inbound packets rose by ${second.inbound.packetsReceived - (first.inbound?.packetsReceived ?? 0)} in 1.5 s`);
        assert.ok(second.inbound.totalAudioEnergy > 0, `audio energy ${second.inbound.totalAudioEnergy}`);
        assert.match(second.inbound.mimeType ?? '', /audio\/PCM[UA]/i, 'decoded as the G.711 codec SIPp chose');
        assert.ok(bridge, 'the call is bridged');
        assert.equal(bridge.sip.latched, `127.0.0.1:${sipp.mediaPort}`, 'latched to SIPp media port');
        assert.ok(bridge.sip.rtpIn >= 100, `RTP from SIPp: ${bridge.sip.rtpIn}`);
        assert.ok(bridge.toSip >= 100 && bridge.toBrowser >= 100, `relayed ${bridge.toSip} to SIP, ${bridge.toBrowser} to the browser`);
        assert.equal(bridge.browser.dropped, 0);
        await onPhone(page, (p, s) => p.hangup(s), session);
        await waitForEvent(page, (e) => e.session === session && e.state === 'terminated');
        const done = await sipp.waitExit(5000);
        assert.equal(done.code, 0, 'SIPp saw INVITE, ACK and BYE');
        assert.equal(service.media.activeBridges, 0, 'the bridge is released');
        await page.close();
      });
    });

    describe('to echo@portico.local', () => {
      let service: GatewayService;
      before(async () => {
        service = await startGatewayService(
          parseConfig({ http: { port: 0 }, sip: { port: 0, timers: { t1: 100 } }, media: { inactivityTimeoutMs: 5000 }, log: { level: 'silent' } }),
          { logger: undefined },
        );
      });
      after(async () => {
        await service?.close();
      });

      it("a newcomer's first call: the local domain's echo returns the caller's audio", async () => {
        const page = await browser.phone(service.wsUrl());
        await onPhone(page, (p, a) => p.register(a.aor, a.ha1), { aor: 'alice@portico.local', ha1: ha1('alice', 'portico.local', 'alice') });
        await waitForEvent(page, (e) => e.event === 'registration-state' && e.state === 'registered');
        const session = 'e2e-echo-1';
        await onPhone(page, (p, s) => p.call('alice@portico.local', 'echo@portico.local', s), session);
        await waitForEvent(page, (e) => e.session === session && e.state === 'established');
        const first = await statsAfter(page, session, 1500);
        const second = await statsAfter(page, session, 1500);
        const echoed = service.echo!.totalEchoed;
        const bridge = service.media.callStats(session);
        console.log('figures echo', JSON.stringify({ first: first.inbound, second: second.inbound, echoed, bridge }));
        assert.ok(echoed >= 100, `the echo reflected ${echoed} packets`);
        assert.equal(second.connectionState, 'connected');
        assert.ok(second.inbound && second.inbound.packetsReceived - (first.inbound?.packetsReceived ?? 0) >= 50, 'inbound packets rising');
        assert.ok(second.inbound.totalAudioEnergy > 0, `audio energy ${second.inbound.totalAudioEnergy}`);
        await onPhone(page, (p, s) => p.hangup(s), session);
        await waitForEvent(page, (e) => e.session === session && e.state === 'terminated');
        await page.close();
      });
    });
  });
}
