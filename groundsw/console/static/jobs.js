// The Jobs view: a builder (the API validates; a refusal names the field), a table with
// one row per job that moves through its stages in place (GET /api/jobs, then the
// /api/ws/jobs stream), and a finished job's result fetched and checked against its SHA-256.

import { api, el, may, session, stageTrail, Stream } from "./api.js";

const FINAL = new Set(["ARCHIVED", "FAILED", "EXPIRED", "REJECTED", "CANCELLED", "LOST"]);

export function jobsView(root) {
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
    // unchanged: keep the row as it is (a re-render would drop a fetched result's link and
    // detach the buttons under the operator's pointer)
    const sig = JSON.stringify([job.stage, stages, job.cancel_requested]);
    if (tr.dataset.sig === sig) return;
    tr.dataset.sig = sig;
    const result = el("td");
    if (!FINAL.has(job.stage) && !job.cancel_requested && may("operator")) {
      result.append(el("button", { "data-testid": "job-cancel", onclick: () => cancel(job.job_id) }, "cancel"));
    } else if (job.cancel_requested && !FINAL.has(job.stage)) {
      result.append("cancel requested");
    }
    if (job.stage === "ARCHIVED" || stages.includes("DOWNLINKED")) {
      result.append(el("button", { "data-testid": "fetch-result", onclick: () => fetchResult(job.job_id, result) },
        "fetch"));
    }
    tr.replaceChildren(
      el("td", { text: job.job_id }), el("td", { text: job.kind }), el("td", { text: job.priority }),
      el("td", { text: job.work_gpu_s }),
      el("td", { class: `stage stage-${job.stage}`, "data-testid": "job-stage", text: job.stage }),
      stageTrail(job.stages, "job-stages"),
      el("td", { text: job.estimate_energy_wh == null ? "" : job.estimate_energy_wh.toFixed(1) }), result);
  }

  async function refresh(jobId) {
    const got = await api(`/jobs/${encodeURIComponent(jobId)}`);
    render(got.job);
  }

  async function cancel(jobId) {
    try {
      render((await api(`/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" })).job);
    } catch (e) {
      status.textContent = `refused: ${e.message}`;
      status.classList.add("error");
    }
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
    el("button", { type: "button", "data-testid": "job-dry-run", text: "dry run", onclick: () => dryRun() }),
    el("button", { type: "submit", "data-testid": "job-submit", text: "submit" }));
  function specOf() {
    const spec = {};
    for (const input of form.querySelectorAll("input, select")) {
      if (input.value === "") continue;
      spec[input.name] = input.type === "number" ? Number(input.value) : input.value;
    }
    return spec;
  }
  async function dryRun() {
    try {
      const got = await api("/jobs/dry-run", { method: "POST", body: specOf() });
      status.textContent = `dry run: valid; about ${got.estimate_energy_wh.toFixed(1)} Wh and ` +
        `${got.estimate_time_s.toFixed(0)} s on board`;
      status.classList.remove("error");
    } catch (e) {
      status.textContent = `refused: ${e.message}`;
      status.classList.add("error");
    }
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const got = await api("/jobs", { method: "POST", body: specOf() });
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
    may("operator") ? form : el("p", { class: "note", text: `your role (${session.me.role}) may not submit jobs` }),
    status, el("h2", { text: "Jobs" }), table));

  api("/jobs?limit=200").then((got) => {
    for (const j of got.jobs) render(j);
    // the list carries no stage history: fetch it for the operators' own jobs (the few a
    // console user follows); the stream brings every later change
    for (const j of got.jobs) if (j.origin === "operator") refresh(j.job_id);
  });
  const stream = new Stream("/ws/jobs", (type, changes) => {
    if (type !== "job_stage") return;
    for (const jobId of new Set(changes.map((c) => c.job_id))) refresh(jobId);
  });
  return () => stream.close();
}
