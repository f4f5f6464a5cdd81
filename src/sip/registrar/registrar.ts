/**
 * The registrar (RFC 3261 §10.3): authenticates a REGISTER, checks its AOR and contacts, and
 * applies every binding change it asks for at once, or none (a failed request changes nothing).
 */
import { formatUri, uriEquals, type NameAddr, type SipRequest, type SipUri } from '../message/index.ts';
import type { SipLogger } from '../logger.ts';
import type { ServerTransaction } from '../transaction/index.ts';
import type { DomainAuthenticator } from './authenticator.ts';
import type { DomainAddresses } from './domain-addresses.ts';
import type { Binding, BindingChange, LocationService } from './location-service.ts';

export interface RegistrarLimits {
  minExpires: number;
  maxExpires: number;
  defaultExpires: number;
  maxContactsPerAor: number;
}

export type Responder = (tx: ServerTransaction, status: number, reason?: string, headers?: Array<[string, string]>) => void;

/** Option tags we support in Require (none: Path, outbound and GRUU are not implemented). */
const SUPPORTED_OPTIONS = new Set<string>();

export class Registrar {
  constructor(
    private readonly addresses: DomainAddresses,
    private readonly auth: DomainAuthenticator,
    private readonly location: LocationService,
    private readonly limits: RegistrarLimits,
    private readonly respond: Responder,
    private readonly log: SipLogger,
  ) {}

  handle(req: SipRequest, tx: ServerTransaction): void {
    // Step 2: extensions we do not understand in Require get 420 (RFC 3261 §10.3, §8.2.2.3)
    const unsupported = req.headers.getAll('Require').filter((o) => !SUPPORTED_OPTIONS.has(o.trim().toLowerCase()));
    if (unsupported.length > 0) return this.respond(tx, 420, undefined, [['Unsupported', unsupported.join(', ')]]);

    // Step 5: the AOR is the To URI; it must be a user of this domain (RFC 3261 §10.3)
    const aor = req.to.uri;
    if ((aor.scheme !== 'sip' && aor.scheme !== 'sips') || !aor.user || !this.addresses.isOurHost(aor.host)) {
      return this.respond(tx, 404, 'Not a user of this domain');
    }
    const user = aor.user;

    // Steps 3 and 4: authenticate, and only the AOR's own user may change its bindings
    const outcome = this.auth.check(req, user, 'registrar');
    if (outcome.kind === 'challenge') return this.respond(tx, outcome.status, undefined, outcome.values.map((v) => [outcome.header, v]));
    if (outcome.kind === 'forbidden') {
      this.log.info({ user, source: source(tx), reason: outcome.reason }, 'REGISTER refused');
      return this.respond(tx, 403, outcome.reason);
    }
    if (outcome.kind === 'bad-request') return this.respond(tx, 400, outcome.reason);
    if (!this.auth.has(user)) return this.respond(tx, 404, 'Not a user of this domain');

    let expiresHeader: number | undefined;
    let contacts: NameAddr[];
    try {
      expiresHeader = req.expires;
      contacts = req.contacts();
    } catch {
      return this.respond(tx, 400, 'Bad Contact or Expires');
    }

    const result = req.isWildcardContact ? this.wildcard(req, user, expiresHeader) : this.changes(req, tx, user, contacts, expiresHeader);
    if ('status' in result) return this.respond(tx, result.status, result.reason, result.headers);
    this.location.apply(user, result.changes);
    if (result.changes.length > 0) {
      this.log.info({ user, source: source(tx), bindings: this.location.lookup(user).length }, 'bindings updated');
    }

    // Step 8: 200 listing every current binding with its remaining lifetime, and a Date
    const headers: Array<[string, string]> = this.location
      .lookup(user)
      .map((b): [string, string] => {
        let value = `<${b.text}>;expires=${this.location.remaining(b)}`;
        if (b.q !== undefined) value += `;q=${b.q}`;
        if (b.instance !== undefined) value += `;+sip.instance=${b.instance}`;
        return ['Contact', value];
      });
    headers.push(['Date', new Date().toUTCString()]);
    this.respond(tx, 200, undefined, headers);
  }

