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

import { api, session, Stream } from "./api.js";
import { alarmsView } from "./alarms.js";
import { commandsView } from "./commands.js";
import { energyView } from "./energy.js";
import { jobsView } from "./jobs.js";
import { linkView } from "./link.js";

const NS = "sunsched";
const ROOT = { namespace: NS, key: "root" };
const TIME_CHANNEL = "power.power_budget.battery_soc";
const TOKEN_KEY = "sunsched.token";

// ------------------------------------------------------------------ login

async function checkToken() {
  if (!session.token) return false;
  try {
    const st = await api("/status");
    session.me = st.user;
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
    session.token = document.getElementById("token").value.trim();
    if (await checkToken()) {
      localStorage.setItem(TOKEN_KEY, session.token);
      location.reload();
    } else {
      document.getElementById("login-error").textContent = "token refused: expected a valid token";
    }
  };
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
    // plots draw the channel's limit lines (Open MCT leaves them off by default)
    configuration: { series: [{ identifier: { namespace: NS, key: channel }, limitLines: true }] },
    telemetry: {
      values: [
        { key: "utc", source: "utc", name: "Time", format: "utc", hints: { domain: 1 } },
        { key: "value", name: channel, unit: unitOf(channel.split(".").filter((part) => !/^\d+$/.test(part)).pop()),
          format: "float", hints: { range: 1 } },
      ],
    },
  };
}

// Event markers: the events at WARNING_LO and above as a telemetry series (its value the
// severity's rank, 2 WARNING_LO .. 4 FATAL; its text the event), drawn as markers on a
// second y-axis of the plots below ("Plots with events"), each a channel overlaid with it.
const EVENTS_KEY = "events.markers";
const SEVERITY_RANK = { WARNING_LO: 2, WARNING_HI: 3, FATAL: 4 };
const MARKED = ["power.power_budget.battery_soc", "power.power_budget.compute_budget_w",
  "executor.executor_status.power_alloc_w", "world.board_sensors.temp_c.0"];
// the power flows on one plot: harvested (solar), used (the bus load) and curtailed (shunted)
const FLOWS = ["world.power_sensors.solar_power_w", "world.power_sensors.load_w", "world.power_sensors.shunt_w"];
const FLOWS_KEY = "plot.power-flows";

function eventsObject() {
  return {
    identifier: { namespace: NS, key: EVENTS_KEY },
    name: "events (WARNING_LO and above)",
    type: "sunsched.events",
    location: `${NS}:root`,
    telemetry: {
      values: [
        { key: "utc", source: "utc", name: "Time", format: "utc", hints: { domain: 1 } },
        { key: "value", name: "severity (2 warning lo, 3 warning hi, 4 fatal)", format: "float", hints: { range: 1 } },
        { key: "text", name: "event", format: "string" },
      ],
    },
  };
}

function markedPlot(key, name, channels) {
  return {
    identifier: { namespace: NS, key },
    name,
    type: "telemetry.plot.overlay",
    location: `${NS}:plots`,
    composition: [...channels.map((c) => ({ namespace: NS, key: c })), { namespace: NS, key: EVENTS_KEY }],
    configuration: {
      series: [
        ...channels.map((c) => ({ identifier: { namespace: NS, key: c }, limitLines: true })),
        { identifier: { namespace: NS, key: EVENTS_KEY }, yAxisId: 2, interpolate: "none", markers: true,
          markerShape: "triangle", markerSize: 10, alarmMarkers: false },
      ],
      additionalYAxes: [{ id: 2, autoscale: false, range: { min: 0, max: 5 }, label: "event severity" }],
    },
  };
}

const eventPoint = (e) => ({ utc: Date.parse(e.utc), value: SEVERITY_RANK[e.severity] || 1, id: e.id,
  text: `${e.severity} ${e.name}: ${e.text}` });

