// The sunsched operator console: Open MCT with our plugin over the ground API.
//
// - login: a bearer token (kept in localStorage), checked against GET /api/status, which
//   also names the user's role; the role decides which controls are shown (the API
//   enforces it regardless).
// - telemetry: every archived channel is a telemetry object in the "sunsched" tree,
//   grouped by its source process; history from GET /api/telemetry (time-range queries on
//   the archive), realtime from the /api/ws/telemetry WebSocket; time is the sim's UTC
//   (the Remote Clock follows the battery SOC's timestamps: the sim runs faster than the
//   wall clock, so Open MCT's local clock would show the wrong window).
// - jobs: a builder (validated by the API, errors name the field) and a table with one row
//   per job that moves through its stages in place (GET /api/jobs, then /api/ws/jobs);
//   a finished job's result is fetched and checked against its SHA-256.

const NS = "sunsched";
const ROOT = { namespace: NS, key: "root" };
const TIME_CHANNEL = "power.power_budget.battery_soc";
const TOKEN_KEY = "sunsched.token";
const ROLE_RANK = { viewer: 0, operator: 1, approver: 2 };

let token = localStorage.getItem(TOKEN_KEY) || "";
let me = null; // {name, role}

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.detail ? `${body.field ? body.field + ": " : ""}${body.detail}` : `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
  }
}

async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
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
  const q = new URLSearchParams({ token, ...params });
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}/api${path}?${q}`;
}

