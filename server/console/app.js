/*
 * app.js - the operator console of fotad (docs/CONSOLE.md). One page, views chosen by the URL's
 * hash (#/overview, #/devices?..., #/device/ID, #/releases, #/release/ID, #/rollouts,
 * #/assignments, and for admins #/audit and #/tokens, drawn by admin.js), each drawn from the
 * admin API (docs/ADMIN_API.md) with the operator's bearer token, kept in this tab's
 * sessionStorage. Every view reloads its data every few seconds. Lists are paged by fotad, and
 * the overview is one aggregate request whatever the size of the fleet. Write controls are shown
 * only to the roles that may use them (GET /api/admin/whoami): viewer none; operator assignments
 * and rollout pause, resume, cancel; admin everything, and the audit log and tokens views (a view
 * with `admin: true` is neither linked nor loaded for the other roles).
 */
"use strict";

const REFRESH_MS = 5000;
const PAGE = 50;
const TOKEN_KEY = "fota.token";
const STATES = ["checking", "downloading", "verifying", "installed", "booted", "confirmed",
                "rolled_back", "error"];
const RANGES = {
  "1h": { bucket_s: 60, buckets: 60, label: "last hour" },
  "24h": { bucket_s: 1800, buckets: 48, label: "last 24 hours" },
  "7d": { bucket_s: 21600, buckets: 28, label: "last 7 days" },
};

const state = {
  me: null,           /* {token, name, role} */
  timer: null,
  route: null,
  chart: null,
  range: "1h",
  cursors: [],        /* the devices view's page starts, for Previous */
  busy: false,
};

/* ---- small helpers ------------------------------------------------------------------------- */

const $ = (sel, root = document) => root.querySelector(sel);

/* An element: el("td", {class: "num", "data-k": "x"}, "text", child, ...). */
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick" || k === "onchange" || k === "onsubmit") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

const fmt = (n) => Number(n).toLocaleString("en-US");
const pct = (n) => (n === null || n === undefined ? "–" : `${Number(n).toFixed(1)} %`);

function bytes(n) {
  if (n >= 1048576) return `${(n / 1048576).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function when(t) {
  if (!t) return "–";
  const d = new Date(t * 1000);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function ago(t) {
  if (!t) return "never";
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function stateBadge(s) {
  const cls = s === "confirmed" || s === "succeeded" || s === "finished" ? "ok"
    : s === "error" || s === "rolled_back" || s === "failed" || s === "cancelled" ? "bad"
    : s === "paused" ? "warn"
    : s === "" || s === "created" || s === "pending" ? ""
    : "run";
  return el("span", { class: `badge ${cls}`, "data-state": s }, s || "none");
}

function meter(parts, tall) {
  const m = el("div", { class: tall ? "meter tall" : "meter" });
  let left = 0;
  for (const [cls, share] of parts) {
    const w = Math.max(0, Math.min(100 - left, share * 100));
    const s = el("span", { class: cls });
    s.style.left = `${left}%`;
    s.style.width = `${w}%`;
    m.append(s);
    left += w;
  }
  return m;
}

function toast(text, bad) {
  const t = $("#toast");
  t.textContent = text;
  t.className = bad ? "toast bad" : "toast";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

const can = {
  assign: () => state.me && (state.me.role === "operator" || state.me.role === "admin"),
  rolloutControl: () => state.me && (state.me.role === "operator" || state.me.role === "admin"),
  admin: () => state.me && state.me.role === "admin",
};

/* ---- the API ------------------------------------------------------------------------------- */

class ApiError extends Error {
  constructor(status, code, text) {
    super(text || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`/api/admin/${path}`, {
    method: options.method || "GET",
    headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    cache: "no-store",
  });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    if (r.status === 401 || (r.status === 403 && path === "whoami")) signOut();
    throw new ApiError(r.status, body && body.code, body && body.error);
  }
  $("#live").classList.remove("stale");
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null && v !== false) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/* ---- sign in and out ----------------------------------------------------------------------- */

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    state.me = await api("whoami");
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.me = null;
    throw e;
  }
  $("#who-name").textContent = state.me.name;
  $("#who-role").textContent = state.me.role;
  $("#who-role").setAttribute("data-role", state.me.role);
  for (const a of document.querySelectorAll('#nav a[data-role="admin"]')) a.hidden = !can.admin();
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#who").hidden = false;
  if (!location.hash || location.hash === "#" || location.hash === "#/") location.hash = "#/overview";
  else show();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  clearInterval(state.timer);
  state.timer = null;
  $("#view").replaceChildren();
  $("#nav").hidden = true;
  $("#who").hidden = true;
  $("#login").hidden = false;
  $("#token").value = "";
}

/* ---- routing and refresh ------------------------------------------------------------------- */

function parseRoute() {
  const h = location.hash.replace(/^#\/?/, "");
  const [path, qs] = h.split("?");
  const parts = path.split("/").map(decodeURIComponent);
  return { view: parts[0] || "overview", id: parts[1] || "", params: new URLSearchParams(qs || "") };
}

const views = {};

/* Draw the view of the hash: its frame once, then its data now and every REFRESH_MS. */
function show() {
  if (!state.me) return;
  const route = parseRoute();
  const v = views[route.view] || views.overview;
  state.route = route;
  for (const a of document.querySelectorAll("#nav a")) {
    /* #/device/ID and #/release/ID belong to Devices and Releases */
    const active = a.dataset.view === route.view || a.dataset.view === `${route.view}s`;
    a.classList.toggle("active", active);
  }
  if (state.chart) { state.chart.destroy(); state.chart = null; }
  $("#toast").hidden = true;
  const root = $("#view");
  root.replaceChildren();
  clearInterval(state.timer);
  if (v.admin && !can.admin()) {
    root.append(el("h1", {}, "Not for your role"),
      el("div", { class: "panel", id: "denied" }, `This view is for admins; this token is a ${state.me.role}.`));
    document.body.setAttribute("data-loaded", "denied");
    return;
  }
  v.frame(root, route);
  refresh();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, REFRESH_MS);
}

async function refresh() {
  if (!state.me || state.busy) return;
  const route = state.route;
  const v = views[route.view] || views.overview;
  if (v.admin && !can.admin()) return;
  state.busy = true;
  try {
    await v.load($("#view"), route);
    /* The view drawn (an unknown one falls back to the overview), for the browser test. */
    if (state.route === route) document.body.setAttribute("data-loaded", views[route.view] ? route.view : "overview");
  } catch (e) {
    $("#live").classList.add("stale");
    if (e instanceof ApiError) toast(`${e.message}`, true);
    else throw e;
  } finally {
    state.busy = false;
    /* Navigated while this load ran (its refresh was skipped): load the new route now. */
    if (state.me && state.route !== route) refresh();
  }
}

/* Replace the contents of the element with id `id` inside root. */
function fill(root, id, ...kids) {
  const target = root.querySelector(`#${id}`);
  if (target) target.replaceChildren(...kids.flat());
}

