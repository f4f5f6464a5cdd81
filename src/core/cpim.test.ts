/**
 * Message/CPIM (RFC 3862) and IMDN (RFC 5438) as the gateway writes and reads them, and the
 * addresses doors hand the core.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeAor, targetUri } from './aor.ts';
import { CpimParseError, decodeCpim, decodeImdn, encodeCpim, encodeImdn, parseParty } from './cpim.ts';
import { dispositionBody, outgoingMessageBody, readIncomingMessage } from './message.ts';

describe('CPIM (RFC 3862)', () => {
  it('writes message headers, a blank line, the content headers, a blank line, the content (§2)', () => {
    const text = encodeCpim({
      from: { uri: 'alice@example.com', displayName: 'Alice "A"' },
      to: { uri: 'bob@example.com' },
      dateTime: '2026-11-23T10:00:00.000Z',
      messageId: 'id-1',
      dispositionNotification: ['positive-delivery', 'display'],
      contentType: 'text/plain',
      content: 'hello\r\nworld',
    });
    assert.equal(
      text,
      'From: "Alice \\"A\\"" <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\nDateTime: 2026-11-23T10:00:00.000Z\r\n' +
        'NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: id-1\r\nimdn.Disposition-Notification: positive-delivery, display\r\n' +
        '\r\nContent-Type: text/plain\r\n\r\nhello\r\nworld',
    );
    const back = decodeCpim(text);
    assert.deepEqual(back.from, { uri: 'alice@example.com', displayName: 'Alice "A"' });
    assert.deepEqual(back.to, [{ uri: 'bob@example.com' }]);
    assert.equal(back.messageId, 'id-1');
    assert.deepEqual(back.dispositionNotification, ['positive-delivery', 'display']);
    assert.equal(back.content, 'hello\r\nworld');
  });

  it('resolves IMDN headers by the namespace URI, whatever the prefix (§3.3.3)', () => {
    const text = 'From: <im:alice@example.com>\nNS: x <urn:ietf:params:imdn>\nx.Message-ID: abc\nimdn.Message-ID: wrong\n\nContent-Type: text/html; charset=utf-8\n\n<b>hi</b>';
    const msg = decodeCpim(text);
    assert.equal(msg.messageId, 'abc', 'imdn. is not declared here, x. is');
    assert.equal(msg.contentType, 'text/html');
    assert.equal(msg.contentTypeFull, 'text/html; charset=utf-8');
    assert.equal(msg.from?.uri, 'alice@example.com');
  });

  it('refuses a body without the two blank lines or without a content type', () => {
    assert.throws(() => decodeCpim('From: <sip:a@b>\r\nhello'), CpimParseError);
    assert.throws(() => decodeCpim('From: <sip:a@b>\r\n\r\nContent-Type: text/plain'), CpimParseError);
    assert.throws(() => decodeCpim('From: <sip:a@b>\r\n\r\nX-Foo: 1\r\n\r\nhi'), /no Content-Type/);
    assert.throws(() => decodeCpim('garbage line\r\n\r\nContent-Type: text/plain\r\n\r\nhi'), /bad header line/);
  });

  it('reads parties with quoted, token or no display names', () => {
    assert.deepEqual(parseParty('Bob <sip:bob@example.com;transport=tcp>;tag=1'), { uri: 'bob@example.com', displayName: 'Bob' });
    assert.deepEqual(parseParty('<sips:carol@example.com>'), { uri: 'carol@example.com' });
    assert.deepEqual(parseParty('sip:dave@example.com'), { uri: 'dave@example.com' });
  });
});

describe('IMDN (RFC 5438 §7)', () => {
  it('puts displayed in a display-notification and the others in a delivery-notification', () => {
    const displayed = encodeImdn({ messageId: 'm<1>', dateTime: '2026-11-23T10:00:00Z', kind: 'display', status: 'displayed' });
    assert.match(displayed, /<display-notification><status><displayed\/><\/status><\/display-notification>/);
    assert.match(displayed, /<message-id>m&#60;1&#62;<\/message-id>/);
    assert.deepEqual(decodeImdn(displayed), { messageId: 'm<1>', dateTime: '2026-11-23T10:00:00Z', kind: 'display', status: 'displayed' });
    const { contentType, body } = dispositionBody({ uri: 'bob@example.com' }, { account: 'bob@example.com', to: 'alice@example.com', messageId: 'm-9', timestamp: 't', state: 'failed' });
    assert.equal(contentType, 'message/cpim');
    const cpim = decodeCpim(body);
    assert.equal(cpim.contentType, 'message/imdn+xml');
    assert.equal(cpim.dispositionNotification, undefined, 'a notification asks for none');
    assert.deepEqual(decodeImdn(cpim.content), { messageId: 'm-9', dateTime: 't', kind: 'delivery', status: 'failed' });
  });

  it('reads a notification with a namespace prefix, and ignores documents it does not know', () => {
    const xml = '<?xml version="1.0"?><i:imdn xmlns:i="urn:ietf:params:xml:ns:imdn"><i:message-id>x</i:message-id><i:delivery-notification><i:status><i:delivered/></i:status></i:delivery-notification></i:imdn>';
    assert.deepEqual(decodeImdn(xml), { messageId: 'x', kind: 'delivery', status: 'delivered' });
    assert.equal(decodeImdn('<imdn><message-id>x</message-id></imdn>'), undefined);
  });
});

describe('incoming and outgoing message bodies', () => {
  const alice = { uri: 'alice@example.com' };
  const now = new Date('2026-11-23T11:00:00.000Z');

  it('asks for delivery and display notifications, but not for typing indications', () => {
    const text = outgoingMessageBody(alice, { uri: 'bob@example.com' }, { messageId: '1', contentType: 'text/plain', content: 'x', timestamp: 't' });
    assert.deepEqual(decodeCpim(text.body).dispositionNotification, ['positive-delivery', 'display']);
    const typing = outgoingMessageBody(alice, { uri: 'bob@example.com' }, { messageId: '2', contentType: 'application/im-iscomposing+xml', content: '<x/>', timestamp: 't' });
    assert.equal(decodeCpim(typing.body).dispositionNotification, undefined);
  });

  it('takes plain text as it is: the SIP sender, a fresh id, the time of arrival', () => {
    const got = readIncomingMessage('text/plain;charset=UTF-8', 'hi', alice, now);
    assert.equal(got.kind, 'message');
    assert.equal(got.event.contentType, 'text/plain');
    assert.equal(got.event.content, 'hi');
    assert.equal(got.event.timestamp, '2026-11-23T11:00:00.000Z');
    assert.deepEqual(got.event.sender, alice);
    assert.match(got.event.messageId, /^[0-9a-f-]{36}$/);
  });

  it('turns a CPIM-wrapped IMDN into a disposition with code 200', () => {
    const { body } = dispositionBody({ uri: 'bob@example.com' }, { account: 'bob@example.com', to: 'alice@example.com', messageId: 'm-1', timestamp: 't0', state: 'displayed' });
    const got = readIncomingMessage('message/cpim', body, alice, now);
    assert.equal(got.kind, 'disposition');
    assert.deepEqual(got.event, { messageId: 'm-1', messageTimestamp: 't0', state: 'displayed', code: 200, reason: '' });
  });
});

describe('addresses', () => {
  it('normalizes AORs and refuses what is not one', () => {
    assert.equal(normalizeAor('sip:Alice@Example.COM'), 'Alice@example.com');
    assert.equal(normalizeAor('bob@10.0.0.1:5070'), 'bob@10.0.0.1:5070');
    for (const bad of ['alice', '@example.com', 'alice@', 'a b@example.com', 'alice@exa mple.com', 'tel:+123']) assert.equal(normalizeAor(bad), undefined, bad);
  });

  it('completes call targets with the caller domain', () => {
    assert.equal(targetUri('bob', 'example.com'), 'sip:bob@example.com');
    assert.equal(targetUri('+31201234567', 'example.com'), 'sip:+31201234567@example.com');
    assert.equal(targetUri('bob@other.org', 'example.com'), 'sip:bob@other.org');
    assert.equal(targetUri('sip:bob@127.0.0.1:5080;transport=tcp', 'example.com'), 'sip:bob@127.0.0.1:5080;transport=tcp');
    assert.equal(targetUri('sip:bad uri', 'example.com'), undefined);
    assert.equal(targetUri('', 'example.com'), undefined);
  });
});