// A stream that reconnects, resuming after the last row id it saw.
class Stream {
  constructor(path, onRows, resumeKey = "since_id") {
    this.path = path;
    this.onRows = onRows;
    this.resumeKey = resumeKey;
    this.lastId = {};
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

// ------------------------------------------------------------------ login

async function checkToken() {
  if (!token) return false;
  try {
    const st = await api("/status");
    me = st.user;
    return true;
  } catch (e) {
    if (e.status === 401 || e.status === 403) return false;
    throw e;
  }
}

function showLogin(message = "") {
  document.getElementById("login-panel").hidden = false;
  document.getElementById("login-error").textContent = message;
  document.getElementById("login-form").onsubmit = async (ev) => {
    ev.preventDefault();
    token = document.getElementById("token").value.trim();
    if (await checkToken()) {
      localStorage.setItem(TOKEN_KEY, token);
      location.reload();
    } else {
      document.getElementById("login-error").textContent = "token refused: expected a valid token";
    }
  };
}

function may(role) {
  return me && ROLE_RANK[me.role] >= ROLE_RANK[role];
}

// ------------------------------------------------------------------ telemetry

function unitOf(name) {
  const units = [["_gpu_s", "GPU-s"], ["_wh", "Wh"], ["_w", "W"], ["_c", "degC"], ["_bps", "bit/s"],
    ["_s", "s"], ["_bytes", "bytes"], ["_soc", ""]];
  for (const [suffix, unit] of units) if (name.endsWith(suffix)) return unit;
  return "";
}

function channelObject(channel) {
  return {
    identifier: { namespace: NS, key: channel },
    name: channel.split(".").slice(1).join("."),
    type: "sunsched.telemetry",
    location: `${NS}:src.${channel.split(".")[0]}`,
    telemetry: {
      values: [
        { key: "utc", source: "utc", name: "Time", format: "utc", hints: { domain: 1 } },
        { key: "value", name: channel, unit: unitOf(channel.split(".").pop().replace(/\[\d+\]$/, "")),
          format: "float", hints: { range: 1 } },
      ],
    },
  };
}

const point = (p) => ({ utc: Date.parse(p.utc), value: p.value, id: p.id });

class Telemetry {
  constructor() {
    this.subs = new Map(); // channel -> Set(callback)
    this.stream = null;
  }
  supportsRequest(o) { return o.type === "sunsched.telemetry"; }
  supportsSubscribe(o) { return o.type === "sunsched.telemetry"; }
  async request(o, opts) {
    const q = new URLSearchParams({ channel: o.identifier.key, max_points: "2000" });
    if (opts && opts.strategy === "latest") {
      const { channels } = await api("/telemetry/channels");
      const last = channels.find((c) => c.channel === o.identifier.key);
      return last && last.last_utc ? [{ utc: Date.parse(last.last_utc), value: last.last_value }] : [];
    }
    if (opts && Number.isFinite(opts.start)) q.set("since", new Date(opts.start).toISOString());
    if (opts && Number.isFinite(opts.end)) q.set("until", new Date(opts.end).toISOString());
    const got = await api(`/telemetry?${q}`);
    return got.points.map(point);
  }
  subscribe(o, cb) {
    const ch = o.identifier.key;
    if (!this.subs.has(ch)) this.subs.set(ch, new Set());
    this.subs.get(ch).add(cb);
    if (!this.stream) {
      this.stream = new Stream("/ws/telemetry", (type, rows) => {
        for (const r of rows) {
          const set = this.subs.get(r.channel);
          if (set && r.utc) for (const f of set) f(point(r));
          if (r.channel === TIME_CHANNEL) document.getElementById("sim-time").textContent = `sim ${r.utc}`;
        }
      });
    }
    return () => this.subs.get(ch).delete(cb);
  }
}

// ------------------------------------------------------------------ the tree

function objectProvider(channels) {
  const sources = [...new Set(channels.map((c) => c.split(".")[0]))].sort();
  const views = [
    { key: "jobs", name: "Jobs", type: "sunsched.jobs" },
  ];
  return {
    get(id) {
      if (id.key === "root") {
        return Promise.resolve({
          identifier: ROOT, name: "sunsched", type: "folder", location: "ROOT",
          composition: [...views.map((v) => ({ namespace: NS, key: `view.${v.key}` })),
            ...sources.map((s) => ({ namespace: NS, key: `src.${s}` }))],
        });
      }
      if (id.key.startsWith("view.")) {
        const v = views.find((x) => `view.${x.key}` === id.key);
        return Promise.resolve({ identifier: id, name: v.name, type: v.type, location: `${NS}:root` });
      }
      if (id.key.startsWith("src.")) {
        const src = id.key.slice(4);
        return Promise.resolve({
          identifier: id, name: src, type: "folder", location: `${NS}:root`,
          composition: channels.filter((c) => c.startsWith(`${src}.`)).map((c) => ({ namespace: NS, key: c })),
        });
      }
      return Promise.resolve(channelObject(id.key));
    },
  };
}

// ------------------------------------------------------------------ jobs

const FINAL = new Set(["ARCHIVED", "FAILED", "EXPIRED", "REJECTED", "CANCELLED", "LOST"]);

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function jobsView(root) {
  const rows = new Map(); // job_id -> <tr>
  const status = el("p", { class: "note", "data-testid": "job-status", role: "status" });
  const body = el("tbody");
  const table = el("table", { "data-testid": "jobs-table" },
    el("thead", {}, el("tr", {}, ...["job", "kind", "priority", "work [GPU-s]", "stage", "stages", "energy [Wh]", "result"]
      .map((h) => el("th", { text: h })))), body);

  function render(job) {
    let tr = rows.get(job.job_id);
    if (!tr) {
      tr = el("tr", { "data-job": job.job_id });
      rows.set(job.job_id, tr);
      body.prepend(tr);
    }
    const stages = (job.stages || []).map((s) => s.stage);
    const result = el("td");
    if (job.stage === "ARCHIVED" || stages.includes("DOWNLINKED")) {
      result.append(el("button", { "data-testid": "fetch-result", onclick: () => fetchResult(job.job_id, result) },
        "fetch"));
    }
    tr.replaceChildren(
      el("td", { text: job.job_id }), el("td", { text: job.kind }), el("td", { text: job.priority }),
      el("td", { text: job.work_gpu_s }),
      el("td", { class: `stage stage-${job.stage}`, "data-testid": "job-stage", text: job.stage }),
      el("td", { "data-testid": "job-stages", text: stages.join(" > ") }),
      el("td", { text: job.estimate_energy_wh == null ? "" : job.estimate_energy_wh.toFixed(1) }), result);
  }

  async function refresh(jobId) {
    const got = await api(`/jobs/${encodeURIComponent(jobId)}`);
    render(got.job);
  }

  async function fetchResult(jobId, cell) {
    try {
      const r = await api(`/jobs/${encodeURIComponent(jobId)}/result`, { raw: true });
      const data = new Uint8Array(await r.arrayBuffer());
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
      const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      const ok = hex === r.headers.get("X-Sha256");
      const url = URL.createObjectURL(new Blob([data]));
      cell.replaceChildren(el("a", { href: url, download: `${jobId}.bin`, "data-testid": "result-link",
        "data-bytes": String(data.length), "data-verified": String(ok),
        text: `${data.length} bytes, SHA-256 ${ok ? "verified" : "MISMATCH"}` }));
    } catch (e) {
      cell.replaceChildren(el("span", { class: "error", text: e.message }));
    }
  }

  const form = el("form", { "data-testid": "job-builder" },
    el("label", { for: "jb-kind", text: "kind" }),
    el("select", { id: "jb-kind", name: "kind" }, el("option", { text: "synthetic" }), el("option", { text: "matmul" })),
    el("label", { for: "jb-priority", text: "priority" }),
    el("input", { id: "jb-priority", name: "priority", type: "number", value: "2" }),
    el("label", { for: "jb-work", text: "work [GPU-s]" }),
    el("input", { id: "jb-work", name: "work_gpu_s", type: "number", step: "any", value: "5" }),
    el("label", { for: "jb-boards", text: "boards" }),
    el("input", { id: "jb-boards", name: "boards_needed", type: "number", value: "1" }),
    el("label", { for: "jb-out", text: "output [bytes]" }),
    el("input", { id: "jb-out", name: "output_bytes", type: "number", value: "4096" }),
    el("label", { for: "jb-deadline", text: "deadline in [s] (optional)" }),
    el("input", { id: "jb-deadline", name: "deadline_in_s", type: "number", step: "any" }),
    el("span"), el("button", { type: "submit", "data-testid": "job-submit", text: "submit" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const spec = {};
    for (const input of form.querySelectorAll("input, select")) {
      if (input.value === "") continue;
      spec[input.name] = input.type === "number" ? Number(input.value) : input.value;
    }
    try {
      const got = await api("/jobs", { method: "POST", body: spec });
      status.textContent = `submitted ${got.job.job_id}: ${got.job.stage}, about ` +
        `${got.job.estimate_energy_wh.toFixed(1)} Wh and ${got.job.estimate_time_s.toFixed(0)} s on board`;
      status.dataset.jobId = got.job.job_id;
      status.classList.remove("error");
      render(got.job);
    } catch (e) {
      status.textContent = `refused: ${e.message}`;
      status.classList.add("error");
    }
  });

  root.replaceChildren(el("div", { class: "sunsched-view" },
    el("h2", { text: "New job" }),
    may("operator") ? form : el("p", { class: "note", text: `your role (${me.role}) may not submit jobs` }),
    status, el("h2", { text: "Jobs" }), table));

  api("/jobs?limit=200").then((got) => {
    for (const j of got.jobs) render(j);
  });
  const stream = new Stream("/ws/jobs", (type, changes) => {
    if (type !== "job_stage") return;
    for (const jobId of new Set(changes.map((c) => c.job_id))) refresh(jobId);
  });
  return () => stream.close();
}

// ------------------------------------------------------------------ start

function install(openmct, channels) {
  const telemetry = new Telemetry();
  openmct.types.addType("sunsched.telemetry", { name: "Telemetry channel", cssClass: "icon-telemetry" });
  openmct.types.addType("sunsched.jobs", { name: "Jobs", cssClass: "icon-tabular-realtime" });
  openmct.objects.addRoot(ROOT);
  openmct.objects.addProvider(NS, objectProvider(channels));
  openmct.telemetry.addProvider(telemetry);
  openmct.objectViews.addProvider({
    key: "sunsched.jobs-view", name: "Jobs", cssClass: "icon-tabular-realtime",
    canView: (o) => o.type === "sunsched.jobs",
    view: () => {
      let stop = null;
      return { show(root) { stop = jobsView(root); }, destroy() { if (stop) stop(); } };
    },
  });
}

async function main() {
  if (!(await checkToken())) {
    showLogin(token ? "your token was refused: log in again" : "");
    return;
  }
  document.getElementById("who").textContent = `${me.name} (${me.role})`;
  const out = document.getElementById("logout");
  out.hidden = false;
  out.onclick = () => { localStorage.removeItem(TOKEN_KEY); location.reload(); };
  if (typeof window.openmct === "undefined") {
    document.getElementById("no-openmct").hidden = false;
    return;
  }
  const { channels } = await api("/telemetry/channels");
  const names = channels.map((c) => c.channel);
  const openmct = window.openmct;
  openmct.setAssetPath("openmct/");
  install(openmct, names); // first: the Remote Clock asks our provider for its object
  openmct.install(openmct.plugins.UTCTimeSystem());
  openmct.install(openmct.plugins.RemoteClock({ namespace: NS, key: TIME_CHANNEL }));
  const now = Date.parse(channels.find((c) => c.channel === TIME_CHANNEL)?.last_utc || new Date().toISOString());
  openmct.install(openmct.plugins.Conductor({
    menuOptions: [
      { name: "Realtime", timeSystem: "utc", clock: "remote-clock", clockOffsets: { start: -30 * 60 * 1000, end: 60 * 1000 } },
      { name: "Fixed", timeSystem: "utc", bounds: { start: now - 6 * 3600 * 1000, end: now } },
    ],
  }));
  openmct.install(openmct.plugins.Espresso());
  openmct.start(document.getElementById("app"));
  window.sunsched = { openmct, me };
}

main().catch((e) => {
  document.getElementById("login-error").textContent = e.message;
  document.getElementById("login-panel").hidden = false;
});
