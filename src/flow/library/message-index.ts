/**
 * Index of the built-in WebRTC messages: one request/response pair per step of the WebRTC REST flow, in the
 * flow's order. Each template lives in ./messages/<ID>.tpl. The hints say where a flow finds the values the
 * next steps need (`provides`, applied by the client to the response) and where an emulated server finds the
 * values its response needs (`binds`, applied to the request).
 */

/**
 * Where a value is found, in the shape of a flow's `extract` rule (reference §2.4): `json` (RFC 6901 pointer)
 * with `else` fallbacks, `header` (+ `query` of a URL-valued header, or `regex` with group 1), `cookie`.
 * `path` is a regex (group 1) over the request target, for values a server reads from the URL.
 */
export interface ExtractionHint {
  json?: string;
  else?: string[];
  header?: string;
  all?: boolean;
  query?: string;
  regex?: string;
  cookie?: string;
  path?: string;
}

export interface MessageIndexEntry {
  /** `WEBRTC_HTTP_REQ_<STEP>` or `WEBRTC_HTTP_RESP_<STEP>`. */
  id: string;
  step: string;
  kind: 'request' | 'response';
  /** The other message of the pair. */
  pair: string;
  title: string;
  description: string;
  /** Request method and path shape, or response status. */
  method?: string;
  path?: string;
  status?: number;
  /** Response only: values the client extracts from this response for later steps. */
  provides?: Record<string, ExtractionHint>;
  /** Request only: values an emulated server takes from this request to render the response. */
  binds?: Record<string, ExtractionHint>;
  /** Response only: identifiers the emulated server invents (e.g. from {uuid}) before rendering. */
  generated?: string[];
}

interface StepDef {
  step: string;
  title: string;
  req: string;
  resp: string;
  method: string;
  path: string;
  status: number;
  provides?: Record<string, ExtractionHint>;
  binds?: Record<string, ExtractionHint>;
  generated?: string[];
}

/** The gateway session headers every API request carries. */
const SESSION: Record<string, ExtractionHint> = {
  'session-id': { header: 'X-Session-ID' },
  'client-id': { header: 'X-Client-ID' },
};