function table(heads, rows, empty, attrs) {
  const thead = el("thead", {}, el("tr", {}, heads.map((h) => {
    const [text, cls] = Array.isArray(h) ? h : [h, ""];
    return el("th", { class: cls || null }, text);
  })));
  const tbody = el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { class: "empty", colspan: heads.length }, empty || "Nothing yet.")));
  return el("table", attrs || {}, thead, tbody);
}

function panel(title, id, extra) {
  return el("div", { class: "panel" }, title ? el("h2", {}, title) : null, extra || null, el("div", { id }));
}

/* ---- overview ------------------------------------------------------------------------------ */

views.overview = {
  frame(root) {
    const rangeSel = el("select", { id: "range", onchange: (e) => { state.range = e.target.value; refresh(); } },
      Object.entries(RANGES).map(([k, r]) => el("option", { value: k, selected: k === state.range }, r.label)));
    root.append(
      el("h1", {}, "Fleet overview"),
      el("div", { class: "kpis", id: "kpis" }),
      el("div", { class: "panel" },
        el("div", { class: "chart-head" },
          el("h2", {}, "Update outcomes"),
          el("div", { class: "legend" },
            el("span", {}, el("i", { class: "c-ok" }), "confirmed"),
            el("span", {}, el("i", { class: "c-warn" }), "rolled back"),
            el("span", {}, el("i", { class: "c-bad" }), "error"),
            rangeSel)),
        el("div", { id: "chart" })),
      el("div", { class: "grid two" },
        panel("Devices per version", "versions"),
        panel("Devices per product", "products")),
      el("div", { class: "grid two" },
        el("div", { class: "stack" }, panel("Devices per state", "states"), panel("Errors by name", "errors")),
        panel("Devices in error, newest first", "recent")),
    );
  },

  async load(root) {
    const r = RANGES[state.range];
    const [o, rl] = await Promise.all([
      api(`overview${query({ bucket_s: r.bucket_s, buckets: r.buckets })}`),
      api("rollouts"),
    ]);
    const active = rl.rollouts.filter((x) => ["running", "paused", "scheduled"].includes(x.state)).length;
    const kpi = (k, label, value, cls) => el("div", { class: `kpi ${cls || ""}` },
      el("div", { class: "label" }, label), el("div", { class: "value", "data-k": k }, fmt(value)));
    fill(root, "kpis",
      kpi("devices", "Devices", o.devices),
      kpi("online", `Online (seen in ${Math.round(o.online_s / 60)} min)`, o.online, "ok"),
      kpi("in_error", "In error", o.in_error, o.in_error > 0 ? "bad" : ""),
      kpi("active_rollouts", "Active rollouts", active));

    const versions = [...o.versions].sort((a, b) => b.devices - a.devices || a.version.localeCompare(b.version));
    fill(root, "versions", table(["Product", "Version", ["Devices", "num"], ["Online", "num"], "Share"],
      versions.map((v) => el("tr", { "data-product": v.product, "data-version": v.version },
        el("td", {}, v.product || el("span", { class: "muted" }, "unknown")),
        el("td", {}, v.version ? el("a", { href: `#/devices?version=${encodeURIComponent(v.version)}&product=${encodeURIComponent(v.product)}` }, v.version) : el("span", { class: "muted" }, "unknown")),
        el("td", { class: "num", "data-k": "devices" }, fmt(v.devices)),
        el("td", { class: "num", "data-k": "online" }, fmt(v.online)),
        el("td", {}, meter([["run", o.devices ? v.devices / o.devices : 0]])))),
      "No device has checked in yet.", { id: "versions-table" }));

    fill(root, "products", table(["Product", ["Devices", "num"], ["Online", "num"]],
      [...o.products].sort((a, b) => a.product.localeCompare(b.product)).map((p) => el("tr", { "data-product": p.product },
        el("td", {}, p.product ? el("a", { href: `#/devices?product=${encodeURIComponent(p.product)}` }, p.product) : el("span", { class: "muted" }, "unknown")),
        el("td", { class: "num", "data-k": "devices" }, fmt(p.devices)),
        el("td", { class: "num", "data-k": "online" }, fmt(p.online)))),
      "No device has checked in yet.", { id: "products-table" }));

    fill(root, "states", table(["State", ["Devices", "num"]],
      [...o.states].sort((a, b) => b.devices - a.devices).map((s) => el("tr", { "data-state": s.state },
        el("td", {}, s.state ? el("a", { href: `#/devices?state=${encodeURIComponent(s.state)}` }, stateBadge(s.state)) : stateBadge("")),
        el("td", { class: "num", "data-k": "devices" }, fmt(s.devices)))),
      "No device yet.", { id: "states-table" }));

    fill(root, "errors", table(["Error", ["Code", "num"], ["Devices", "num"]],
      [...o.errors].sort((a, b) => b.devices - a.devices).map((e) => el("tr", { "data-name": e.name },
        el("td", { class: "mono" }, e.name),
        el("td", { class: "num" }, e.error),
        el("td", { class: "num", "data-k": "devices" }, fmt(e.devices)))),
      "No device is in error.", { id: "errors-table" }));

    fill(root, "recent", table(["Device", "Error", "Version", "State", "Last seen"],
      o.recent_errors.map((d) => el("tr", { "data-device": d.id },
        el("td", { class: "mono" }, el("a", { href: `#/device/${encodeURIComponent(d.id)}` }, d.id)),
        el("td", { class: "mono" }, d.last_error_name),
        el("td", {}, d.version),
        el("td", {}, stateBadge(d.state)),
        el("td", { title: when(d.last_seen) }, ago(d.last_seen)))),
      "No device is in error.", { id: "recent-table" }));

    drawChart(root, o);
  },
};

