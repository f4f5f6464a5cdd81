/**
 * A browser calls a real SIP phone through Portico and Kamailio: baresip (Debian) registered as
 * carol, answering by itself and sending a 440 Hz tone from its `ausine` source; no sound card,
 * so it plays what it receives into ALSA's `null` device.
 *
 * The evidence is what the media did on both sides: the browser's getStats() shows an inbound
 * audio stream decoded as the G.711 codec baresip chose, its packet count rising and its audio
 * energy above zero (the tone); the bridge latched its RTP leg to baresip's media address and
 * relayed both ways; baresip reports that RTP arrived from the bridge's RTP leg and how many
 * packets it received, which must match what the bridge sent it.
 *
 * Runs inside a private network namespace (loopback only), created and removed by the test.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/gateway/config.ts';
import { startGatewayService, type GatewayService } from '../../src/gateway/service.ts';
import { startKamailio, type Kamailio } from '../interop/peers/kamailio.ts';
import { freeUdpTcpPort } from '../interop/peers/ports.ts';
import { makeTempDir, trackChild } from '../interop/peers/processes.ts';
import { TestBrowser, ha1, onPhone, statsAfter, waitForEvent } from './support/browser.ts';
import { insideNetns, runSelfInNetns } from './support/netns.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { alice: 'a-secret', carol: 'c-secret' };
const BARESIP = '/usr/bin/baresip';

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * baresip with its configuration in a temp directory: SIP on 127.0.0.1 (UDP), one account
 * registering through `proxy` and answering every call, G.711 only, a sine tone as the
 * microphone and ALSA's `null` device as the speaker.
 */
class Baresip {
  readonly dir = makeTempDir('baresip');
  readonly logFile = join(this.dir, 'baresip.log');
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  constructor(private readonly opts: { user: string; domain: string; password: string; proxy: string; toneHz: number }) {}

