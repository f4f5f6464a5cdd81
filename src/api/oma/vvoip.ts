/**
 * VVoIP 1-to-1 calls of one REST session (reference §1.7): call resources over core Calls, core
 * call events turned into `sessionStatusNotification`s, incoming INVITEs into
 * `sessionInvitationNotification`s. SDP is accepted flat (`sdp`) or nested (`offer.sdp`,
 * `answer.sdp`) and always sent flat.
 *
 *   MO: POST → INVITE; 180 → Ringing; 183+SDP → InProgress; 200 → Connected (with the answer);
 *       DELETE → CANCEL before the answer, BYE after; a BYE from the far end → Terminated.
 *   MT: INVITE → sessionInvitationNotification (the gateway rings the caller: 180); PUT status
 *       Connected + answer → 200 OK, then Connected on the ACK; DELETE or PUT Declined → decline.
 *   Hold / Resume: PUT status with an offer → re-INVITE; its answer comes as a notification.
 *
 * A line rings only while the session has a vvoip subscription: without one, the core answers an
 * INVITE 480 (nobody to ring), so a forking proxy tries the caller's other devices.
 */
import { randomUUID } from 'node:crypto';
import type { Call, CallStateEvent, CallUpdateEvent } from '../../core/index.ts';
import { addressToAor, aorToAddress, sdpOf, type SessionStatus, type SessionStatusInput, type VvoipSessionInput } from './codec.ts';
import { omaError, toOmaError } from './errors.ts';
import type { LineState, OmaSession } from './session.ts';
import { PATHS } from './urls.ts';

interface CallResource {
  id: string;
  call: Call;
  line: LineState;
  direction: 'outgoing' | 'incoming';
  originatorAddress: string;
  originatorName?: string;
  receiverAddress: string;
  receiverName?: string;
  status: SessionStatus;
  clientCorrelator?: string;
  /** The last answer SDP, sent again with Connected when early media carried it first. */
  answerSdp?: string;
  offerSdp?: string;
  /** What a pending re-INVITE of ours asked for. */
  pendingHold?: 'Hold' | 'Resume';
  sequence: number;
}

/** The terminal status for a core `terminated` reason such as `"486 Busy Here"` ([INF] mapping of §1.7). */
export function terminalStatus(reason: string, direction: 'outgoing' | 'incoming', answered: boolean): { status: SessionStatus; code: number } {
  const code = Number(/^(\d{3})/.exec(reason)?.[1] ?? 0);
  if (code === 200 || (answered && code < 300)) return { status: 'Terminated', code };
  if (code === 487) return { status: 'SessionCancelled', code };
  if (code === 486 || code === 600) return { status: 'Busy', code };
  if (code === 603) return { status: 'Declined', code };
  if (code === 408 || code === 480) return { status: 'NoAnswer', code };
  if (code === 404 || code === 410 || code === 484 || code === 503 || code === 604) return { status: direction === 'outgoing' ? 'NotReachable' : 'Failed', code };
  return { status: 'Failed', code };
}

const ON_HOLD = /^a=(?:sendonly|inactive)\s*$/m;

export class VvoipService {
  private readonly calls = new Map<string, CallResource>();
  private readonly listening = new Set<LineState>();
  private readonly onIncomingBound = new Map<LineState, (call: Call) => void>();

  constructor(private readonly session: OmaSession) {}

  get count(): number {
    return this.calls.size;
  }

  private url(id: string): string {
    return `${this.session.base}${PATHS.vvoip(this.session.id)}/sessions/${encodeURIComponent(id)}`;
  }

  /** MO call: INVITE from the originating line with the client's offer. */
  create(input: VvoipSessionInput): { id: string; replay: boolean } {
    const s = this.session;
    const replay = s.replayed('calls', input.clientCorrelator);
    if (replay && this.calls.has(replay)) return { id: replay, replay: true };
    if (this.calls.size >= s.settings.maxCalls) throw omaError.limit('calls', s.settings.maxCalls);
    const line = s.lineFor(input.originatorAddress);
    const account = line.account!;
    const domain = account.aor.slice(account.aor.lastIndexOf('@') + 1);
    const target = addressToAor(input.receiverAddress, domain);
    if (!target) throw omaError.address('vvoipSessionInformation.receiverAddress');
    const id = randomUUID();
    let call: Call;
    try {
      call = s.connection.createCall({ id, account: account.aor, to: `sip:${target}`, sdp: sdpOf(input)! });
    } catch (err) {
      throw toOmaError(err);
    }
    const res: CallResource = {
      id,
      call,
      line,
      direction: 'outgoing',
      originatorAddress: aorToAddress(account.aor),
      originatorName: input.originatorName,
      receiverAddress: input.receiverAddress,
      receiverName: input.receiverName,
      status: 'Initial',
      clientCorrelator: input.clientCorrelator,
      offerSdp: sdpOf(input),
      sequence: 0,
    };
    this.track(res);
    s.remember('calls', input.clientCorrelator, id);
    s.log.info({ call: id, to: target, line: line.line.lineId }, 'outgoing call');
    return { id, replay: false };
  }

