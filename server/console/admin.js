/*
 * admin.js - the operator console's views for admins (docs/CONSOLE.md): the audit log
 * (#/audit?token=ID&action=A) and the API tokens (#/tokens). Loaded after app.js, whose helpers
 * (el, api, table, fill, refresh, state, can) it uses, and whose router shows these views to the
 * admin role only (a viewer's or operator's call of these routes is a 403 from fotad anyway).
 * The audit log is paged by fotad (before= the oldest seq shown, after= for the way back), newest
 * first; a token's secret is shown once, in the answer that made it, and never again.
 */
"use strict";

const AUDIT_PAGE = 50;

/* The admin API's writes, as the audit log names them (METHOD and route pattern, server/router.c). */
const AUDIT_ACTIONS = [
  "POST /api/admin/releases", "POST /api/admin/products", "POST /api/admin/assignments",
  "POST /api/admin/device-tags", "POST /api/admin/legacy",
  "POST /api/admin/enrollments/approve", "POST /api/admin/enrollments/reject",
  "POST /api/admin/enrollments/delete", "POST /api/admin/rollouts",
  "POST /api/admin/rollouts/{id}/start", "POST /api/admin/rollouts/{id}/pause",
  "POST /api/admin/rollouts/{id}/resume", "POST /api/admin/rollouts/{id}/cancel",
  "POST /api/admin/rollouts/{id}/install", "POST /api/admin/rollouts/{id}/update",
  "POST /api/admin/tokens", "POST /api/admin/tokens/{id}/revoke",
];

/* The colour of an HTTP status: done, refused, failed. */
function statusBadge(s) {
  const cls = s >= 500 ? "bad" : s >= 400 ? "warn" : s >= 200 && s < 300 ? "ok" : "";
  return el("span", { class: `badge ${cls}`, "data-k": "status", "data-class": `${Math.floor(s / 100)}xx` }, s);
}

/* "3f9a0c1d2e4b (ci deploy)" from the tokens' list, or the id alone. */
function tokenLabel(id, names) {
  return names[id] ? `${id} (${names[id]})` : id;
}

async function tokenNames() {
  const tl = await api("tokens");
  const names = { bootstrap: "" };
  for (const t of tl.tokens) names[t.id] = t.name;
  return { names, tokens: tl.tokens };
}

/* ---- audit log ----------------------------------------------------------------------------- */

/* The filters of the hash, and its page size (#/audit?limit=N, 1..1000, else AUDIT_PAGE). */
function auditFilters(params) {
  const n = Number(params.get("limit"));
  return {
    token: params.get("token") || "",
    action: params.get("action") || "",
    limit: Number.isInteger(n) && n >= 1 && n <= 1000 ? n : AUDIT_PAGE,
  };
}

views.audit = {
  admin: true,
  before: null, /* the page's start: null for the newest rows (followed live), else a seq */

  frame(root, route) {
    const f = auditFilters(route.params);
    views.audit.before = null;
    const form = el("form", { class: "filters", id: "audit-filters", onsubmit: (e) => {
      e.preventDefault();
      const limit = f.limit === AUDIT_PAGE ? "" : f.limit;
      location.hash = `#/audit${query({ token: e.target.token.value, action: e.target.action.value, limit })}`;
    } },
      el("div", {}, el("label", { for: "audit-token" }, "Token"),
        el("select", { id: "audit-token", name: "token" }, el("option", { value: "" }, "any"),
          f.token ? el("option", { value: f.token, selected: true }, f.token) : null)),
      el("div", {}, el("label", { for: "audit-action" }, "Action"),
        el("select", { id: "audit-action", name: "action" }, el("option", { value: "" }, "any"),
          [...new Set([...AUDIT_ACTIONS, f.action].filter(Boolean))].map((a) =>
            el("option", { value: a, selected: a === f.action }, a)))),
      el("button", { type: "submit", class: "primary" }, "Filter"),
      el("button", { type: "button", onclick: () => { location.hash = "#/audit"; } }, "Clear"));
    root.append(el("h1", {}, "Audit log"), el("div", { class: "panel" }, form, el("div", { id: "audit" }),
      el("div", { class: "pager" },
        el("span", { id: "audit-range", class: "muted" }),
        el("button", { id: "audit-newer", onclick: () => auditNewer(route) }, "Newer"),
        el("button", { id: "audit-older", onclick: () => auditOlder() }, "Older"))));
  },

  async load(root, route) {
    const f = auditFilters(route.params);
    const [page, tn] = await Promise.all([
      api(`audit${query({ ...f, before: views.audit.before })}`),
      tokenNames(),
    ]);
    views.audit.rows = page.audit;
    views.audit.more = page.more;
    const sel = root.querySelector("#audit-token");
    if (sel && !sel.hasAttribute("data-filled")) {
      sel.setAttribute("data-filled", "");
      sel.replaceChildren(el("option", { value: "" }, "any"),
        ...["bootstrap", ...tn.tokens.map((t) => t.id), f.token].filter((x, i, a) => x && a.indexOf(x) === i)
          .map((id) => el("option", { value: id, selected: id === f.token }, tokenLabel(id, tn.names))));
    }
    fill(root, "audit", table([["Seq", "num"], "Time", "Token", "Role", "Action", "Target", "Client", ["Status", "num"]],
      page.audit.map((a) => el("tr", { "data-seq": a.seq },
        el("td", { class: "num", "data-k": "seq" }, a.seq),
        el("td", { title: ago(a.time) }, when(a.time)),
        el("td", { class: "mono", "data-k": "token", title: tn.names[a.token] || "" }, a.token),
        el("td", { "data-k": "role" }, a.role),
        el("td", { class: "mono", "data-k": "action" }, a.action),
        el("td", { class: "mono", "data-k": "target" }, a.target),
        el("td", { class: "mono" }, a.client),
        el("td", { class: "num" }, statusBadge(a.status)))),
      "No audit row matches.", { id: "audit-table" }));
    const rows = page.audit;
    fill(root, "audit-range", rows.length
      ? `seq ${rows[0].seq} to ${rows[rows.length - 1].seq}${views.audit.before === null ? " (newest, live)" : ""}`
      : "no row");
    root.querySelector("#audit-newer").disabled = views.audit.before === null;
    root.querySelector("#audit-older").disabled = !page.more || rows.length === 0;
  },
};

