// The Link view: the passes (predicted, and as they happened with the bytes each moved),
// what waits for the next pass (jobs and commands QUEUED on the ground, results pending
// on board), and the files received over CFDP with their checks.
//
// Transfers in flight: the station's CFDP receiver writes each open transaction (bytes
// received of the file's size) to the archive as its PDUs come in (GET /api/transfers);
// with it, the downlink backlog on board (the comms app's results_pending and bytes_down
// telemetry) and each file once it has arrived whole.

import { api, el } from "./api.js";

const POLL_MS = 3000;

function table(testid, headers, rows) {
  return el("table", { "data-testid": testid },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { text: h })))), el("tbody", {}, ...rows));
}

export function linkView(root) {
  const backlog = el("p", { "data-testid": "link-backlog" });
  const next = el("div");
  const passes = el("div");
  const files = el("div");
  const transfers = el("div");
  root.replaceChildren(el("div", { class: "sunsched-view" },
    el("h2", { text: "Downlink backlog on board" }), backlog,
    el("h2", { text: "Waiting for the next pass" }), next,
    el("h2", { text: "Passes" }), passes,
    el("h2", { text: "Transfers in flight" }), transfers,
    el("h2", { text: "Files received" }), files));

  async function poll() {
    const [st, ch, jobs, cmds, ps, fs, tr] = await Promise.all([
      api("/status"), api("/telemetry/channels"), api("/jobs?stage=QUEUED&limit=50"),
      api("/commands?stage=QUEUED&limit=50"), api("/passes?since=-7200&limit=50"), api("/files?limit=200"),
      api("/transfers")]);
    const v = Object.fromEntries(ch.channels.map((c) => [c.channel, c.last_value]));
    backlog.textContent = `${v["comms.comms_status.results_pending"] ?? "-"} results pending, ` +
      `${v["comms.comms_status.bytes_down"] ?? "-"} bytes sent down so far`;
    const upcoming = ps.passes.filter((p) => p.predicted && p.los_t_s > st.now.t_s);
    const nextPass = upcoming[0];
    next.replaceChildren(
      el("p", { "data-testid": "link-next-pass", text: nextPass
        ? `next pass: ${nextPass.station} ${nextPass.aos_utc} .. ${nextPass.los_utc}` : "no pass predicted ahead" }),
      table("link-queued", ["what", "id", "detail"], [
        ...jobs.jobs.filter((j) => j.origin === "operator").map((j) => el("tr", {}, el("td", { text: "job" }),
          el("td", { text: j.job_id }), el("td", { text: `${j.kind}, priority ${j.priority}, ${j.work_gpu_s} GPU-s` }))),
        ...cmds.commands.map((c) => el("tr", {}, el("td", { text: "command" }), el("td", { text: String(c.cmd_id) }),
          el("td", { text: c.name + (c.awaiting_approval ? " (awaiting approval: not released)" : "") }))),
      ]));
    passes.replaceChildren(table("link-passes", ["station", "AOS (UTC)", "LOS (UTC)", "kind", "bytes down", "bytes up"],
      ps.passes.map((p) => el("tr", {}, el("td", { text: p.station }), el("td", { text: p.aos_utc }),
        el("td", { text: p.los_utc }), el("td", { text: p.predicted ? "predicted" : "happened" }),
        el("td", { text: String(p.bytes_down ?? "") }), el("td", { text: String(p.bytes_up ?? "") })))));
    const pct = (t) => (t.size_bytes > 0 ? Math.min(100, (100 * t.received_bytes) / t.size_bytes) : 0);
    transfers.replaceChildren(tr.transfers.length === 0
      ? el("p", { "data-testid": "link-transfers-none", text: "none: every file started has arrived whole" })
      : table("link-transfers", ["#", "file", "received", "progress", "state", "since (UTC)"],
        tr.transfers.map((t) => el("tr", { "data-seq": String(t.seq) }, el("td", { text: String(t.seq) }),
          el("td", { text: t.name || "(metadata not yet in)" }),
          el("td", { text: `${t.received_bytes} of ${t.size_bytes >= 0 ? t.size_bytes : "?"} bytes` }),
          el("td", {}, el("progress", { max: "100", value: String(pct(t)) }), el("span", { text: ` ${pct(t).toFixed(0)} %` })),
          el("td", { text: t.state }), el("td", { text: t.started_utc || "" })))));
    files.replaceChildren(table("link-files", ["#", "name", "job", "bytes", "status", "SHA-256", "received (UTC)"],
      fs.files.slice().reverse().map((f) => el("tr", { "data-file": String(f.id) }, el("td", { text: String(f.id) }),
        el("td", { text: f.name }), el("td", { text: f.job_id || "" }), el("td", { text: String(f.size_bytes) }),
        el("td", { text: f.status + (f.reason ? `: ${f.reason}` : "") }), el("td", { text: `${f.sha256.slice(0, 16)}...` }),
        el("td", { text: f.received_utc || "" })))));
  }

  poll().catch(() => {});
  const timer = setInterval(() => poll().catch(() => {}), POLL_MS);
  return () => clearInterval(timer);
}
