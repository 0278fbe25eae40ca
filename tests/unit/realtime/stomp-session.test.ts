import { describe, expect, it, vi } from 'vitest';
import { AppError, unauthorized } from '../../../src/errors.js';
import { header } from '../../../src/stomp/index.js';
import { ALICE, connected, connectFrame, deferred, expectFatal, frame, GOOD_TOKEN, harness } from './session-harness.js';

describe('StompSession before CONNECT', () => {
  it.each(['SEND', 'SUBSCRIBE', 'DISCONNECT', 'ACK'])('should answer %s before CONNECT with ERROR and close', async (command) => {
    const h = harness();
    const headers: Record<string, string> = { destination: '/app/chat.send', id: 'sub-0', receipt: 'r-1' };
    await h.push(frame(command, headers, command === 'SEND' ? '{"roomId":1,"content":"x"}' : undefined));
    const error = expectFatal(h.socket, /not connected/, 1002);
    expect(header(error, 'receipt-id')).toBe('r-1');
    expect(h.sends).toHaveLength(0);
    expect(h.registry.destinations()).toEqual([]);
    expect(h.session.isConnected).toBe(false);
  });

  it('should not handle frames pipelined after a refused CONNECT', async () => {
    const h = harness();
    await h.push(
      Buffer.concat([
        frame('CONNECT', { 'accept-version': '1.2', Authorization: 'Bearer wrong' }),
        frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1' }),
        frame('SEND', { destination: '/app/chat.send' }, '{}'),
      ]),
    );
    expectFatal(h.socket, /Invalid token/, 1008);
    expect(h.socket.commands()).toEqual(['ERROR']);
    expect(h.sends).toHaveLength(0);
    expect(h.registry.destinations()).toEqual([]);
  });

  it('should close a malformed first frame with an ERROR naming the protocol problem', async () => {
    const h = harness();
    await h.push('CONNECT\naccept-version:1.2\nbroken header line\n\n\0');
    expectFatal(h.socket, 'header line has no colon', 1002);
    expect(h.rejected).toContain('protocol:malformed-header');
  });
});