  representation(id: string): object {
    const r = this.get(id);
    const info: Record<string, unknown> = {
      originatorAddress: r.originatorAddress,
      ...(r.originatorName ? { originatorName: r.originatorName } : {}),
      receiverAddress: r.receiverAddress,
      ...(r.receiverName ? { receiverName: r.receiverName } : {}),
      status: r.status,
    };
    if (r.direction === 'incoming' && r.offerSdp) info.sdp = r.offerSdp;
    if (r.direction === 'outgoing' && r.answerSdp) info.sdp = r.answerSdp;
    if (r.clientCorrelator !== undefined) info.clientCorrelator = r.clientCorrelator;
    info.resourceURL = this.url(r.id);
    return { vvoipSessionInformation: info };
  }

  /** PUT …/status: the receiver answers, declines, or either side holds / resumes / answers a re-offer. */
  updateStatus(id: string, input: SessionStatusInput): void {
    const r = this.get(id);
    const call = r.call;
    const sdp = sdpOf(input);
    try {
      if (r.direction === 'incoming' && call.state === 'connecting') {
        switch (input.status) {
          case 'Ringing':
          case 'Proceeding':
          case 'InProgress':
            // The gateway rang the caller when the INVITE arrived (180). Not yet: early media from the client (183 with SDP).
            return;
          case 'Connected':
            if (!sdp) throw omaError.invalid('receiverSessionStatus.answer: the answer SDP is required');
            call.answer(sdp);
            r.answerSdp = sdp;
            return;
          case 'Declined':
          case 'Busy':
          case 'Terminated':
          case 'SessionCancelled':
            call.terminate();
            return;
          default:
            throw omaError.conflict(`status ${input.status} cannot be set on a ringing call`);
        }
      }
      if (call.state === 'accepted' || call.state === 'established') {
        if (input.status === 'Terminated') return call.terminate();
        if (!sdp) throw omaError.invalid('receiverSessionStatus.offer: an SDP is required');
        if (input.status === 'Hold' || input.status === 'Resume') r.pendingHold = input.status;
        // A new offer (re-INVITE, RFC 3261 §14.1), or the answer to the peer's re-INVITE.
        call.update(sdp);
        return;
      }
    } catch (err) {
      throw toOmaError(err);
    }
    throw omaError.conflict(`status ${input.status} cannot be set on a call in state ${r.status}`);
  }

  /** DELETE: cancel (caller, unanswered), decline (receiver, unanswered) or hang up (answered). */
  delete(id: string): void {
    this.get(id).call.terminate();
  }

  /** A vvoip subscription came or went, or a line got its account: lines ring only with one. */
  subscriptionsChanged(): void {
    const want = this.session.hasSubscription('vvoip');
    for (const line of this.session.lines) {
      const account = line.account;
      const listening = this.listening.has(line);
      if (want && account && !listening) {
        const handler = (call: Call) => this.onIncoming(line, call);
        this.onIncomingBound.set(line, handler);
        account.on('incomingCall', handler);
        this.listening.add(line);
      } else if (listening && (!want || !account)) {
        const handler = this.onIncomingBound.get(line);
        if (handler && account) account.off('incomingCall', handler);
        this.onIncomingBound.delete(line);
        this.listening.delete(line);
      }
    }
  }

  /** Nothing more is reported; the core connection ends the calls themselves. */
  close(): void {
    this.calls.clear();
    this.listening.clear();
    this.onIncomingBound.clear();
  }

  // ---- core events ------------------------------------------------------------------------------

