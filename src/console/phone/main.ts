/// <reference lib="dom" />
/**
 * The demo web phone: binds the page (index.html) to the sylkRTC client. Connects to the gateway
 * that served the page, fills in the local domain's demo users, and offers its echo service.
 */
import { ha1 } from './md5.ts';
import { SylkRtcClient, type Call, type Json } from './sylkrtc-client.ts';

/** What the gateway tells the page (injected into index.html). */
interface DemoSettings {
  /** The sylkRTC WebSocket path, e.g. `/webrtcgateway/ws`. */
  wsPath: string;
  /** The SIP domain accounts are in. */
  domain: string;
  /** Demo users of the local domain, with their passwords (development only). */
  users: Array<{ name: string; password: string }>;
  /** `echo@<local domain>` when it runs. */
  echo?: string;
}

const settings = (window as unknown as { PORTICO_DEMO: DemoSettings }).PORTICO_DEMO;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${settings.wsPath}`;
const client = new SylkRtcClient(wsUrl);

const app = {
  client,
  /** The account added on this connection (one at a time). */
  account: undefined as string | undefined,
  registered: false,
  call: undefined as Call | undefined,
  messages: [] as Array<{ from: string; content: string; out: boolean }>,
};
(window as unknown as { portico: typeof app }).portico = app;

function setText(id: string, text: string): void {
  $(id).textContent = text;
}

function log(line: string): void {
  const el = $('log');
  el.textContent = `${el.textContent ?? ''}${new Date().toISOString().slice(11, 23)} ${line}\n`.slice(-20_000);
  el.scrollTop = el.scrollHeight;
}

function showError(where: 'account' | 'call', err: unknown): void {
  setText(`${where}-error`, err instanceof Error ? err.message : String(err));
}

// ---- account -----------------------------------------------------------------------------------

function fillUser(name: string, password: string): void {
  input('aor').value = `${name}@${settings.domain}`;
  input('password').value = password;
  input('display').value = name[0]!.toUpperCase() + name.slice(1);
}

function renderDemoUsers(): void {
  const box = $('demo-users');
  for (const u of settings.users) {
    const b = document.createElement('button');
    b.className = 'chip';
    b.textContent = u.name;
    b.title = `Fill in ${u.name}@${settings.domain}`;
    b.onclick = () => fillUser(u.name, u.password);
    box.appendChild(b);
  }
  const first = settings.users[0];
  if (first) fillUser(first.name, first.password);
  else input('aor').placeholder = `you@${settings.domain}`;
}

async function register(): Promise<void> {
  showError('account', '');
  const aor = input('aor').value.trim().replace(/^sips?:/, '');
  const at = aor.lastIndexOf('@');
  if (at <= 0) return showError('account', 'Enter a SIP address such as alice@' + settings.domain);
  try {
    if (app.account && app.account !== aor) {
      await client.removeAccount(app.account);
      app.account = undefined;
    }
    if (!app.account) {
      // The HA1 is computed here: the password never leaves the page.
      await client.addAccount(aor, ha1(aor.slice(0, at), aor.slice(at + 1), input('password').value), input('display').value.trim());
      app.account = aor;
    }
    setText('reg', 'registering…');
    await client.register(aor);
  } catch (err) {
    showError('account', err);
  }
}

async function unregister(): Promise<void> {
  if (!app.account) return;
  try {
    await client.unregister(app.account);
    app.registered = false;
    setText('reg', 'not registered');
    refresh();
  } catch (err) {
    showError('account', err);
  }
}

// ---- calls -------------------------------------------------------------------------------------

async function placeCall(target?: string): Promise<void> {
  showError('call', '');
  const to = (target ?? input('target').value).trim().replace(/^sips?:/, '');
  if (!app.account) return showError('call', 'Register an account first.');
  if (!to) return showError('call', 'Enter whom to call.');
  input('target').value = to;
  try {
    app.call = await client.call(app.account, to.includes('@') ? to : `${to}@${settings.domain}`);
  } catch (err) {
    showError('call', err);
  }
  refresh();
}

async function answer(): Promise<void> {
  try {
    await app.call?.answer();
  } catch (err) {
    showError('call', err);
  }
  refresh();
}

async function hangup(): Promise<void> {
  try {
    await app.call?.hangup();
  } catch (err) {
    showError('call', err);
  }
}

async function toggleHold(): Promise<void> {
  const call = app.call;
  if (!call) return;
  try {
    await call.hold(!call.held);
  } catch (err) {
    showError('call', err);
  }
  refresh();
}

function pressKey(key: string): void {
  const call = app.call;
  if (!call || call.state !== 'established') return;
  try {
    call.sendDtmf(key);
  } catch {
    // No RFC 4733 on this call: SIP INFO through the gateway instead.
    void call.sendDtmfInfo(key).catch((err) => showError('call', err));
  }
}

function renderKeypad(): void {
  const letters: Record<string, string> = { 2: 'ABC', 3: 'DEF', 4: 'GHI', 5: 'JKL', 6: 'MNO', 7: 'PQRS', 8: 'TUV', 9: 'WXYZ' };
  for (const key of '123456789*0#') {
    const b = document.createElement('button');
    b.dataset.key = key;
    b.innerHTML = `${key}<small>${letters[key] ?? ''}</small>`;
    b.onclick = () => pressKey(key);
    $('keypad').appendChild(b);
  }
}

// ---- messages ----------------------------------------------------------------------------------

async function sendMessage(): Promise<void> {
  const to = input('msg-to').value.trim().replace(/^sips?:/, '');
  const text = input('msg-text').value;
  if (!app.account || !to || !text) return;
  try {
    await client.sendMessage(app.account, to.includes('@') ? to : `${to}@${settings.domain}`, text);
    app.messages.push({ from: to, content: text, out: true });
    input('msg-text').value = '';
    renderMessages();
  } catch (err) {
    showError('account', err);
  }
}

function renderMessages(): void {
  const list = $('messages');
  list.replaceChildren(
    ...app.messages.map((m) => {
      const li = document.createElement('li');
      li.className = m.out ? 'out' : 'in';
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = m.out ? `to ${m.from}` : m.from;
      li.append(who, document.createTextNode(m.content));
      return li;
    }),
  );
  $('no-messages').style.display = app.messages.length ? 'none' : '';
  list.scrollTop = list.scrollHeight;
}

// ---- state -------------------------------------------------------------------------------------

function onEvent(ev: Json): void {
  log(JSON.stringify(ev, (k, v) => (k === 'sdp' && typeof v === 'string' ? `${v.length} bytes` : v)));
  if (ev.sylkrtc === 'closed') {
    $('conn').className = 'pill bad';
    setText('conn', 'disconnected');
  }
  if (ev.sylkrtc === 'account-event') {
    if (ev.event === 'registration-state') {
      app.registered = ev.state === 'registered';
      setText('reg', ev.state === 'failed' ? `failed: ${String(ev.reason ?? '')}` : String(ev.state));
    }
    if (ev.event === 'incoming-session') {
      const call = client.calls.get(String(ev.session));
      if (call && (!app.call || app.call.state === 'terminated')) app.call = call;
      else if (call) void call.hangup();
    }
    if (ev.event === 'message') {
      const sender = (ev.sender ?? {}) as Json;
      app.messages.push({ from: String(sender.display_name ?? sender.uri ?? ''), content: String(ev.content ?? ''), out: false });
      renderMessages();
    }
  }
  if (ev.sylkrtc === 'session-event' && ev.event === 'message') {
    const sender = (ev.sender ?? {}) as Json;
    app.messages.push({ from: String(sender.uri ?? ''), content: String(ev.content ?? ''), out: false });
    renderMessages();
  }
  if (ev.sylkrtc === 'session-event' && ev.event === 'state' && ev.state === 'terminated' && app.call?.id === ev.session) {
    setText('call-peer', String(ev.reason ?? ''));
  }
  refresh();
}

let since = 0;

function refresh(): void {
  const call = app.call;
  const live = call && call.state !== 'terminated';
  const up = live && call.state === 'established';
  const incoming = live && call.direction === 'incoming' && call.state === 'incoming';
  setText('call-state', !call ? 'idle' : incoming ? 'incoming call' : call.held ? 'on hold' : call.state);
  if (live) setText('call-peer', call.displayName ? `${call.displayName} <${call.peer}>` : call.peer);
  $('incoming').classList.toggle('show', Boolean(incoming));
  setText('incoming-from', incoming ? (call.displayName ?? call.peer) : '');
  $<HTMLButtonElement>('call').disabled = !app.account || !app.registered || Boolean(live);
  $<HTMLButtonElement>('hangup').disabled = !live;
  $<HTMLButtonElement>('hold').disabled = !up;
  setText('hold', call?.held ? 'Resume' : 'Hold');
  $<HTMLButtonElement>('unregister').disabled = !app.registered;
  setText('register', app.registered ? 'Register again' : 'Register');
  $<HTMLButtonElement>('msg-send').disabled = !app.registered;
  for (const b of $('keypad').querySelectorAll('button')) (b as HTMLButtonElement).disabled = !up;
  setText('tones', call?.tonesSent ?? '');
  const audio = $<HTMLAudioElement>('remote-audio');
  const remote = live ? (call.remoteStream ?? null) : null;
  if (audio.srcObject !== remote) audio.srcObject = remote;
  if (up && since === 0) since = Date.now();
  if (!up) since = 0;
}

async function meters(): Promise<void> {
  const call = app.call;
  if (!call || call.state === 'terminated' || !call.pc) {
    $('mic-level').style.width = '0';
    $('far-level').style.width = '0';
    return;
  }
  const m = await call.stats();
  // audioLevel is linear (0..1); a square root spreads speech levels over the bar.
  $('mic-level').style.width = `${Math.round(Math.sqrt(m.outboundLevel) * 100)}%`;
  $('far-level').style.width = `${Math.round(Math.sqrt(m.inboundLevel) * 100)}%`;
  setText('sent', `${m.packetsSent} pkts`);
  setText('received', `${m.packetsReceived} pkts`);
  setText('codec', m.codec ?? '—');
  setText('direction', m.direction ?? '—');
  const secs = since ? Math.floor((Date.now() - since) / 1000) : 0;
  setText('duration', `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`);
  setText('tones', call.tonesSent);
}

function init(): void {
  renderDemoUsers();
  renderKeypad();
  renderMessages();
  const targets = $('targets');
  const suggestions = [...(settings.echo ? [settings.echo] : []), ...settings.users.map((u) => `${u.name}@${settings.domain}`)];
  for (const t of suggestions) {
    const o = document.createElement('option');
    o.value = t;
    targets.appendChild(o);
  }
  if (settings.echo) {
    input('target').value = settings.echo;
    const hint = document.createElement('div');
    hint.className = 'hint';
    hint.textContent = `Call ${settings.echo} to hear yourself: it returns your own audio.`;
    $('phone').insertBefore(hint, $('keypad'));
  }
  if (settings.users.length > 0) {
    setText(
      'getting-started',
      `Pick a demo user of ${settings.domain}, register, then call ${settings.echo ?? 'another user'}. ` +
        `Open a second tab as ${settings.users[1]?.name ?? 'another user'} to call from one browser to the other.`,
    );
  }
  const second = settings.users[1];
  if (second) input('msg-to').value = `${second.name}@${settings.domain}`;
  $<HTMLFormElement>('account-form').onsubmit = (e) => {
    e.preventDefault();
    void register();
  };
  $('unregister').onclick = () => void unregister();
  $('call').onclick = () => void placeCall();
  $('answer').onclick = () => void answer();
  $('decline').onclick = () => void hangup();
  $('hangup').onclick = () => void hangup();
  $('hold').onclick = () => void toggleHold();
  $('msg-send').onclick = () => void sendMessage();
  input('msg-text').onkeydown = (e) => e.key === 'Enter' && void sendMessage();
  input('target').onkeydown = (e) => e.key === 'Enter' && void placeCall();
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement) return;
    if (/^[0-9*#]$/.test(e.key)) pressKey(e.key);
  });
  client.on(onEvent);
  setInterval(() => void meters().catch(() => undefined), 250);
  client.connect().then(
    () => {
      $('conn').className = 'pill ok';
      setText('conn', `connected · ${location.host}`);
      refresh();
    },
    (err: Error) => {
      $('conn').className = 'pill bad';
      setText('conn', 'cannot connect');
      showError('account', err);
    },
  );
  refresh();
}

init();