  /** `Contact: *` removes every binding; only with Expires: 0 and no other contact (RFC 3261 §10.3 step 6). */
  private wildcard(req: SipRequest, user: string, expires: number | undefined): Failure | { changes: BindingChange[] } {
    if (expires !== 0 || req.headers.getAll('Contact').length !== 1) return { status: 400, reason: 'Contact: * needs Expires: 0' };
    const changes: BindingChange[] = [];
    for (const existing of this.location.lookup(user)) {
      const order = this.ordering(existing, req);
      if (order) return order;
      changes.push({ kind: 'remove', existing });
    }
    return { changes };
  }

  private changes(
    req: SipRequest,
    tx: ServerTransaction,
    user: string,
    contacts: NameAddr[],
    expiresHeader: number | undefined,
  ): Failure | { changes: BindingChange[] } {
    const changes: BindingChange[] = [];
    const seen: SipUri[] = [];
    let count = this.location.lookup(user).length;
    for (const contact of contacts) {
      const uri = contact.uri;
      if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return { status: 400, reason: `Unsupported contact scheme ${uri.scheme}` };
      // A contact naming this server would make every request to the AOR loop through us.
      if (this.addresses.isOurListener(uri)) return { status: 400, reason: 'Contact points at this registrar' };
      if (seen.some((s) => uriEquals(s, uri))) return { status: 400, reason: 'Contact listed twice' };
      seen.push(uri);
      // Step 6: lifetime from the contact's expires parameter, else Expires, else our default
      const param = contact.params.get('expires');
      let expires = param !== undefined && param !== null ? Number(param) : (expiresHeader ?? this.limits.defaultExpires);
      if (!Number.isInteger(expires) || expires < 0) return { status: 400, reason: 'Bad expires value' };
      // Step 7: a non-zero lifetime below our minimum gets 423 naming it (RFC 3261 §10.3, §20.23)
      if (expires > 0 && expires < this.limits.minExpires) {
        return { status: 423, reason: undefined, headers: [['Min-Expires', String(this.limits.minExpires)]] };
      }
      expires = Math.min(expires, this.limits.maxExpires);

      const existing = this.location.find(user, uri);
      if (existing) {
        const order = this.ordering(existing, req);
        if (order) return order;
      }
      if (expires === 0) {
        if (existing) changes.push({ kind: 'remove', existing });
        continue;
      }
      if (!existing && ++count > this.limits.maxContactsPerAor) {
        return { status: 403, reason: `At most ${this.limits.maxContactsPerAor} contacts per user` };
      }
      const binding: Omit<Binding, 'expiresAt'> = {
        user,
        uri,
        text: formatUri(uri),
        callId: req.callId,
        cseq: req.cseq.seq,
        flow: tx.flow,
      };
      const q = contact.params.get('q');
      if (q !== undefined && q !== null && Number.isFinite(Number(q))) binding.q = Number(q);
      const instance = contact.params.get('+sip.instance');
      if (instance) binding.instance = instance;
      changes.push({ kind: 'upsert', existing, binding, expires });
    }
    return { changes };
  }

  /**
   * Step 7: an update from the same Call-ID must carry a higher CSeq than the one stored, or it is
   * an old request overtaking a newer one; the whole request fails with 500 (RFC 3261 §10.3).
   */
  private ordering(existing: Binding, req: SipRequest): Failure | undefined {
    if (existing.callId === req.callId && req.cseq.seq <= existing.cseq) {
      return { status: 500, reason: 'Out of order REGISTER', headers: [['Retry-After', '1']] };
    }
    return undefined;
  }
}

interface Failure {
  status: number;
  reason: string | undefined;
  headers?: Array<[string, string]>;
}


function source(tx: ServerTransaction): string {
  return `${tx.flow.protocol}:${tx.flow.remoteAddress}:${tx.flow.remotePort}`;
}
