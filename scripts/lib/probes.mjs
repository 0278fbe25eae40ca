/**
 * Protocol probes for PostgreSQL, Redis and Kafka. Each resolves to `{ state, detail }`:
 *   'ok'      a real server of that kind answered
 *   'down'    nothing accepts connections there, or the server said it is not ready yet
 *   'foreign' something accepted the connection but did not answer like that server
 * A bare TCP connect is not enough: a half-started server, or an unrelated program on the port,
 * must not count as answering. Every probe opens a fresh connection: a long-lived client would
 * measure its own reconnect backoff after a restart instead of the server.
 */
import net from 'node:net';

const DEFAULT_TIMEOUT_MS = 2000;

function exchange(host, port, payload, isComplete, { timeoutMs = DEFAULT_TIMEOUT_MS, goodbye } = {}) {
  return new Promise((resolve) => {
    let connected = false;
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const fail = (detail) => ({ state: connected ? 'foreign' : 'down', detail });
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(fail(connected ? 'no reply' : 'connect timeout')), timeoutMs);
    socket.on('connect', () => {
      connected = true;
      socket.write(payload);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!isComplete(buf)) return;
      if (goodbye) socket.end(goodbye);
      done({ state: 'reply', reply: buf });
    });
    socket.on('error', (err) => done(fail(err.code || err.message)));
    socket.on('close', () => done(fail('closed')));
  });
}

function pgMessages(buf) {
  const out = [];
  let off = 0;
  while (buf.length - off >= 5) {
    const len = buf.readInt32BE(off + 1);
    if (buf.length - off < 1 + len) break;
    out.push({ type: String.fromCharCode(buf[off]), body: buf.subarray(off + 5, off + 1 + len) });
    off += 1 + len;
  }
  return out;
}

/** A message after which the server has said all the probe needs. */
function pgDecisive(m) {
  return m.type === 'Z' || m.type === 'E' || (m.type === 'R' && m.body.readInt32BE(0) !== 0) || !'RSKNZE'.includes(m.type);
}

/**
 * PostgreSQL: a v3 StartupMessage for `user`/`database`. With trust auth a ready server goes on
 * to ReadyForQuery ('Z'), or to an ErrorResponse such as 3D000 "database does not exist" (still a
 * server: `sqlstate` says which); a password request ('R') proves a server too. SQLSTATE 57P03
 * ("the database system is starting up" or "shutting down") means: not ready.
 */
export async function probePostgres({ host, port, user = 'postgres', database = 'postgres', timeoutMs }) {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const msg = Buffer.alloc(8 + params.length);
  msg.writeInt32BE(msg.length, 0);
  msg.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(msg, 8);
  const terminate = Buffer.from([0x58, 0, 0, 0, 4]); // 'X': a polite goodbye
  const complete = (b) => pgMessages(b).some(pgDecisive) || (b.length > 0 && !'RE'.includes(String.fromCharCode(b[0])));
  const r = await exchange(host, port, msg, complete, { timeoutMs, goodbye: terminate });
  if (r.state !== 'reply') return r;
  const last = pgMessages(r.reply).find(pgDecisive);
  if (!last) return { state: 'foreign', detail: `unexpected reply byte ${JSON.stringify(String.fromCharCode(r.reply[0]))}` };
  if (last.type === 'Z') return { state: 'ok', detail: 'accepting connections' };
  if (last.type === 'R') return { state: 'ok', detail: 'accepting connections (password required)' };
  if (last.type === 'E') {
    const fields = {};
    for (const part of last.body.toString('utf8').split('\0')) {
      if (part) fields[part[0]] = part.slice(1);
    }
    if (fields.C === '57P03') return { state: 'down', detail: fields.M || 'starting up' };
    return { state: 'ok', detail: fields.M, sqlstate: fields.C };
  }
  return { state: 'foreign', detail: `unexpected reply message ${JSON.stringify(last.type)}` };
}

/** Redis: PING must come back as +PONG (after AUTH when a password is given). */
export async function probeRedis({ host, port, username, password, timeoutMs }) {
  const resp = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const auth = password ? resp('AUTH', ...(username ? [username] : []), password) : '';
  const expectedLines = password ? 2 : 1;
  const complete = (b) => b.toString('latin1').split('\r\n').length > expectedLines;
  const r = await exchange(host, port, `${auth}PING\r\n`, complete, { timeoutMs });
  if (r.state !== 'reply') return r;
  const lines = r.reply.toString('latin1').split('\r\n');
  const last = lines[expectedLines - 1];
  if (last === '+PONG') return { state: 'ok', detail: 'PONG' };
  if (/^-(LOADING|BUSY)/.test(last)) return { state: 'down', detail: last.slice(1) };
  if (/^-(NOAUTH|WRONGPASS|ERR)/.test(lines[0])) return { state: 'ok', detail: `answers, but: ${lines[0].slice(1)}` };
  return { state: 'foreign', detail: `unexpected reply ${JSON.stringify(lines[0].slice(0, 40))}` };
}

/**
 * Kafka: ApiVersions v0 (api_key 18). Request header v1: int16 api_key, int16 api_version,
 * int32 correlation_id, nullable string client_id; the v0 body is empty. The response starts
 * with int32 size, int32 correlation_id, int16 error_code. A KRaft broker only serves requests
 * once it has caught up with the metadata log, so an answer means "ready for clients".
 */
export async function probeKafka({ host, port, timeoutMs }) {
  const clientId = Buffer.from('stack-probe', 'utf8');
  const correlationId = (Math.random() * 0x7fffffff) | 0;
  const msg = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  msg.writeInt32BE(msg.length - 4, 0);
  msg.writeInt16BE(18, 4); // ApiVersions
  msg.writeInt16BE(0, 6); // v0
  msg.writeInt32BE(correlationId, 8);
  msg.writeInt16BE(clientId.length, 12);
  clientId.copy(msg, 14);
  const complete = (b) => b.length >= 4 && b.length >= 4 + b.readInt32BE(0);
  const r = await exchange(host, port, msg, complete, { timeoutMs });
  if (r.state !== 'reply') return r;
  if (r.reply.length < 10 || r.reply.readInt32BE(4) !== correlationId) {
    return { state: 'foreign', detail: 'reply is not a Kafka ApiVersions response' };
  }
  // 0, or 35 UNSUPPORTED_VERSION (a broker that dropped v0 still answers with its version
  // ranges): either way a Kafka broker is serving requests.
  const errorCode = r.reply.readInt16BE(8);
  if (errorCode !== 0 && errorCode !== 35) return { state: 'foreign', detail: `ApiVersions error_code ${errorCode}` };
  return { state: 'ok', detail: 'ApiVersions answered' };
}

/** The first of `brokers` that answers (with `broker` set to it), else the last one's answer. */
export async function probeKafkaAny(brokers, options = {}) {
  let last = { state: 'down', detail: 'no brokers' };
  for (const broker of brokers) {
    last = await probeKafka({ ...broker, ...options });
    if (last.state === 'ok') return { ...last, broker };
  }
  return last;
}