/* The outcomes as stacked bars: confirmed at the bottom, rolled back on it, errors on top. uPlot
 * draws the series in order, so the tallest (the sum) first and the others over it. */
function drawChart(root, o) {
  const out = o.outcomes;
  const n = out.confirmed.length;
  const xs = Array.from({ length: n }, (_, i) => out.since + i * out.bucket_s);
  const bar = (v) => (v > 0 ? v : null);
  const all = xs.map((_, i) => bar(out.confirmed[i] + out.rolled_back[i] + out.error[i]));
  const low = xs.map((_, i) => bar(out.confirmed[i] + out.rolled_back[i]));
  const data = [xs, all, low, out.confirmed.map(bar)];
  const box = root.querySelector("#chart");
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  box.setAttribute("data-total-confirmed", sum(out.confirmed));
  box.setAttribute("data-total-rolled-back", sum(out.rolled_back));
  box.setAttribute("data-total-error", sum(out.error));
  if (typeof uPlot === "undefined") return;
  const width = Math.max(300, box.clientWidth || 900);
  if (state.chart && state.chart.data[0].length === n && state.chart.width === width) {
    state.chart.setData(data);
    return;
  }
  if (state.chart) state.chart.destroy();
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  const series = (label, color) => ({ label, stroke: color, fill: color, width: 0, paths: bars, points: { show: false } });
  state.chart = new uPlot({
    width,
    height: 240,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
    axes: [{ grid: { stroke: "#eef1f4" } }, { grid: { stroke: "#eef1f4" }, size: 50 }],
    series: [{}, series("error", "#cf222e"), series("rolled back", "#d29922"), series("confirmed", "#2da44e")],
  }, data, box);
}