describe('StompSession CONNECT', () => {
  it('should answer CONNECTED with version, heart-beat, server, session and user-name', async () => {
    const h = harness();
    await h.push(connectFrame({ 'heart-beat': '10000,10000' }));
    const connectedFrame = h.socket.last('CONNECTED');
    expect(Object.fromEntries(connectedFrame.headers)).toEqual({
      version: '1.2',
      'heart-beat': '10000,10000',
      server: 'chat-backend/test',
      session: 'session-1',
      'user-name': '42',
    });
    expect(h.session.isConnected).toBe(true);
    expect(h.session.user).toEqual(ALICE);
  });

  it('should accept STOMP as the connect command', async () => {
    const h = harness();
    await h.push(frame('STOMP', { 'accept-version': '1.2', Authorization: `Bearer ${GOOD_TOKEN}` }));
    expect(h.socket.commands()).toEqual(['CONNECTED']);
  });

  it.each([
    ['1.2,1.1,1.0', '1.2'],
    ['1.1,1.0', '1.1'],
    ['1.0', '1.0'],
    ['1.0,1.1,3.0', '1.1'],
  ])('should negotiate accept-version %s to %s', async (acceptVersion, version) => {
    const h = harness();
    await h.push(connectFrame({ 'accept-version': acceptVersion }));
    expect(header(h.socket.last('CONNECTED'), 'version')).toBe(version);
    expect(h.session.version).toBe(version);
  });

  it('should speak 1.0 to a client that sends no accept-version', async () => {
    const h = harness();
    await h.push(frame('CONNECT', { passcode: GOOD_TOKEN }));
    expect(header(h.socket.last('CONNECTED'), 'version')).toBe('1.0');
    expect(h.session.escape).toBe('none');
  });

  it('should read frames pipelined right after a 1.0 CONNECT without 1.2 header escaping', async () => {
    const h = harness();
    await h.push(
      `CONNECT\naccept-version:1.0\npasscode:${GOOD_TOKEN}\n\n\0SUBSCRIBE\nid:a\\b:c\ndestination:/topic/presence\nreceipt:r\n\n\0`,
    );
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT']);
    expect(h.registry.remove(h.session, 'a\\b:c')).toBe('/topic/presence');
  });

  it('should write the refusal of a 1.0 CONNECT without 1.2 escaping', async () => {
    const h = harness();
    await h.push(frame('CONNECT', { 'accept-version': '1.0', passcode: 'wrong', receipt: 'a:b' }));
    expect(Buffer.concat(h.socket.written).toString()).toContain('\nreceipt-id:a:b\n');
    expect(h.socket.closedWith?.code).toBe(1008);
  });

  it('should refuse a client that offers no version in common', async () => {
    const h = harness();
    await h.push(connectFrame({ 'accept-version': '2.0' }));
    expectFatal(h.socket, /no common protocol version/, 1002);
  });

  it.each([
    ['1000,1000', '1000,1000', 1000, 1000],
    ['10000,10000', '10000,10000', 10000, 10000],
    ['100,100', '1000,1000', 1000, 1000],
    ['0,0', '0,0', 0, 0],
    ['5000,0', '0,5000', 0, 5000],
    ['0,3000', '3000,0', 3000, 0],
  ])('should honour heart-beat %s down to the 1 s floor: CONNECTED says %s', async (asked, answered, sendEveryMs, expectEveryMs) => {
    const h = harness();
    await h.push(connectFrame({ 'heart-beat': asked }));
    expect(header(h.socket.last('CONNECTED'), 'heart-beat')).toBe(answered);
    expect(h.session.heartbeat).toEqual({ sendEveryMs, expectEveryMs });
  });

  it('should treat a missing heart-beat header as no heart-beats', async () => {
    const h = harness();
    await h.push(connectFrame());
    expect(header(h.socket.last('CONNECTED'), 'heart-beat')).toBe('0,0');
  });

  it('should refuse a malformed heart-beat header', async () => {
    const h = harness();
    await h.push(connectFrame({ 'heart-beat': '1000, 1000' }));
    expectFatal(h.socket, /heart-beat/);
  });

  it.each([
    ['Authorization: Bearer', { Authorization: `Bearer ${GOOD_TOKEN}` }],
    ['lower-case authorization', { authorization: `Bearer ${GOOD_TOKEN}` }],
    ['upper-case AUTHORIZATION and scheme', { AUTHORIZATION: `BEARER ${GOOD_TOKEN}` }],
    ['a bare token in passcode', { passcode: GOOD_TOKEN }],
    ['a Bearer token in passcode', { login: 'alice', passcode: `Bearer ${GOOD_TOKEN}` }],
  ])('should take the token from %s', async (_label, headers) => {
    const h = harness();
    await h.push(frame('CONNECT', { 'accept-version': '1.2', ...headers }));
    expect(h.socket.commands()).toEqual(['CONNECTED']);
  });

  it('should take the token from the access_token query parameter when CONNECT has none', async () => {
    const h = harness({ queryToken: GOOD_TOKEN });
    await h.push(frame('CONNECT', { 'accept-version': '1.2' }));
    expect(h.socket.commands()).toEqual(['CONNECTED']);
  });

  it('should refuse a CONNECT without a token with ERROR and a policy close', async () => {
    const h = harness();
    await h.push(frame('CONNECT', { 'accept-version': '1.2' }));
    const error = expectFatal(h.socket, /authentication required/, 1008);
    expect(error.body.toString()).toContain('Authorization: Bearer');
  });

  it('should refuse a rejected token with the reason the authenticator gave', async () => {
    const h = harness({ authenticate: async () => Promise.reject(unauthorized('Token expired')) });
    await h.push(connectFrame());
    expectFatal(h.socket, 'Token expired', 1008);
  });

  it('should not leak the detail of an unexpected authentication failure', async () => {
    const h = harness({ authenticate: async () => Promise.reject(new Error('connection to 10.0.0.7:5432 refused')) });
    await h.push(connectFrame());
    const error = expectFatal(h.socket, 'authentication failed', 1008);
    expect(error.body.toString()).not.toContain('10.0.0.7');
  });

  it('should refuse a second CONNECT', async () => {
    const h = await connected();
    await h.push(connectFrame());
    expectFatal(h.socket, /already connected/);
  });
});

