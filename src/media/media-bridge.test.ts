/**
 * The media bridge with werift standing in for the browser (full ICE, DTLS-SRTP) and a UDP
 * socket standing in for the SIP peer. What is asserted is what crossed the sockets.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, SrtpSession, usePCMU } from 'werift';
import { MediaBridge } from './media-bridge.ts';
import { SrtpContext } from './srtp.ts';
import { randomBytes } from 'node:crypto';

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

function sipAnswer(port: number, pt = 0, name = 'PCMU'): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${pt}\r\na=rtpmap:${pt} ${name}/8000\r\na=sendrecv\r\n`;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await wait(20);
  }
}

/** A werift peer connection sending PCMU every 20 ms, counting what comes back. */
async function browser() {
  const pc = new RTCPeerConnection({ codecs: { audio: [usePCMU()] }, iceUseIpv6: false });
  const track = new MediaStreamTrack({ kind: 'audio' });
  const tr = pc.addTransceiver(track, { direction: 'sendrecv' });
  const got = { packets: 0 };
  tr.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => got.packets++));
  let seq = 1;
  const timer = setInterval(() => {
    seq++;
    track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: seq & 0xffff, timestamp: seq * 160, ssrc: 4242, marker: false }), Buffer.alloc(160, 0x55)));
  }, 20);
  return { pc, got, stop: async () => (clearInterval(timer), await pc.close()) };
}

