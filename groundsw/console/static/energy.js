// The Energy view (ours alone: no console we know of links the power and energy budget to
// the job queue): the power manager's picture now (battery, budget, sun), the eclipse
// ahead and the budget it forecasts over it, the battery forecast over the orbit ahead,
// the passes ahead, the compute planned on each
// board (the executor's commanded caps) against what each may draw (the thermal guard's
// caps), and for each queued job why it waits.
//
// Everything comes from the archive through the API: the latest sample of each channel
// (GET /api/telemetry/channels, every POLL_MS), the predicted passes and the queued jobs.

import { api, el } from "./api.js";

const POLL_MS = 2000;
const PB = "power.power_budget.";
const CAPS = "thermal.thermal_caps.cap_w."; // an array field: one channel per element
const PLAN = "executor.executor_status.board_cap_w."; // the power each board is commanded now
const SOC_FC = `${PB}forecast_soc.`; // the battery forecast: SOC at t0 + i * step (one orbit)

function fmt(v, digits = 0, unit = "") {
  return v === undefined || v === null || Number.isNaN(v) ? "-" : `${Number(v).toFixed(digits)}${unit}`;
}

const TIMELINE_S = 3 * 3600; // the timeline shows the next three hours

// An SVG of w x h with its test id, and add(tag, attrs, text) that appends an element to it.
function svgCanvas(w, h, testid) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", String(w));
  svg.setAttribute("data-testid", testid);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    svg.append(e);
    return e;
  };
  return { svg, add };
}

// The next hours as a bar: sunlight (gold), the eclipse ahead (dark) and the passes (blue).
function timelineSvg(eclipseInS, eclipseS, passesAhead, nowS) {
  const w = 720, h = 56, pad = 8;
  const x = (t) => pad + (w - 2 * pad) * Math.min(Math.max(t, 0), TIMELINE_S) / TIMELINE_S;
  const { svg, add } = svgCanvas(w, h, "energy-timeline");
  add("rect", { x: x(0), y: 4, width: x(TIMELINE_S) - x(0), height: 18, fill: "#8a6d00", "data-kind": "sun" });
  if (eclipseInS >= 0 && eclipseS > 0) {
    add("rect", { x: x(eclipseInS), y: 4, width: x(eclipseInS + eclipseS) - x(eclipseInS), height: 18,
      fill: "#222844", "data-kind": "eclipse" });
  }
  for (const p of passesAhead) {
    add("rect", { x: x(p.aos_t_s - nowS), y: 26, width: Math.max(2, x(p.los_t_s - nowS) - x(p.aos_t_s - nowS)),
      height: 10, fill: "#2f8fdd", "data-kind": "pass" });
  }
  add("text", { x: pad, y: h - 4, fill: "#aaa", "font-size": 11 },
    "now .. +3 h: sunlight gold, eclipse dark (the power manager's forecast), passes blue");
  return svg;
}