describe('StompSession frames after CONNECT', () => {
  it.each([
    ['SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1' }],
    ['UNSUBSCRIBE', { id: 'sub-0' }],
    ['ACK', { id: 'm-1' }],
    ['NACK', { id: 'm-1' }],
  ])('should answer a %s that asks for it with a RECEIPT', async (command, headers) => {
    const h = await connected();
    await h.push(frame(command, { ...headers, receipt: `${command}-r` }));
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT']);
    expect(header(h.socket.last('RECEIPT'), 'receipt-id')).toBe(`${command}-r`);
    expect(h.socket.closedWith).toBeUndefined();
  });

  it('should register a SUBSCRIBE before its RECEIPT and drop it on UNSUBSCRIBE', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', receipt: 'r-1' }));
    expect(h.registry.subscriberCount('/topic/room.1')).toBe(1);
    h.registry.deliver('/topic/room.1', Buffer.from('{"hello":1}'));
    const message = h.socket.last('MESSAGE');
    expect(header(message, 'subscription')).toBe('sub-0');
    expect(message.body.toString()).toBe('{"hello":1}');

    await h.push(frame('UNSUBSCRIBE', { id: 'sub-0' }));
    expect(h.registry.subscriberCount('/topic/room.1')).toBe(0);
  });

  it('should answer DISCONNECT with its RECEIPT and then close normally', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/presence' }));
    await h.push(frame('DISCONNECT', { receipt: 'bye' }));
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT']);
    expect(header(h.socket.last('RECEIPT'), 'receipt-id')).toBe('bye');
    expect(h.socket.closedWith).toEqual({ code: 1000, reason: 'disconnect' });
    expect(h.registry.destinations()).toEqual([]);
    expect(h.closedCalls()).toBe(1);
  });

  it("should hold a SUBSCRIBE RECEIPT until the destination's traffic reaches this instance", async () => {
    const confirmed = deferred();
    const h = await connected({ subscribed: () => confirmed.promise });
    h.session.receive(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', receipt: 'r-1' }));
    await vi.waitFor(() => expect(h.registry.subscriberCount('/topic/room.1')).toBe(1));
    expect(h.socket.commands()).toEqual(['CONNECTED']);
    confirmed.resolve();
    await h.session.framesHandled();
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT']);
  });

  it('should refuse SENDs that arrive once draining began, while earlier ones still get their RECEIPTs', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }));
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'before'));
    const drained = h.session.drain();
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-2' }, 'after'));
    expect(h.sends.map((send) => send.body)).toEqual(['before']);
    const refusal = h.socket.last('MESSAGE');
    expect(JSON.parse(refusal.body.toString())).toMatchObject({ code: 'UNAVAILABLE', receiptId: 's-2' });

    h.sends[0]!.durable.resolve();
    await drained;
    const receipts = h.socket.frames.filter((f) => f.command === 'RECEIPT').map((receipt) => header(receipt, 'receipt-id'));
    expect(receipts).toEqual(['s-1']);
  });

  it('should send the RECEIPTs of in-flight SENDs before the RECEIPT of a DISCONNECT', async () => {
    const h = await connected();
    // Not `push`: the DISCONNECT is only handled once these SENDs are durable.
    h.session.receive(
      Buffer.concat([
        frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'one'),
        frame('SEND', { destination: '/app/chat.send', receipt: 's-2' }, 'two'),
        frame('DISCONNECT', { receipt: 'bye' }),
      ]),
    );
    await vi.waitFor(() => expect(h.sends.map((send) => send.body)).toEqual(['one', 'two']));
    expect(h.socket.commands()).toEqual(['CONNECTED']);
    expect(h.socket.closedWith).toBeUndefined();

    h.sends[1]!.durable.resolve();
    h.sends[0]!.durable.resolve();
    await vi.waitFor(() => expect(h.socket.closedWith).toBeDefined());
    const receipts = h.socket.frames.filter((f) => f.command === 'RECEIPT');
    expect(receipts.map((receipt) => header(receipt, 'receipt-id'))).toEqual(['s-2', 's-1', 'bye']);
    expect(header(receipts[0]!, 'message-key')).toBe('key-2');
    expect(h.socket.closedWith!.code).toBe(1000);
  });

  it('should answer a SEND RECEIPT only once the message is durable', async () => {
    const h = await connected();
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'hello'));
    expect(h.socket.commands()).toEqual(['CONNECTED']);
    h.sends[0]!.durable.resolve();
    await vi.waitFor(() => expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT']));
    expect(Object.fromEntries(h.socket.last('RECEIPT').headers)).toEqual({ 'receipt-id': 's-1', 'message-key': 'key-1' });
  });

  it.each([
    ['SUBSCRIBE', { id: 'sub-0', destination: '/topic/everything' }],
    ['SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.0' }],
    ['SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1 ' }],
    ['SEND', { destination: '/app/chat.delete' }],
    ['SEND', { destination: '/topic/room.1' }],
  ])('should refuse %s to an unknown destination %j with ERROR', async (command, headers) => {
    const h = await connected();
    await h.push(frame(command, { ...headers, receipt: 'r-x' }, command === 'SEND' ? '{}' : undefined));
    const error = expectFatal(h.socket, 'unknown destination', 1002);
    expect(error.body.toString()).toBe(headers.destination);
    expect(header(error, 'receipt-id')).toBe('r-x');
    expect(h.sends).toHaveLength(0);
  });

  it('should refuse an unknown command with ERROR', async () => {
    const h = await connected();
    await h.push('SHUTDOWN\n\n\0');
    expectFatal(h.socket, /unknown command/);
    expect(h.rejected).toContain('protocol:bad-command');
  });

  it('should refuse transactions with ERROR', async () => {
    const h = await connected();
    await h.push(frame('BEGIN', { transaction: 'tx-1' }));
    expectFatal(h.socket, 'transactions are not supported');
  });

  it.each([
    ['SUBSCRIBE without id', 'SUBSCRIBE', { destination: '/topic/room.1' }, /requires an id/],
    ['SUBSCRIBE without destination', 'SUBSCRIBE', { id: 'sub-0' }, /requires a destination/],
    ['UNSUBSCRIBE without id', 'UNSUBSCRIBE', {}, /requires an id/],
    ['SEND without destination', 'SEND', {}, /requires a destination/],
  ])('should refuse %s with ERROR', async (_label, command, headers, message) => {
    const h = await connected();
    await h.push(frame(command, headers));
    expectFatal(h.socket, message);
  });

  it('should refuse a SUBSCRIBE to a room the user is not a member of with ERROR and a policy close', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.2', receipt: 'r-1' }));
    const error = expectFatal(h.socket, 'not a member of room 2', 1008);
    expect(header(error, 'receipt-id')).toBe('r-1');
    expect(h.registry.destinations()).toEqual([]);
  });

  it('should refuse the subscription past the cap with ERROR', async () => {
    const h = await connected({ limits: { maxSubscriptions: 3 } });
    for (const id of ['a', 'b', 'c']) await h.push(frame('SUBSCRIBE', { id, destination: '/topic/room.1' }));
    expect(h.registry.subscriberCount('/topic/room.1')).toBe(3);
    await h.push(frame('SUBSCRIBE', { id: 'd', destination: '/topic/presence' }));
    expectFatal(h.socket, 'too many subscriptions');
    expect(h.rejected).toContain('too-many-subscriptions');
    expect(h.registry.destinations()).toEqual([]);
  });

  it('should refuse a duplicate subscription id with ERROR', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1' }));
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/presence' }));
    const error = expectFatal(h.socket, 'duplicate subscription id');
    expect(error.body.toString()).toBe('sub-0');
  });
});