  private onIncoming(line: LineState, call: Call): void {
    const s = this.session;
    if (this.calls.size >= s.settings.maxCalls || s.isClosed) {
      call.terminate();
      return;
    }
    const account = line.account!;
    const res: CallResource = {
      id: call.id,
      call,
      line,
      direction: 'incoming',
      originatorAddress: aorToAddress(call.peer.uri),
      originatorName: call.peer.displayName,
      receiverAddress: aorToAddress(account.aor),
      status: 'Initial',
      offerSdp: call.offer,
      sequence: 0,
    };
    this.track(res);
    s.log.info({ call: call.id, from: call.peer.uri, line: line.line.lineId }, 'incoming call');
    const payload: Record<string, unknown> = {
      originatorAddress: res.originatorAddress,
      ...(res.originatorName ? { originatorName: res.originatorName } : {}),
      receiverAddress: res.receiverAddress,
      callObjectRef: this.url(res.id),
      serverCorrelator: call.sipCallId ?? res.id,
      verificationStatus: 'No-TN-Validation',
    };
    if (call.offer !== undefined) payload.sdp = call.offer;
    else payload.offerRequired = true;
    s.notify('vvoip', 'sessionInvitationNotification', payload);
  }

  private track(r: CallResource): void {
    this.calls.set(r.id, r);
    r.call.on('state', (ev) => this.onState(r, ev));
    r.call.on('update', (ev) => this.onUpdate(r, ev));
  }

  private status(r: CallResource, status: SessionStatus, extra: Record<string, unknown> = {}): void {
    r.status = status;
    r.sequence++;
    const payload: Record<string, unknown> = { callObjectRef: this.url(r.id), status, ...extra };
    if (r.direction === 'outgoing') {
      payload.receiverAddress = r.receiverAddress;
      if (r.receiverName) payload.receiverName = r.receiverName;
    }
    payload.sequenceNumber = r.sequence;
    this.session.notify('vvoip', 'sessionStatusNotification', payload);
  }

  private onState(r: CallResource, ev: CallStateEvent): void {
    if (this.calls.get(r.id) !== r) return;
    switch (ev.state) {
      case 'proceeding':
        // 180 comes as `ringing`, 183 with SDP as `early-media`; other 1xx (181, 182, 199) as Proceeding.
        if (ev.code > 100 && ev.code !== 180 && ev.code !== 183) this.status(r, 'Proceeding', { responseCode: ev.code });
        return;
      case 'ringing':
        return this.status(r, 'Ringing', { responseCode: 180 });
      case 'early-media':
        r.answerSdp = ev.sdp;
        return this.status(r, 'InProgress', { responseCode: 183, sdp: ev.sdp });
      case 'accepted':
        if (r.direction === 'incoming') return;
        if (ev.sdp) r.answerSdp = ev.sdp;
        return this.status(r, 'Connected', { responseCode: 200, ...(r.answerSdp ? { sdp: r.answerSdp } : {}) });
      case 'established':
        if (r.direction === 'incoming') this.status(r, 'Connected', { responseCode: 200 });
        return;
      case 'terminated': {
        const answered = r.status === 'Connected' || r.status === 'Hold' || r.status === 'Resume';
        const { status, code } = terminalStatus(ev.reason, r.direction, answered);
        this.calls.delete(r.id);
        this.session.forget('calls', r.clientCorrelator);
        this.status(r, status, { ...(code >= 300 ? { responseCode: code } : {}), reason: ev.reason });
        return;
      }
      default:
        return;
    }
  }

  private onUpdate(r: CallResource, ev: CallUpdateEvent): void {
    if (this.calls.get(r.id) !== r) return;
    if (ev.state === 'received') {
      // The far end re-offers: the client answers with PUT …/status and an answer SDP.
      const hold = ev.sdp !== undefined && ON_HOLD.test(ev.sdp);
      this.status(r, hold ? 'Hold' : r.status === 'Hold' ? 'Resume' : 'Connected', ev.sdp ? { sdp: ev.sdp } : { offerRequired: true });
    } else if (ev.state === 'accepted') {
      const asked = r.pendingHold ?? 'Connected';
      r.pendingHold = undefined;
      this.status(r, asked, { responseCode: 200, ...(ev.sdp ? { sdp: ev.sdp } : {}) });
    } else {
      r.pendingHold = undefined;
      const code = Number(/^(\d{3})/.exec(ev.reason ?? '')?.[1] ?? 0);
      this.status(r, r.status, { ...(code ? { responseCode: code } : {}), reason: ev.reason ?? 'update failed' });
    }
  }

  private get(id: string): CallResource {
    const r = this.calls.get(id);
    if (!r) throw omaError.notFound('Session');
    return r;
  }
}
