/**
 * The response context of a stateful proxy (RFC 3261 §16.7): one server transaction upstream, one
 * client transaction per branch downstream. Provisional responses and every 2xx are forwarded as
 * they come; an INVITE's first 2xx or any 6xx cancels the other branches (§16.7 step 10); once
 * every branch has a final response and none was a 2xx, the best of them goes upstream (§16.7
 * step 6). A CANCEL from upstream cancels every pending branch (§16.10), and Timer C bounds a
 * ringing INVITE branch (§16.8).
 */
import type { SipLogger } from '../logger.ts';
import { createRequest, type SipRequest, type SipResponse } from '../message/index.ts';
import type { AnyClientTransaction, AnyServerTransaction, ClientTransactionUser, TransactionLayer } from '../transaction/index.ts';
import type { SendTarget } from '../transport/index.ts';

export interface ResponseContextEnv {
  transactions: TransactionLayer;
  log: SipLogger;
  /** Timer C for INVITE branches, ms. */
  timerCMs: number;
  /** A response of our own to the upstream request (To tag, Server header). */
  buildResponse(req: SipRequest, status: number, reason?: string): SipResponse;
  /** The context is complete: forget it (CANCEL lookups), nothing else will be sent upstream but 2xx. */
  done(ctx: ResponseContext): void;
}

interface Branch {
  request: SipRequest;
  tx?: AnyClientTransaction;
  /** A provisional response came: a CANCEL may be sent (RFC 3261 §9.1). */
  provisional: boolean;
  final?: SipResponse;
  /** CANCEL wanted before any provisional: sent when one arrives. */
  cancelWanted: boolean;
  cancelSent: boolean;
  timerC?: NodeJS.Timeout;
}

/** Responses that tell the caller how to retry, preferred within 4xx (RFC 3261 §16.7 step 6). */
const RETRY_HINTS = new Set([401, 407, 415, 420, 484]);

export class ResponseContext {
  readonly isInvite: boolean;
  private readonly branches: Branch[] = [];
  private sealed = false;
  /** A final response went upstream. For INVITE, later 2xx still follow it (§16.7 step 5). */
  private finalSent = false;
  private cancelledByUpstream = false;
  private finished = false;

  constructor(
    readonly server: AnyServerTransaction,
    private readonly env: ResponseContextEnv,
  ) {
    this.isInvite = server.request.method === 'INVITE';
  }

  get branchCount(): number {
    return this.branches.length;
  }

  /** Starts a branch: `request` already carries our Via and its target (RFC 3261 §16.6 steps 8–10). */
  fork(request: SipRequest, target: SendTarget): void {
    const branch: Branch = { request, provisional: false, cancelWanted: false, cancelSent: false };
    this.branches.push(branch);
    if (this.cancelledByUpstream) {
      branch.final = this.env.buildResponse(this.server.request, 487);
      return;
    }
    const user: ClientTransactionUser = {
      onResponse: (res) => this.onResponse(branch, res),
      // No final response in time: the branch counts as 408 (RFC 3261 §16.7 step 2 → §16.8)
      onTimeout: () => this.settle(branch, this.env.buildResponse(this.server.request, 408)),
      // The next hop is unreachable: the branch counts as 503 (RFC 3261 §16.9)
      onTransportError: () => this.settle(branch, this.env.buildResponse(this.server.request, 503)),
    };
    try {
      branch.tx = this.env.transactions.sendRequest(request, target, user);
    } catch (err) {
      this.env.log.warn({ err, callId: request.callId }, 'could not start a branch');
      branch.final = this.env.buildResponse(this.server.request, 503);
      return;
    }
    if (this.isInvite) this.armTimerC(branch);
  }

  /** A branch that could not even be started (no address for the target). */
  failBranch(status: number): void {
    this.branches.push({
      request: this.server.request,
      provisional: false,
      cancelWanted: false,
      cancelSent: false,
      final: this.env.buildResponse(this.server.request, status),
    });
  }

  /** Every branch is started: from now on the context may complete. */
  seal(): void {
    this.sealed = true;
    this.maybeComplete();
  }

  /** CANCEL from upstream: cancel every pending branch, no new ones (RFC 3261 §16.10). */
  cancel(): void {
    this.cancelledByUpstream = true;
    for (const b of this.branches) this.cancelBranch(b);
  }

  /** Stops Timer C everywhere (the domain is closing). */
  close(): void {
    for (const b of this.branches) this.stopTimerC(b);
    this.finished = true;
  }

  private onResponse(branch: Branch, res: SipResponse): void {
    // Our own Via goes; what is left addresses the previous hop (RFC 3261 §16.7 step 3)
    res.headers.removeFirst('Via');
    if (!res.headers.has('Via')) return;
    const status = res.status;
    if (status < 200) {
      branch.provisional = true;
      if (branch.cancelWanted && !branch.cancelSent && !branch.final) this.sendCancel(branch);
      if (status === 100) return; // hop by hop: never forwarded (RFC 3261 §16.7 step 5)
      if (this.isInvite) this.armTimerC(branch); // any 101–199 restarts Timer C (§16.7 step 2)
      if (!this.finalSent) this.forward(res);
      return;
    }
    if (status < 300) {
      this.stopTimerC(branch);
      branch.final ??= res;
      // Every 2xx to an INVITE goes upstream, even after another fork's (RFC 3261 §16.7 step 5);
      // for other methods only the first can.
      if (this.isInvite || !this.finalSent) {
        this.finalSent = true;
        this.forward(res);
      }
      // The first 2xx wins: the other branches are cancelled (RFC 3261 §16.7 step 10)
      if (this.isInvite) for (const b of this.branches) if (b !== branch) this.cancelBranch(b);
      this.maybeComplete();
      return;
    }
    if (branch.final) return;
    // A 6xx ends the search: cancel the rest (RFC 3261 §16.7 step 5)
    if (this.isInvite && status >= 600) for (const b of this.branches) if (b !== branch) this.cancelBranch(b);
    this.settle(branch, res);
  }