/* ---- devices ------------------------------------------------------------------------------- */

function deviceFilters(params) {
  return {
    q: params.get("q") || "",
    tag: params.get("tag") || "",
    product: params.get("product") || "",
    version: params.get("version") || "",
    state: params.get("state") || "",
    errors: params.get("errors") === "1" ? "1" : "",
  };
}

/* Devices a page: #/devices?limit=N (1..1000), else PAGE. */
function pageSize(params) {
  const n = Number(params.get("limit"));
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : PAGE;
}

views.devices = {
  frame(root, route) {
    const f = deviceFilters(route.params);
    state.cursors = [];
    const input = (id, label, value, ph) => el("div", {}, el("label", { for: id }, label),
      el("input", { id, name: id, value, placeholder: ph || "", size: 16 }));
    const form = el("form", { class: "filters", id: "filters", onsubmit: (e) => {
      e.preventDefault();
      const data = new FormData(e.target);
      const p = {};
      for (const k of ["q", "tag", "product", "version", "state"]) p[k] = (data.get(k) || "").trim();
      p.errors = data.get("errors") ? "1" : "";
      location.hash = `#/devices${query(p)}`;
    } },
      input("q", "Device id contains", f.q, "inv-00"),
      input("tag", "Tag", f.tag, "eu"),
      input("product", "Product", f.product),
      input("version", "Version", f.version),
      el("div", {}, el("label", { for: "state" }, "State"),
        el("select", { id: "state", name: "state" }, el("option", { value: "" }, "any"),
          STATES.map((s) => el("option", { value: s, selected: s === f.state }, s)))),
      el("div", { class: "check" }, el("input", { type: "checkbox", id: "errors", name: "errors", checked: f.errors === "1" }),
        el("label", { for: "errors" }, "in error only")),
      el("button", { type: "submit", class: "primary" }, "Filter"),
      el("button", { type: "button", onclick: () => { location.hash = "#/devices"; } }, "Clear"));
    root.append(el("h1", {}, "Devices"), el("div", { class: "panel" }, form, el("div", { id: "devices" }),
      el("div", { class: "pager" },
        el("span", { id: "range-text", class: "muted" }),
        el("button", { id: "prev", onclick: () => { state.cursors.pop(); refresh(); } }, "Previous"),
        el("button", { id: "next", onclick: () => { if (views.devices.next) { state.cursors.push(views.devices.next); refresh(); } } }, "Next"))));
  },

  async load(root, route) {
    const f = deviceFilters(route.params);
    const size = pageSize(route.params);
    const after = state.cursors.length ? state.cursors[state.cursors.length - 1] : "";
    const page = await api(`devices${query({ ...f, limit: size, after })}`);
    views.devices.next = page.next;
    const now = Date.now() / 1000;
    fill(root, "devices", table(["", "Device", "Product", "Version", "State", "Progress", "Last error", "Tags", "Last seen"],
      page.devices.map((d) => el("tr", { "data-device": d.id },
        el("td", {}, el("span", { class: now - d.last_seen <= 600 ? "dot on" : "dot", title: now - d.last_seen <= 600 ? "online" : "offline" })),
        el("td", { class: "mono" }, el("a", { href: `#/device/${encodeURIComponent(d.id)}` }, d.id)),
        el("td", {}, d.product),
        el("td", { "data-k": "version" }, d.version),
        el("td", { "data-k": "state" }, stateBadge(d.state)),
        el("td", {}, d.total ? el("span", { title: `${d.done} / ${d.total}` }, meter([[d.state === "error" ? "bad" : "run", d.done / d.total]])) : ""),
        el("td", { class: "mono" }, d.last_error ? d.last_error_name : ""),
        el("td", {}, d.tags.map((t) => el("span", { class: "tag" }, t))),
        el("td", { title: when(d.last_seen) }, ago(d.last_seen)))),
      "No device matches.", { id: "devices-table" }));
    const start = state.cursors.length * size;
    fill(root, "range-text", page.devices.length
      ? el("span", {}, `${fmt(start + 1)}–${fmt(start + page.devices.length)} of `, el("b", { "data-k": "total" }, fmt(page.total)))
      : el("span", {}, "0 of ", el("b", { "data-k": "total" }, fmt(page.total))));
    root.querySelector("#prev").disabled = state.cursors.length === 0;
    root.querySelector("#next").disabled = !page.next;
  },
};