// The battery forecast the power manager made with its budget forecast (every budget
// spent in full: the charge errs low), over the orbit ahead, against the charge it holds
// at an eclipse's end (floor, margin and buffer: dashed) and the floor (red).
function socForecastSvg(points, stepS, t0S, nowS, holdSoc, floorSoc) {
  const w = 720, h = 150, padL = 40, padR = 8, padT = 8, padB = 22;
  const spanS = Math.max(stepS * (points.length - 1), 1);
  const x = (t) => padL + (w - padL - padR) * Math.min(Math.max(t, 0), spanS) / spanS;
  const y = (soc) => padT + (h - padT - padB) * (1 - Math.min(Math.max(soc, 0), 1));
  const { svg, add } = svgCanvas(w, h, "energy-soc-forecast");
  for (const soc of [0, 0.5, 1]) {
    add("line", { x1: padL, x2: w - padR, y1: y(soc), y2: y(soc), stroke: "#444" });
    add("text", { x: 2, y: y(soc) + 4, fill: "#aaa", "font-size": 11 }, `${Math.round(100 * soc)} %`);
  }
  if (floorSoc !== null) {
    add("line", { x1: padL, x2: w - padR, y1: y(floorSoc), y2: y(floorSoc), stroke: "#d33", "data-kind": "floor" });
  }
  if (holdSoc !== null) {
    add("line", { x1: padL, x2: w - padR, y1: y(holdSoc), y2: y(holdSoc), stroke: "#c90",
      "stroke-dasharray": "6 4", "data-kind": "hold" });
  }
  add("polyline", { points: points.map((soc, i) => `${x(i * stepS).toFixed(1)},${y(soc).toFixed(1)}`).join(" "),
    fill: "none", stroke: "#4caf50", "stroke-width": 2, "data-kind": "soc", "data-points": points.length });
  if (nowS >= t0S && nowS - t0S <= spanS) {
    add("line", { x1: x(nowS - t0S), x2: x(nowS - t0S), y1: padT, y2: h - padB, stroke: "#fff", "data-kind": "now" });
  }
  add("text", { x: padL, y: h - 6, fill: "#aaa", "font-size": 11 },
    `SOC from the forecast made at sim ${t0S.toFixed(0)} s, over ${(spanS / 60).toFixed(0)} min ` +
    "(white: now; dashed: held at eclipse end; red: floor)");
  return svg;
}