// our views, each a plain-DOM view inside Open MCT: show(root) -> stop()
const VIEWS = [
  { key: "energy", name: "Energy", type: "sunsched.energy", icon: "icon-gauge", show: energyView },
  { key: "alarms", name: "Alarms and events", type: "sunsched.alarms", icon: "icon-bell", show: alarmsView },
  { key: "jobs", name: "Jobs", type: "sunsched.jobs", icon: "icon-tabular-realtime", show: jobsView },
  { key: "commands", name: "Commands", type: "sunsched.commands", icon: "icon-command", show: commandsView },
  { key: "link", name: "Passes and files", type: "sunsched.link", icon: "icon-session", show: linkView },
];

const point = (p) => ({ utc: Date.parse(p.utc), value: p.value, id: p.id });

class Telemetry {
  constructor() {
    this.subs = new Map(); // channel -> Set(callback)
    this.stream = null;
  }
  supportsRequest(o) { return o.type === "sunsched.telemetry" || o.type === "sunsched.events"; }
  supportsSubscribe(o) { return o.type === "sunsched.telemetry" || o.type === "sunsched.events"; }
  async request(o, opts) {
    if (o.type === "sunsched.events") return this.requestEvents(opts);
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
  async requestEvents(opts) {
    const q = new URLSearchParams({ min_severity: "WARNING_LO", limit: "1000" });
    if (opts && opts.strategy === "latest") q.set("limit", "1");
    else {
      if (opts && Number.isFinite(opts.start)) q.set("since", new Date(opts.start).toISOString());
      if (opts && Number.isFinite(opts.end)) q.set("until", new Date(opts.end).toISOString());
    }
    const { events } = await api(`/events?${q}`);
    return events.filter((e) => e.utc && e.severity in SEVERITY_RANK).map(eventPoint);
  }
  subscribeEvents(cb) {
    const stream = new Stream("/ws/events", (type, rows) => {
      if (type !== "event") return;
      for (const e of rows) if (e.utc && e.severity in SEVERITY_RANK) cb(eventPoint(e));
    }, "since_id", {});
    return () => stream.close();
  }
  subscribe(o, cb) {
    if (o.type === "sunsched.events") return this.subscribeEvents(cb);
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
  const views = VIEWS;
  return {
    get(id) {
      if (id.key === "root") {
        return Promise.resolve({
          identifier: ROOT, name: "sunsched", type: "folder", location: "ROOT",
          composition: [...views.map((v) => ({ namespace: NS, key: `view.${v.key}` })),
            { namespace: NS, key: "plots" }, { namespace: NS, key: EVENTS_KEY },
            ...sources.map((s) => ({ namespace: NS, key: `src.${s}` }))],
        });
      }
      if (id.key === "plots") {
        return Promise.resolve({
          identifier: id, name: "Plots with events", type: "folder", location: `${NS}:root`,
          composition: [
            ...(FLOWS.every((c) => channels.includes(c)) ? [{ namespace: NS, key: FLOWS_KEY }] : []),
            ...MARKED.filter((c) => channels.includes(c)).map((c) => ({ namespace: NS, key: `plot.${c}` }))],
        });
      }
      if (id.key === FLOWS_KEY) {
        return Promise.resolve(markedPlot(id.key, "Power: harvested, used, curtailed, with events", FLOWS));
      }
      if (id.key.startsWith("plot.")) {
        const c = id.key.slice(5);
        return Promise.resolve(markedPlot(id.key, `${c.split(".").slice(1).join(".")} with events`, [c]));
      }
      if (id.key === EVENTS_KEY) return Promise.resolve(eventsObject());
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

// ------------------------------------------------------------------ start

// Limit lines on plots (and limit colouring in tables), from GET /api/telemetry/limits.
const LIMIT_COLOURS = { WARNING: "yellow", CRITICAL: "red" };

function limitProvider(limits) {
  const levels = (o) => limits[o.identifier.key] || {};
  return {
    supportsLimits: (o) => o.type === "sunsched.telemetry" && o.identifier.key in limits,
    getLimits: (o) => ({
      limits: () => Promise.resolve(Object.fromEntries(Object.entries(levels(o)).map(([level, lh]) => [level,
        Object.fromEntries(Object.entries(lh).map(([side, v]) => [side, { color: LIMIT_COLOURS[level], value: v }]))]))),
    }),
    getLimitEvaluator: (o) => ({
      evaluate(datum) {
        const byLevel = levels(o);
        for (const level of ["CRITICAL", "WARNING"]) {
          const lh = byLevel[level];
          if (!lh) continue;
          if ("low" in lh && datum.value <= lh.low) return { cssClass: `is-limit--lwr is-limit--${level === "CRITICAL" ? "red" : "yellow"}`, name: `${level} low`, low: true };
          if ("high" in lh && datum.value >= lh.high) return { cssClass: `is-limit--upr is-limit--${level === "CRITICAL" ? "red" : "yellow"}`, name: `${level} high`, high: true };
        }
        return undefined;
      },
    }),
  };
}

function install(openmct, channels, limits) {
  const telemetry = new Telemetry();
  openmct.telemetry.addProvider(limitProvider(limits));
  openmct.types.addType("sunsched.telemetry", { name: "Telemetry channel", cssClass: "icon-telemetry" });
  openmct.types.addType("sunsched.events", { name: "Event markers", cssClass: "icon-bell" });
  for (const v of VIEWS) {
    openmct.types.addType(v.type, { name: v.name, cssClass: v.icon });
    openmct.objectViews.addProvider({
      key: `${v.type}-view`, name: v.name, cssClass: v.icon,
      canView: (o) => o.type === v.type,
      view: () => {
        let stop = null;
        return { show(root) { stop = v.show(root); }, destroy() { if (stop) stop(); } };
      },
    });
  }
  openmct.objects.addRoot(ROOT);
  openmct.objects.addProvider(NS, objectProvider(channels));
  openmct.telemetry.addProvider(telemetry);
}

async function main() {
  if (!(await checkToken())) {
    showLogin(session.token ? "your token was refused: log in again" : "");
    return;
  }
  const me = session.me;
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
  const { limits } = await api("/telemetry/limits");
  install(openmct, names, limits); // first: the Remote Clock asks our provider for its object
  openmct.install(openmct.plugins.UTCTimeSystem());
  openmct.install(openmct.plugins.RemoteClock({ namespace: NS, key: TIME_CHANNEL }));
  // before the first pass nothing has come down: the Remote Clock would never tick (and
  // Open MCT waits for it), so the console starts on a fixed window at the station's time
  const last = channels.find((c) => c.channel === TIME_CHANNEL)?.last_utc;
  const status = await api("/status");
  const now = Date.parse(last || (status.now && status.now.utc) || status.epoch_utc || new Date().toISOString());
  const realtime = { name: "Realtime", timeSystem: "utc", clock: "remote-clock",
    clockOffsets: { start: -30 * 60 * 1000, end: 60 * 1000 } };
  const fixed = { name: "Fixed", timeSystem: "utc", bounds: { start: now - 6 * 3600 * 1000, end: now + 3600 * 1000 } };
  openmct.install(openmct.plugins.Conductor({
    menuOptions: last ? [realtime, fixed] : [fixed, realtime],
  }));
  openmct.install(openmct.plugins.Espresso());
  openmct.start(document.getElementById("app"));
  window.sunsched = { openmct, me, api };
  // the station's sim time in the badge, whatever view is open (plots update it faster)
  const clock = document.getElementById("sim-time");
  setInterval(() => api("/status").then((st) => {
    if (st.now && st.now.utc && !clock.textContent.startsWith("sim ")) clock.textContent = `station ${st.now.utc}`;
  }).catch(() => {}), 5000);
}

main().catch((e) => {
  document.getElementById("login-error").textContent = e.message;
  document.getElementById("login-panel").hidden = false;
});