  private settle(branch: Branch, res: SipResponse): void {
    if (branch.final) return;
    this.stopTimerC(branch);
    branch.final = res;
    this.maybeComplete();
  }

  private maybeComplete(): void {
    if (!this.sealed || this.finished) return;
    if (this.branches.some((b) => !b.final)) return;
    this.finished = true;
    if (!this.finalSent) {
      this.finalSent = true;
      this.forward(this.best());
    }
    this.env.done(this);
  }

  /** The response to send upstream when no branch answered 2xx (RFC 3261 §16.7 step 6, 7). */
  private best(): SipResponse {
    const finals = this.branches.map((b) => b.final!);
    if (finals.length === 0) return this.env.buildResponse(this.server.request, 408);
    const six = finals.filter((r) => r.status >= 600);
    let pool = six;
    if (pool.length === 0) {
      const lowestClass = Math.min(...finals.map((r) => Math.floor(r.status / 100)));
      pool = finals.filter((r) => Math.floor(r.status / 100) === lowestClass);
      const hinted = pool.filter((r) => RETRY_HINTS.has(r.status));
      if (hinted.length > 0) pool = hinted;
    }
    let chosen = pool.reduce((a, b) => (b.status < a.status ? b : a));
    // A 503 from downstream means that element is overloaded, not us: send 500 (§16.7 step 6)
    if (chosen.status === 503) chosen = this.env.buildResponse(this.server.request, 500);
    if (chosen.status === 401 || chosen.status === 407) {
      // Every branch's challenge goes into the one forwarded (RFC 3261 §16.7 step 7)
      for (const r of finals) {
        if (r === chosen) continue;
        for (const name of ['WWW-Authenticate', 'Proxy-Authenticate']) for (const v of r.headers.getLines(name)) chosen.headers.append(name, v);
      }
    }
    return chosen;
  }

  private forward(res: SipResponse): void {
    try {
      this.server.respond(res);
    } catch (err) {
      this.env.log.debug({ err, status: res.status }, 'response not forwarded');
    }
  }

  private cancelBranch(branch: Branch): void {
    if (branch.final || branch.cancelSent) return;
    // A CANCEL may only follow a provisional response (RFC 3261 §9.1); until then it waits.
    if (!this.isInvite) return;
    if (branch.provisional) this.sendCancel(branch);
    else branch.cancelWanted = true;
  }

  /** CANCEL for one branch: its Request-URI, Call-ID, From, To, CSeq number and our Via (RFC 3261 §9.1). */
  private sendCancel(branch: Branch): void {
    const tx = branch.tx;
    if (!tx || branch.cancelSent) return;
    branch.cancelSent = true;
    const inv = branch.request;
    const cancel = createRequest({
      method: 'CANCEL',
      uri: inv.uri,
      from: inv.headers.get('From') ?? '',
      to: inv.headers.get('To') ?? '',
      callId: inv.callId,
      cseq: inv.cseq.seq,
      headers: [['Via', inv.headers.getAll('Via')[0]!], ...inv.headers.getAll('Route').map((r): [string, string] => ['Route', r])],
    });
    const ignore = (): void => {};
    // No final response within 64*T1 of the CANCEL: the branch is given up (RFC 3261 §9.1)
    this.stopTimerC(branch);
    branch.timerC = setTimeout(() => this.settle(branch, this.env.buildResponse(this.server.request, 408)), 64 * this.env.transactions.timerConfig.t1);
    branch.timerC.unref?.();
    try {
      this.env.transactions.sendRequest(cancel, tx.target, { onResponse: ignore, onTimeout: ignore, onTransportError: ignore });
    } catch (err) {
      this.env.log.debug({ err, callId: inv.callId }, 'CANCEL not sent');
    }
  }

  /** Timer C (RFC 3261 §16.8): a branch that stays silent that long is cancelled, or counts as 408. */
  private armTimerC(branch: Branch): void {
    // Once cancelled, the branch waits for its 487 under the CANCEL's own deadline instead.
    if (this.finished || branch.cancelSent) return;
    this.stopTimerC(branch);
    branch.timerC = setTimeout(() => {
      branch.timerC = undefined;
      if (branch.final) return;
      if (branch.provisional) this.sendCancel(branch);
      else this.settle(branch, this.env.buildResponse(this.server.request, 408));
    }, this.env.timerCMs);
    branch.timerC.unref?.();
  }

  private stopTimerC(branch: Branch): void {
    if (branch.timerC) clearTimeout(branch.timerC);
    branch.timerC = undefined;
  }
}
