/**
 * DTMF and hold through the bridge, with werift standing in for the browser and a UDP socket for
 * the SIP peer: RFC 4733 events relayed with each side's payload type (RFC 4733 §2.1), converted
 * to SIP INFO when SIP has no telephone-event and back from it, and re-offers (RFC 3264 §8.4) that
 * put the call on hold and resume it, each side's direction mapped to the other's.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, usePCMU } from 'werift';
import { DtmfReader, dtmfPackets, readTelephoneEvent, telephoneEventPayload } from './dtmf.ts';
import { MediaBridge } from './media-bridge.ts';

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await wait(20);
  }
}

function sdpLines(port: number, formats: string, extra: string, direction = 'sendrecv'): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${formats}\r\n${extra}a=${direction}\r\n`;
}

const TE = new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, channels: 1, payloadType: 101 });

/** werift as the browser: PCMU every 20 ms, telephone-event 101; counts what arrives per payload type. */
async function browser() {
  const pc = new RTCPeerConnection({ codecs: { audio: [usePCMU(), TE] }, iceUseIpv6: false });
  const track = new MediaStreamTrack({ kind: 'audio' });
  const tr = pc.addTransceiver(track, { direction: 'sendrecv' });
  const got = { audio: 0, events: [] as RtpPacket[] };
  tr.onTrack.subscribe((t) =>
    t.onReceiveRtp.subscribe((p) => {
      if (p.header.payloadType === 101) got.events.push(p);
      else got.audio++;
    }),
  );
  let seq = 1;
  let sending = true;
  const timer = setInterval(() => {
    seq++;
    if (sending) track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: seq & 0xffff, timestamp: seq * 160, ssrc: 4242, marker: false }), Buffer.alloc(160, 0x55)));
  }, 20);
  /** An RFC 4733 digit as a browser sends it: start, updates, three end packets, one timestamp. */
  const digit = async (event: number) => {
    sending = false;
    // werift stamps its send codec's payload type on every packet: send these as telephone-event.
    const sender = tr.sender as unknown as { codec: RTCRtpCodecParameters };
    const audioCodec = sender.codec;
    sender.codec = TE;
    const ts = seq * 160;
    for (let i = 1; i <= 6; i++) {
      seq++;
      const end = i > 3;
      track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 101, sequenceNumber: seq & 0xffff, timestamp: ts, ssrc: 4242, marker: i === 1 }), telephoneEventPayload(event, end, Math.min(i, 4) * 160)));
      await wait(20);
    }
    sender.codec = audioCodec;
    sending = true;
  };
  return { pc, tr, got, digit, stop: async () => (clearInterval(timer), await pc.close()) };
}

describe('RFC 4733 events', () => {
  it('reads one digit per event, once, however many end packets come', () => {
    const r = new DtmfReader();
    const out = [
      ...r.read(1000, telephoneEventPayload(5, false, 160), 8000),
      ...r.read(1000, telephoneEventPayload(5, false, 320), 8000),
      ...r.read(1000, telephoneEventPayload(5, true, 800), 8000),
      ...r.read(1000, telephoneEventPayload(5, true, 800), 8000),
      ...r.read(1000, telephoneEventPayload(5, true, 800), 8000),
    ];
    assert.deepEqual(out, [{ digit: '5', durationMs: 100 }]);
    // An event whose end was lost is reported when the next starts.
    assert.deepEqual(r.read(5000, telephoneEventPayload(11, false, 160), 8000), []);
    assert.deepEqual(r.read(9000, telephoneEventPayload(1, false, 160), 8000), [{ digit: '#', durationMs: 20 }]);
  });

  it('writes a digit as a marked start, growing durations and three end packets (RFC 4733 §2.5.1)', () => {
    const p = dtmfPackets('9', 100, 48000);
    assert.equal(p.filter((x) => x.marker).length, 1);
    assert.equal(p[0]!.marker, true);
    const evs = p.map((x) => readTelephoneEvent(x.payload)!);
    assert.deepEqual(
      evs.map((e) => [e.digit, e.end, e.duration]),
      [
        ['9', false, 960],
        ['9', false, 1920],
        ['9', false, 2880],
        ['9', false, 3840],
        ['9', true, 4800],
        ['9', true, 4800],
        ['9', true, 4800],
      ],
    );
    assert.throws(() => dtmfPackets('x', 100, 8000), RangeError);
  });
});

