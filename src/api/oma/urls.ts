/**
 * The URLs the REST door hands out (reference §1.1, T-Mobile flavour): the gateway session id takes
 * the place of OMA's `{userId}`, and `/vvoip/vvoip/` and `/chat/chat/` are doubled as Landslide's
 * clients expect. The single forms (`/vvoip/v1/…`, `/chat/v1/…`) are accepted too.
 */

export const PATHS = {
  channels: (sid: string) => `/mavnotifyserver/notificationchannel/v1/${enc(sid)}/channels`,
  callback: (sid: string, cid: string) => `/mavnotifyserver/restapi/v1/${enc(sid)}/channels/${enc(cid)}`,
  wsChannel: (sid: string, cid: string) => `/ws/channelCreateUrl/notificationchannel/v1/${enc(sid)}/channels/${enc(cid)}/notifications`,
  vvoip: (sid: string) => `/vvoip/vvoip/v1/${enc(sid)}`,
  chat: (sid: string) => `/chat/chat/v1/${enc(sid)}`,
  racm: (sid: string) => `/racm/v1/${enc(sid)}`,
  capabilities: (sid: string) => `/capabilitydiscovery/v1/${enc(sid)}/capabilitySources`,
  nms: (store: string, sid: string) => `/nms/v1/${enc(store)}/${enc(sid)}`,
} as const;

/** Where WebSocket upgrades for notification channels arrive. */
export const WS_PREFIX = '/ws/channelCreateUrl/notificationchannel/v1/';

/** Path prefixes the door answers over HTTP. */
export const HTTP_PREFIXES = ['/mavnotifyserver/', '/vvoip/', '/chat/', '/racm/', '/capabilitydiscovery/', '/nms/', '/reg_srv', '/oma/'];

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** `ws://` or `wss://` for a base URL. */
export function wsBase(base: string): string {
  return base.replace(/^http/, 'ws');
}
