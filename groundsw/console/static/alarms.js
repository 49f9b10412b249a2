// The Alarms and events view: the alarms (WARNING_HI and FATAL events) that want an
// operator, with acknowledge and shelve (GET /api/alarms, POST .../ack and .../shelve),
// and the event log with a severity filter, live over the /api/ws/events stream.

import { api, el, may, Stream } from "./api.js";

const SEVERITIES = ["FATAL", "WARNING_HI", "WARNING_LO", "COMMAND", "ACTIVITY_HI", "ACTIVITY_LO"];
const SHELVE_MINUTES = 60;
const POLL_MS = 5000; // a shelve ends on the sim clock with no new event: the table is re-read this often

export function alarmsView(root) {
  const status = el("p", { class: "note", "data-testid": "alarm-status", role: "status" });
  const summary = el("p", { "data-testid": "alarm-counts" });
  const alarmBody = el("tbody");
  const alarms = el("table", { "data-testid": "alarms-table" },
    el("thead", {}, el("tr", {}, ...["time", "severity", "source", "event", "text", "state", ""]
      .map((h) => el("th", { text: h })))), alarmBody);

  // the table is rebuilt only when what the API says changed (a rebuild drops the focus and
  // a click on a button it replaces), and only from the newest load (loads may overlap)
  let loads = 0;
  let shownKey = "";
  async function loadAlarms() {
    const mine = ++loads;
    const got = await api("/alarms?state=all&limit=200");
    const key = JSON.stringify([got.counts, got.alarms]);
    if (mine !== loads || key === shownKey) return;
    shownKey = key;
    const c = got.counts || {};
    summary.textContent = `${c.active || 0} active, ${c.acknowledged || 0} acknowledged, ${c.shelved || 0} shelved`;
    alarmBody.replaceChildren(...got.alarms.map((a) => {
      const act = el("td");
      if (may("operator") && a.state !== "acknowledged") {
        act.append(el("button", { "data-testid": "alarm-ack", onclick: () => action(a.event_id, "ack") }, "acknowledge"));
        if (a.state === "active") {
          act.append(" ", el("button", { "data-testid": "alarm-shelve",
            onclick: () => action(a.event_id, "shelve", { minutes: SHELVE_MINUTES }) }, `shelve ${SHELVE_MINUTES} min`));
        }
      }
      const state = a.state === "acknowledged" ? `acknowledged by ${a.acked_by}`
        : a.state === "shelved" ? `shelved by ${a.shelved_by} until ${a.shelved_until_utc || ""}` : "active";
      return el("tr", { "data-alarm": String(a.event_id), "data-state": a.state },
        el("td", { text: a.utc || "" }), el("td", { class: `sev-${a.severity}`, text: a.severity }),
        el("td", { text: a.source }), el("td", { text: a.name }), el("td", { text: a.text }),
        el("td", { "data-testid": "alarm-state", text: state }), act);
    }));
  }

  async function action(eventId, what, body) {
    try {
      await api(`/alarms/${eventId}/${what}`, { method: "POST", body });
      status.textContent = `${what === "ack" ? "acknowledged" : "shelved"} alarm ${eventId}`;
      status.classList.remove("error");
    } catch (e) {
      status.textContent = `refused: ${e.message}`;
      status.classList.add("error");
    }
    await loadAlarms();
  }

  // the event log, newest first, filtered by severity in the page
  const shown = new Set(SEVERITIES);
  const logBody = el("tbody");
  const filters = el("p", { "data-testid": "event-filters" }, "show: ", ...SEVERITIES.map((s) => el("label", {},
    el("input", { type: "checkbox", checked: "", "data-severity": s,
      onchange: (ev) => { if (ev.target.checked) shown.add(s); else shown.delete(s); applyFilter(); } }), ` ${s} `)));
  function applyFilter() {
    for (const tr of logBody.children) tr.hidden = !shown.has(tr.dataset.severity);
  }
  function addEvents(rows) {
    for (const r of rows) {
      const tr = el("tr", { "data-severity": r.severity },
        el("td", { text: r.utc || "" }), el("td", { class: `sev-${r.severity}`, text: r.severity }),
        el("td", { text: r.source }), el("td", { text: r.name }), el("td", { text: r.text }));
      tr.hidden = !shown.has(r.severity);
      logBody.prepend(tr);
    }
    if (rows.some((r) => r.severity === "WARNING_HI" || r.severity === "FATAL")) loadAlarms().catch(() => {});
  }
  const log = el("table", { "data-testid": "events-table" },
    el("thead", {}, el("tr", {}, ...["time", "severity", "source", "event", "text"].map((h) => el("th", { text: h })))),
    logBody);

  const logError = el("p", { class: "note error", "data-testid": "event-log-error", role: "status" });
  root.replaceChildren(el("div", { class: "sunsched-view" },
    el("h2", { text: "Alarms" }), summary, status, alarms,
    el("h2", { text: "Event log" }), logError, filters, log));
  const reload = () => loadAlarms()
    .catch((e) => { shownKey = ""; summary.textContent = `alarms: ${e.message}`; });
  reload();
  const timer = setInterval(reload, POLL_MS);
  let stream = null;
  let stopped = false;
  let retry = null;
  function openLog() {
    api("/events?limit=200").then(({ events }) => {
      if (stopped) return;
      logError.textContent = "";
      addEvents(events);
      // resume after the newest event shown; after 0 when none was (not "from now": an event
      // archived between the GET and the stream's opening would be missed)
      const since = { since_id: events.length ? Math.max(...events.map((e) => e.id)) : 0 };
      stream = new Stream("/ws/events", (type, rows) => { if (type === "event") addEvents(rows); }, "since_id", since);
    }).catch((e) => {
      if (stopped) return;
      logError.textContent = `event log: ${e.message} (retrying)`;
      retry = setTimeout(openLog, POLL_MS);
    });
  }
  openLog();
  return () => { stopped = true; clearInterval(timer); clearTimeout(retry); if (stream) stream.close(); };
}