describe('MediaBridge: DTMF and hold', () => {
  let bridge: MediaBridge;
  const infos: Array<{ id: string; digit: string; durationMs: number }> = [];
  before(async () => {
    bridge = new MediaBridge({ timers: { inactivityTimeoutMs: 5000, setupTimeoutMs: 3000, rtcpIntervalMs: 1000 } });
    bridge.attachDtmf((ref, digit, durationMs) => infos.push({ id: ref.id, digit, durationMs }));
    await bridge.start();
  });
  after(() => bridge.close());

  /** A call from the browser to a SIP peer answering with `formats`/`extra`; the SIP socket echoes audio. */
  async function call(id: string, formats: string, extra: string) {
    const sip = await udp();
    const received: Buffer[] = [];
    let echo = true;
    sip.on('message', (m, r) => {
      if (m[1]! >= 192 && m[1]! <= 223) return;
      received.push(m);
      if (echo && (m[1]! & 0x7f) !== 96) sip.send(m, r.port, r.address);
    });
    const b = await browser();
    await b.pc.setLocalDescription(await b.pc.createOffer());
    const ref = { id, connectionId: 'c', peer: 'bob@example.com' };
    const offer = bridge.offerToSip(b.pc.localDescription!.sdp, ref);
    const answer = bridge.answerFromSip(sdpLines(sip.address().port, formats, extra), ref);
    await b.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await until(() => b.got.audio >= 10, 5000, 'audio flowing');
    return {
      sip,
      b,
      ref,
      offer,
      received,
      setEcho: (on: boolean) => (echo = on),
      close: async () => {
        bridge.release(ref);
        await b.stop();
        sip.close();
      },
    };
  }

  it('relays the browser digits to SIP as RFC 4733 with the SIP payload type', async () => {
    // SIP answers telephone-event as 96 where the browser numbers it 101.
    const c = await call('dtmf-relay', '0 96', 'a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n');
    await c.b.digit(5);
    await c.b.digit(11);
    await until(() => bridge.stats(c.ref)!.dtmf.toSip === '5#', 3000, 'both digits relayed');
    const events = c.received.filter((m) => (m[1]! & 0x7f) === 96);
    assert.equal(events.length, 12, 'every event packet crossed, renumbered to 96');
    assert.deepEqual([...new Set(events.map((m) => readTelephoneEvent(m.subarray(12))!.digit))], ['5', '#']);
    assert.equal(events.filter((m) => m[1]! & 0x80).length, 2, 'one marker per event');
    assert.equal(new Set(events.map((m) => m.readUInt32BE(8))).size, 1, 'in the bridge SSRC of the audio');
    assert.equal(infos.filter((i) => i.id === 'dtmf-relay').length, 0, 'no SIP INFO when SIP takes RFC 4733');
    await c.close();
  });

  it('turns browser digits into SIP INFO when SIP negotiated no telephone-event', async () => {
    const c = await call('dtmf-info', '0', '');
    assert.match(c.offer, /telephone-event\/8000/, 'we offered it');
    await c.b.digit(1);
    await c.b.digit(10);
    await until(() => infos.filter((i) => i.id === 'dtmf-info').length === 2, 3000, 'two INFOs asked for');
    assert.deepEqual(
      infos.filter((i) => i.id === 'dtmf-info').map((i) => [i.digit, i.durationMs]),
      [
        ['1', 80],
        ['*', 80],
      ],
    );
    assert.equal(c.received.filter((m) => (m[1]! & 0x7f) !== 0).length, 0, 'no event packet reached SIP');
    assert.equal(bridge.stats(c.ref)!.dtmf.toSipInfo, '1*');
    await c.close();
  });

  it('sends a SIP INFO digit to the browser as RFC 4733 in its numbering', async () => {
    const c = await call('dtmf-in', '0 96', 'a=rtpmap:96 telephone-event/8000\r\n');
    assert.equal(bridge.dtmfFromSip('7', 100, c.ref), true);
    assert.equal(bridge.dtmfFromSip('8', 60, c.ref), true, 'a second digit queues behind the first');
    await until(() => c.b.got.events.filter((p) => readTelephoneEvent(p.payload)!.end).length >= 6, 3000, 'both events at the browser');
    const evs = c.b.got.events.map((p) => ({ ...readTelephoneEvent(p.payload)!, ts: p.header.timestamp, marker: p.header.marker }));
    assert.deepEqual([...new Set(evs.map((e) => e.digit))], ['7', '8']);
    assert.equal(evs.filter((e) => e.marker).length, 2);
    assert.equal(new Set(evs.filter((e) => e.digit === '7').map((e) => e.ts)).size, 1, 'one timestamp per event');
    assert.equal(evs.find((e) => e.digit === '7' && e.end)!.duration, 800, '100 ms at 8 kHz');
    assert.equal(bridge.stats(c.ref)!.dtmf.toBrowser, '78');
    assert.equal(bridge.dtmfFromSip('x', 100, c.ref), false);
    await c.close();
    assert.equal(bridge.dtmfFromSip('1', 100, c.ref), false, 'no call, no digit');
  });

  it('holds and resumes from SIP: sendonly re-offer in the browser numbering, media stops and starts', async () => {
    const c = await call('hold-sip', '0 96', 'a=rtpmap:96 telephone-event/8000\r\n');
    const port = c.sip.address().port;
    // SIP re-offers sendonly (holds the browser, RFC 3264 §8.4), numbering telephone-event 96.
    const hold = bridge.offerFromSip(sdpLines(port, '0 96', 'a=rtpmap:96 telephone-event/8000\r\n', 'sendonly'), c.ref);
    assert.match(hold, /^a=sendonly\r$/m);
    assert.match(hold, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 101\r$/m, 'the browser keeps its own numbers');
    assert.match(hold, /^a=mid:0\r$/m);
    await c.b.pc.setRemoteDescription({ type: 'offer', sdp: hold });
    await c.b.pc.setLocalDescription(await c.b.pc.createAnswer());
    assert.match(c.b.pc.localDescription!.sdp, /^a=recvonly\r$/m);
    const answer = bridge.answerToSip(c.b.pc.localDescription!.sdp, c.ref);
    assert.match(answer, /^a=recvonly\r$/m, 'SIP hears the browser receives only');
    assert.match(answer, /^m=audio \d+ RTP\/AVP 0 96\r$/m);
    assert.deepEqual(bridge.stats(c.ref)!.flowing, { toSip: false, toBrowser: true });
    const before = bridge.stats(c.ref)!.toSip;
    await wait(300);
    assert.equal(bridge.stats(c.ref)!.toSip, before, 'nothing to SIP while it holds');
    // Resume.
    const resume = bridge.offerFromSip(sdpLines(port, '0 96', 'a=rtpmap:96 telephone-event/8000\r\n', 'sendrecv'), c.ref);
    await c.b.pc.setRemoteDescription({ type: 'offer', sdp: resume });
    await c.b.pc.setLocalDescription(await c.b.pc.createAnswer());
    assert.match(bridge.answerToSip(c.b.pc.localDescription!.sdp, c.ref), /^a=sendrecv\r$/m);
    await until(() => bridge.stats(c.ref)!.toSip >= before + 10, 2000, 'media to SIP again');
    await c.close();
  });

  it('holds and resumes from the browser: its re-offer goes to SIP in the SIP numbering', async () => {
    const c = await call('hold-browser', '0 96', 'a=rtpmap:96 telephone-event/8000\r\n');
    const port = c.sip.address().port;
    c.b.tr.setDirection('sendonly');
    await c.b.pc.setLocalDescription(await c.b.pc.createOffer());
    const reoffer = bridge.offerToSip(c.b.pc.localDescription!.sdp, c.ref);
    assert.match(reoffer, /^a=sendonly\r$/m);
    assert.match(reoffer, /^m=audio \d+ RTP\/AVP 0 96\r$/m, 'telephone-event keeps SIP number 96');
    assert.match(reoffer, /^o=portico \d+ 2 /m, 'the version of our SIP description rose');
    const answer = bridge.answerFromSip(sdpLines(port, '0 96', 'a=rtpmap:96 telephone-event/8000\r\n', 'recvonly'), c.ref);
    assert.match(answer, /^a=recvonly\r$/m);
    await c.b.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    assert.deepEqual(bridge.stats(c.ref)!.flowing, { toSip: true, toBrowser: false });
    const heard = c.b.got.audio;
    await wait(300);
    assert.ok(c.b.got.audio - heard <= 2, `the held browser gets nothing (${c.b.got.audio - heard} packets)`);
    c.b.tr.setDirection('sendrecv');
    await c.b.pc.setLocalDescription(await c.b.pc.createOffer());
    bridge.offerToSip(c.b.pc.localDescription!.sdp, c.ref);
    await c.b.pc.setRemoteDescription({ type: 'answer', sdp: bridge.answerFromSip(sdpLines(port, '0 96', 'a=rtpmap:96 telephone-event/8000\r\n'), c.ref) });
    await until(() => c.b.got.audio >= heard + 10, 2000, 'audio back at the browser');
    await c.close();
  });
});
