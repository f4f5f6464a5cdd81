/**
 * Browser ↔ browser through Portico and Kamailio, each browser on Portico's own demo page (served
 * at the gateway's root URL) and driven through it: alice and bob register at Kamailio through
 * Portico, alice calls bob, so the call crosses two bridges (alice's WebRTC leg → plain RTP → bob's
 * WebRTC leg). Asserted is what the media did:
 * - audio both ways: each page's inbound packets rise with energy;
 * - DTMF typed on alice's keypad crosses the SIP leg as RFC 4733 events (read by bob's bridge from
 *   the RTP it received) and goes on to bob's browser as events in bob's payload numbering;
 * - hold and resume: each re-offer's direction attribute as both browsers see it, and packets
 *   stopping and starting per direction (sendonly, then both held: inactive, then resumed);
 * - a message from one page shows on the other.
 *
 * Runs inside a private network namespace (loopback only), created and removed by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseConfig } from '../../src/gateway/config.ts';
import { startGatewayService, type GatewayService } from '../../src/gateway/service.ts';
import { startKamailio, type Kamailio } from '../interop/peers/kamailio.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './support/browser.ts';
import { insideNetns, runSelfInNetns } from './support/netns.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' };

interface Media {
  connectionState: string;
  packetsSent: number;
  packetsReceived: number;
  inboundLevel: number;
  totalInboundEnergy: number;
  codec?: string;
  direction?: string;
}

type PageCall = { id: string; state: string; held: boolean; localSdp?: string; remoteSdp?: string; tonesSent: string; stats(): Promise<Media>; hold(on: boolean): Promise<void> };
type PageApp = { call?: PageCall; registered: boolean };

/** Reads the page's `window.portico`. */
function onPage<T, A = undefined>(page: Page, fn: (app: PageApp, arg: A) => T | Promise<T>, arg?: A): Promise<T> {
  return page.evaluate(
    ([src, a]) => {
      const f = new Function(`return (${src})`)() as (app: unknown, a: unknown) => unknown;
      return f((window as unknown as { portico: unknown }).portico, a);
    },
    [fn.toString(), arg] as [string, A],
  ) as Promise<T>;
}

const callStats = (page: Page) => onPage(page, (app) => app.call!.stats());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The direction attribute of the audio section of an SDP. */
function direction(sdp: string | undefined): string {
  return /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp ?? '')?.[1] ?? 'sendrecv';
}

/** Packets received by each page during `ms`. */
async function received(pages: Page[], ms: number): Promise<number[]> {
  const first = await Promise.all(pages.map(callStats));
  await sleep(ms);
  const second = await Promise.all(pages.map(callStats));
  return second.map((s, i) => s.packetsReceived - first[i]!.packetsReceived);
}

