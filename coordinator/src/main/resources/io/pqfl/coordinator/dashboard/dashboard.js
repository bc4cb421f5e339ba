// The pqfl coordinator dashboard: polls /api/state every second and fills the page. Every value is set with
// textContent (never as markup): client ids and ledger details come from the federation.
"use strict";

const POLL_MS = 1000;

function text(id, value) {
  const el = document.getElementById(id);
  if (el) {
    el.textContent = value === null || value === undefined ? "–" : String(value);
  }
}

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "–" : String(value);
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
  return td;
}

function fill(tbodyId, items, render) {
  const body = document.getElementById(tbodyId);
  const rows = items.map((item) => {
    const tr = document.createElement("tr");
    render(tr, item);
    return tr;
  });
  body.replaceChildren(...rows);
}

function time(iso) {
  if (!iso) {
    return null;
  }
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

function fixed(x, digits) {
  return typeof x === "number" ? x.toFixed(digits) : null;
}

function render(state) {
  const f = state.federation;
  text("federation-id", f.id);
  text("stage", f.stage);
  text("current-round", f.currentRound);
  text("total-rounds", f.totalRounds);
  text("closed-rounds", f.closedRounds);
  text("connected-clients", f.connectedClients);
  text("coordinator-key", f.coordinatorKeyId);
  text("coordinator-scheme", f.coordinatorScheme);
  text("transport", f.transport);
  text("model-digest", f.modelDigest ? "sha512:" + f.modelDigest.slice(0, 16) + "…" : null);
  text("model-round", f.modelRound);
  text("accepted-total", state.updates.accepted);
  text("rejected-total", state.updates.rejected);

  const r = state.round;
  text("round-in-progress", r ? `round ${r.round}: ${r.sampled} clients sampled, ${r.acceptedSoFar} accepted and `
      + `${r.rejectedSoFar} rejected so far, deadline ${time(r.deadline)}` : "none");

  fill("rejections", Object.entries(state.updates.rejectedByReason), (tr, [reason, n]) => {
    tr.dataset.reason = reason;
    cell(tr, reason, "reason");
    cell(tr, n);
  });

  fill("rounds", state.rounds, (tr, row) => {
    tr.dataset.round = row.round;
    cell(tr, row.round);
    cell(tr, row.state);
    cell(tr, row.sampled);
    cell(tr, row.accepted);
    cell(tr, row.rejected);
    const acc = cell(tr, fixed(row.accuracy, 4));
    if (typeof row.accuracy === "number") {
      const meter = document.createElement("meter");
      meter.min = 0;
      meter.max = 1;
      meter.value = row.accuracy;
      acc.appendChild(meter);
    }
    cell(tr, fixed(row.loss, 4));
    cell(tr, row.evaluation);
    cell(tr, time(row.closedAt));
  });

  text("clients-known", state.clients.known);
  fill("clients", state.clients.recent, (tr, c) => {
    tr.dataset.client = c.id;
    cell(tr, c.id);
    cell(tr, c.event, "event-" + c.event);
    cell(tr, c.round || null);
    cell(tr, c.reason, "reason");
    cell(tr, time(c.lastSeen));
  });

  fill("ledger", state.ledger, (tr, e) => {
    tr.dataset.kind = e.kind;
    cell(tr, e.seq);
    cell(tr, e.kind);
    cell(tr, e.round);
    cell(tr, e.client);
    cell(tr, e.reason, "reason");
    cell(tr, e.detail, "detail");
    cell(tr, time(e.recordedAt));
  });
}

async function poll() {
  const status = document.getElementById("connection");
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    render(await response.json());
    const group = response.headers.get("X-Pqfl-Tls-Group");
    text("page-connection", group ? `TLS 1.3, ${group}` + (group === "X25519MLKEM768" ? "" : " (not post-quantum: a classical key exchange)")
        : (location.protocol === "https:" ? "TLS" : "plaintext HTTP (not confidential)"));
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.className = "connection ok";
  } catch (e) {
    status.textContent = `cannot reach the coordinator (${e.message}); retrying`;
    status.className = "connection lost";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