const STEPS: StepDef[] = [
  {
    step: 'INIT',
    title: 'Initialisation',
    method: 'GET',
    path: '{webrtc-srv-url}',
    status: 303,
    req: 'The browser opens the web application start page.',
    resp: 'Redirect (303) to the identity server login, with redirect_uri pointing at /reg_srv and an OAuth state.',
    provides: { state: { header: 'Location', query: 'state' } },
  },
  {
    step: 'REG_SRV',
    title: 'Register server',
    method: 'GET',
    path: '/reg_srv?code=&state=&session_num=&user_id=',
    status: 303,
    req: 'After login, the browser lands on /reg_srv with the authorization code; the gateway opens a session.',
    resp: 'Redirect (303) to the web application page; its query carries clientId and sessionId.',
    provides: {
      'session-id': { header: 'Location', query: 'sessionId' },
      'client-id': { header: 'Location', query: 'clientId' },
      referer: { header: 'Location' },
    },
    generated: ['session-id', 'client-id'],
  },
  {
    step: 'CHAN_CREATE',
    title: 'Create channel',
    method: 'POST',
    path: '/mavnotifyserver/notificationchannel/v1/{session-id}/channels',
    status: 201,
    req: 'Create an OMA notification channel of type WebSockets.',
    resp: 'The channel, with its WebSocket channelURL and the callbackURL subscriptions must notify.',
    binds: { ...SESSION, 'client-correlator': { json: '/notificationChannel/clientCorrelator' } },
    provides: {
      'channel-url': { json: '/notificationChannel/channelData/channelURL' },
      'websocket-url': { json: '/notificationChannel/channelData/channelURL', regex: '^wss?://[^/]+(/[^#]*)' },
      'callback-url': { json: '/notificationChannel/callbackURL' },
      'notify-url': { json: '/notificationChannel/callbackURL' },
      'channel-id': { header: 'Location', regex: '/channels/([^/?]+)$' },
    },
  },
  {
    step: 'SETUP_WEBSOCKET',
    title: 'Set up WebSocket',
    method: 'GET',
    path: '{websocket-url}',
    status: 101,
    req: 'RFC 6455 opening handshake on the channel URL, offering the OMA notification channel subprotocol.',
    resp: 'Switching Protocols, with Sec-WebSocket-Accept derived from the key.',
    binds: { 'websocket-key': { header: 'Sec-WebSocket-Key' } },
  },
  {
    step: 'INIT_REG',
    title: 'Initiate registration',
    method: 'GET',
    path: '/racm/v1/{session-id}/lineinfo?clientId={client-id}',
    status: 200,
    req: "Ask RACM for the user's lines.",
    resp: 'The lines (number and e-mail of each) the browser may register.',
    binds: SESSION,
    provides: {
      msisdn1: { json: '/lineInformation/lines/0/msisdn' },
      email1: { json: '/lineInformation/lines/0/email' },
      msisdn2: { json: '/lineInformation/lines/1/msisdn' },
      email2: { json: '/lineInformation/lines/1/email' },
    },
  },
  ...(
    [
      ['CALL_SUBS', 'Call subscription', '/vvoip/vvoip/v1/{session-id}/subscriptions', 'vvoipNotificationSubscription', 'VVoIP call', 'call-subscription-id'],
      ['CHAT_SUBS', 'Chat subscription', '/chat/chat/v1/{session-id}/subscriptions', 'chatNotificationSubscription', 'chat', 'chat-subscription-id'],
      ['REG_SUBS', 'Registration subscription', '/racm/v1/{session-id}/subscriptions', 'racmNotificationSubscription', 'registration (RACM)', 'reg-subscription-id'],
      ['MMS_SUBS', 'Message store subscription', '/nms/v1/myStore/{session-id}/subscriptions', 'nmsSubscription', 'message store (NMS)', 'nms-subscription-id'],
    ] as const
  ).map(
    ([step, title, path, root, what, id]): StepDef => ({
      step,
      title,
      method: 'POST',
      path,
      status: 201,
      req: `Subscribe to ${what} notifications, delivered to the channel's callbackURL.`,
      resp: `The ${what} subscription, with its resourceURL (needed to delete it).`,
      binds: {
        ...SESSION,
        'callback-url': { json: `/${root}/callbackReference/notifyURL` },
        'client-correlator': { json: `/${root}/clientCorrelator` },
      },
      provides: { [id]: { header: 'Location', regex: '/subscriptions/([^/?]+)$' } },
      generated: [id],
    }),
  ),
  {
    step: 'CAP_DISC',
    title: 'Capability discovery',
    method: 'POST',
    path: '/capabilitydiscovery/v1/{session-id}/capabilitySources',
    status: 201,
    req: "Publish the browser's service capabilities.",
    resp: 'The capability source, with its resourceURL.',
    binds: { ...SESSION, 'client-correlator': { json: '/capabilitySource/clientCorrelator' } },
    provides: {
      'cap-resource-url': { json: '/capabilitySource/resourceURL' },
      'cap-resource-id': { header: 'Location', regex: '/capabilitySources/([^/?]+)$' },
    },
    generated: ['cap-resource-id'],
  },
  {
    step: 'PUT_CAP',
    title: 'Put capability',
    method: 'PUT',
    path: '/capabilitydiscovery/v1/{session-id}/capabilitySources/{cap-resource-id}',
    status: 200,
    req: 'Update the capability source.',
    resp: 'The updated capability source.',
    binds: {
      ...SESSION,
      'client-correlator': { json: '/capabilitySource/clientCorrelator' },
      'cap-resource-id': { path: '/capabilitySources/([^/?]+)' },
    },
  },
  {
    step: 'REG',
    title: 'Registration',
    method: 'POST',
    path: '/racm/v1/{session-id}/registration?clientId={client-id}',
    status: 200,
    req: 'Register the lines into IMS.',
    resp: 'Registration state of each line (Registered) and the registration resourceURL.',
    binds: {
      ...SESSION,
      msisdn1: { json: '/registrationInformation/regInfo/0/msisdn' },
      email1: { json: '/registrationInformation/regInfo/0/email' },
      msisdn2: { json: '/registrationInformation/regInfo/1/msisdn' },
      email2: { json: '/registrationInformation/regInfo/1/email' },
    },
    provides: { 'reg-id': { json: '/registrationInformation/resourceURL', regex: '/registration/([^/?]+)$' } },
    generated: ['reg-id', 'client-ip'],
  },
  {
    step: 'CALL_CONN',
    title: 'Call connect',
    method: 'POST',
    path: '/vvoip/vvoip/v1/{session-id}/sessions',
    status: 201,
    req: 'Start a call: VVoIP session with the SDP offer.',
    resp: 'The session in state Initial; progress and the answer SDP follow as notifications on the channel.',
    binds: {
      ...SESSION,
      msisdn1: { json: '/vvoipSessionInformation/originatorAddress' },
      'called-number': { json: '/vvoipSessionInformation/receiverAddress' },
      'client-correlator': { json: '/vvoipSessionInformation/clientCorrelator' },
    },
    provides: { 'call-id': { header: 'Location', regex: '/sessions/([^/?]+)$' } },
    generated: ['call-id'],
  },
  {
    step: 'CALL_DISCONN',
    title: 'Call disconnect',
    method: 'DELETE',
    path: '/vvoip/vvoip/v1/{session-id}/sessions/{call-id}',
    status: 204,
    req: 'End the call (cancel before answer, hang up after).',
    resp: 'No Content.',
    binds: { ...SESSION, 'call-id': { path: '/sessions/([^/?]+)' } },
  },
  {
    step: 'CHAT_INVITE',
    title: 'Chat invite',
    method: 'POST',
    path: '/chat/chat/v1/{session-id}/oneToOne/{called-number}',
    status: 201,
    req: 'Open a confirmed 1-to-1 chat session (OMA Chat chatSessionInformation).',
    resp: 'The chat session in state Invited.',
    binds: {
      ...SESSION,
      msisdn1: { json: '/chatSessionInformation/originatorAddress' },
      'called-number': { json: '/chatSessionInformation/tParticipantAddress' },
      'client-correlator': { json: '/chatSessionInformation/clientCorrelator' },
    },
    provides: { 'chat-session-id': { header: 'Location', regex: '/oneToOne/[^/]+/([^/?]+)$' } },
    generated: ['chat-session-id'],
  },
  {
    step: 'CHAT_ACCEPT',
    title: 'Chat accept',
    method: 'PUT',
    path: '/chat/chat/v1/{session-id}/oneToOne/{called-number}/{chat-session-id}/status',
    status: 204,
    req: 'Accept the chat session (participantSessionStatus Connected).',
    resp: 'No Content.',
    binds: SESSION,
  },
  {
    step: 'CHAT_MSG_IS_COMP',
    title: 'Chat isComposing',
    method: 'POST',
    path: '/chat/chat/v1/{session-id}/oneToOne/{called-number}/{chat-session-id}/messages',
    status: 204,
    req: 'Tell the other party the user is typing.',
    resp: 'No Content (an isComposing indication creates no message resource).',
    binds: SESSION,
  },
  {
    step: 'CHAT_MSG',
    title: 'Chat message',
    method: 'POST',
    path: '/chat/chat/v1/{session-id}/oneToOne/{called-number}/{chat-session-id}/messages',
    status: 201,
    req: 'Send a chat message, optionally asking for delivery/display reports.',
    resp: 'A reference to the message resource.',
    binds: {
      ...SESSION,
      'called-number': { path: '/oneToOne/([^/]+)/' },
      'chat-session-id': { path: '/oneToOne/[^/]+/([^/]+)/messages' },
    },
    provides: { 'chat-msg-id': { header: 'Location', regex: '/messages/([^/?]+)$' } },
    generated: ['chat-msg-id'],
  },
  {
    step: 'DISP_REPORT',
    title: 'Display report',
    method: 'PUT',
    path: '/chat/chat/v1/{session-id}/oneToOne/{called-number}/{chat-session-id}/messages/{chat-msg-id}/status',
    status: 204,
    req: 'Report that a received message was displayed.',
    resp: 'No Content.',
    binds: SESSION,
  },
  {
    step: 'DEREG',
    title: 'De-registration',
    method: 'DELETE',
    path: '/racm/v1/{session-id}/registration/{reg-id}?clientId={client-id}',
    status: 204,
    req: 'Remove the registration.',
    resp: 'No Content.',
    binds: { ...SESSION, 'reg-id': { path: '/registration/([^/?]+)' } },
  },
  {
    step: 'CHAN_CLOSE',
    title: 'Close channel',
    method: 'DELETE',
    path: '/mavnotifyserver/notificationchannel/v1/{session-id}/channels/{channel-id}',
    status: 204,
    req: 'Delete the notification channel.',
    resp: 'No Content.',
    binds: { ...SESSION, 'channel-id': { path: '/channels/([^/?]+)' } },
  },
];

export const MESSAGE_INDEX: readonly MessageIndexEntry[] = STEPS.flatMap((s): MessageIndexEntry[] => {
  const req = `WEBRTC_HTTP_REQ_${s.step}`;
  const resp = `WEBRTC_HTTP_RESP_${s.step}`;
  return [
    { id: req, step: s.step, kind: 'request', pair: resp, title: s.title, description: s.req, method: s.method, path: s.path, ...(s.binds ? { binds: s.binds } : {}) },
    {
      id: resp,
      step: s.step,
      kind: 'response',
      pair: req,
      title: s.title,
      description: s.resp,
      status: s.status,
      ...(s.provides ? { provides: s.provides } : {}),
      ...(s.generated ? { generated: s.generated } : {}),
    },
  ];
});

/** The steps in the order of the WebRTC REST flow. */
export const MESSAGE_STEPS: readonly string[] = STEPS.map((s) => s.step);