/* ---- one device ---------------------------------------------------------------------------- */

views.device = {
  frame(root, route) {
    root.append(
      el("h1", {}, el("a", { href: "#/devices" }, "Devices"), " / ", el("span", { class: "mono" }, route.id)),
      el("div", { class: "grid three" },
        panel("Identity", "identity"),
        panel("Versions", "versions"),
        panel("Download", "download")),
      el("div", { class: "grid two" },
        panel("Errors by name", "dev-errors"),
        el("div", { class: "panel", id: "assign-panel" })),
      panel("Report timeline (newest first)", "timeline"));
  },

  async load(root, route) {
    const need = can.assign() && !root.querySelector("#assign-form");
    const [d, rel] = await Promise.all([
      api(`devices/${encodeURIComponent(route.id)}`),
      need ? api("releases") : Promise.resolve(null),
    ]);
    const online = Date.now() / 1000 - d.last_seen <= 600;
    fill(root, "identity", el("dl", { class: "facts" },
      el("dt", {}, "Id"), el("dd", { class: "mono", "data-k": "id" }, d.id),
      el("dt", {}, "Product"), el("dd", { "data-k": "product" }, d.product || "–"),
      el("dt", {}, "Tags"), el("dd", { "data-k": "tags" }, d.tags.length ? d.tags.map((t) => el("span", { class: "tag" }, t)) : "none"),
      el("dt", {}, "Status"), el("dd", {}, el("span", { class: online ? "dot on" : "dot" }), online ? "online" : "offline"),
      el("dt", {}, "First seen"), el("dd", {}, when(d.first_seen)),
      el("dt", {}, "Last seen"), el("dd", {}, `${when(d.last_seen)} (${ago(d.last_seen)})`)));
    const previous = (d.reports.find((r) => r.running && r.running !== d.version) || {}).running || "";
    fill(root, "versions", el("dl", { class: "facts" },
      el("dt", {}, "Running"), el("dd", { "data-k": "version" }, d.version || "–"),
      el("dt", {}, "Previous"), el("dd", { "data-k": "previous" }, previous || "–"),
      el("dt", {}, "State"), el("dd", { "data-k": "state" }, stateBadge(d.state)),
      el("dt", {}, "Last error"), el("dd", { class: "mono", "data-k": "last_error" }, d.last_error ? `${d.last_error_name} (${d.last_error})` : "none"),
      el("dt", {}, "Offered"), el("dd", { class: "mono" }, d.offered || "nothing")));
    fill(root, "download", d.total
      ? el("div", {},
        el("p", {}, el("b", { "data-k": "done" }, fmt(d.done)), " of ", el("b", { "data-k": "total" }, fmt(d.total)), " chunks",
          el("span", { class: "muted" }, ` (${(100 * d.done / d.total).toFixed(0)} %)`)),
        meter([[d.state === "error" ? "bad" : d.done === d.total ? "ok" : "run", d.done / d.total]], true),
        el("p", { class: "muted mono" }, d.release))
      : el("p", { class: "muted" }, "No download reported."));
    const byName = {};
    for (const r of d.reports) if (r.error) byName[r.error_name] = (byName[r.error_name] || 0) + 1;
    fill(root, "dev-errors", table(["Error", ["Reports", "num"]],
      Object.entries(byName).sort((a, b) => b[1] - a[1]).map(([n, c]) => el("tr", { "data-name": n },
        el("td", { class: "mono" }, n), el("td", { class: "num", "data-k": "count" }, c))),
      "No error reported.", { id: "dev-errors-table" }));
    fill(root, "timeline", table(["Time", "State", "Installing", "Running", "Progress", "Error"],
      d.reports.map((r) => el("tr", {},
        el("td", {}, when(r.time)),
        el("td", {}, stateBadge(r.state)),
        el("td", {}, r.version),
        el("td", {}, r.running),
        el("td", { class: "num" }, r.total ? `${fmt(r.done)} / ${fmt(r.total)}` : ""),
        el("td", { class: "mono" }, r.error ? r.error_name : ""))),
      "No report yet.", { id: "timeline-table", "data-count": d.reports.length }));
    if (need && rel) {
      const mine = rel.releases.filter((x) => x.product === d.product);
      const p = root.querySelector("#assign-panel");
      p.replaceChildren(el("h2", {}, "Assign a release"),
        el("form", { id: "assign-form", class: "filters", onsubmit: async (e) => {
          e.preventDefault();
          const release = e.target.release.value;
          try {
            await api("assignments", { method: "POST", body: { release, device: d.id } });
            toast(`Release assigned to ${d.id}`);
          } catch (err) { toast(err.message, true); }
        } },
          el("div", {}, el("label", { for: "release" }, "Release"),
            el("select", { id: "release", name: "release" }, mine.map((x) => el("option", { value: x.id }, `${x.version} (${x.id.slice(0, 8)})`)))),
          el("button", { type: "submit", class: "primary", disabled: mine.length === 0 }, "Assign")));
    } else if (!can.assign()) {
      root.querySelector("#assign-panel").hidden = true;
    }
  },
};

