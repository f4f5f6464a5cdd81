/**
 * A call from the SIP world to a browser, with real audio: SIPp calls bob through Kamailio,
 * offering PCMA only, and plays Debian's `g711a.pcap` (A-law speech) once answered; Portico
 * offers the call to bob's browser (headless Chromium, registered through Portico) over ICE and
 * DTLS-SRTP, the browser answers, and the bridge relays SIPp's plain RTP to it.
 *
 * The evidence is what the media did: the browser's getStats() shows an inbound audio stream
 * decoded as PCMA, its packet count rising and its audio energy above zero; the bridge latched
 * its RTP leg to SIPp's media port and relayed SIPp's packets to the browser; SIPp saw its call
 * through (INVITE, 200, ACK, its BYE answered) and the bridge was released afterwards.
 *
 * Runs inside a private network namespace (loopback only), created and removed by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/gateway/config.ts';
import { startGatewayService, type GatewayService } from '../../src/gateway/service.ts';
import { startKamailio, type Kamailio } from '../interop/peers/kamailio.ts';
import { Sipp } from '../interop/peers/sipp.ts';
import { TestBrowser, ha1, onPhone, statsAfter, waitForEvent } from './support/browser.ts';
import { insideNetns, runSelfInNetns } from './support/netns.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { bob: 'b-secret' };
/** How long SIPp holds the call (its capture: 236 packets over 7 s, about 34 a second). */
const HOLD_MS = 4500;

if (!insideNetns()) {
  runSelfInNetns('runs the SIP-to-browser audio test inside a private network namespace', fileURLToPath(import.meta.url), { timeoutMs: 60_000 });
} else {
  describe('a SIP caller playing A-law speech to a browser through Kamailio and Portico', { timeout: 50_000 }, () => {
    let browser: TestBrowser;
    let kamailio: Kamailio;
    let service: GatewayService;
    let sipp: Sipp | undefined;
    before(async () => {
      kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
      service = await startGatewayService(
        parseConfig({
          http: { port: 0 },
          sip: { port: 0, outboundProxy: `sip:127.0.0.1:${kamailio.port('tcp')};transport=tcp`, domains: [DOMAIN], timers: { t1: 100 } },
          media: { inactivityTimeoutMs: 5000, setupTimeoutMs: 8000 },
          log: { level: 'silent' },
        }),
        { logger: undefined },
      );
      browser = new TestBrowser();
      await browser.start();
    });
    after(async () => {
      await sipp?.stop();
      await browser?.close();
      await service?.close();
      await kamailio?.stop();
    });

    it('the browser answers and receives PCMA with energy; RTP latched from SIPp and relayed', async () => {
      const page = await browser.phone(service.wsUrl());
      const aor = `bob@${DOMAIN}`;
      await onPhone(page, (p, a) => p.register(a.aor, a.ha1), { aor, ha1: ha1('bob', DOMAIN, PASSWORDS.bob) });
      await waitForEvent(page, (e) => e.event === 'registration-state' && e.state === 'registered');
      assert.equal((await kamailio.locations('bob')).length, 1, 'bob is registered at Kamailio through Portico');

      sipp = new Sipp({ scenario: 'uac-invite-pcap-pcma', remote: kamailio.address('udp'), service: 'bob', calls: 1, vars: { caller: 'carol', holdms: HOLD_MS } });
      await sipp.start();
      const incoming = await waitForEvent(page, (e) => e.event === 'incoming-session', 8000);
      const session = String(incoming.session);
      assert.match(String(incoming.sdp), /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 8\b/m, 'the browser is offered PCMA over DTLS-SRTP');
      assert.doesNotMatch(String(incoming.sdp), /^a=rtpmap:\d+ (opus|PCMU)\//im, 'and no audio codec SIPp did not offer');
      await onPhone(page, (p, s) => p.answer(s), session);
      await waitForEvent(page, (e) => e.session === session && e.state === 'established');

      const first = await statsAfter(page, session, 1200);
      const second = await statsAfter(page, session, 1200);
      const bridge = service.media.callStats(session);
      console.log('figures sipp-pcap', JSON.stringify({ first: first.inbound, second: second.inbound, bridge }));
      assert.equal(second.connectionState, 'connected');
      assert.ok(second.inbound, 'the browser has an inbound audio stream');
      const rose = second.inbound.packetsReceived - (first.inbound?.packetsReceived ?? 0);
      assert.ok(rose >= 25, `inbound packets rose by ${rose} in 1.2 s`);
      assert.ok(second.inbound.totalAudioEnergy > 0, `audio energy ${second.inbound.totalAudioEnergy}`);
      assert.match(second.inbound.mimeType ?? '', /^audio\/PCMA$/i, 'decoded as PCMA');
      assert.ok(bridge, 'the call is bridged');
      assert.deepEqual(bridge.codecs, ['pcma/8000']);
      assert.equal(bridge.sip.latched, `127.0.0.1:${sipp.mediaPort}`, "latched to SIPp's media port");
      assert.ok(bridge.sip.rtpIn >= 60, `RTP from SIPp: ${bridge.sip.rtpIn}`);
      assert.equal(bridge.toBrowser, bridge.sip.rtpIn, 'every packet from SIPp relayed to the browser');
      assert.ok(bridge.browser.rtpOut >= 60, `SRTP to the browser: ${bridge.browser.rtpOut}`);
      assert.equal(bridge.browser.dropped, 0);

      // SIPp hangs up when its capture is done; the browser sees the end and the bridge is released.
      const done = await sipp.waitExit(HOLD_MS + 8000);
      assert.equal(done.code, 0, `SIPp saw 200, sent ACK and BYE, and got 200: ${sipp.errors().slice(-1500)}`);
      await waitForEvent(page, (e) => e.session === session && e.state === 'terminated');
      assert.deepEqual(
        sipp.received().map((m) => m.status ?? m.method).filter((s) => s === 200),
        [200, 200],
        'the INVITE and the BYE answered',
      );
      assert.equal(service.media.activeBridges, 0, 'the bridge is released');
      await page.close();
    });
  });
}
