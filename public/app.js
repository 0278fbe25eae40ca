/*
 * The browser client: plain JavaScript over the REST API and STOMP at /ws (@stomp/stompjs, loaded
 * as the global `StompJs`).
 *
 * Rules this file keeps:
 * - Text from users or the server reaches the page only through textContent and attributes set
 *   with setAttribute/dataset, never through innerHTML.
 * - A message is identified by its messageKey everywhere: live MESSAGE frames, history pages,
 *   the gap fill after a reconnect and the client's own resends all collapse onto one entry.
 * - After every (re)connect the client subscribes again, waits for the broker's RECEIPT, and only
 *   then reads the history it may have missed (`?after=<newest id>`), so no message falls between
 *   the two.
 */
'use strict';

(() => {
  const SESSION_KEY = 'chat.session';
  const PAGE_SIZE = 30;
  const GAP_PAGE_SIZE = 100;
  const ROOMS_REFRESH_MS = 5_000;
  // Broadcast and persistence are separate consumer groups: a message missed live while the socket
  // was down may still be on its way to PostgreSQL during the first gap fill, so it runs once more.
  const SECOND_GAP_FILL_MS = 2_500;
  const SEARCH_DEBOUNCE_MS = 250;
  const READ_DEBOUNCE_MS = 300;
  const NEAR_EDGE_PX = 80;
  const SEEN_KEYS_LIMIT = 5_000;
  // The server allows 100 subscriptions per session; errors and presence take two. Rooms past this
  // (the least recently active) still get their badges from the periodic room list.
  const MAX_ROOM_SUBSCRIPTIONS = 90;

  const $ = (id) => document.getElementById(id);

  /** Builds an element; `text` goes through textContent, so user data is never parsed as HTML. */
  function el(tag, { className, text, data, attrs } = {}, children = []) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    for (const [key, value] of Object.entries(data ?? {})) node.dataset[key] = String(value);
    for (const [key, value] of Object.entries(attrs ?? {})) node.setAttribute(key, String(value));
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const state = {
    session: null,
    /** roomId → summary from GET /api/rooms, kept current by live messages. */
    rooms: new Map(),
    online: new Set(),
    view: null,
    stomp: null,
    connected: false,
    /** Increments on every CONNECTED, so work started for an old connection can tell it is stale. */
    generation: 0,
    roomSubscriptions: new Map(),
    /** messageKey → unsent or unacknowledged message; resent with the same key after a reconnect. */
    outbox: new Map(),
    /** Keys already counted, so a redelivered message does not raise a badge twice. */
    seenKeys: new Set(),
    refreshTimer: null,
    readReceiptsAvailable: true,
  };

  // ---- session -------------------------------------------------------------------------------

  function loadSession() {
    try {
      const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
      return session && typeof session.token === 'string' ? session : null;
    } catch {
      return null;
    }
  }

  function saveSession(session) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  /** Expiry of a JWT in ms, read without verifying (the server verifies); 0 when unreadable. */
  function tokenExpiry(token) {
    try {
      const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const { exp } = JSON.parse(atob(payload));
      return typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY;
    } catch {
      return 0;
    }
  }

  const tokenUsable = (token) => tokenExpiry(token) > Date.now() + 5_000;

  // ---- REST ----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const session = state.session;
    if (session) headers.authorization = `Bearer ${session.token}`;
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'The server cannot be reached.');
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.status === 401 && session && state.session === session) {
      signOut('Your session has ended. Please log in again.');
    }
    if (!response.ok) {
      const message = data && typeof data.message === 'string' ? data.message : `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // ---- small UI helpers ----------------------------------------------------------------------

  let toastTimer;
  function toast(message) {
    const node = $('toast');
    node.textContent = message;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, 4_000);
  }

  function debounce(fn, ms) {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  function formatTime(ms) {
    const date = new Date(ms);
    return date.toDateString() === new Date().toDateString() ? timeFormat.format(date) : dateTimeFormat.format(date);
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // randomUUID needs a secure context; plain http on a LAN address is not one.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function rememberKey(key) {
    if (state.seenKeys.has(key)) return false;
    state.seenKeys.add(key);
    if (state.seenKeys.size > SEEN_KEYS_LIMIT) state.seenKeys.delete(state.seenKeys.values().next().value);
    return true;
  }

  // ---- sign up / log in ----------------------------------------------------------------------

  function showAuth(message = '') {
    $('chat-view').hidden = true;
    $('auth-view').hidden = false;
    $('auth-error').textContent = message;
  }

  function selectAuthTab(tab) {
    const login = tab === 'login';
    $('login-form').hidden = !login;
    $('signup-form').hidden = login;
    $('show-login').setAttribute('aria-selected', String(login));
    $('show-signup').setAttribute('aria-selected', String(!login));
    $('auth-error').textContent = '';
  }

  async function submitAuth(event, path, fields) {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector('button[type="submit"]');
    const body = Object.fromEntries(fields.map((field) => [field, form.elements[field].value]));
    button.disabled = true;
    $('auth-error').textContent = '';
    try {
      const result = await api('POST', path, body);
      const session = { token: result.token, userId: result.userId, email: result.email, nickname: result.nickname };
      saveSession(session);
      form.reset();
      await enterChat(session);
    } catch (error) {
      $('auth-error').textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  function signOut(message = '') {
    sessionStorage.removeItem(SESSION_KEY);
    state.session = null;
    clearInterval(state.refreshTimer);
    state.refreshTimer = null;
    const stomp = state.stomp;
    state.stomp = null;
    state.connected = false;
    if (stomp) void stomp.deactivate();
    state.rooms.clear();
    roomRows.clear();
    state.roomSubscriptions.clear();
    state.outbox.clear();
    state.online.clear();
    state.view = null;
    $('room-list').replaceChildren();
    $('message-list').replaceChildren();
    $('room-pane').hidden = true;
    $('no-room').hidden = false;
    history.replaceState(null, '', location.pathname);
    showAuth(message);
  }

  // ---- entering the chat -----------------------------------------------------------------------

  async function enterChat(session) {
    state.session = session;
    $('auth-view').hidden = true;
    $('chat-view').hidden = false;
    $('me-nickname').textContent = session.nickname;
    setConnectionState('connecting');
    startRealtime();
    await refreshRooms();
    if (state.session !== session) return;
    state.refreshTimer = setInterval(() => void refreshRooms(), ROOMS_REFRESH_MS);
    const roomId = roomFromHash();
    if (roomId && state.rooms.has(roomId)) await openRoom(roomId);
  }

  function roomFromHash() {
    const match = /^#room=(\d+)$/.exec(location.hash);
    return match ? Number(match[1]) : undefined;
  }

  // ---- rooms -----------------------------------------------------------------------------------

  async function refreshRooms() {
    const session = state.session;
    if (!session) return;
    let data;
    try {
      data = await api('GET', '/api/rooms');
    } catch (error) {
      if (error.status !== 401) setConnectionHint(error);
      return;
    }
    if (state.session !== session) return;
    const next = new Map();
    const fresh = [];
    for (const room of data.rooms) {
      const known = state.rooms.get(room.roomId);
      if (!known) fresh.push(room.roomId);
      // A live message can be ahead of the list the server just read: keep what the page already knows.
      if (known?.lastMessage && isNewerThan(known.lastMessage, room.lastMessage)) {
        next.set(room.roomId, { ...room, lastMessage: known.lastMessage, unreadCount: Math.max(room.unreadCount, known.unreadCount) });
      } else {
        next.set(room.roomId, room);
      }
      if (state.view?.roomId === room.roomId && pageVisible()) {
        if (room.unreadCount > 0) scheduleMarkRead(state.view);
        next.get(room.roomId).unreadCount = 0;
      }
    }
    state.rooms = next;
    syncRoomSubscriptions();
    renderRooms();
    if (fresh.length) void refreshOnline(fresh);
  }

  function isNewerThan(local, server) {
    if (!server) return true;
    return Date.parse(local.createdAt) > Date.parse(server.createdAt);
  }

  function roomLabel(room) {
    return room.name ?? room.members?.map((member) => member.nickname).join(', ') ?? `Room ${room.roomId}`;
  }

  /** The other member of a DIRECT room: the one whose online dot the room list shows. */
  function directPeer(room) {
    if (room.type !== 'DIRECT') return undefined;
    return room.members?.find((member) => member.userId !== state.session?.userId);
  }

  /** Room rows are updated in place, so a click never lands on a row that was just replaced. */
  const roomRows = new Map();

  function roomRow(roomId) {
    let row = roomRows.get(roomId);
    if (row) return row;
    const dot = el('span', { className: 'dot', data: { testid: 'presence-dot' } });
    const name = el('span', { className: 'room-name', data: { testid: 'room-name' } });
    const preview = el('span', { className: 'room-preview', data: { testid: 'room-preview' } });
    const badge = el('span', { className: 'badge', data: { testid: 'unread-badge' } });
    const button = el('button', { attrs: { type: 'button' } }, [dot, name, preview, badge]);
    button.addEventListener('click', () => void openRoom(roomId));
    const item = el('li', { data: { testid: 'room-item', roomId } }, [button]);
    row = { item, dot, name, preview, badge };
    roomRows.set(roomId, row);
    return row;
  }

  function renderRooms() {
    const list = $('room-list');
    const wanted = [];
    for (const room of state.rooms.values()) {
      const row = roomRow(room.roomId);
      const peer = directPeer(room);
      const online = peer ? state.online.has(peer.userId) : false;
      row.dot.className = peer ? 'dot' : 'dot group';
      row.dot.dataset.online = String(online);
      row.dot.title = peer ? (online ? 'online' : 'offline') : 'group';
      row.name.textContent = roomLabel(room);
      row.preview.textContent = room.lastMessage ? `${room.lastMessage.senderNickname}: ${room.lastMessage.content}` : 'No messages yet';
      row.badge.textContent = String(room.unreadCount);
      row.badge.hidden = room.unreadCount === 0;
      row.item.dataset.unread = String(room.unreadCount);
      row.item.dataset.type = room.type;
      if (state.view?.roomId === room.roomId) row.item.setAttribute('aria-current', 'true');
      else row.item.removeAttribute('aria-current');
      wanted.push(row.item);
    }
    for (const [roomId, row] of roomRows) {
      if (state.rooms.has(roomId)) continue;
      row.item.remove();
      roomRows.delete(roomId);
    }
    wanted.forEach((item, index) => {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
    });
    $('rooms-empty').hidden = wanted.length > 0;
  }

  /** Moves a room to the top with its newest message, as GET /api/rooms would order it. */
  function touchRoom(roomId, message, countsAsUnread) {
    const room = state.rooms.get(roomId);
    if (!room) {
      // A room someone else just created: the list learns its name and members from the server.
      void refreshRooms();
      return;
    }
    room.lastMessage = {
      id: message.id ?? null,
      content: message.content,
      senderId: message.senderId,
      senderNickname: message.senderNickname,
      createdAt: new Date(message.createdAt).toISOString(),
    };
    if (countsAsUnread) room.unreadCount += 1;
    state.rooms.delete(roomId);
    state.rooms = new Map([[roomId, room], ...state.rooms]);
    renderRooms();
  }

  // ---- presence --------------------------------------------------------------------------------

  async function refreshOnline(roomIds = [...state.rooms.keys()]) {
    const session = state.session;
    await Promise.all(
      roomIds.map(async (roomId) => {
        try {
          const data = await api('GET', `/api/rooms/${roomId}/members/online`);
          if (state.session !== session) return;
          const ids = Array.isArray(data) ? data : (data?.userIds ?? data?.online ?? []);
          const members = state.rooms.get(roomId)?.members ?? (state.view?.roomId === roomId ? state.view.room?.members : undefined);
          // The answer is the whole truth for the members we know: anyone not in it is offline.
          for (const member of members ?? []) state.online.delete(member.userId);
          for (const id of ids) state.online.add(Number(id));
        } catch {
          // Presence is decoration: the chat works without it.
        }
      }),
    );
    renderPresence();
  }

  function onPresence(frame) {
    let event;
    try {
      event = JSON.parse(frame.body);
    } catch {
      return;
    }
    const userId = Number(event.userId);
    if (!Number.isFinite(userId)) return;
    if (event.status === 'ONLINE') state.online.add(userId);
    else if (event.status === 'OFFLINE') state.online.delete(userId);
    renderPresence();
  }

  function renderPresence() {
    renderRooms();
    renderMembers();
  }

  // ---- STOMP -------------------------------------------------------------------------------------

  function setConnectionState(connectionState) {
    const node = $('connection-status');
    node.dataset.state = connectionState;
    node.textContent = { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Connection lost, reconnecting…' }[connectionState];
    $('my-presence').dataset.online = String(connectionState === 'connected');
  }

  function setConnectionHint(error) {
    if (error.status === 0) toast(error.message);
  }

  function startRealtime() {
    const { Client, ReconnectionTimeMode, TickerStrategy } = window.StompJs;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const client = new Client({
      brokerURL: `${scheme}://${location.host}/ws`,
      heartbeatIncoming: 10_000,
      heartbeatOutgoing: 10_000,
      // Background tabs throttle timers; a worker keeps heart-beats on time so the server keeps us.
      heartbeatStrategy: TickerStrategy.Worker,
      reconnectDelay: 1_000,
      reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
      maxReconnectDelay: 15_000,
      connectionTimeout: 10_000,
      // A token is read for every attempt, so a reconnect never presents one that a new login replaced.
      beforeConnect: async (stomp) => {
        const session = loadSession();
        if (!session || session.userId !== state.session?.userId || !tokenUsable(session.token)) {
          await stomp.deactivate();
          signOut('Your session has expired. Please log in again.');
          return;
        }
        stomp.connectHeaders = { Authorization: `Bearer ${session.token}` };
      },
      onConnect: () => onConnected(client),
      onWebSocketClose: () => {
        if (state.stomp !== client) return;
        state.connected = false;
        state.roomSubscriptions.clear();
        setConnectionState('reconnecting');
        markOutboxPending();
      },
      onStompError: (frame) => {
        const message = frame.headers.message ?? 'The server refused the connection';
        if (/unauthori[sz]ed|token|expired|authenticat/i.test(message) && !state.connected) {
          signOut('Your session has expired. Please log in again.');
          return;
        }
        toast(message);
      },
      debug: () => {},
    });
    state.stomp = client;
    client.activate();
  }

  function onConnected(client) {
    if (state.stomp !== client) return;
    state.connected = true;
    state.generation += 1;
    const generation = state.generation;
    setConnectionState('connected');
    state.roomSubscriptions.clear();
    client.subscribe('/user/queue/errors', onUserError);
    // The gap fill after the last receipt below covers these rooms.
    syncRoomSubscriptions({ fillWhenLive: false });
    // Frames are handled in order, so the RECEIPT for this last SUBSCRIBE means every room
    // subscription before it is live: whatever is missing now is in the database.
    const receipt = `subscribed-${generation}`;
    client.watchForReceipt(receipt, () => void afterSubscribed(generation));
    client.subscribe('/topic/presence', onPresence, { receipt });
  }

  async function afterSubscribed(generation) {
    const current = () => state.generation === generation && state.connected;
    flushOutbox();
    await Promise.all([refreshRooms(), refreshOnline(), state.view ? fillGap(state.view) : undefined]);
    setTimeout(() => {
      if (current() && state.view) void fillGap(state.view);
    }, SECOND_GAP_FILL_MS);
  }

  /**
   * Subscribes to the rooms of the list. A room subscribed while its history is already on screen
   * (it just appeared, or the page opened it before the subscription was live) reads the history
   * again once the server confirms the subscription, so a message sent in between is not lost.
   */
  function syncRoomSubscriptions({ fillWhenLive = true } = {}) {
    const client = state.stomp;
    if (!client || !state.connected) return;
    const wanted = new Set([...state.rooms.keys()].slice(0, MAX_ROOM_SUBSCRIPTIONS));
    if (state.view && state.rooms.has(state.view.roomId)) wanted.add(state.view.roomId);
    // Unsubscribe first, so the count never passes the server's limit on the way.
    for (const [roomId, entry] of state.roomSubscriptions) {
      if (wanted.has(roomId)) continue;
      entry.subscription.unsubscribe();
      state.roomSubscriptions.delete(roomId);
    }
    for (const roomId of wanted) {
      if (state.roomSubscriptions.has(roomId)) continue;
      const receipt = `room-${roomId}-${state.generation}`;
      const entry = { subscription: null, live: false };
      client.watchForReceipt(receipt, () => {
        entry.live = true;
        if (fillWhenLive && state.view?.roomId === roomId && state.roomSubscriptions.get(roomId) === entry) void fillGap(state.view);
      });
      entry.subscription = client.subscribe(`/topic/room.${roomId}`, (frame) => onRoomFrame(roomId, frame), { receipt });
      state.roomSubscriptions.set(roomId, entry);
    }
  }

  function onUserError(frame) {
    let error;
    try {
      error = JSON.parse(frame.body);
    } catch {
      error = { message: frame.body };
    }
    const key = typeof error.receiptId === 'string' && error.receiptId.startsWith('send:') ? error.receiptId.split(':')[1] : undefined;
    if (key && state.outbox.has(key)) {
      state.outbox.delete(key);
      setMessageStatus(key, 'failed', error.message);
      return;
    }
    toast(error.message ?? 'The server rejected a request');
  }

  /** A read receipt travels the room's topic too; it carries `event: READ` (and the header `event:read`). */
  const isReadEvent = (frame, body) => frame.headers.event === 'read' || body.event === 'READ';

  function onRoomFrame(roomId, frame) {
    let body;
    try {
      body = JSON.parse(frame.body);
    } catch {
      return;
    }
    if (isReadEvent(frame, body)) {
      onReadEvent(roomId, body);
      return;
    }
    if (typeof body.messageKey !== 'string') return;
    const message = {
      messageKey: body.messageKey,
      id: typeof body.id === 'number' ? body.id : null,
      roomId,
      senderId: body.senderId,
      senderNickname: body.senderNickname,
      content: String(body.content ?? ''),
      type: body.type ?? 'TEXT',
      createdAt: Date.parse(body.timestamp) || Date.now(),
      status: 'sent',
    };
    state.outbox.delete(message.messageKey);
    receiveMessage(message);
  }

  /** One entry point for live, gap-filled and own messages, so counting and marking read agree. */
  function receiveMessage(message) {
    const firstTime = rememberKey(message.messageKey);
    const fromOther = message.senderId !== state.session?.userId;
    const view = state.view;
    const open = view?.roomId === message.roomId;
    if (open) {
      const stick = nearBottom();
      mergeMessage(view, message);
      if (stick || !fromOther) scrollToBottom();
      if (fromOther && firstTime) {
        if (pageVisible()) scheduleMarkRead(view);
      }
    }
    if (firstTime) touchRoom(message.roomId, message, fromOther && !(open && pageVisible()));
  }

  function onReadEvent(roomId, event) {
    const userId = Number(event.userId);
    if (userId === state.session?.userId) {
      // Read here or in another tab: the event carries the count the server now holds.
      const room = state.rooms.get(roomId);
      const unread = Number.isInteger(event.unreadCount) ? event.unreadCount : 0;
      if (room && room.unreadCount !== unread && !(state.view?.roomId === roomId && pageVisible())) {
        room.unreadCount = unread;
        renderRooms();
      }
      return;
    }
    const view = state.view;
    if (view?.roomId !== roomId) return;
    view.readBy.set(userId, {
      id: typeof event.lastReadMessageId === 'number' ? event.lastReadMessageId : null,
      key: typeof event.lastReadMessageKey === 'string' ? event.lastReadMessageKey : null,
    });
    renderSeenBy(view);
    // Receipts name message ids, and messages seen only live have none yet: the history has them.
    if (view.messages.some((message) => message.id === null && message.status === 'sent')) {
      void fillGap(view).then(() => renderSeenBy(view));
    }
  }

  // ---- sending ------------------------------------------------------------------------------------

  function sendMessage(roomId, content) {
    const session = state.session;
    const message = {
      messageKey: uuid(),
      id: null,
      roomId,
      senderId: session.userId,
      senderNickname: session.nickname,
      content,
      type: 'TEXT',
      createdAt: Date.now(),
      status: 'pending',
      local: true,
    };
    state.outbox.set(message.messageKey, { roomId, content, messageKey: message.messageKey, attempt: 0 });
    receiveMessage(message);
    transmit(message.messageKey);
  }

  /** Publishes with the message's own key, so a resend after a lost RECEIPT cannot duplicate it. */
  function transmit(key) {
    const item = state.outbox.get(key);
    const client = state.stomp;
    if (!item || !client || !state.connected) return;
    item.attempt += 1;
    const receipt = `send:${key}:${item.attempt}`;
    client.watchForReceipt(receipt, () => {
      if (state.outbox.get(key) !== item) return;
      state.outbox.delete(key);
      setMessageStatus(key, 'sent');
    });
    client.publish({
      destination: '/app/chat.send',
      headers: { receipt, 'content-type': 'application/json' },
      body: JSON.stringify({ roomId: item.roomId, content: item.content, messageKey: key }),
    });
  }

  function flushOutbox() {
    for (const key of state.outbox.keys()) transmit(key);
  }

  function markOutboxPending() {
    for (const key of state.outbox.keys()) setMessageStatus(key, 'pending');
  }

  function retry(key, entry) {
    state.outbox.set(key, { roomId: entry.roomId, content: entry.content, messageKey: key, attempt: 0 });
    setMessageStatus(key, 'pending');
    transmit(key);
  }

  // ---- the open room ------------------------------------------------------------------------

  function newView(roomId) {
    return {
      roomId,
      room: null,
      messages: [],
      byKey: new Map(),
      newestId: null,
      cursor: null,
      hasMore: false,
      historyLoaded: false,
      loadingOlder: null,
      readTimer: null,
      lastMarked: null,
      readBy: new Map(),
    };
  }

  async function openRoom(roomId) {
    if (state.view?.roomId === roomId) return;
    const view = newView(roomId);
    state.view = view;
    history.replaceState(null, '', `#room=${roomId}`);
    const summary = state.rooms.get(roomId);
    $('no-room').hidden = true;
    $('room-pane').hidden = false;
    $('room-title').textContent = summary ? roomLabel(summary) : '';
    $('room-members').replaceChildren();
    $('message-list').replaceChildren();
    $('seen-by').hidden = true;
    $('history-status').textContent = 'Loading…';
    const hadUnread = (summary?.unreadCount ?? 0) > 0;
    if (summary) summary.unreadCount = 0;
    syncRoomSubscriptions();
    renderRooms();
    // Messages from the outbox belong on screen even before the history arrives.
    for (const item of state.outbox.values()) {
      if (item.roomId !== roomId) continue;
      mergeMessage(view, {
        messageKey: item.messageKey,
        id: null,
        roomId,
        senderId: state.session.userId,
        senderNickname: state.session.nickname,
        content: item.content,
        type: 'TEXT',
        createdAt: Date.now(),
        status: 'pending',
        local: true,
      });
    }

    const [room] = await Promise.all([
      api('GET', `/api/rooms/${roomId}`).catch((error) => {
        toast(error.message);
        return null;
      }),
      loadNewest(view),
      refreshOnline([roomId]),
    ]);
    if (state.view !== view) return;
    view.room = room;
    if (room) $('room-title').textContent = roomLabel(room);
    renderMembers();
    scrollToBottom();
    await fillViewport(view);
    if (hadUnread || view.messages.some((message) => message.senderId !== state.session?.userId)) scheduleMarkRead(view);
    $('message-input').focus();
  }

  function historyMessage(message) {
    return {
      messageKey: message.messageKey,
      id: message.id,
      roomId: message.roomId,
      senderId: message.senderId,
      senderNickname: message.senderNickname,
      content: message.content,
      type: message.type,
      createdAt: Date.parse(message.createdAt),
      status: 'sent',
    };
  }

  async function loadNewest(view) {
    try {
      const page = await api('GET', `/api/rooms/${view.roomId}/messages?size=${PAGE_SIZE}`);
      if (state.view !== view) return;
      for (const message of page.messages) mergeMessage(view, historyMessage(message));
      view.cursor = page.nextCursor;
      view.hasMore = page.hasMore;
      view.historyLoaded = true;
      renderHistoryStatus(view);
    } catch (error) {
      if (state.view === view) $('history-status').textContent = `Could not load history: ${error.message}`;
    }
  }

  /** One page request at a time; callers share the one in flight. */
  function loadOlder(view) {
    if (!view.hasMore || view.cursor === null) return Promise.resolve(false);
    view.loadingOlder ??= fetchOlder(view).finally(() => {
      view.loadingOlder = null;
      if (state.view === view) renderHistoryStatus(view);
    });
    return view.loadingOlder;
  }

  async function fetchOlder(view) {
    $('history-status').textContent = 'Loading older messages…';
    try {
      const page = await api('GET', `/api/rooms/${view.roomId}/messages?size=${PAGE_SIZE}&cursor=${view.cursor}`);
      if (state.view !== view) return false;
      const scroller = $('message-scroller');
      const before = scroller.scrollHeight;
      for (const message of page.messages) mergeMessage(view, historyMessage(message));
      view.cursor = page.nextCursor;
      view.hasMore = page.hasMore;
      // Keep the message the reader was looking at in place while older ones grow above it.
      scroller.scrollTop += scroller.scrollHeight - before;
      return true;
    } catch (error) {
      toast(`Could not load older messages: ${error.message}`);
      return false;
    }
  }

  /** Short histories leave nothing to scroll, so nothing would ever ask for the older pages. */
  async function fillViewport(view) {
    const scroller = $('message-scroller');
    while (state.view === view && view.hasMore && scroller.scrollHeight <= scroller.clientHeight) {
      if (!(await loadOlder(view))) return;
    }
  }

  function renderHistoryStatus(view) {
    const text = !view.historyLoaded ? '' : view.hasMore ? 'Scroll up for older messages' : view.messages.length ? 'Beginning of the conversation' : 'No messages yet. Say hello!';
    $('history-status').textContent = text;
  }

  /** Reads what arrived while the socket was down: everything newer than the newest id on screen. */
  async function fillGap(view) {
    if (!view.historyLoaded || view.newestId === null) {
      await loadNewest(view);
      return;
    }
    let after = view.newestId;
    let addedFromOthers = false;
    try {
      for (;;) {
        const page = await api('GET', `/api/rooms/${view.roomId}/messages?after=${after}&size=${GAP_PAGE_SIZE}`);
        if (state.view !== view) return;
        for (const message of page.messages) {
          const known = view.byKey.has(message.messageKey);
          receiveMessage(historyMessage(message));
          if (!known && message.senderId !== state.session?.userId) addedFromOthers = true;
        }
        const last = page.messages.at(-1);
        if (!page.hasMore || !last) break;
        after = last.id;
      }
    } catch (error) {
      setConnectionHint(error);
      return;
    }
    if (addedFromOthers && pageVisible()) scheduleMarkRead(view);
  }

  /** Adds a message in order, or completes the entry already there (same key). */
  function mergeMessage(view, message) {
    if (message.id !== null && (view.newestId === null || message.id > view.newestId)) view.newestId = message.id;
    const existing = view.byKey.get(message.messageKey);
    if (existing) {
      const learnedId = message.id !== null && existing.id === null;
      // The server's copy of our own message: its timestamp, not the browser's, orders it.
      const serverCopy = existing.local && !message.local;
      if (learnedId) existing.id = message.id;
      if (serverCopy) {
        existing.local = false;
        existing.status = 'sent';
        existing.createdAt = message.createdAt;
        renderMessage(existing);
      }
      // A message typed offline goes out after what others sent meanwhile: show it where the room has it.
      if (learnedId || serverCopy) place(view, existing);
      return false;
    }
    const entry = { ...message, node: null };
    view.byKey.set(entry.messageKey, entry);
    renderMessage(entry);
    place(view, entry);
    if (view.historyLoaded) renderHistoryStatus(view);
    return true;
  }

  /** Puts an entry (new, or whose order just became known) at its place in the list and the DOM. */
  function place(view, entry) {
    const list = view.messages;
    const current = list.indexOf(entry);
    if (current !== -1) list.splice(current, 1);
    let index = list.length;
    if (list.length && comesBefore(entry, list[0])) index = 0;
    else while (index > 0 && comesBefore(entry, list[index - 1])) index -= 1;
    if (index === current) {
      list.splice(index, 0, entry);
      return;
    }
    list.splice(index, 0, entry);
    const next = list[index + 1];
    $('message-list').insertBefore(entry.node, next ? next.node : null);
    renderSeenBy(view);
  }

  /** Ids are the order in the room (Kafka order); a message only seen live has its timestamp. */
  function comesBefore(a, b) {
    if (a.id !== null && b.id !== null) return a.id < b.id;
    return a.createdAt < b.createdAt;
  }

  function renderMessage(entry) {
    const mine = entry.senderId === state.session?.userId;
    const statusText = { pending: 'sending…', failed: entry.error ? `not sent: ${entry.error}` : 'not sent', sent: '' }[entry.status] ?? '';
    const children = [
      el('div', { className: 'message-meta' }, [
        el('span', { className: 'message-sender', text: mine ? 'You' : entry.senderNickname, data: { testid: 'message-sender' } }),
        el('time', { text: formatTime(entry.createdAt), attrs: { datetime: new Date(entry.createdAt).toISOString() } }),
      ]),
      el('div', { className: 'message-text', text: entry.content, data: { testid: 'message-text' } }),
    ];
    if (statusText) children.push(el('div', { className: 'message-status', text: statusText, data: { testid: 'message-status' } }));
    if (entry.status === 'failed') {
      const button = el('button', { className: 'link', text: 'Retry', attrs: { type: 'button' }, data: { testid: 'retry' } });
      button.addEventListener('click', () => retry(entry.messageKey, entry));
      children.push(button);
    }
    const node = el(
      'li',
      { className: mine ? 'message mine' : 'message', data: { testid: 'message', messageKey: entry.messageKey, status: entry.status } },
      children,
    );
    entry.node?.replaceWith(node);
    entry.node = node;
  }

  function setMessageStatus(key, status, error) {
    const entry = state.view?.byKey.get(key);
    if (!entry || entry.status === status) return;
    if (entry.status === 'sent' && status === 'pending') return;
    entry.status = status;
    entry.error = error;
    renderMessage(entry);
  }

  function renderMembers() {
    const view = state.view;
    if (!view?.room) return;
    const items = view.room.members.map((member) =>
      el('li', { data: { testid: 'member', userId: member.userId } }, [
        el('span', { className: 'dot', data: { testid: 'presence-dot', online: state.online.has(member.userId) } }),
        el('span', { text: member.userId === state.session?.userId ? `${member.nickname} (you)` : member.nickname }),
      ]),
    );
    $('room-members').replaceChildren(...items);
  }

  function renderSeenBy(view) {
    const newest = view.messages.findLast((message) => message.status === 'sent');
    const node = $('seen-by');
    if (!newest || newest.senderId !== state.session?.userId || !view.room) {
      node.hidden = true;
      return;
    }
    const names = [];
    for (const [userId, read] of view.readBy) {
      const covers = read.key === newest.messageKey || (read.id !== null && newest.id !== null && read.id >= newest.id);
      const member = view.room.members.find((candidate) => candidate.userId === userId);
      if (covers && member) names.push(member.nickname);
    }
    node.textContent = names.length ? `Seen by ${names.join(', ')}` : '';
    node.hidden = names.length === 0;
  }

  // ---- read receipts ----------------------------------------------------------------------

  const pageVisible = () => document.visibilityState === 'visible';

  function scheduleMarkRead(view) {
    clearTimeout(view.readTimer);
    view.readTimer = setTimeout(() => void markRead(view), READ_DEBOUNCE_MS);
  }

  async function markRead(view) {
    if (state.view !== view || !pageVisible() || !state.readReceiptsAvailable) return;
    const newest = view.messages.findLast((message) => message.status === 'sent');
    if (!newest) return;
    // A message seen only live has no id yet; the server accepts its key instead.
    const body = newest.id !== null ? { lastReadMessageId: newest.id } : { lastReadMessageKey: newest.messageKey };
    const marker = newest.messageKey;
    if (view.lastMarked === marker) return;
    view.lastMarked = marker;
    try {
      await api('POST', `/api/rooms/${view.roomId}/read`, body);
    } catch (error) {
      view.lastMarked = null;
      // A server without read receipts (404) is not an error worth showing on every message.
      if (error.status === 404 && /No route/.test(error.message)) state.readReceiptsAvailable = false;
    }
  }

  // ---- scrolling -----------------------------------------------------------------------------

  function nearBottom() {
    const scroller = $('message-scroller');
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_EDGE_PX;
  }

  function scrollToBottom() {
    const scroller = $('message-scroller');
    scroller.scrollTop = scroller.scrollHeight;
  }

  // ---- finding people, direct chats and groups ------------------------------------------------

  async function searchUsers(query) {
    const data = await api('GET', `/api/users?query=${encodeURIComponent(query)}&size=10`);
    return data.users;
  }

  function userButton(user, label, onClick, testid) {
    const button = el('button', { attrs: { type: 'button', 'aria-label': `${label} ${user.nickname}` }, data: { testid } }, [
      el('span', { text: user.nickname }),
      el('span', { className: 'email', text: user.email }),
    ]);
    button.addEventListener('click', onClick);
    return el('li', { data: { testid: 'user-result', userId: user.id } }, [button]);
  }

  const runUserSearch = debounce(async (query) => {
    const results = $('user-results');
    if (!query) {
      results.replaceChildren();
      return;
    }
    try {
      const users = await searchUsers(query);
      if ($('user-search').value.trim() !== query) return;
      results.replaceChildren(
        ...(users.length
          ? users.map((user) => userButton(user, 'Chat with', () => void startDirect(user), 'start-direct'))
          : [el('li', { className: 'muted', text: 'Nobody found' })]),
      );
    } catch (error) {
      toast(error.message);
    }
  }, SEARCH_DEBOUNCE_MS);

  async function startDirect(user) {
    try {
      const room = await api('POST', '/api/rooms/direct', { targetUserId: user.id });
      $('user-search').value = '';
      $('user-results').replaceChildren();
      await refreshRooms();
      await openRoom(room.roomId);
    } catch (error) {
      toast(`Could not start the chat: ${error.message}`);
    }
  }

  const group = { selected: new Map() };

  function openGroupDialog() {
    group.selected.clear();
    $('group-form').reset();
    $('group-results').replaceChildren();
    $('group-error').textContent = '';
    renderGroupSelection();
    $('group-dialog').showModal();
    $('group-name').focus();
  }

  function renderGroupSelection() {
    const chips = [...group.selected.values()].map((user) => {
      const remove = el('button', { text: '×', attrs: { type: 'button', 'aria-label': `Remove ${user.nickname}` } });
      remove.addEventListener('click', () => {
        group.selected.delete(user.id);
        renderGroupSelection();
      });
      return el('li', { data: { testid: 'group-chip', userId: user.id } }, [el('span', { text: user.nickname }), remove]);
    });
    $('group-selected').replaceChildren(...chips);
  }

  const runGroupSearch = debounce(async (query) => {
    const results = $('group-results');
    if (!query) {
      results.replaceChildren();
      return;
    }
    try {
      const users = await searchUsers(query);
      if ($('group-search').value.trim() !== query) return;
      results.replaceChildren(
        ...users.map((user) =>
          userButton(
            user,
            'Add',
            () => {
              group.selected.set(user.id, user);
              renderGroupSelection();
            },
            'group-add-member',
          ),
        ),
      );
    } catch (error) {
      $('group-error').textContent = error.message;
    }
  }, SEARCH_DEBOUNCE_MS);

  async function createGroup(event) {
    event.preventDefault();
    const name = $('group-name').value.trim();
    try {
      const room = await api('POST', '/api/rooms/group', { name, memberIds: [...group.selected.keys()] });
      $('group-dialog').close();
      await refreshRooms();
      await openRoom(room.roomId);
    } catch (error) {
      $('group-error').textContent = error.message;
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------

  function wire() {
    $('show-login').addEventListener('click', () => selectAuthTab('login'));
    $('show-signup').addEventListener('click', () => selectAuthTab('signup'));
    $('login-form').addEventListener('submit', (event) => void submitAuth(event, '/api/auth/login', ['email', 'password']));
    $('signup-form').addEventListener('submit', (event) => void submitAuth(event, '/api/auth/signup', ['email', 'nickname', 'password']));
    $('logout').addEventListener('click', () => signOut());

    $('user-search').addEventListener('input', (event) => runUserSearch(event.target.value.trim()));
    $('new-group').addEventListener('click', openGroupDialog);
    $('group-search').addEventListener('input', (event) => runGroupSearch(event.target.value.trim()));
    $('group-cancel').addEventListener('click', () => $('group-dialog').close());
    $('group-form').addEventListener('submit', (event) => void createGroup(event));

    const input = $('message-input');
    $('composer').addEventListener('submit', (event) => {
      event.preventDefault();
      const content = input.value.trim();
      if (!content || !state.view) return;
      sendMessage(state.view.roomId, content);
      input.value = '';
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $('composer').requestSubmit();
      }
    });

    $('message-scroller').addEventListener('scroll', (event) => {
      if (state.view && event.target.scrollTop < NEAR_EDGE_PX) void loadOlder(state.view);
    });
    document.addEventListener('visibilitychange', () => {
      if (!pageVisible() || !state.session) return;
      void refreshRooms();
      if (state.view) scheduleMarkRead(state.view);
    });
    window.addEventListener('hashchange', () => {
      const roomId = roomFromHash();
      if (roomId && state.rooms.has(roomId)) void openRoom(roomId);
    });
  }

  async function boot() {
    wire();
    const session = loadSession();
    if (!session || !tokenUsable(session.token)) {
      sessionStorage.removeItem(SESSION_KEY);
      showAuth();
      return;
    }
    state.session = session;
    try {
      // Proves the stored token still works (a restarted server may have a new secret).
      await api('GET', '/api/users/me');
    } catch (error) {
      if (state.session) {
        state.session = null;
        showAuth(error.status === 0 ? error.message : '');
      }
      return;
    }
    await enterChat(session);
  }

  void boot();
})();