/* ---- releases ------------------------------------------------------------------------------ */

views.releases = {
  frame(root) {
    root.append(el("h1", {}, "Releases"), panel(null, "releases"));
  },

  async load(root) {
    const [rl, o] = await Promise.all([api("releases"), api("overview?buckets=1&recent=0")]);
    const running = {};
    for (const v of o.versions) running[`${v.product}\u0000${v.version}`] = v.devices;
    fill(root, "releases", table(["Version", "Product", "Chip", ["Size", "num"], ["Security version", "num"], "Signing key", ["Chunk size", "num"], ["Chunks", "num"], "Uploaded", ["Devices running", "num"]],
      rl.releases.map((r) => el("tr", { "data-release": r.id },
        el("td", {}, el("a", { href: `#/release/${r.id}` }, el("b", {}, r.version)), el("div", { class: "mono muted" }, r.id.slice(0, 16))),
        el("td", {}, r.product),
        el("td", {}, r.chip || "–"),
        el("td", { class: "num", "data-k": "image_size", "data-v": r.image_size }, bytes(r.image_size)),
        el("td", { class: "num", "data-k": "security_version" }, r.security_version),
        el("td", { class: "mono", "data-k": "key_id" }, r.key_id),
        el("td", { class: "num", "data-k": "chunk_size" }, fmt(r.chunk_size)),
        el("td", { class: "num", "data-k": "chunk_count" }, fmt(r.chunk_count)),
        el("td", {}, when(r.uploaded)),
        el("td", { class: "num", "data-k": "running" }, fmt(running[`${r.product}\u0000${r.version}`] || 0)))),
      "No release uploaded yet.", { id: "releases-table" }));
  },
};

/* One release: its facts and its deltas, each with its download beside the full one. */
views.release = {
  frame(root, route) {
    root.append(
      el("h1", {}, el("a", { href: "#/releases" }, "Releases"), " / ", el("span", { class: "mono" }, route.id)),
      panel("Release", "release-facts"),
      panel("Deltas (newest upload first)", "deltas",
        el("p", { class: "muted" }, "A device running a delta's source image is offered the delta; any other gets the full image, which is also the fallback when a delta fails (docs/DELTA.md).")));
  },

  async load(root, route) {
    const r = await api(`releases/${encodeURIComponent(route.id)}`);
    fill(root, "release-facts", el("dl", { class: "facts" },
      el("dt", {}, "Version"), el("dd", { "data-k": "version" }, r.version),
      el("dt", {}, "Product"), el("dd", {}, `${r.product} (${r.chip || "–"})`),
      el("dt", {}, "Image"), el("dd", { "data-k": "image_size" }, `${fmt(r.image_size)} bytes`),
      el("dt", {}, "Full download"), el("dd", { "data-k": "blob_size" }, `${fmt(r.blob_size)} bytes in ${fmt(r.chunk_count)} chunks of ${fmt(r.chunk_size)}`),
      el("dt", {}, "Security version"), el("dd", {}, r.security_version),
      el("dt", {}, "Signing key"), el("dd", { class: "mono" }, r.key_id),
      el("dt", {}, "Uploaded"), el("dd", {}, when(r.uploaded))));
    fill(root, "deltas", table(["Delta", "Source image", ["Source size", "num"], ["Patch", "num"], ["Download", "num"], ["Of the full download", "num"], ["Records", "num"], "Uploaded"],
      r.deltas.map((d) => el("tr", { "data-delta": d.delta },
        el("td", { class: "mono" }, d.delta.slice(0, 16)),
        el("td", { class: "mono", "data-k": "source", title: d.source_sha256 }, d.source_sha256.slice(0, 16)),
        el("td", { class: "num", "data-k": "source_size" }, fmt(d.source_size)),
        el("td", { class: "num", "data-k": "patch_size" }, fmt(d.patch_size)),
        el("td", { class: "num", "data-k": "blob_size" }, fmt(d.blob_size)),
        el("td", { class: "num", "data-k": "share" }, pct(100 * d.blob_size / r.blob_size)),
        el("td", { class: "num", "data-k": "chunk_count" }, fmt(d.chunk_count)),
        el("td", {}, when(d.uploaded)))),
      "No delta for this release: every device gets the full image.", { id: "deltas-table" }));
  },
};