/* Older: the page before the oldest row shown. */
function auditOlder() {
  const rows = views.audit.rows || [];
  if (!rows.length) return;
  views.audit.before = rows[rows.length - 1].seq;
  refresh();
}

/* Newer: the rows just after the newest shown (after=, oldest first); when none lies beyond them
 * the view is back at the newest rows, and follows the log again. */
async function auditNewer(route) {
  const rows = views.audit.rows || [];
  if (views.audit.before === null) return;
  if (!rows.length) {
    views.audit.before = null;
    refresh();
    return;
  }
  try {
    const f = auditFilters(route.params);
    const page = await api(`audit${query({ ...f, after: rows[0].seq })}`);
    const seqs = page.audit.map((a) => a.seq);
    views.audit.before = page.more && seqs.length ? Math.max(...seqs) + 1 : null;
  } catch (e) {
    toast(e.message, true);
  }
  refresh();
}

/* ---- tokens -------------------------------------------------------------------------------- */

const ROLES = ["viewer", "operator", "admin"];

async function tokenCreate(e) {
  e.preventDefault();
  const f = e.target;
  const body = { name: f.name.value.trim(), role: f.role.value };
  try {
    const t = await api("tokens", { method: "POST", body });
    const box = $("#token-new");
    box.replaceChildren(
      el("h2", {}, `Token ${t.id} (${t.name}, ${t.role})`),
      el("p", { class: "once" }, "Shown only now: copy it and keep it safe. fotad keeps only its digest and cannot show it again."),
      el("div", { class: "secret" },
        el("input", { id: "token-secret", class: "mono", readonly: true, value: t.secret, spellcheck: "false", size: 84 }),
        el("button", { type: "button", id: "token-copy", onclick: () => copySecret() }, "Copy"),
        el("button", { type: "button", onclick: () => { box.hidden = true; box.replaceChildren(); } }, "Done")));
    box.hidden = false;
    f.reset();
    toast(`Token ${t.id} created`);
    refresh();
  } catch (err) {
    toast(err.message, true);
  }
}

/* The clipboard API where the page is a secure context (https, localhost), else the selection. */
async function copySecret() {
  const input = $("#token-secret");
  try {
    if (!navigator.clipboard) throw new Error("no clipboard API");
    await navigator.clipboard.writeText(input.value);
  } catch (e) {
    input.select();
    if (!document.execCommand("copy")) {
      toast("Copy failed: select the token and copy it by hand", true);
      return;
    }
  }
  $("#token-copy").textContent = "Copied";
}

async function tokenRevoke(t) {
  const mine = state.me && state.me.token === t.id;
  const text = `Revoke token ${t.id} (${t.name}, ${t.role})? Every request with it is refused from now on; this cannot be undone.`
    + (mine ? "\nThis page is signed in with it: you will be signed out." : "");
  if (!confirm(text)) return;
  try {
    await api(`tokens/${encodeURIComponent(t.id)}/revoke`, { method: "POST", body: {} });
    toast(`Token ${t.id} revoked`);
  } catch (e) {
    toast(e.message, true);
  }
  if (mine) signOut();
  else refresh();
}

views.tokens = {
  admin: true,

  frame(root) {
    root.append(el("h1", {}, "API tokens"),
      el("div", { class: "panel" }, el("h2", {}, "Create a token"),
        el("form", { id: "token-form", class: "filters", onsubmit: tokenCreate },
          el("div", {}, el("label", { for: "token-name" }, "Name"),
            el("input", { id: "token-name", name: "name", required: true, maxlength: 64, size: 28, placeholder: "ci deploy" })),
          el("div", {}, el("label", { for: "token-role" }, "Role"),
            el("select", { id: "token-role", name: "role" }, ROLES.map((r) => el("option", { value: r }, r)))),
          el("button", { type: "submit", class: "primary" }, "Create")),
        el("div", { id: "token-new", class: "token-new", hidden: true })),
      panel(null, "tokens"));
  },

  async load(root) {
    const tl = await api("tokens");
    fill(root, "tokens", table(["Id", "Name", "Role", "Created", "Created by", "Revoked", ""],
      tl.tokens.map((t) => el("tr", { "data-token": t.id, class: t.revoked ? "revoked" : null },
        el("td", { class: "mono", "data-k": "id" }, t.id),
        el("td", { "data-k": "name" }, t.name),
        el("td", { "data-k": "role" }, el("span", { class: "badge" }, t.role)),
        el("td", { title: ago(t.created) }, when(t.created)),
        el("td", { class: "mono", "data-k": "created_by" }, t.created_by),
        el("td", { "data-k": "revoked", "data-v": t.revoked }, t.revoked ? when(t.revoked) : "–"),
        el("td", {}, t.revoked ? "" : el("button", { class: "danger", "data-action": "revoke", onclick: () => tokenRevoke(t) }, "Revoke")))),
      "No token made through the API yet (the bootstrap token is fotad's configuration).", { id: "tokens-table" }));
  },
};
