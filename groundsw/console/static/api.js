// The console's link to the ground API: the session (token, user), REST calls, resuming
// WebSocket streams, and a small DOM builder shared by the views.

export const session = { token: localStorage.getItem("sunsched.token") || "", me: null };
const ROLE_RANK = { viewer: 0, operator: 1, approver: 2 };

export function may(role) {
  return session.me !== null && ROLE_RANK[session.me.role] >= ROLE_RANK[role];
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.detail ? `${body.field ? body.field + ": " : ""}${body.detail}` : `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
  }
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let detail = null;
    try { detail = await r.json(); } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, detail);
  }
  return raw ? r : r.json();
}

function wsUrl(path, params = {}) {
  const q = new URLSearchParams({ token: session.token, ...params });
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}/api${path}?${q}`;
}

// A stream that reconnects, resuming after the last row id it saw.
export class Stream {
  constructor(path, onRows, resumeKey = "since_id", lastId = {}) {
    this.path = path;
    this.onRows = onRows;
    this.resumeKey = resumeKey;
    this.lastId = { ...lastId };
    this.closed = false;
    this.open();
  }
  open() {
    const params = {};
    for (const [k, v] of Object.entries(this.lastId)) params[k] = v;
    this.ws = new WebSocket(wsUrl(this.path, params));
    this.ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (!msg.rows) return;
      const key = msg.type === "command_stage" ? "since_command_id" : this.resumeKey;
      for (const r of msg.rows) this.lastId[key] = Math.max(this.lastId[key] || 0, r.id);
      this.onRows(msg.type, msg.rows);
    };
    this.ws.onclose = () => { if (!this.closed) setTimeout(() => this.open(), 1000); };
  }
  close() { this.closed = true; this.ws.close(); }
}

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

// A stage history as "QUEUED 00:06:45 > RELEASED 00:15:36 > ...": each stage with its sim
// time of day (UTC); the full timestamp in its tooltip.
export function stageTrail(stages, testid) {
  const cell = el("td", { "data-testid": testid });
  (stages || []).forEach((s, i) => {
    if (i) cell.append(" > ");
    const at = s.utc ? s.utc.slice(11, 19) : "";
    cell.append(el("span", { "data-stage": s.stage, title: s.utc || "" }, s.stage, at ? ` ${at}` : ""));
  });
  return cell;
}
