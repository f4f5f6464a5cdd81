import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { newBranch, type SipMessage } from '../message/index.ts';
import { recordingLogger, waitFor } from './test-support.ts';
import { TransportSet } from './transport-set.ts';

/** net.core.rmem_max: the largest receive buffer the kernel grants to an unprivileged SO_RCVBUF. */
function rmemMax(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
  } catch {
    return 0;
  }
}

function options(n: number, port: number): Buffer {
  return Buffer.from(
    `OPTIONS sip:u@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=${newBranch()}\r\n` +
      `From: <sip:a@127.0.0.1>;tag=t${n}\r\nTo: <sip:u@127.0.0.1>\r\nCall-ID: burst-${n}\r\nCSeq: 1 OPTIONS\r\n` +
      `Max-Forwards: 70\r\nContact: <sip:a@127.0.0.1:${port}>\r\nUser-Agent: burst\r\nContent-Length: 0\r\n\r\n`,
  );
}

/** Sends `count` requests while the event loop is blocked, then lets the set read what its socket kept. */
async function burst(set: TransportSet, count: number, waitMs: number): Promise<number> {
  const got: SipMessage[] = [];
  set.onMessage = (msg) => got.push(msg);
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const port = set.local('udp')!.port;
  const peerPort = peer.address().port;
  try {
    // Queue every datagram before the set's socket is read: sendto on loopback delivers at once.
    const sent = Promise.all(
      Array.from({ length: count }, (_, i) => new Promise<void>((r) => peer.send(options(i, peerPort), port, '127.0.0.1', () => r()))),
    );
    await sent;
    await waitFor(() => got.length >= count, waitMs).catch(() => undefined);
    return got.length;
  } finally {
    await new Promise<void>((r) => peer.close(() => r()));
  }
}

describe('UDP socket buffers', () => {
  it('asks for the configured receive buffer and reports what the kernel granted', async (t) => {
    const asked = 512 * 1024;
    if (rmemMax() < asked) return t.skip(`net.core.rmem_max is below ${asked}`);
    const logger = recordingLogger();
    const set = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], logger, udpRecvBufferSize: asked });
    await set.start();
    try {
      const line = logger.lines.find((l) => l.msg === 'udp socket buffers');
      assert.ok(line, 'the granted sizes are logged');
      // Linux reports twice what was set (its bookkeeping counts too).
      assert.ok((line.obj.recvBufferSize as number) >= asked, `granted ${String(line.obj.recvBufferSize)}`);
    } finally {
      await set.close();
    }
  });

  it('says so when the kernel grants less than asked', async (t) => {
    const max = rmemMax();
    if (max === 0) return t.skip('no /proc/sys/net/core/rmem_max');
    const logger = recordingLogger();
    const set = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], logger, udpRecvBufferSize: 4 * max });
    await set.start();
    try {
      const line = logger.lines.find((l) => l.msg?.startsWith('udp socket buffers smaller than asked'));
      assert.ok(line, 'an info line names the cap');
      assert.equal(line.level, 'info');
    } finally {
      await set.close();
    }
  });

  it('keeps a burst of 600 requests that arrives while the event loop is busy (the system default drops most)', async (t) => {
    // 600 datagrams of ~400 bytes take about 770 KB of receive buffer (1,280 bytes each on Linux).
    if (rmemMax() < 1024 * 1024) return t.skip('net.core.rmem_max is below 1 MiB');
    const big = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], udpRecvBufferSize: 1024 * 1024 });
    const small = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], udpRecvBufferSize: 64 * 1024 });
    await Promise.all([big.start(), small.start()]);
    try {
      assert.equal(await burst(big, 600, 2000), 600);
      assert.ok((await burst(small, 600, 200)) < 600, 'a 64 KB buffer overflows, so the test can tell the difference');
    } finally {
      await Promise.all([big.close(), small.close()]);
    }
  });
});