describe('StompSession rejected SENDs', () => {
  it('should report a rejected SEND on /user/queue/errors and keep the session when it is subscribed', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }));
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'limited'));
    const report = h.socket.last('MESSAGE');
    expect(header(report, 'destination')).toBe('/user/queue/errors');
    expect(header(report, 'receipt-id')).toBe('s-1');
    expect(JSON.parse(report.body.toString())).toEqual({
      code: 'RATE_LIMITED',
      message: 'rate limit exceeded: too many messages per second',
      destination: '/app/chat.send',
      receiptId: 's-1',
      retryAfterSeconds: 1,
    });
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.rejected).toContain('rate_limited');

    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-2' }, 'fine'));
    h.sends[0]!.durable.resolve();
    await vi.waitFor(() => expect(header(h.socket.last('RECEIPT'), 'receipt-id')).toBe('s-2'));
  });

  it('should turn a rejected SEND into a fatal ERROR when the session has no error queue', async () => {
    const h = await connected();
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'invalid'));
    const error = expectFatal(h.socket, 'content: must not be empty', 1002);
    expect(header(error, 'receipt-id')).toBe('s-1');
  });

  it('should answer the SENDs accepted before a fatal rejection with their RECEIPTs first', async () => {
    const h = await connected();
    h.session.receive(
      Buffer.concat([
        frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'one'),
        frame('SEND', { destination: '/app/chat.send', receipt: 's-2' }, 'limited'),
        frame('SEND', { destination: '/app/chat.send', receipt: 's-3' }, 'after'),
      ]),
    );
    await vi.waitFor(() => expect(h.sends).toHaveLength(1));
    await h.session.framesHandled();
    expect(h.socket.commands()).toEqual(['CONNECTED']);

    h.sends[0]!.durable.resolve();
    await vi.waitFor(() => expect(h.socket.closedWith).toBeDefined());
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT', 'ERROR']);
    expect(header(h.socket.frames[1]!, 'receipt-id')).toBe('s-1');
    expect(header(h.socket.last('ERROR'), 'receipt-id')).toBe('s-2');
    expect(h.sends.map((send) => send.body)).toEqual(['one']);
  });

  it('should not wait for RECEIPTs longer than the bound when closing', async () => {
    const h = await connected({ limits: { maxReceiptWaitMs: 50 } });
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'stuck'));
    h.session.receive(frame('DISCONNECT', { receipt: 'bye' }));
    await vi.waitFor(() => expect(h.socket.closedWith).toEqual({ code: 1000, reason: 'disconnect' }));
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT']);
    expect(header(h.socket.last('RECEIPT'), 'receipt-id')).toBe('bye');
  });

  it('should report a SEND that fails after it was accepted as not stored', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }));
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'hello'));
    h.sends[0]!.durable.reject(new AppError('UNAVAILABLE', 'message not stored: broker down'));
    await vi.waitFor(() => expect(h.socket.commands()).toContain('MESSAGE'));
    expect(JSON.parse(h.socket.last('MESSAGE').body.toString())).toMatchObject({ code: 'UNAVAILABLE', receiptId: 's-1' });
    expect(h.socket.commands()).not.toContain('RECEIPT');
  });
});