  async start(): Promise<void> {
    const port = await freeUdpTcpPort();
    const o = this.opts;
    writeFileSync(
      join(this.dir, 'config'),
      [
        'poll_method\t\tepoll',
        `sip_listen\t\t127.0.0.1:${port}`,
        'audio_player\t\talsa,null',
        'audio_alert\t\talsa,null',
        `audio_source\t\tausine,${o.toneHz}`,
        // ausine makes 48 kHz stereo only; baresip resamples to the codec's 8 kHz mono.
        'ausrc_srate\t\t48000',
        'ausrc_channels\t\t2',
        'rtp_stats\t\tyes',
        'module_path\t\t/usr/lib/baresip/modules',
        'module\t\t\tg711.so',
        'module\t\t\tausine.so',
        'module\t\t\talsa.so',
        'module_app\t\taccount.so',
        'module_app\t\tmenu.so',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(this.dir, 'accounts'),
      `<sip:${o.user}@${o.domain};transport=udp>;auth_pass=${o.password};outbound="${o.proxy}";regint=300;answermode=auto;audio_codecs=PCMU,PCMA\n`,
    );
    const out = openSync(this.logFile, 'a');
    try {
      // -n: media and SIP on loopback only; -v: the stream and RTP statistics this test reads.
      this.child = spawn(BARESIP, ['-f', this.dir, '-n', '127.0.0.1', '-v'], { cwd: this.dir, stdio: ['ignore', out, out], detached: true });
    } finally {
      closeSync(out);
    }
    trackChild(this.child);
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await until(() => (/baresip is ready/.test(this.log()) ? true : child.exitCode !== null ? Promise.reject(new Error(`baresip exited: ${this.log().slice(-2000)}`)) : undefined), 5000, 'baresip ready');
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** `stream: incoming rtp for 'audio' established, receiving from <address>`. */
  rtpSource(): string | undefined {
    return /incoming rtp for 'audio' established, receiving from (\S+)/.exec(this.log())?.[1];
  }

  /** The call's RTP totals baresip prints when it ends (its audio statistics table). */
  rtpTotals(): { sent: number; received: number } | undefined {
    const m = /audio\s+Transmit:\s+Receive:\s*\n\s*packets:\s+(\d+)\s+(\d+)/.exec(this.log());
    return m ? { sent: Number(m[1]), received: Number(m[2]) } : undefined;
  }

  /** SIGTERM (baresip un-REGISTERs and exits), SIGKILL after 2 s. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* gone */
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}

if (!insideNetns()) {
  runSelfInNetns('runs the baresip audio test inside a private network namespace', fileURLToPath(import.meta.url), { timeoutMs: 60_000, unavailable: (existsSync(BARESIP) ? undefined : 'needs baresip (Debian package baresip-core; scripts/ensure-peers.sh installs it)') });
} else {
  describe('a browser calls baresip (auto-answer, sine tone) through Portico and Kamailio', { timeout: 50_000 }, () => {
    let browser: TestBrowser;
    let kamailio: Kamailio;
    let service: GatewayService;
    let baresip: Baresip;
    before(async () => {
      kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
      baresip = new Baresip({ user: 'carol', domain: DOMAIN, password: PASSWORDS.carol, proxy: `sip:${kamailio.address('udp')};transport=udp`, toneHz: 440 });
      await baresip.start();
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
      await browser?.close();
      await service?.close();
      await baresip?.stop();
      await kamailio?.stop();
    });

    it('the browser hears the tone and baresip receives the browser’s RTP', async () => {
      await until(async () => ((await kamailio.locations('carol')).length === 1 ? true : undefined), 8000, `baresip registered at Kamailio; its log: ${baresip.log().slice(-1500)}`);
      const page = await browser.phone(service.wsUrl());
      const aor = `alice@${DOMAIN}`;
      await onPhone(page, (p, a) => p.register(a.aor, a.ha1), { aor, ha1: ha1('alice', DOMAIN, PASSWORDS.alice) });
      await waitForEvent(page, (e) => e.event === 'registration-state' && e.state === 'registered');
      const session = 'e2e-baresip-1';
      await onPhone(page, (p, a) => p.call(a.aor, a.uri, a.session), { aor, uri: `carol@${DOMAIN}`, session });
      await waitForEvent(page, (e) => e.session === session && e.state === 'established');

      const first = await statsAfter(page, session, 1200);
      const second = await statsAfter(page, session, 1200);
      const bridge = service.media.callStats(session);
      console.log('figures baresip', JSON.stringify({ first: first.inbound, second: second.inbound, sent: second.outbound, bridge }));
      assert.equal(second.connectionState, 'connected');
      assert.ok(second.inbound, 'the browser has an inbound audio stream');
      const rose = second.inbound.packetsReceived - (first.inbound?.packetsReceived ?? 0);
      assert.ok(rose >= 40, `inbound packets rose by ${rose} in 1.2 s`);
      assert.ok(second.inbound.totalAudioEnergy > 0, `audio energy ${second.inbound.totalAudioEnergy}`);
      assert.match(second.inbound.mimeType ?? '', /^audio\/PCM[UA]$/i, 'decoded as the G.711 codec baresip chose');
      assert.ok(bridge, 'the call is bridged');
      assert.match(bridge.sip.latched ?? '', /^127\.0\.0\.1:\d+$/, "latched to baresip's media address");
      assert.ok(bridge.sip.rtpIn >= 60, `RTP from baresip: ${bridge.sip.rtpIn}`);
      assert.ok(bridge.toSip >= 60, `relayed to baresip: ${bridge.toSip}`);
      const source = baresip.rtpSource();
      assert.ok(source, 'baresip saw RTP arrive');
      const sentToBaresip = bridge.sip.rtpOut;

      await onPhone(page, (p, s) => p.hangup(s), session);
      await waitForEvent(page, (e) => e.session === session && e.state === 'terminated');
      const totals = await until(() => baresip.rtpTotals(), 5000, `baresip's RTP totals; its log: ${baresip.log().slice(-1500)}`);
      console.log('figures baresip-rtp', JSON.stringify({ source, totals, sentToBaresip }));
      assert.ok(totals.received >= sentToBaresip, `baresip received ${totals.received} RTP packets; the bridge had sent ${sentToBaresip} a moment before the hang-up`);
      assert.ok(totals.sent >= bridge.sip.rtpIn, `baresip sent ${totals.sent}; the bridge had received ${bridge.sip.rtpIn}`);
      assert.equal(service.media.activeBridges, 0, 'the bridge is released');
      await page.close();
    });
  });
}