/* ---- rollouts ------------------------------------------------------------------------------ */

const MEMBER_STATES = ["pending", "started", "downloading", "downloaded", "installed", "succeeded", "failed"];

async function rolloutAction(id, action) {
  try {
    const r = await api(`rollouts/${id}/${action}`, { method: "POST", body: {} });
    toast(`Rollout ${id}: ${r.state}`);
  } catch (e) {
    toast(e.message, true);
  }
  refresh();
}

/* The failure thresholds of a rollout or a stage as the stage table and the summary show them:
 * "10 %", "3 failed", "10 % or 3 failed", or "" for none (0 means none in the API). */
function thresholdText(o) {
  const t = [];
  if (o.max_failure_percent) t.push(`${o.max_failure_percent} %`);
  if (o.max_failures) t.push(`${o.max_failures} failed`);
  return t.join(" or ");
}

function rolloutCard(r, releases) {
  const rel = releases[r.release];
  const c = r.counts || {};
  const buttons = [];
  if (can.admin() && r.state === "created") buttons.push(el("button", { class: "primary", "data-action": "start", onclick: () => rolloutAction(r.id, "start") }, "Start"));
  if (can.rolloutControl() && r.state === "running") buttons.push(el("button", { "data-action": "pause", onclick: () => rolloutAction(r.id, "pause") }, "Pause"));
  if (can.rolloutControl() && r.state === "paused") buttons.push(el("button", { class: "primary", "data-action": "resume", onclick: () => rolloutAction(r.id, "resume") }, "Resume"));
  if (can.rolloutControl() && !["finished", "cancelled"].includes(r.state)) {
    buttons.push(el("button", { class: "danger", "data-action": "cancel", onclick: () => {
      if (confirm(`Cancel rollout ${r.id}? Devices will not be offered its release any more.`)) rolloutAction(r.id, "cancel");
    } }, "Cancel"));
  }
  const open = (r.stages || []).find((s) => s.number === r.current_stage);
  const limits = [];
  if (thresholdText(r)) limits.push(`rollout: ${thresholdText(r)}`);
  if (open && thresholdText(open)) limits.push(`stage ${open.number}: ${thresholdText(open)}`);
  const threshold = limits.length ? limits.join(", ") : "none";
  const stages = (r.stages || []).map((s) => {
    const sc = s.counts || { total: 0, succeeded: 0, failed: 0 };
    const t = sc.total || 0;
    const active = sc.started + sc.downloading + sc.downloaded + sc.installed;
    return el("tr", { "data-stage": s.number },
      el("td", {}, `Stage ${s.number}`, r.current_stage === s.number ? el("span", { class: "badge run" }, "open") : ""),
      el("td", {}, s.devices ? `${fmt(s.devices)} devices` : `${s.percent || ""}${s.percent ? " %" : ""}`),
      el("td", {}, meter([["ok", t ? sc.succeeded / t : 0], ["bad", t ? sc.failed / t : 0], ["run", t ? active / t : 0]], true)),
      el("td", { class: "num", "data-k": "succeeded" }, fmt(sc.succeeded)),
      el("td", { class: "num", "data-k": "failed" }, fmt(sc.failed)),
      el("td", { class: "num", "data-k": "total" }, fmt(t)),
      el("td", { class: "num" }, pct(s.failure_percent)),
      el("td", { class: "num", "data-k": "threshold" }, thresholdText(s) || "–"));
  });
  return el("div", { class: "panel rollout", "data-rollout": r.id, "data-state": r.state },
    el("div", { class: "rollout-head" },
      el("h2", {}, `#${r.id} ${r.name || "(unnamed)"} `, stateBadge(r.state)),
      el("div", { class: "actions" }, buttons)),
    el("div", { class: "muted" }, `${r.product} → ${rel ? rel.version : r.release.slice(0, 8)} · action ${r.action} · started ${when(r.started)}`),
    r.paused_reason ? el("p", { class: "reason", "data-k": "reason" }, r.paused_reason) : null,
    el("div", { class: "counts" },
      MEMBER_STATES.map((k) => el("div", {}, el("div", { class: "n", "data-k": k }, fmt(c[k] || 0)), el("div", { class: "l" }, k))),
      el("div", {}, el("div", { class: "n", "data-k": "total" }, fmt(c.total || 0)), el("div", { class: "l" }, "members")),
      el("div", {}, el("div", { class: "n", "data-k": "failure_percent" }, pct(r.failure_percent)), el("div", { class: "l", "data-k": "threshold" }, `failure rate (threshold ${threshold})`))),
    table(["Stage", "Size", "Progress", ["Succeeded", "num"], ["Failed", "num"], ["Members", "num"], ["Failure rate", "num"], ["Threshold", "num"]], stages, "No stage."));
}

