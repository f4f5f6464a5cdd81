/**
 * A small REST-door client for tests: logs in (INIT, reg_srv), sends requests with the session
 * headers, opens a notification channel's WebSocket and collects what arrives on it, in order.
 * Not a product API: it exists so tests read like the flows they check.
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';
import { WS_SUBPROTOCOL } from './channel.ts';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

let sharedAgent: Agent | false = false;

/** Requests go over `agent` (a keep-alive agent, as a browser would), or a fresh connection each (default). */
export function useHttpAgent(agent: Agent | false): void {
  sharedAgent = agent;
}

/** One HTTP request; `body` is JSON-encoded unless it is a string. */
export function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (payload !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers, agent: sharedAgent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export class OmaTestClient {
  readonly notifications: Record<string, any>[] = [];
  /** Every frame, connCheck included. */
  readonly frames: Record<string, any>[] = [];
  ws: WebSocket | undefined;
  channelUrl = '';
  callbackUrl = '';
  channelResource = '';
  /** Answer the server's connCheck with connAck (turn off to test a client that stops answering). */
  answerConnCheck = true;
  /** Called with every notification as it arrives (a scripted peer reacts here). */
  onNotification: ((n: Record<string, any>) => void) | undefined;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly base: string,
    readonly sessionId: string,
    readonly clientId: string,
  ) {}

  /** INIT then reg_srv with the embedded authenticator's user_id. */
  static async login(base: string, userId: string, initPath = '/webrtc'): Promise<OmaTestClient> {
    const init = await http(`${base}${initPath}`);
    if (init.status !== 303) throw new Error(`INIT answered ${init.status}`);
    const state = new URL(String(init.headers.location)).searchParams.get('state') ?? '';
    const reg = await http(`${base}/reg_srv?${new URLSearchParams({ code: 'x', state, session_num: '1', user_id: userId })}`);
    if (reg.status !== 303) throw new Error(`reg_srv answered ${reg.status} ${reg.text}`);
    const loc = new URL(String(reg.headers.location));
    return new OmaTestClient(base, loc.searchParams.get('sessionId')!, loc.searchParams.get('clientId')!);
  }

  get sessionHeaders(): Record<string, string> {
    return { 'X-Session-ID': this.sessionId, 'X-Client-ID': this.clientId };
  }

  /** A request to a path under the gateway (or a full URL) with the session headers. */
  req(method: string, pathOrUrl: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl.replace('{sid}', encodeURIComponent(this.sessionId))}`;
    return http(url, { method, body, headers: { ...this.sessionHeaders, ...headers } });
  }

  /** Creates a WebSockets channel and opens its socket with the OMA subprotocol. */
  async openChannel(body: Record<string, unknown> = { channelType: 'WebSockets', channelData: { maxNotifications: 10 }, channelLifetime: 3600, clientCorrelator: '1' }): Promise<HttpResult> {
    const res = await this.req('POST', '/mavnotifyserver/notificationchannel/v1/{sid}/channels', { notificationChannel: body });
    if (res.status !== 201) throw new Error(`channel: ${res.status} ${res.text}`);
    const nc = res.json.notificationChannel;
    this.channelUrl = nc.channelData.channelURL;
    this.callbackUrl = nc.callbackURL;
    this.channelResource = nc.resourceURL;
    this.ws = await this.connect(this.channelUrl);
    return res;
  }

  /** Opens (another) WebSocket on a channel URL; its frames are collected. */
  connect(url: string, protocols: string[] = [WS_SUBPROTOCOL]): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.on('message', (data) => {
        const doc = JSON.parse(String(data)) as Record<string, any>;
        this.frames.push(doc);
        if (doc.connCheck) {
          if (this.answerConnCheck && ws.readyState === WebSocket.OPEN) ws.send('{"connAck":{}}');
        } else if (doc.notificationList) {
          for (const n of [doc.notificationList].flat()) if (n) this.notifications.push(n), this.onNotification?.(n);
        } else this.notifications.push(doc), this.onNotification?.(doc);
        this.waiters.splice(0).forEach((w) => w());
      });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  subscribe(enabler: 'vvoip' | 'chat' | 'racm' | 'nms'): Promise<HttpResult> {
    const paths = { vvoip: '/vvoip/vvoip/v1/{sid}/subscriptions', chat: '/chat/chat/v1/{sid}/subscriptions', racm: '/racm/v1/{sid}/subscriptions', nms: '/nms/v1/myStore/{sid}/subscriptions' };
    const roots = { vvoip: 'vvoipNotificationSubscription', chat: 'chatNotificationSubscription', racm: 'racmNotificationSubscription', nms: 'nmsSubscription' };
    return this.req('POST', paths[enabler], { [roots[enabler]]: { callbackReference: { notifyURL: this.callbackUrl, callbackData: enabler, notificationFormat: 'JSON' }, duration: 3600 } });
  }

  /** GET lineinfo, then POST registration of every line; returns the registration response. */
  async register(): Promise<HttpResult> {
    const lines = await this.req('GET', `/racm/v1/{sid}/lineinfo?clientId=${this.clientId}`);
    const regInfo = lines.json.lineInformation.lines.map((l: { lineId: string; msisdn: string }) => ({ lineId: l.lineId, msisdn: l.msisdn }));
    return this.req('POST', `/racm/v1/{sid}/registration?clientId=${this.clientId}`, { registrationInformation: { regInfo, pnsEnabled: false } });
  }

  /** The first notification (seen or to come) with root `root` passing `test`. */
  async waitFor(root: string, test: (n: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.notifications.find((n) => n[root] !== undefined && test(n[root]));
      if (found) return found[root];
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${root}; got ${JSON.stringify(this.notifications)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The notifications with root `root`, in order of arrival. */
  all(root: string): any[] {
    return this.notifications.filter((n) => n[root] !== undefined).map((n) => n[root]);
  }

  close(): void {
    this.ws?.terminate();
  }
}
