/**
 * The SIP side of the media bench: one UDP socket that returns every datagram to its source, as
 * SIPp's -rtp_echo does, but with a 4 MB receive buffer, so a relay that catches up after a stall
 * (the machine is shared) does not lose its burst at the echo. Runs in its own process; the
 * parent asks for its CPU and packet count over IPC.
 */
import { createSocket } from 'node:dgram';

const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
let echoed = 0;
socket.on('message', (msg, rinfo) => {
  echoed++;
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.on('error', () => undefined);
socket.bind(0, '127.0.0.1', () => process.send?.({ t: 'ready', port: socket.address().port }));

process.on('message', (m: { t: string; req: number }) => {
  if (m.t === 'stats') {
    const c = process.cpuUsage();
    process.send?.({ t: 'stats', req: m.req, cpuUs: c.user + c.system, echoed });
  } else if (m.t === 'close') {
    socket.close();
    process.disconnect?.();
    setTimeout(() => process.exit(0), 20).unref();
  }
});
process.on('disconnect', () => process.exit(0));