describe('MediaBridge', () => {
  let bridge: MediaBridge;
  const ended: Array<{ id: string; reason: string }> = [];
  before(async () => {
    bridge = new MediaBridge({ timers: { inactivityTimeoutMs: 600, setupTimeoutMs: 3000, rtcpIntervalMs: 200 }, routes: [{ domain: 'webrtc.example.com', mode: 'pass-through' }] });
    bridge.attach((ref, reason) => ended.push({ id: ref.id, reason }));
    await bridge.start();
  });
  after(() => bridge.close());

  it('bridges a browser offer to plain RTP and back: packets both ways, latched, our own SSRC, RTCP terminated', async () => {
    const sip = await udp();
    const fromBridge: Buffer[] = [];
    sip.on('message', (m, r) => {
      fromBridge.push(m);
      if (m[1]! < 192 || m[1]! > 223) sip.send(m, r.port, r.address); // echo RTP, keep RTCP
    });
    const b = await browser();
    await b.pc.setLocalDescription(await b.pc.createOffer());
    const ref = { id: 'out-1', connectionId: 'c', peer: 'bob@example.com' };
    const offer = bridge.offerToSip(b.pc.localDescription!.sdp, ref);
    assert.match(offer, /^m=audio \d+ RTP\/AVP 0\r$/m);
    assert.doesNotMatch(offer, /ice-ufrag|fingerprint|SAVPF/);
    const answer = bridge.answerFromSip(sipAnswer(sip.address().port), ref);
    assert.match(answer, /^a=ice-lite\r$/m);
    assert.match(answer, /^a=setup:passive\r$/m);
    await b.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await until(() => b.got.packets >= 40, 5000, 'echoed packets at the browser');
    const stats = bridge.stats(ref)!;
    assert.equal(stats.state, 'connected');
    assert.ok(stats.sip.latched, 'latched to the SIP peer');
    const rtp = fromBridge.filter((m) => m[1]! < 192 || m[1]! > 223);
    assert.ok(rtp.length >= 40);
    assert.notEqual(rtp[0]!.readUInt32BE(8), 4242, 'our own SSRC towards SIP');
    assert.ok(fromBridge.some((m) => m[1] === 200), 'an RTCP sender report reached SIP');
    // A stranger's packets are dropped once latched.
    const stranger = await udp();
    stranger.send(rtp[0]!, Number(/m=audio (\d+)/.exec(offer)![1]), '127.0.0.1');
    await until(() => bridge.stats(ref)!.sip.foreign >= 1, 2000, 'foreign packet counted');
    bridge.release(ref);
    assert.equal(bridge.stats(ref), undefined);
    await b.stop();
    sip.close();
    stranger.close();
  });

  it('ends a call whose SIP side goes silent, with the reason', async () => {
    const sip = await udp();
    let echo = true;
    sip.on('message', (m, r) => echo && sip.send(m, r.port, r.address));
    const b = await browser();
    await b.pc.setLocalDescription(await b.pc.createOffer());
    const ref = { id: 'out-silent', connectionId: 'c', peer: 'bob@example.com' };
    bridge.offerToSip(b.pc.localDescription!.sdp, ref);
    await b.pc.setRemoteDescription({ type: 'answer', sdp: bridge.answerFromSip(sipAnswer(sip.address().port), ref) });
    await until(() => b.got.packets >= 10, 5000, 'media flowing');
    echo = false;
    await until(() => ended.some((e) => e.id === 'out-silent'), 3000, 'the call ended');
    assert.match(ended.find((e) => e.id === 'out-silent')!.reason, /^media timeout: no RTP from the SIP side for 600 ms$/);
    await b.stop();
    sip.close();
  });

  it('offers a SIP offer to the browser and answers SIP with what the browser took', async () => {
    const sip = await udp();
    let back = 0;
    sip.on('message', (m) => m[1]! < 192 && back++);
    const ref = { id: 'in-1', connectionId: 'c', peer: 'carol@example.com' };
    const offer = bridge.offerFromSip(`v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${sip.address().port} RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`, ref);
    assert.match(offer, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 8 0 101\r$/m);
    assert.match(offer, /^a=setup:actpass\r$/m);
    const b = await browser();
    await b.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await b.pc.setLocalDescription(await b.pc.createAnswer());
    const answer = bridge.answerToSip(b.pc.localDescription!.sdp, ref);
    assert.match(answer, /^m=audio \d+ RTP\/AVP 0\b/m, 'the codec the browser kept, in the SIP numbering');
    await until(() => back >= 20, 5000, 'browser audio at the SIP peer');
    bridge.release(ref);
    await b.stop();
    sip.close();
  });

  it('refuses an offer without a codec in common with 488 and the reason', () => {
    const ref = { id: 'in-g722', connectionId: 'c', peer: 'dave@example.com' };
    assert.throws(() => bridge.offerFromSip('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\n', ref), {
      mediaCode: 'MEDIA_ERR_NO_COMMON_CODEC',
      status: 488,
      message: /^488 Not Acceptable Here: no audio codec in common \(offered: G722\/8000/,
    });
    assert.throws(() => bridge.offerFromSip('v=0\r\nnonsense\r\n', ref), { mediaCode: 'MEDIA_ERR_BAD_SDP', status: 488 });
    assert.equal(bridge.activeBridges, 0, 'nothing held for a refused offer');
  });

  it('passes SDP through unchanged for a pass-through route', () => {
    const ref = { id: 'pt-1', connectionId: 'c', peer: 'sip:gw@webrtc.example.com' };
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:x\r\n';
    assert.equal(bridge.offerToSip(sdp, ref), sdp);
    assert.equal(bridge.answerFromSip('anything', ref), 'anything');
    bridge.release(ref);
  });
});

describe('SRTP (AES_CM_128_HMAC_SHA1_80)', () => {
  it('interoperates with werift both ways, across a sequence number wrap, and rejects a forged tag', () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const theirs = new SrtpSession({ keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt }, profile: 1 });
    const tx = new SrtpContext(key, salt);
    const rx = new SrtpContext(key, salt);
    for (const seq of [65533, 65534, 65535, 0, 1, 2]) {
      const header = new RtpHeader({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 7, marker: false });
      const plain = new RtpPacket(header, randomBytes(160)).serialize();
      assert.deepEqual(theirs.decrypt(tx.protectRtp(plain)), plain);
      assert.deepEqual(rx.unprotectRtp(theirs.encrypt(plain.subarray(12), header)), plain);
    }
    const forged = tx.protectRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: 3, timestamp: 480, ssrc: 7, marker: false }), Buffer.alloc(20)).serialize());
    forged[forged.length - 1]! ^= 1;
    assert.throws(() => rx.unprotectRtp(forged), { code: 'MEDIA_ERR_SRTP_AUTH' });
  });
});