views.rollouts = {
  frame(root) {
    root.append(el("h1", {}, "Rollouts"), el("div", { id: "rollouts" }));
  },

  async load(root) {
    const [list, rl] = await Promise.all([api("rollouts"), api("releases")]);
    const releases = {};
    for (const r of rl.releases) releases[r.id] = r;
    /* The newest 20, each with its counts. */
    const full = await Promise.all(list.rollouts.slice(0, 20).map((r) => api(`rollouts/${r.id}`)));
    fill(root, "rollouts", full.length ? full.map((r) => rolloutCard(r, releases))
      : el("div", { class: "panel empty" }, "No rollout yet (fotactl rollout create)."));
  },
};

/* ---- assignments --------------------------------------------------------------------------- */

views.assignments = {
  frame(root) {
    root.append(el("h1", {}, "Assignments"), el("div", { id: "assign-new" }), panel(null, "assignments"));
  },

  async load(root) {
    const [al, rl] = await Promise.all([api("assignments"), api("releases")]);
    const releases = {};
    for (const r of rl.releases) releases[r.id] = r;
    fill(root, "assignments", table(["Target", "Kind", "Release", "Version", "Updated"],
      al.assignments.map((a) => el("tr", { "data-target": a.device || a.product },
        el("td", { class: "mono" }, a.device ? el("a", { href: `#/device/${encodeURIComponent(a.device)}` }, a.device) : a.product),
        el("td", {}, a.device ? "device" : "product"),
        el("td", { class: "mono" }, a.release.slice(0, 16)),
        el("td", { "data-k": "version" }, releases[a.release] ? releases[a.release].version : "?"),
        el("td", {}, when(a.updated)))),
      "No assignment.", { id: "assignments-table" }));
    const box = root.querySelector("#assign-new");
    if (can.assign() && !box.firstChild) {
      box.append(el("div", { class: "panel" }, el("h2", {}, "Assign a release"),
        el("form", { id: "assign-form", class: "filters", onsubmit: async (e) => {
          e.preventDefault();
          const f = e.target;
          const body = { release: f.release.value };
          body[f.kind.value] = f.target.value.trim();
          try {
            await api("assignments", { method: "POST", body });
            toast(`Assigned to ${f.kind.value} ${body[f.kind.value]}`);
            refresh();
          } catch (err) { toast(err.message, true); }
        } },
          el("div", {}, el("label", { for: "release" }, "Release"),
            el("select", { id: "release", name: "release" }, rl.releases.map((x) => el("option", { value: x.id }, `${x.product} ${x.version} (${x.id.slice(0, 8)})`)))),
          el("div", {}, el("label", { for: "kind" }, "To"),
            el("select", { id: "kind", name: "kind" }, el("option", { value: "product" }, "product"), el("option", { value: "device" }, "device"))),
          el("div", {}, el("label", { for: "target" }, "Product or device id"), el("input", { id: "target", name: "target", required: true })),
          el("button", { type: "submit", class: "primary" }, "Assign"))));
    }
  },
};

/* ---- start --------------------------------------------------------------------------------- */

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = $("#login-error");
    err.hidden = true;
    try {
      await signIn($("#token").value.trim());
    } catch (x) {
      err.textContent = x.status === 401 || x.status === 403 ? "This token is not accepted by fotad." : `Sign-in failed: ${x.message}`;
      err.hidden = false;
    }
  });
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", show);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token).catch(() => signOut());
  else signOut();
});