describe('StompSession protection', () => {
  it('should terminate a slow consumer instead of buffering for it', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1' }));
    h.socket.buffered = 2 * 1024 * 1024;
    const before = h.socket.frames.length;

    expect(h.registry.deliver('/topic/room.1', Buffer.from('{}'))).toBe(1);
    expect(h.socket.terminated).toBe(true);
    expect(h.socket.frames.length).toBe(before);
    expect(h.session.isConnected).toBe(false);
    expect(h.registry.destinations()).toEqual([]);
    expect(h.rejected).toContain('slow-consumer');
    expect(h.closedCalls()).toBe(1);
  });

  it('should keep writing to a consumer whose backlog is under the bound', async () => {
    const h = await connected({ limits: { maxBufferedBytes: 1000 } });
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1' }));
    h.socket.buffered = 1000;
    h.registry.deliver('/topic/room.1', Buffer.from('{}'));
    expect(h.socket.terminated).toBe(false);
    expect(h.socket.last('MESSAGE')).toBeDefined();
  });

  it('should cut off a client that floods frames faster than they are handled', async () => {
    const gate = deferred();
    const h = harness({ limits: { maxPendingFrames: 16 }, authenticate: async () => gate.promise.then(() => ALICE) });
    const flood = Array.from({ length: 40 }, (_, index) => frame('SUBSCRIBE', { id: `s${index}`, destination: '/topic/presence' }));
    h.session.receive(Buffer.concat([connectFrame(), ...flood]));
    expect(h.socket.closedWith).toBeDefined();
    expectFatal(h.socket, 'too many frames in flight');
    gate.resolve();
    await h.session.framesHandled();
    expect(h.socket.commands()).toEqual(['ERROR']);
    expect(h.registry.destinations()).toEqual([]);
  });

  it('should close with a reason short enough for a WebSocket close frame whatever the client sent', async () => {
    const h = await connected();
    // A protocol error quotes a preview of the client's bytes; three-byte characters make it long.
    await h.push(`SEND\ndestination:/app/chat.send\ncontent-length:${'字'.repeat(40)}\n\n\0`);
    const error = expectFatal(h.socket, /content-length/);
    expect(Buffer.byteLength(h.socket.closedWith!.reason)).toBeLessThanOrEqual(123);
    expect(header(error, 'message')).toContain('字');
  });

  it('should ignore bytes that arrive after the session closed', async () => {
    const h = await connected();
    await h.push(frame('DISCONNECT'));
    const count = h.socket.frames.length;
    await h.push(frame('SUBSCRIBE', { id: 'x', destination: '/topic/presence' }), 'garbage\0');
    expect(h.socket.frames.length).toBe(count);
    expect(h.registry.destinations()).toEqual([]);
  });

  it('should release everything when the transport goes away', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1' }));
    h.session.transportClosed();
    h.session.transportClosed();
    expect(h.registry.destinations()).toEqual([]);
    expect(h.closedCalls()).toBe(1);
    expect(h.registry.deliver('/topic/room.1', Buffer.from('{}'))).toBe(0);
  });
});
