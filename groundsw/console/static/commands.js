// The Commands view: a sender built from the API's command dictionary (arguments with what
// each expects; the API validates and names the field it refuses), critical commands
// marked and held for an approver (two-person rule: not their sender), and the history:
// one row per command with its arguments, sender, approver and every stage, live over the
// /api/ws/jobs stream's command stages.

import { api, el, may, session, stageTrail, Stream } from "./api.js";

export function commandsView(root) {
  const rows = new Map(); // cmd_id -> <tr>
  const status = el("p", { class: "note", "data-testid": "cmd-status", role: "status" });
  const body = el("tbody");
  const table = el("table", { "data-testid": "commands-table" },
    el("thead", {}, el("tr", {}, ...["#", "command", "arguments", "sender", "queued (UTC)", "approval", "stage", "stages"]
      .map((h) => el("th", { text: h })))), body);

  function render(cmd) {
    let tr = rows.get(cmd.cmd_id);
    if (!tr) {
      tr = el("tr", { "data-cmd": String(cmd.cmd_id) });
      rows.set(cmd.cmd_id, tr);
      body.prepend(tr);
    }
    const approval = el("td");
    if (cmd.critical) {
      approval.textContent = cmd.approved_by ? `approved by ${cmd.approved_by}` : "awaiting an approver";
      if (cmd.awaiting_approval && may("approver") && cmd.sender !== session.me.name) {
        approval.append(" ", el("button", { "data-testid": "cmd-approve", onclick: () => approve(cmd.cmd_id) },
          "approve"));
      }
    }
    tr.replaceChildren(
      el("td", { text: String(cmd.cmd_id) }), el("td", { text: cmd.name + (cmd.critical ? " (critical)" : "") }),
      el("td", { text: cmd.args_json || JSON.stringify(cmd.args || {}) }), el("td", { text: cmd.sender || "" }),
      el("td", { text: cmd.queued_utc || "" }), approval,
      el("td", { class: `stage stage-${cmd.stage}`, "data-testid": "cmd-stage", text: cmd.stage }),
      stageTrail(cmd.stages, "cmd-stages"));
  }

  async function refresh(cmdId) {
    render((await api(`/commands/${cmdId}`)).command);
  }

  async function approve(cmdId) {
    try {
      render((await api(`/commands/${cmdId}/approve`, { method: "POST" })).command);
    } catch (e) {
      status.textContent = `refused: ${e.message}`;
      status.classList.add("error");
    }
  }

  const sender = el("form", { "data-testid": "cmd-sender" });
  async function buildSender() {
    const { commands } = await api("/commands/dictionary");
    const select = el("select", { id: "cmd-name", name: "name" },
      ...commands.map((c) => el("option", { value: c.name, text: c.name + (c.critical ? " (critical)" : "") })));
    const args = el("div", { class: "cmd-args" });
    const showArgs = () => {
      const c = commands.find((x) => x.name === select.value);
      args.replaceChildren(...Object.entries(c.args).flatMap(([k, a]) => [
        el("label", { for: `cmd-arg-${k}`, text: `${k}${a.required ? "" : " (optional)"}` }),
        el("input", { id: `cmd-arg-${k}`, name: k, placeholder: a.expected, title: a.expected }),
      ]));
    };
    select.addEventListener("change", showArgs);
    showArgs();
    sender.replaceChildren(el("label", { for: "cmd-name", text: "command" }), select, args, el("span"),
      el("button", { type: "submit", "data-testid": "cmd-send", text: "send" }));
    sender.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const values = {};
      for (const input of args.querySelectorAll("input")) {
        if (input.value === "") continue;
        const n = Number(input.value);
        values[input.name] = input.value.trim() !== "" && Number.isFinite(n) ? n : input.value;
      }
      try {
        const { command } = await api("/commands", { method: "POST", body: { name: select.value, args: values } });
        status.textContent = `queued #${command.cmd_id} ${command.name}` +
          (command.awaiting_approval ? ": critical, awaiting an approver" : "");
        status.classList.remove("error");
        render(command);
      } catch (e) {
        status.textContent = `refused: ${e.message}`;
        status.classList.add("error");
      }
    });
  }

  root.replaceChildren(el("div", { class: "sunsched-view" },
    el("h2", { text: "Send a command" }),
    may("operator") ? sender : el("p", { class: "note", "data-testid": "cmd-not-allowed",
      text: `your role (${session.me.role}) may not send commands` }),
    status, el("h2", { text: "Command history" }), table));
  if (may("operator")) buildSender();
  api("/commands?limit=200").then(({ commands }) => { for (const c of commands) render(c); });
  const stream = new Stream("/ws/jobs", (type, changes) => {
    if (type !== "command_stage") return;
    for (const id of new Set(changes.map((c) => c.cmd_id))) refresh(id);
  });
  return () => stream.close();
}