export function energyView(root) {
  const now = el("table", { "data-testid": "energy-now" });
  const forecast = el("div");
  const socForecast = el("div", { "data-testid": "energy-soc-forecast-box", text: "no battery forecast yet" });
  const passes = el("table", { "data-testid": "energy-passes" });
  const boards = el("table", { "data-testid": "energy-boards" });
  const waits = el("table", { "data-testid": "energy-waits" });
  root.replaceChildren(el("div", { class: "sunsched-view" },
    el("h2", { text: "Power and energy now" }), now,
    el("h2", { text: "Sunlight, eclipse and passes ahead" }), forecast,
    el("h2", { text: "Battery forecast" }), socForecast,
    el("h2", { text: "Passes ahead" }), passes,
    el("h2", { text: "Compute planned on each board, and what it may draw" }), boards,
    el("h2", { text: "Why queued jobs wait" }), waits));

  let lastPower = null;
  let lastPasses = [];
  let nowS = 0;
  function drawTimeline() {
    if (lastPower === null) return;
    forecast.replaceChildren(timelineSvg(lastPower[`${PB}next_eclipse_in_s`], lastPower[`${PB}next_eclipse_s`],
      lastPasses, nowS));
  }

  let floorSoc = null;
  let socStep = { t_ns: null, step_s: 0 }; // the forecast's step, read once per forecast

  async function drawSocForecast(channels, v) {
    const first = channels.find((c) => c.channel === `${SOC_FC}0`);
    if (!first) return;
    // the points of the latest forecast: those written with its first point
    const pts = channels.filter((c) => c.channel.startsWith(SOC_FC) && c.last_t_ns === first.last_t_ns)
      .map((c) => [Number(c.channel.slice(SOC_FC.length)), c.last_value]).sort((a, b) => a[0] - b[0]);
    const points = [];
    for (const [i, soc] of pts) { if (i !== points.length) break; points.push(soc); }
    if (socStep.t_ns !== first.last_t_ns) { // the step comes with the forecast (0 in the budgets between)
      const got = await api(`/telemetry?channel=${PB}forecast_soc_step_s&since=${first.last_t_s - 0.5}` +
        `&until=${first.last_t_s + 0.5}&max_points=100`);
      const step = got.points.map((p) => p.value).find((x) => x > 0);
      socStep = { t_ns: first.last_t_ns, step_s: step || 0 };
    }
    if (points.length < 2 || !(socStep.step_s > 0)) return;
    const cap = v[`${PB}battery_capacity_wh`];
    const hold = cap > 0 ? v[`${PB}hold_wh`] / cap : null;
    socForecast.replaceChildren(socForecastSvg(points, socStep.step_s, first.last_t_s, nowS, hold, floorSoc));
  }

  async function poll() {
    const { channels } = await api("/telemetry/channels");
    const v = Object.fromEntries(channels.map((c) => [c.channel, c.last_value]));
    if (floorSoc === null) {
      const lim = (await api("/telemetry/limits")).limits[`${PB}battery_soc`];
      floorSoc = lim && lim.CRITICAL ? lim.CRITICAL.low : null;
    }
    await drawSocForecast(channels, v);
    const row = (k, val) => el("tr", {}, el("th", { text: k }), el("td", { text: val }));
    now.replaceChildren(
      row("battery", `${fmt(100 * v[`${PB}battery_soc`], 1, " %")}  (${fmt(v[`${PB}battery_charge_wh`])} of ` +
        `${fmt(v[`${PB}battery_capacity_wh`])} Wh; held at eclipse end ${fmt(v[`${PB}hold_wh`])} Wh)`),
      row("compute budget", fmt(v[`${PB}compute_budget_w`], 0, " W")),
      row("solar", `${fmt(v[`${PB}solar_power_w`], 0, " W")} (mean in sunlight ${fmt(v[`${PB}solar_mean_w`], 0, " W")})`),
      row("platform (housekeeping and heaters)", fmt(v[`${PB}platform_w`], 0, " W")),
      row("next eclipse", v[`${PB}next_eclipse_in_s`] < 0 ? "none forecast"
        : v[`${PB}next_eclipse_in_s`] === 0 ? `in eclipse, ${fmt(v[`${PB}next_eclipse_s`] / 60, 1)} min left`
          : `in ${fmt(v[`${PB}next_eclipse_in_s`] / 60, 1)} min, for ${fmt(v[`${PB}next_eclipse_s`] / 60, 1)} min`));
    lastPower = v;
    drawTimeline();
    const index = (k) => Number(k.slice(CAPS.length));
    const caps = Object.keys(v).filter((k) => k.startsWith(CAPS)).sort((a, b) => index(a) - index(b));
    const planned = (k) => v[`${PLAN}${index(k)}`];
    boards.replaceChildren(el("tr", {}, el("th", { text: "board" }), ...caps.map((k) => el("th", { text: String(index(k)) }))),
      el("tr", { "data-testid": "energy-planned" }, el("th", { text: "planned [W]" }),
        ...caps.map((k) => el("td", { text: planned(k) === undefined ? "-" : planned(k) > 0 ? fmt(planned(k)) : "idle" }))),
      el("tr", {}, el("th", { text: "thermal cap [W]" }), ...caps.map((k) => el("td", { text: fmt(v[k]) }))));
  }

  async function slow() {
    const st = await api("/status");
    const got = await api("/passes?predicted=true&since=-1800&limit=20");
    const ahead = got.passes.filter((p) => p.los_t_s > st.now.t_s).slice(0, 5);
    lastPasses = ahead;
    nowS = st.now.t_s;
    drawTimeline();
    passes.replaceChildren(el("tr", {}, ...["station", "AOS (UTC)", "LOS (UTC)", "max elevation"].map((h) => el("th", { text: h }))),
      ...ahead.map((p) => el("tr", { "data-testid": "energy-pass" }, el("td", { text: p.station }),
        el("td", { text: p.aos_utc }), el("td", { text: p.los_utc }), el("td", { text: fmt(p.max_elev_deg, 0, " deg") }))));
    const queued = (await api("/jobs?stage=ACCEPTED&limit=30")).jobs;
    waits.replaceChildren(el("tr", {}, ...["job", "priority", "work [GPU-s]", "waits for"].map((h) => el("th", { text: h }))),
      ...queued.map((j) => el("tr", {}, el("td", { text: j.job_id }), el("td", { text: j.priority }),
        el("td", { text: fmt(j.work_gpu_s) }), el("td", { "data-testid": "wait-reason", text: j.wait_reason || "-" }))));
  }

  let timers = [];
  const run = (f, ms) => { f().catch(() => {}); timers.push(setInterval(() => f().catch(() => {}), ms)); };
  run(poll, POLL_MS);
  run(slow, 5 * POLL_MS);
  return () => { for (const t of timers) clearInterval(t); timers = []; };
}
