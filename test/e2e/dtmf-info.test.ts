/**
 * DTMF conversion, from the demo page: the browser → Portico → Kamailio → a SIPp callee that
 * answers PCMU without telephone-event. The bridge still gives the browser a telephone-event in
 * its answer, reads the browser's RFC 4733 events and sends each digit as SIP INFO
 * `application/dtmf-relay` on the dialog (media.dtmf.fromBrowser `auto`); SIPp's message trace
 * shows the INFOs it received, and no event packet reaches its media port.
 *
 * Runs inside a private network namespace (loopback only), created and removed by the test.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseConfig } from '../../src/gateway/config.ts';
import { startGatewayService, type GatewayService } from '../../src/gateway/service.ts';
import { startKamailio, type Kamailio } from '../interop/peers/kamailio.ts';
import { startSipp, type Sipp } from '../interop/peers/sipp.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './support/browser.ts';
import { insideNetns, runSelfInNetns } from './support/netns.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { alice: 'alice-secret' };
const SCENARIO = join(dirname(fileURLToPath(import.meta.url)), 'scenarios', 'uas-pcmu-dtmf-info.xml');

type PageCall = { id: string; state: string; remoteSdp?: string; localSdp?: string; sendDtmf(t: string): void; hangup(): Promise<void> };

function onCall<T, A = undefined>(page: Page, fn: (call: PageCall, arg: A) => T | Promise<T>, arg?: A): Promise<T> {
  return page.evaluate(
    ([src, a]) => {
      const f = new Function(`return (${src})`)() as (c: unknown, a: unknown) => unknown;
      return f((window as unknown as { portico: { call: unknown } }).portico.call, a);
    },
    [fn.toString(), arg] as [string, A],
  ) as Promise<T>;
}

if (!insideNetns()) {
  runSelfInNetns('runs the DTMF conversion test inside a private network namespace', fileURLToPath(import.meta.url), { timeoutMs: 80_000 });
} else {
  describe('browser DTMF to a SIP callee without telephone-event', { timeout: 60_000 }, () => {
    let kamailio: Kamailio;
    let sipp: Sipp;
    let service: GatewayService;
    let browser: Browser;
    before(async () => {
      kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
      sipp = await startSipp({ scenario: SCENARIO, calls: 1, extraArgs: ['-rtp_echo'] });
      service = await startGatewayService(
        parseConfig({
          http: { port: 0 },
          sip: { port: 0, outboundProxy: `sip:127.0.0.1:${kamailio.port('tcp')};transport=tcp`, domains: [DOMAIN], timers: { t1: 100 } },
          media: { inactivityTimeoutMs: 10_000, setupTimeoutMs: 8000 },
          log: { level: 'silent' },
        }),
        {},
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    });
    after(async () => {
      await browser?.close().catch(() => undefined);
      await service?.close();
      await sipp?.stop();
      await kamailio?.stop();
    });

    it('sends each RFC 4733 digit of the browser as SIP INFO application/dtmf-relay', async () => {
      const page = await browser.newPage();
      await page.goto(`${service.http.url()}/`);
      await page.waitForSelector('#conn.ok');
      await page.fill('#aor', `alice@${DOMAIN}`);
      await page.fill('#password', PASSWORDS.alice);
      await page.click('#register');
      await page.waitForFunction(() => document.getElementById('reg')?.textContent === 'registered', undefined, { timeout: 8000 });
      await page.fill('#target', sipp.uri('ivr').replace(/^sip:/, ''));
      await page.click('#call');
      await page.waitForFunction(() => document.getElementById('call-state')?.textContent === 'established', undefined, { timeout: 8000 });
      const answer = await onCall(page, (c) => c.remoteSdp ?? '');
      const sipAnswer = sipp.sent().find((m) => m.status === 200 && /application\/sdp/i.test(m.text))?.text ?? '';
      assert.match(sipAnswer, /^m=audio \d+ RTP\/AVP 0\r?$/m, 'SIPp answered PCMU alone');
      assert.match(answer, /^a=rtpmap:\d+ telephone-event\/8000\r?$/m, 'the browser may send events although SIP has none');
      const session = await onCall(page, (c) => c.id);
      await new Promise((r) => setTimeout(r, 500));
      await onCall(page, (c) => c.sendDtmf('15#'));
      const deadline = Date.now() + 6000;
      const infos = () => sipp.received().filter((m) => m.method === 'INFO');
      while (infos().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const got = infos().map((m) => m.text);
      const bridge = service.media.callStats(session)!;
      console.log('figures dtmf-info', JSON.stringify({ infos: got.map((t) => t.split('\r\n').filter((l) => /^(Signal|Duration|Content-Type)/i.test(l))), dtmf: bridge.dtmf, toSip: bridge.toSip, sipRtpIn: bridge.sip.rtpIn }));
      assert.equal(got.length, 3, 'three INFOs reached SIPp');
      assert.deepEqual(
        got.map((t) => /^Signal=(.)\r?$/m.exec(t)?.[1]),
        ['1', '5', '#'],
      );
      for (const t of got) {
        assert.match(t, /^Content-Type: application\/dtmf-relay\r?$/im);
        const ms = Number(/^Duration=(\d+)\r?$/m.exec(t)?.[1]);
        assert.ok(ms >= 80 && ms <= 140, `each tone lasted about 100 ms (${ms})`);
      }
      assert.equal(bridge.dtmf.fromBrowser, '15#');
      assert.equal(bridge.dtmf.toSipInfo, '15#');
      assert.equal(bridge.dtmf.toSip, '', 'no RFC 4733 packet relayed to a callee that did not take them');
      assert.ok(bridge.sip.rtpIn >= 20 && bridge.sip.dropped === 0, `PCMU echoed by SIPp (${bridge.sip.rtpIn}), nothing else came back`);
      await page.click('#hangup');
      const done = await sipp.waitExit(5000);
      assert.equal(done.code, 0, `SIPp saw INVITE, ACK, three INFOs and BYE: ${sipp.errors().slice(0, 500)}`);
      await page.close();
    });
  });
}