if (!insideNetns()) {
  runSelfInNetns('runs the browser-to-browser tests inside a private network namespace', fileURLToPath(import.meta.url), { timeoutMs: 80_000 });
} else {
  describe('browser to browser through Portico and Kamailio, on the demo page', { timeout: 70_000 }, () => {
    let kamailio: Kamailio;
    let service: GatewayService;
    let browser: Browser;
    let alice: Page;
    let bob: Page;
    let aliceCall = '';
    let bobCall = '';

    before(async () => {
      kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
      service = await startGatewayService(
        parseConfig({
          http: { port: 0 },
          sip: { port: 0, outboundProxy: `sip:127.0.0.1:${kamailio.port('tcp')};transport=tcp`, domains: [DOMAIN], timers: { t1: 100 } },
          media: { inactivityTimeoutMs: 15_000, setupTimeoutMs: 8000 },
          log: { level: 'silent' },
        }),
        {},
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      [alice, bob] = await Promise.all([browser.newPage(), browser.newPage()]);
      await Promise.all([alice.goto(`${service.http.url()}/`), bob.goto(`${service.http.url()}/`)]);
    });
    after(async () => {
      await browser?.close().catch(() => undefined);
      await service?.close();
      await kamailio?.stop();
    });

    it('registers alice and bob from the page', async () => {
      for (const [page, user] of [
        [alice, 'alice'],
        [bob, 'bob'],
      ] as const) {
        await page.waitForSelector('#conn.ok');
        await page.fill('#aor', `${user}@${DOMAIN}`);
        await page.fill('#password', PASSWORDS[user]);
        await page.click('#register');
      }
      for (const page of [alice, bob]) await page.waitForFunction(() => document.getElementById('reg')?.textContent === 'registered', undefined, { timeout: 8000 });
    });

    it('alice calls bob, bob answers: audio both ways across two bridges', async () => {
      await alice.fill('#target', `bob@${DOMAIN}`);
      await alice.click('#call');
      await bob.waitForSelector('#incoming.show', { timeout: 8000 });
      assert.match((await bob.textContent('#incoming-from')) ?? '', /alice/);
      await bob.click('#answer');
      for (const page of [alice, bob]) await page.waitForFunction(() => document.getElementById('call-state')?.textContent === 'established', undefined, { timeout: 8000 });
      aliceCall = await onPage(alice, (app) => app.call!.id);
      bobCall = await onPage(bob, (app) => app.call!.id);
      assert.equal(service.media.activeBridges, 2, 'one bridge per browser');
      await sleep(1000);
      const [toAlice, toBob] = await received([alice, bob], 1500);
      const [a, b] = await Promise.all([callStats(alice), callStats(bob)]);
      const ab = service.media.callStats(aliceCall)!;
      const bb = service.media.callStats(bobCall)!;
      console.log('figures audio', JSON.stringify({ toAlice, toBob, alice: a, bob: b, aliceBridge: { toSip: ab.toSip, toBrowser: ab.toBrowser, codecs: ab.codecs }, bobBridge: { toSip: bb.toSip, toBrowser: bb.toBrowser, codecs: bb.codecs } }));
      assert.ok(toAlice! >= 50, `alice received ${toAlice} packets in 1.5 s`);
      assert.ok(toBob! >= 50, `bob received ${toBob} packets in 1.5 s`);
      assert.ok(a.totalInboundEnergy > 0 && b.totalInboundEnergy > 0, `audio energy alice ${a.totalInboundEnergy}, bob ${b.totalInboundEnergy}`);
      assert.equal(a.codec, 'opus', 'both bridges keep Opus end to end');
      assert.ok(ab.sip.latched && bb.sip.latched, 'each RTP leg latched to the other');
      assert.equal(ab.sip.foreign + bb.sip.foreign, 0, 'no packet from elsewhere');
      assert.ok(ab.toSip >= 100 && bb.toBrowser >= 100 && bb.toSip >= 100 && ab.toBrowser >= 100, 'relayed both ways through both bridges');
      // What the page shows.
      assert.match((await alice.textContent('#received')) ?? '', /^[1-9]\d* pkts$/);
    });

    it('DTMF typed on alice\'s keypad crosses the SIP leg as RFC 4733 and reaches bob as events', async () => {
      for (const key of '1234#') await alice.click(`#keypad button[data-key="${key}"]`);
      const deadline = Date.now() + 6000;
      while (service.media.callStats(bobCall)!.dtmf.toBrowser !== '1234#' && Date.now() < deadline) await sleep(50);
      const a = service.media.callStats(aliceCall)!.dtmf;
      const b = service.media.callStats(bobCall)!.dtmf;
      console.log('figures dtmf', JSON.stringify({ alice: a, bob: b }));
      assert.equal(await onPage(alice, (app) => app.call!.tonesSent), '1234#', "alice's page handed every tone to RTCDTMFSender");
      assert.equal(a.fromBrowser, '1234#', "events from alice's browser");
      assert.equal(a.toSip, '1234#', 'relayed to SIP as RFC 4733 (SIP negotiated telephone-event)');
      assert.equal(a.toSipInfo, '', 'no SIP INFO needed');
      assert.equal(b.fromSip, '1234#', "read by bob's bridge from the RTP that crossed the SIP leg");
      assert.equal(b.toBrowser, '1234#', "and sent on to bob's browser");
      assert.equal(await alice.textContent('#tones'), '1234#');
    });

    it('hold and resume: directions as both browsers see them, media stopping and starting', async () => {
      // 1. alice holds from the page: her offer is sendonly, bob answers recvonly.
      await alice.click('#hold');
      await alice.waitForFunction(() => document.getElementById('call-state')?.textContent === 'on hold', undefined, { timeout: 8000 });
      const s1 = { alice: await onPage(alice, (app) => [app.call!.localSdp, app.call!.remoteSdp]), bob: await onPage(bob, (app) => [app.call!.remoteSdp, app.call!.localSdp]) };
      assert.deepEqual([direction(s1.alice[0]), direction(s1.alice[1])], ['sendonly', 'recvonly'], "alice's offer and the answer she got");
      assert.deepEqual([direction(s1.bob[0]), direction(s1.bob[1])], ['sendonly', 'recvonly'], 'the offer bob got and his answer');
      assert.deepEqual(service.media.callStats(aliceCall)!.flowing, { toSip: true, toBrowser: false });
      assert.deepEqual(service.media.callStats(bobCall)!.flowing, { toSip: false, toBrowser: true });
      await sleep(300);
      const [heldAlice, heldBob] = await received([alice, bob], 1000);
      assert.ok(heldAlice! <= 3, `held alice received ${heldAlice} packets in 1 s`);
      assert.ok(heldBob! >= 30, `bob still hears alice: ${heldBob} packets in 1 s`);

      // 2. bob holds too: both sides inactive.
      await onPage(bob, (app) => app.call!.hold(true));
      const s2 = { alice: await onPage(alice, (app) => [app.call!.remoteSdp, app.call!.localSdp]), bob: await onPage(bob, (app) => [app.call!.localSdp, app.call!.remoteSdp]) };
      assert.deepEqual([direction(s2.bob[0]), direction(s2.bob[1])], ['sendonly', 'inactive'], "bob's offer and the answer he got");
      assert.deepEqual([direction(s2.alice[0]), direction(s2.alice[1])], ['sendonly', 'inactive'], 'the offer alice got and her answer');
      await sleep(300);
      const [bothAlice, bothBob] = await received([alice, bob], 1000);
      assert.ok(bothAlice! <= 3 && bothBob! <= 3, `both held: ${bothAlice} and ${bothBob} packets in 1 s`);

      // 3. alice resumes from the page (bob still holds): only bob → alice flows.
      await alice.click('#hold');
      await alice.waitForFunction(() => document.getElementById('call-state')?.textContent === 'established', undefined, { timeout: 8000 });
      assert.equal(direction(await onPage(alice, (app) => app.call!.remoteSdp)), 'sendonly', "bob's answer keeps him on hold");
      await sleep(300);
      const [r3Alice, r3Bob] = await received([alice, bob], 1000);
      assert.ok(r3Alice! >= 30 && r3Bob! <= 3, `alice hears bob's hold (${r3Alice}), bob hears nothing (${r3Bob})`);

      // 4. bob resumes: sendrecv both ways, audio both ways again.
      await onPage(bob, (app) => app.call!.hold(false));
      assert.equal(direction(await onPage(bob, (app) => app.call!.remoteSdp)), 'sendrecv');
      assert.equal(direction(await onPage(alice, (app) => app.call!.localSdp)), 'sendrecv');
      await sleep(300);
      const [r4Alice, r4Bob] = await received([alice, bob], 1000);
      console.log('figures hold', JSON.stringify({ heldAlice, heldBob, bothAlice, bothBob, r3Alice, r3Bob, r4Alice, r4Bob }));
      assert.ok(r4Alice! >= 30 && r4Bob! >= 30, `resumed: ${r4Alice} and ${r4Bob} packets in 1 s`);
      assert.deepEqual(service.media.callStats(aliceCall)!.flowing, { toSip: true, toBrowser: true });
      assert.deepEqual(service.media.callStats(bobCall)!.flowing, { toSip: true, toBrowser: true });
    });

    it('a message typed on one page shows on the other', async () => {
      await alice.fill('#msg-to', `bob@${DOMAIN}`);
      await alice.fill('#msg-text', 'hello bob');
      await alice.click('#msg-send');
      await bob.waitForFunction(() => document.getElementById('messages')?.textContent?.includes('hello bob'), undefined, { timeout: 8000 });
    });

    it('alice hangs up from the page: both calls end, both bridges are released', async () => {
      await alice.click('#hangup');
      for (const page of [alice, bob]) await page.waitForFunction(() => document.getElementById('call-state')?.textContent === 'terminated', undefined, { timeout: 8000 });
      const deadline = Date.now() + 3000;
      while (service.media.activeBridges > 0 && Date.now() < deadline) await sleep(50);
      assert.equal(service.media.activeBridges, 0);
    });
  });
}
