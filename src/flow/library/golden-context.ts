/**
 * The fixed filler values the golden renders of the built-in messages use (both sides of the flow), and the
 * seeded random source. Shared by the golden tests and by anyone who wants a sample render of a message.
 */
import { createScopes, createSeededSource, type RandomSource, type Scopes } from '../template/index.ts';

const SESSION = '223A9880F180B192757B75F1811F7B731E9D318B19739D914393A2FC00000000';

/** An SDP offer with CRLF line ends and non-ASCII text in the session name (RFC 8866 §5.3 allows UTF-8). */
export const GOLDEN_SDP =
  'v=0\r\n' +
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n' +
  's=Appel vidéo – Café ☎\r\n' +
  't=0 0\r\n' +
  'a=group:BUNDLE 0\r\n' +
  'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' +
  'c=IN IP4 0.0.0.0\r\n' +
  'a=rtpmap:111 opus/48000/2\r\n';

export const GOLDEN_VALUES: Readonly<Record<string, string | string[]>> = {
  'webrtc-srv-url': '/webrtc_srv_3_1',
  'webrtc-srv-name': 'gw.example.net',
  'http-port': '8080',
  'websocket-port': '8081',
  'iam-addr': 'login.example.net',
  'iam-port': '443',
  'called-number': 'tel:+13125550123',
  sdp: GOLDEN_SDP,
  'chat-msg-content': 'Salut "Bob" – ça va?',
  'chat-report-request': ['Delivered', 'Displayed'],
  'client-correlator': '7',
  referer: 'http://gw.example.net:8080/wrcprohome.html?clientId=cl-0001',
  state: 'http://gw.example.net:8080/wrcprohome.html',
  'oauth-cookie': ['JSESSIONID=3F2A9C01', 'tmo_sso=a1b2c3'],
  'oauth-author-code': 'AC-5f1e2d',
  'oauth-sess-num': '9001',
  'oauth-user-id': 'U-4711',
  'session-id': SESSION,
  'client-id': 'cl-0001',
  'callback-url': `http://gw.example.net:8080/mavnotifyserver/restapi/v1/${SESSION}/channels/mavch7`,
  'channel-id': 'mavch7',
  'websocket-url': `/ws/channelCreateUrl/notificationchannel/v1/${SESSION}/channels/mavch7/notifications`,
  'websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  msisdn1: '+13125550100',
  msisdn2: '+13125550101',
  email1: 'alice@example.net',
  email2: 'alice.work@example.net',
  'cap-resource-id': 'capSrcId-7-1',
  'reg-id': 'Reg001',
  'call-id': 'call-7-1',
  'chat-session-id': 'chat-7-1',
  'chat-msg-id': 'msg-7-1',
  'call-subscription-id': 'sub-vvoip-7',
  'chat-subscription-id': 'sub-chat-7',
  'reg-subscription-id': 'sub-racm-7',
  'nms-subscription-id': 'sub-nms-7',
  'client-ip': '192.0.2.10',
};

export function goldenScopes(overrides: Record<string, string | string[] | undefined> = {}): Scopes {
  return createScopes(overrides, GOLDEN_VALUES);
}

export function goldenRandom(): RandomSource {
  return createSeededSource(42, '2024-05-17T09:30:00.000Z');
}
