/**
 * The filler catalogue of the built-in WebRTC messages: every name a built-in template uses, where its value
 * comes from, and on which side. The linter treats these (plus the computed fillers) as known names.
 */

export type FillerOrigin =
  /** Run configuration: the flow's `vars`, the command line, a per-client CSV column. */
  | 'config'
  /** Extracted from an earlier response (client side) or from the request being answered (server side). */
  | 'extracted'
  /** Invented by the emulated server ("network host") when it answers. */
  | 'generated'
  /** Computed by the template engine at render time. */
  | 'computed';

export interface FillerInfo {
  name: string;
  origin: FillerOrigin;
  description: string;
  /** Which side of the flow uses it. */
  side: 'client' | 'server' | 'both';
  /** A list (multi-valued filler). */
  multi?: boolean;
}

const f = (name: string, origin: FillerOrigin, side: FillerInfo['side'], description: string, multi?: boolean): FillerInfo => ({
  name,
  origin,
  side,
  description,
  ...(multi ? { multi } : {}),
});

export const FILLER_CATALOGUE: readonly FillerInfo[] = [
  f('webrtc-srv-url', 'config', 'client', 'Request target of the web application start page, e.g. /webrtc_srv_3_1 (INIT).'),
  f('webrtc-srv-name', 'config', 'both', 'Host name of the gateway (Host headers, URLs in responses).'),
  f('http-port', 'config', 'both', 'TCP port of the gateway REST API.'),
  f('websocket-port', 'config', 'both', 'TCP port of the notification WebSocket.'),
  f('iam-addr', 'config', 'server', 'Identity server host the INIT redirect points to (Landslide spelled it ima-addr too).'),
  f('iam-port', 'config', 'server', 'Identity server port.'),
  f('called-number', 'config', 'both', 'The far party: receiver of calls, participant of chats (tel: or sip: URI, or digits).'),
  f('sdp', 'config', 'client', 'SDP offer of CALL_CONN; CRLF line ends, inserted with :json.'),
  f('chat-msg-content', 'config', 'client', 'Text of CHAT_MSG.'),
  f('chat-report-request', 'config', 'client', 'Optional list of reports asked for a chat message: Delivered, Displayed.', true),
  f('client-correlator', 'config', 'both', 'Client tag echoed by the server (OMA clientCorrelator); Landslide names the channel mavch{client-correlator}.'),
  f('referer', 'extracted', 'client', 'Web application page URL sent as Referer (Location of the REG_SRV redirect). Optional.'),
  f('state', 'extracted', 'client', 'OAuth state: the "state" query parameter of the INIT redirect.'),
  f('oauth-cookie', 'extracted', 'client', 'Cookies set by the identity server, joined with "; " in one Cookie header. Optional.', true),
  f('oauth-author-code', 'extracted', 'client', 'OAuth authorization code (identity server JSON key Authorization_code).'),
  f('oauth-sess-num', 'extracted', 'client', 'Identity server session number (header Unique-Session-Number).'),
  f('oauth-user-id', 'extracted', 'client', 'Identity server user id (JSON key user_id).'),
  f('session-id', 'extracted', 'both', 'Gateway session id: sessionId query of the REG_SRV redirect; path element and X-Session-ID.'),
  f('client-id', 'extracted', 'both', 'Gateway client id: clientId query of the REG_SRV redirect; X-Client-ID and ?clientId=.'),
  f('callback-url', 'extracted', 'both', 'callbackURL of the notification channel: the notifyURL of every subscription.'),
  f('notify-url', 'extracted', 'client', 'Landslide name for the same value as callback-url.'),
  f('channel-url', 'extracted', 'client', 'channelURL of the notification channel (ws://…).'),
  f('websocket-url', 'extracted', 'client', 'Request target (path and query) of channel-url, for the WebSocket handshake.'),
  f('channel-id', 'extracted', 'client', 'Last path element of the channel resource (Location of CHAN_CREATE).'),
  f('msisdn1', 'extracted', 'both', 'Number of line 1 (INIT_REG response).'),
  f('msisdn2', 'extracted', 'both', 'Number of line 2.'),
  f('email1', 'extracted', 'both', 'E-mail of line 1.'),
  f('email2', 'extracted', 'both', 'E-mail of line 2.'),
  f('cap-resource-url', 'extracted', 'client', 'resourceURL of the capability source (CAP_DISC response).'),
  f('cap-resource-id', 'generated', 'both', 'Capability source id: last path element of cap-resource-url.'),
  f('reg-id', 'generated', 'both', 'Registration id: last path element of the registration resourceURL.'),
  f('call-id', 'generated', 'both', 'Call session id: last path element of the CALL_CONN Location.'),
  f('chat-session-id', 'generated', 'both', 'Chat session id: last path element of the CHAT_INVITE Location.'),
  f('chat-msg-id', 'generated', 'both', 'Chat message id: last path element of the CHAT_MSG Location.'),
  f('call-subscription-id', 'generated', 'both', 'Id of the VVoIP subscription.'),
  f('chat-subscription-id', 'generated', 'both', 'Id of the chat subscription.'),
  f('reg-subscription-id', 'generated', 'both', 'Id of the RACM subscription.'),
  f('nms-subscription-id', 'generated', 'both', 'Id of the message-store subscription.'),
  f('client-ip', 'generated', 'server', 'Address the server saw the client connect from (REG response clientIP).'),
  f('content-length', 'computed', 'both', 'Byte length of the rendered body.'),
  f('websocket-key', 'computed', 'both', 'Sec-WebSocket-Key: 16 random bytes, base64; a bound value wins.'),
  f('websocket-accept', 'computed', 'server', 'Sec-WebSocket-Accept derived from websocket-key (RFC 6455 §4.2.2).'),
  f('uuid', 'computed', 'both', 'A random UUID, one per render.'),
  f('now-iso', 'computed', 'both', 'Current time, ISO 8601 UTC, one per render.'),
  f('seq', 'computed', 'both', 'Per-client counter, 1, 2, 3, …'),
  f('rand-digits', 'computed', 'both', '{rand-digits:N}: N random decimal digits.'),
];

export const KNOWN_FILLERS: ReadonlySet<string> = new Set(FILLER_CATALOGUE.map((x) => x.name));

export function fillerInfo(name: string): FillerInfo | undefined {
  return FILLER_CATALOGUE.find((x) => x.name === name);
}
