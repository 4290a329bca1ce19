// console.test.mjs - the operator console in a real browser (Debian's chromium, headless, driven
// by puppeteer-core) against a real fotad with a fleet from fota-sim (tests/browser/fleet.sh).
// For each view the numbers on the page are compared with what the admin API answers; pause and
// resume from the page change the rollout's state in the API; the filters narrow the device list
// as the API does; paging follows the API's cursor; no console error, page error or failed
// request happens; each view is saved as a PNG. The roles part (a viewer sees no write control
// and gets 403 on a write sent anyway; an operator sees pause, resume, cancel and the assignment
// form) runs when fotad has role tokens (/api/admin/tokens), and says what it left out otherwise.
//
// Environment: FOTA_URL, FOTA_TOKEN, CHROMIUM (the browser), SCREENSHOTS (a folder),
// PROFILE_DIR (a fresh folder for the browser's profile).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.DRIVER_DIR, "package.json"));
const puppeteer = require("puppeteer-core");

const URL = process.env.FOTA_URL;
const TOKEN = process.env.FOTA_TOKEN;
const SHOTS = process.env.SCREENSHOTS;

let checks = 0;
const skipped = [];
function ok(what) {
  checks++;
  console.log(`ok ${checks} - ${what}`);
}

async function api(p, options = {}, token = TOKEN) {
  const r = await fetch(`${URL}/api/admin/${p}`, {
    method: options.method || "GET",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

async function get(p) {
  const r = await api(p);
  assert.equal(r.status, 200, `GET ${p}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const num = (s) => Number(String(s).replace(/[^0-9.\-]/g, ""));

const problems = [];
/* The refusals this test asks for, each as a path and a status. A refusal is allowed once as a
 * response and once as the browser's console line about it, whenever its event arrives: the
 * browser may report a response after the page's own code has already seen it. */
const refusals = [];

function refusal(path, status) {
  refusals.push({ path, status, response: false, console: false });
}

function allowed(url, status, kind) {
  const path = url ? new globalThis.URL(url).pathname : "";
  const r = refusals.find((x) => !x[kind] && x.path === path && x.status === status);
  if (r) r[kind] = true;
  return r !== undefined;
}

function watch(page) {
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const status = Number((/status of (\d+)/.exec(m.text()) || [])[1]);
    if (!allowed(m.location()?.url, status, "console")) problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400 && !allowed(r.url(), r.status(), "response")) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    const u = new globalThis.URL(r.url());
    if (u.origin !== new globalThis.URL(URL).origin) problems.push(`request off fotad: ${r.url()}`);
  });
}

/* Go to a view and wait until it has loaded its data once after the navigation. */
async function view(page, hash, name) {
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(`body[data-loaded="${name}"]`, { timeout: 30000 });
}

/* Wait until a view's next refresh (the polling) has been drawn. */
async function nextRefresh(page, name) {
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.waitForSelector(`body[data-loaded="${name}"]`, { timeout: 30000 });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `console-${name}.png`), fullPage: true });
}

/* The text of every [data-k=k] in the rows of a table, keyed by the row attribute key. */
async function rows(page, tableSel, key) {
  return page.$$eval(`${tableSel} tbody tr[${key}]`, (trs, key) => trs.map((tr) => {
    const o = { key: tr.getAttribute(key) };
    for (const c of tr.querySelectorAll("[data-k]")) o[c.getAttribute("data-k")] = c.textContent;
    o.attrs = Object.fromEntries([...tr.attributes].map((a) => [a.name, a.value]));
    return o;
  }), key);
}

async function overview(page) {
  await view(page, "#/overview", "overview");
  const o = await get("overview");
  const kpi = async (k) => num(await page.$eval(`#kpis [data-k="${k}"]`, (e) => e.textContent));
  assert.equal(await kpi("devices"), o.devices);
  assert.equal(await kpi("online"), o.online);
  assert.equal(await kpi("in_error"), o.in_error);
  assert.ok(o.devices > 0 && o.in_error > 0, "the fleet has devices and errors");
  const rl = await get("rollouts");
  assert.equal(await kpi("active_rollouts"), rl.rollouts.filter((r) => ["running", "paused", "scheduled"].includes(r.state)).length);
  ok("overview: devices, online, in error, active rollouts as the API says");

  const vr = await rows(page, "#versions-table", "data-version");
  assert.equal(vr.length, o.versions.length);
  for (const v of o.versions) {
    const r = vr.find((x) => x.attrs["data-product"] === v.product && x.key === v.version);
    assert.ok(r, `a row for ${v.product} ${v.version}`);
    assert.equal(num(r.devices), v.devices);
    assert.equal(num(r.online), v.online);
  }
  ok(`overview: ${o.versions.length} versions with their devices and online counts`);
  const pr = await rows(page, "#products-table", "data-product");
  assert.equal(pr.length, o.products.length);
  for (const p of o.products) assert.equal(num(pr.find((x) => x.key === p.product).devices), p.devices);
  const sr = await rows(page, "#states-table", "data-state");
  assert.equal(sr.length, o.states.length);
  for (const s of o.states) assert.equal(num(sr.find((x) => x.key === s.state).devices), s.devices);
  const er = await rows(page, "#errors-table", "data-name");
  assert.equal(er.length, o.errors.length);
  for (const e of o.errors) assert.equal(num(er.find((x) => x.key === e.name).devices), e.devices);
  ok("overview: devices per product, per state and per error name");
  const recent = await page.$$eval("#recent-table tbody tr[data-device]", (t) => t.map((r) => r.getAttribute("data-device")));
  assert.deepEqual(recent, o.recent_errors.map((d) => d.id));
  ok("overview: the newest devices in error, in order");
  const chart = await page.$eval("#chart", (c) => ({
    confirmed: Number(c.getAttribute("data-total-confirmed")),
    rolled_back: Number(c.getAttribute("data-total-rolled-back")),
    error: Number(c.getAttribute("data-total-error")),
    canvas: !!c.querySelector("canvas"),
  }));
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  assert.equal(chart.confirmed, sum(o.outcomes.confirmed));
  assert.equal(chart.rolled_back, sum(o.outcomes.rolled_back));
  assert.equal(chart.error, sum(o.outcomes.error));
  assert.ok(chart.confirmed > 0 && chart.canvas, "the chart is drawn with the confirmed updates");
  ok("overview: the outcome chart holds the API's outcomes");
  await shot(page, "overview");
}

async function pageIds(page) {
  return page.$$eval("#devices-table tbody tr[data-device]", (t) => t.map((r) => r.getAttribute("data-device")));
}

async function devices(page) {
  await view(page, "#/devices", "devices");
  let a = await get("devices?limit=50");
  assert.deepEqual(await pageIds(page), a.devices.map((d) => d.id));
  assert.equal(num(await page.$eval('[data-k="total"]', (e) => e.textContent)), a.total);
  ok(`devices: the first page and the total (${a.total}) as the API's`);
  await shot(page, "devices");

  // Filters typed into the form narrow the list as the API's filters do.
  await page.type("#q", "rb-");
  await page.select("#state", "rolled_back");
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.click("#filters button[type=submit]");
  await page.waitForSelector('body[data-loaded="devices"]');
  a = await get("devices?q=rb-&state=rolled_back&limit=50");
  const ids = await pageIds(page);
  assert.deepEqual(ids, a.devices.map((d) => d.id));
  assert.ok(ids.length > 0 && ids.every((id) => id.startsWith("rb-")));
  assert.equal(num(await page.$eval('[data-k="total"]', (e) => e.textContent)), a.total);
  ok(`devices: search and state filter give the API's ${ids.length} devices`);
  await view(page, "#/devices?tag=eu", "devices");
  a = await get("devices?tag=eu&limit=50");
  assert.deepEqual(await pageIds(page), a.devices.map((d) => d.id));
  await view(page, "#/devices?version=1.1.0&product=inv", "devices");
  a = await get("devices?version=1.1.0&product=inv&limit=50");
  assert.deepEqual(await pageIds(page), a.devices.map((d) => d.id));
  await view(page, "#/devices?errors=1", "devices");
  a = await get("devices?errors=1&limit=50");
  assert.deepEqual(await pageIds(page), a.devices.map((d) => d.id));
  assert.ok(await page.$eval("#errors", (e) => e.checked));
  ok("devices: tag, version and product, in-error filters as the API's");

  // Pages of 10 follow the API's cursor.
  await view(page, "#/devices?limit=10", "devices");
  const p1 = await get("devices?limit=10");
  assert.deepEqual(await pageIds(page), p1.devices.map((d) => d.id));
  assert.ok(p1.next, "more than one page");
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.click("#next");
  await page.waitForSelector('body[data-loaded="devices"]');
  const p2 = await get(`devices?limit=10&after=${encodeURIComponent(p1.next)}`);
  assert.deepEqual(await pageIds(page), p2.devices.map((d) => d.id));
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.click("#prev");
  await page.waitForSelector('body[data-loaded="devices"]');
  assert.deepEqual(await pageIds(page), p1.devices.map((d) => d.id));
  ok("devices: Next and Previous walk the API's pages");
}

async function device(page) {
  const id = (await get("devices?state=error&limit=1")).devices[0].id;
  await view(page, `#/device/${id}`, "device");
  const d = await get(`devices/${id}`);
  const k = (name) => page.$eval(`[data-k="${name}"]`, (e) => e.textContent);
  assert.equal(await k("id"), d.id);
  assert.equal(await k("product"), d.product);
  assert.equal(await k("version"), d.version);
  assert.equal(await k("state"), d.state);
  assert.ok((await k("last_error")).startsWith(d.last_error_name));
  assert.equal(num(await page.$eval("#timeline-table", (e) => e.getAttribute("data-count"))), d.reports.length);
  const errs = {};
  for (const r of d.reports) if (r.error) errs[r.error_name] = (errs[r.error_name] || 0) + 1;
  const er = await rows(page, "#dev-errors-table", "data-name");
  assert.equal(er.length, Object.keys(errs).length);
  for (const r of er) assert.equal(num(r.count), errs[r.key]);
  ok(`device ${id}: identity, version, state, error and its ${d.reports.length} reports`);
  await shot(page, "device");
  // A device that downloaded: its progress.
  const up = (await get("devices?product=inv&limit=1")).devices[0];
  await view(page, `#/device/${up.id}`, "device");
  const u = await get(`devices/${up.id}`);
  assert.equal(await k("version"), u.version);
  assert.equal(await k("previous"), (u.reports.find((r) => r.running && r.running !== u.version) || {}).running || "–");
  if (u.total) {
    assert.equal(num(await k("done")), u.done);
    assert.equal(num(await k("total")), u.total);
  }
  ok(`device ${up.id}: running ${u.version}, previous version and download progress`);
}

async function releases(page) {
  await view(page, "#/releases", "releases");
  const rl = await get("releases");
  const o = await get("overview");
  const rr = await rows(page, "#releases-table", "data-release");
  assert.equal(rr.length, rl.releases.length);
  for (const r of rl.releases) {
    const row = rr.find((x) => x.key === r.id);
    assert.equal(num(row.security_version), r.security_version);
    assert.equal(row.key_id, r.key_id);
    assert.equal(num(row.chunk_size), r.chunk_size);
    assert.equal(num(row.chunk_count), r.chunk_count);
    const v = o.versions.find((x) => x.product === r.product && x.version === r.version);
    assert.equal(num(row.running), v ? v.devices : 0);
  }
  assert.ok(rr.some((r) => num(r.running) > 0));
  ok(`releases: ${rl.releases.length} releases with size, security version, key, chunks, devices running`);
  await shot(page, "releases");

  /* The release of product inv has a delta (fleet.sh): its page lists it as the API does, and
   * one without deltas says so. */
  const inv = rl.releases.find((r) => r.product === "inv");
  await page.click(`#releases-table tr[data-release="${inv.id}"] a`);
  await page.waitForFunction((id) => location.hash === `#/release/${id}` && document.body.getAttribute("data-loaded") === "release", {}, inv.id);
  await page.waitForSelector("#deltas-table tbody tr[data-delta]");
  const full = await get(`releases/${inv.id}`);
  assert.equal(full.deltas.length, 1);
  const dr = await rows(page, "#deltas-table", "data-delta");
  assert.equal(dr.length, full.deltas.length);
  for (const d of full.deltas) {
    const row = dr.find((x) => x.key === d.delta);
    assert.ok(row, `delta ${d.delta} shown`);
    assert.equal(row.source, d.source_sha256.slice(0, 16));
    assert.equal(num(row.source_size), d.source_size);
    assert.equal(num(row.patch_size), d.patch_size);
    assert.equal(num(row.blob_size), d.blob_size);
    assert.equal(num(row.chunk_count), d.chunk_count);
    assert.equal(row.share, `${(100 * d.blob_size / full.blob_size).toFixed(1)} %`);
    assert.ok(d.blob_size * 4 < full.blob_size, "the delta is a fraction of the full download");
  }
  assert.equal(await page.$eval("[data-k=blob_size]", (e) => e.textContent), `${full.blob_size.toLocaleString("en-US")} bytes in ${full.chunk_count.toLocaleString("en-US")} chunks of ${full.chunk_size.toLocaleString("en-US")}`);
  assert.equal(await page.$eval("#nav a.active", (a) => a.dataset.view), "releases");
  await shot(page, "release");
  const other = rl.releases.find((r) => r.product === "inv-b");
  await view(page, `#/release/${other.id}`, "release");
  await page.waitForFunction(() => /No delta for this release/.test(document.querySelector("#deltas") ? document.querySelector("#deltas").textContent : ""));
  ok(`release ${inv.version}: facts and its delta (${dr[0].share} of the full download) as the API has them; none for ${other.version}`);
}

async function rolloutNumbers(page, id) {
  return page.$eval(`[data-rollout="${id}"]`, (c) => {
    const o = { state: c.getAttribute("data-state") };
    for (const e of c.querySelectorAll(".counts [data-k]")) o[e.getAttribute("data-k")] = e.textContent;
    return o;
  });
}

async function waitState(id, want) {
  for (let i = 0; i < 50; i++) {
    const r = await get(`rollouts/${id}`);
    if (r.state === want) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail(`rollout ${id} never became ${want}`);
}

async function rollouts(page) {
  await view(page, "#/rollouts", "rollouts");
  const list = await get("rollouts");
  const id = list.rollouts[0].id;
  let r = await get(`rollouts/${id}`);
  assert.equal(r.state, "paused", "the fleet's rollout paused itself");
  let n = await rolloutNumbers(page, id);
  assert.equal(n.state, r.state);
  for (const k of ["pending", "started", "downloading", "downloaded", "installed", "succeeded", "failed", "total"]) {
    assert.equal(num(n[k]), r.counts[k], `count ${k}`);
  }
  assert.equal(n.failure_percent.replace(/\s/g, ""), r.failure_percent === null ? "–" : `${r.failure_percent.toFixed(1)}%`);
  const stages = await page.$$eval(`[data-rollout="${id}"] tr[data-stage]`, (t) => t.map((tr) => ({
    succeeded: tr.querySelector('[data-k="succeeded"]').textContent,
    failed: tr.querySelector('[data-k="failed"]').textContent,
    total: tr.querySelector('[data-k="total"]').textContent,
  })));
  assert.equal(stages.length, r.stages.length);
  r.stages.forEach((s, i) => {
    assert.equal(num(stages[i].succeeded), s.counts.succeeded);
    assert.equal(num(stages[i].failed), s.counts.failed);
    assert.equal(num(stages[i].total), s.counts.total);
  });
  assert.equal(await page.$eval(`[data-rollout="${id}"] [data-k="reason"]`, (e) => e.textContent), r.paused_reason);
  ok(`rollout ${id}: state, counts per status and stage, failure rate and reason as the API's`);
  // The summary's threshold is the open stage's (the rollout itself has none), as its stage row says.
  const open = r.stages.find((s) => s.number === r.current_stage);
  assert.ok(open && open.max_failures === 1 && !r.max_failures && !r.max_failure_percent, "stage thresholds only");
  const cell = await page.$eval(`[data-rollout="${id}"] tr[data-stage="${open.number}"] [data-k="threshold"]`, (e) => e.textContent);
  assert.equal(cell, "1 failed");
  assert.equal(await page.$eval(`[data-rollout="${id}"] .counts [data-k="threshold"]`, (e) => e.textContent),
    `failure rate (threshold stage ${open.number}: ${cell})`);
  ok(`rollout ${id}: the failure rate's threshold is the open stage's, as in the stage table`);
  await shot(page, "rollouts");

  // Resume and pause from the page change the rollout in the API, and the page follows.
  await page.click(`[data-rollout="${id}"] [data-action="resume"]`);
  r = await waitState(id, "running");
  await page.waitForSelector(`[data-rollout="${id}"][data-state="running"]`, { timeout: 30000 });
  await page.waitForSelector(`[data-rollout="${id}"] [data-action="pause"]`);
  ok(`rollout ${id}: Resume on the page made it running in the API`);
  await page.click(`[data-rollout="${id}"] [data-action="pause"]`);
  r = await waitState(id, "paused");
  await page.waitForSelector(`[data-rollout="${id}"][data-state="paused"]`, { timeout: 30000 });
  ok(`rollout ${id}: Pause on the page made it paused in the API`);
}

/* A rollout whose name is HTML: shown as text; Start and Cancel from the page (an admin's). */
async function startAndCancel(page) {
  const rel = (await get("releases")).releases.find((r) => r.product === "inv-b");
  const name = '<img src="x" id="injected">&amp;';
  const made = await api("rollouts", { method: "POST", body: { name, release: rel.id, stages: [{ percent: 100 }] } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id;
  await view(page, "#/rollouts", "rollouts");
  await page.waitForSelector(`[data-rollout="${id}"][data-state="created"]`);
  assert.equal(await page.$("#injected"), null, "the name was not made into an element");
  const title = await page.$eval(`[data-rollout="${id}"] h2`, (e) => e.textContent);
  assert.ok(title.includes(name), `the name shown as it is: ${title}`);
  ok("rollouts: a name holding HTML is shown as text");
  await page.click(`[data-rollout="${id}"] [data-action="start"]`);
  await waitState(id, "running");
  await page.waitForSelector(`[data-rollout="${id}"][data-state="running"]`);
  ok(`rollout ${id}: Start on the page made it running in the API`);
  page.once("dialog", (d) => d.accept());
  await page.click(`[data-rollout="${id}"] [data-action="cancel"]`);
  await waitState(id, "cancelled");
  await page.waitForSelector(`[data-rollout="${id}"][data-state="cancelled"]`);
  assert.equal(await page.$$eval(`[data-rollout="${id}"] [data-action]`, (b) => b.length), 0);
  ok(`rollout ${id}: Cancel on the page, confirmed, made it cancelled in the API; no button left`);
}

async function assignments(page) {
  await view(page, "#/assignments", "assignments");
  const al = await get("assignments");
  const rl = await get("releases");
  const ar = await rows(page, "#assignments-table", "data-target");
  assert.equal(ar.length, al.assignments.length);
  for (const a of al.assignments) {
    const row = ar.find((x) => x.key === (a.device || a.product));
    assert.equal(row.version, rl.releases.find((x) => x.id === a.release).version);
  }
  assert.ok(await page.$("#assign-form"), "the admin sees the assignment form");
  ok(`assignments: ${al.assignments.length} as the API's, the form shown to the admin`);
  await shot(page, "assignments");
}

/* The live refresh: a change made through the API shows without a reload. */
async function live(page) {
  await view(page, "#/assignments", "assignments");
  const rel = (await get("releases")).releases.find((r) => r.product === "inv");
  const res = await api("assignments", { method: "POST", body: { release: rel.id, device: "inv-live-1" } });
  assert.equal(res.status, 201);
  await page.waitForSelector('#assignments-table tr[data-target="inv-live-1"]', { timeout: 30000 });
  ok("live: an assignment made through the API appears without a reload");
}

/* A request with another token, as a script would send it. */
async function whoami(token) {
  return api("whoami", {}, token);
}

/* The tokens view: the API's list; a token made on the page (its secret shown once, copied) works
 * and is listed; revoking it on the page, confirmed, makes fotad refuse it. */
async function tokens(page, browser) {
  await view(page, "#/tokens", "tokens");
  let tl = (await get("tokens")).tokens;
  let tr = await rows(page, "#tokens-table", "data-token");
  assert.deepEqual(tr.map((r) => [r.key, r.role, r.created_by]), tl.map((t) => [t.id, t.role, t.created_by]));
  ok(`tokens: the ${tl.length} tokens of the API, with role and creator`);

  await page.type("#token-name", "made on the page");
  await page.select("#token-role", "operator");
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#token-secret");
  const secret = await page.$eval("#token-secret", (e) => e.value);
  assert.match(secret, /^fota_[0-9a-f]{12}_[0-9a-f]{64}$/);
  assert.match(await page.$eval("#token-new", (e) => e.textContent), /shown only now/i);
  const id = secret.split("_")[1];
  await browser.defaultBrowserContext().overridePermissions(URL, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
  await page.click("#token-copy");
  await page.waitForFunction(() => document.querySelector("#token-copy").textContent === "Copied");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  const me = await whoami(secret);
  assert.equal(me.status, 200);
  assert.deepEqual([me.body.token, me.body.name, me.body.role], [id, "made on the page", "operator"]);
  tl = (await get("tokens")).tokens;
  assert.ok(tl.some((t) => t.id === id && t.role === "operator" && !t.revoked), "listed by the API");
  await page.waitForSelector(`#tokens-table tr[data-token="${id}"] [data-action="revoke"]`);
  ok(`tokens: ${id} made on the page, its secret shown once and copied; whoami answers operator; listed by the API`);
  await shot(page, "tokens");

  // Revoke: dismissed, nothing happens; confirmed, fotad refuses the token.
  page.once("dialog", (d) => d.dismiss());
  await page.click(`#tokens-table tr[data-token="${id}"] [data-action="revoke"]`);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal((await whoami(secret)).status, 200, "a dismissed revocation revokes nothing");
  page.once("dialog", (d) => d.accept());
  await page.click(`#tokens-table tr[data-token="${id}"] [data-action="revoke"]`);
  await page.waitForSelector(`#tokens-table tr[data-token="${id}"].revoked`);
  assert.equal((await whoami(secret)).status, 403);
  const t = (await get("tokens")).tokens.find((x) => x.id === id);
  assert.ok(t.revoked > 0);
  assert.equal(await page.$eval(`#tokens-table tr[data-token="${id}"] [data-k="revoked"]`, (e) => Number(e.getAttribute("data-v"))), t.revoked);
  assert.equal(await page.$(`#tokens-table tr[data-token="${id}"] [data-action]`), null);
  ok(`tokens: revoking ${id} on the page, confirmed (not when dismissed), and fotad refuses it (403)`);
  return id;
}

/* The rows of the audit view: seq, action, status and its colour class. */
async function auditRows(page) {
  return page.$$eval("#audit-table tbody tr[data-seq]", (t) => t.map((r) => ({
    seq: Number(r.querySelector('[data-k="seq"]').textContent),
    action: r.querySelector('[data-k="action"]').textContent,
    token: r.querySelector('[data-k="token"]').textContent,
    status: Number(r.querySelector('[data-k="status"]').textContent),
    cls: r.querySelector('[data-k="status"]').className,
  })));
}

function sameAudit(shown, rows) {
  assert.deepEqual(shown.map((r) => [r.seq, r.action, r.token, r.status]),
    rows.map((a) => [a.seq, a.action, a.token, a.status]));
  const colour = (s) => (s >= 500 ? "bad" : s >= 400 ? "warn" : "ok");
  for (const r of shown) assert.ok(r.cls.split(" ").includes(colour(r.status)), `status ${r.status}: ${r.cls}`);
}

async function clickAndLoad(page, sel, name) {
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.click(sel);
  await page.waitForSelector(`body[data-loaded="${name}"]`);
}

/* The audit view: the API's first page, paging by seq both ways, the filters, the live refresh. */
async function audit(page) {
  // An operator's refused write (409: the rollout is paused already): a 4xx row of its token.
  const op = (await api("tokens", { method: "POST", body: { name: "audit-operator", role: "operator" } })).body;
  const paused = (await get("rollouts")).rollouts.find((r) => r.state === "paused");
  assert.equal((await api(`rollouts/${paused.id}/pause`, { method: "POST", body: {} }, op.secret)).status, 409);
  const tokenId = op.id;
  await view(page, "#/audit", "audit");
  let a = await get("audit?limit=50");
  sameAudit(await auditRows(page), a.audit);
  assert.ok(a.audit.some((r) => r.status === 409) && a.audit.some((r) => r.status < 300));
  ok(`audit: the first page (${a.audit.length} rows) has the API's seq, action, token and status, coloured by class`);
  await shot(page, "audit");

  await view(page, "#/audit?limit=5", "audit");
  const p1 = await get("audit?limit=5");
  sameAudit(await auditRows(page), p1.audit);
  assert.ok(p1.more, "more than one page of 5");
  assert.ok(await page.$eval("#audit-newer", (b) => b.disabled), "no newer page from the newest");
  await clickAndLoad(page, "#audit-older", "audit");
  const p2 = await get(`audit?limit=5&before=${p1.audit[4].seq}`);
  sameAudit(await auditRows(page), p2.audit);
  await clickAndLoad(page, "#audit-older", "audit");
  const p3 = await get(`audit?limit=5&before=${p2.audit[p2.audit.length - 1].seq}`);
  sameAudit(await auditRows(page), p3.audit);
  await clickAndLoad(page, "#audit-newer", "audit");
  sameAudit(await auditRows(page), p2.audit);
  await clickAndLoad(page, "#audit-newer", "audit");
  sameAudit(await auditRows(page), (await get("audit?limit=5")).audit);
  assert.ok(await page.$eval("#audit-newer", (b) => b.disabled));
  ok("audit: Older and Newer walk the API's pages by seq (before=), back to the newest");

  // Filters by action and by token, through the form.
  await view(page, "#/audit", "audit");
  const action = "POST /api/admin/rollouts/{id}/pause";
  await page.select("#audit-action", action);
  await clickAndLoad(page, "#audit-filters button[type=submit]", "audit");
  a = await get(`audit?limit=50&action=${encodeURIComponent(action)}`);
  let shown = await auditRows(page);
  sameAudit(shown, a.audit);
  assert.ok(shown.length >= 2 && shown.every((r) => r.action === action));
  await view(page, "#/audit", "audit");
  const opts = await page.$$eval("#audit-token option", (o) => o.map((x) => x.value));
  assert.deepEqual(await page.select("#audit-token", tokenId), [tokenId], `the token among ${opts}`);
  await clickAndLoad(page, "#audit-filters button[type=submit]", "audit");
  a = await get(`audit?limit=50&token=${tokenId}`);
  shown = await auditRows(page);
  sameAudit(shown, a.audit);
  assert.deepEqual(shown.map((r) => [r.token, r.status]), [[tokenId, 409]]);
  ok(`audit: filtered by action and by token (${tokenId}'s one refused pause) as the API's`);

  // Live: a write made now appears on the newest page without a reload.
  await view(page, "#/audit", "audit");
  const rel = (await get("releases")).releases.find((r) => r.product === "inv");
  assert.equal((await api("assignments", { method: "POST", body: { release: rel.id, device: "inv-audit-1" } })).status, 201);
  const newest = (await get("audit?limit=1")).audit[0];
  await page.waitForSelector(`#audit-table tr[data-seq="${newest.seq}"]`, { timeout: 30000 });
  ok(`audit: a write made through the API (seq ${newest.seq}) appears without a reload`);
}

/* A new browser tab signed in with a token of `role` made through the API. */
async function signedIn(browser, role) {
  const made = await api("tokens", { method: "POST", body: { name: `console-${role}`, role } });
  assert.ok(made.status === 200 || made.status === 201, `a ${role} token: ${JSON.stringify(made.body)}`);
  const token = made.body.secret || made.body.token;
  assert.ok(token, `the new ${role} token's secret`);
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  watch(page);
  await page.goto(`${URL}/`);
  await page.type("#token", token);
  await page.click("#login-form button");
  await page.waitForSelector('body[data-loaded="overview"]', { timeout: 30000 });
  assert.equal(await page.$eval("#who-role", (e) => e.textContent), role);
  return page;
}

/* The roles (fotad with /api/admin/tokens): a viewer sees no write control and is refused a write
 * sent anyway; an operator sees pause, resume, cancel and the assignment form, not start. */
async function roles(browser) {
  const probe = await api("tokens");
  if (probe.status === 404) {
    skipped.push("the viewer and operator roles (this fotad has no /api/admin/tokens): no write control for a viewer, 403 on a write, an operator's controls");
    return;
  }
  const viewer = await signedIn(browser, "viewer");
  await view(viewer, "#/rollouts", "rollouts");
  assert.equal(await viewer.$$eval("[data-action]", (b) => b.length), 0, "no rollout button for a viewer");
  await view(viewer, "#/assignments", "assignments");
  assert.equal(await viewer.$("#assign-form"), null, "no assignment form for a viewer");
  const id = (await get("rollouts")).rollouts.find((r) => r.name === "canary-1.3.0").id;
  const before = (await get(`rollouts/${id}`)).state;
  refusal(`/api/admin/rollouts/${id}/resume`, 403);
  const status = await viewer.evaluate(async (id) => {
    const r = await fetch(`/api/admin/rollouts/${id}/resume`, { method: "POST", headers: { Authorization: `Bearer ${sessionStorage.getItem("fota.token")}` }, body: "{}" });
    return r.status;
  }, id);
  assert.equal(status, 403);
  assert.equal((await get(`rollouts/${id}`)).state, before);
  ok("viewer: no write control shown; a write sent anyway is refused with 403 and changes nothing");
  // Neither admin view: no link, nothing loaded on its address, 403 from the API.
  const links = await viewer.$$eval('#nav a[data-view="audit"], #nav a[data-view="tokens"]', (a) => a.map((x) => x.getClientRects().length));
  assert.deepEqual(links, [0, 0], "no Audit or Tokens link for a viewer");
  for (const v of ["audit", "tokens"]) {
    await view(viewer, `#/${v}`, "denied");
    assert.equal(await viewer.$(`#${v}-table`), null);
  }
  refusal("/api/admin/audit", 403);
  refusal("/api/admin/tokens", 403);
  const refused = await viewer.evaluate(async () => Promise.all(["audit", "tokens"].map(async (p) => {
    const r = await fetch(`/api/admin/${p}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem("fota.token")}` } });
    return r.status;
  })));
  assert.deepEqual(refused, [403, 403]);
  ok("viewer: no Audit or Tokens view (no link, not loaded at its address); the API answers 403 to both");
  await viewer.close();

  const operator = await signedIn(browser, "operator");
  await view(operator, "#/rollouts", "rollouts");
  const actions = await operator.$$eval(`[data-rollout="${id}"] [data-action]`, (b) => b.map((x) => x.getAttribute("data-action")).sort());
  assert.deepEqual(actions, before === "paused" ? ["cancel", "resume"] : ["cancel", "pause"]);
  await view(operator, "#/assignments", "assignments");
  assert.ok(await operator.$("#assign-form"), "the assignment form for an operator");
  assert.deepEqual(await operator.$$eval('#nav a[data-role="admin"]', (a) => a.map((x) => x.getClientRects().length)), [0, 0]);
  ok("operator: pause or resume, cancel and the assignment form shown; no Audit or Tokens view");
  await operator.close();
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    userDataDir: process.env.PROFILE_DIR,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
    defaultViewport: { width: 1440, height: 900 },
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30000); /* make check runs other tests beside this one */
    watch(page);
    const first = await page.goto(`${URL}/`);
    const h = first.headers();
    assert.match(h["content-security-policy"], /script-src 'self'/);
    assert.doesNotMatch(h["content-security-policy"], /unsafe-inline/);
    assert.ok(h.etag && h["cache-control"]);
    assert.equal(h["content-type"], "text/html; charset=utf-8");
    ok("the page comes with a strict Content-Security-Policy, an ETag and Cache-Control");
    await page.waitForSelector("#login:not([hidden])");
    const shown = await page.$$eval("#nav, #who, #login", (els) => els.map((e) => e.getClientRects().length > 0));
    assert.deepEqual(shown, [false, false, true], "before sign-in only the sign-in form shows");
    await shot(page, "login");
    // A wrong token is refused on the page.
    refusal("/api/admin/whoami", 403);
    await page.type("#token", "not-the-token");
    await page.click("#login-form button");
    await page.waitForSelector("#login-error:not([hidden])");
    ok("sign-in: a wrong token is refused");
    await page.$eval("#token", (e) => { e.value = ""; });
    await page.type("#token", TOKEN);
    await page.click("#login-form button");
    await page.waitForSelector('body[data-loaded="overview"]', { timeout: 30000 });
    assert.equal(await page.$eval("#who-role", (e) => e.textContent), "admin");
    const after = await page.$$eval("#nav, #who, #login", (els) => els.map((e) => e.getClientRects().length > 0));
    assert.deepEqual(after, [true, true, false], "after sign-in the views show, the form does not");
    assert.deepEqual(await page.$$eval('#nav a[data-role="admin"]', (a) => a.map((x) => x.getClientRects().length > 0)), [true, true],
      "an admin sees the Audit and Tokens views");
    ok("sign-in: the admin token opens the console, role admin");
    await overview(page);
    await nextRefresh(page, "overview");
    ok("live: the overview reloads itself");
    await devices(page);
    await device(page);
    await releases(page);
    await rollouts(page);
    await startAndCancel(page);
    await assignments(page);
    await live(page);
    await tokens(page, browser);
    await audit(page);
    await roles(browser);
    // The token survives a reload of the tab (sessionStorage), and signing out forgets it.
    await page.reload();
    await page.waitForSelector("body[data-loaded]", { timeout: 30000 });
    await page.click("#signout");
    await page.waitForSelector("#login:not([hidden])");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("fota.token")), null);
    ok("the token is kept across a reload and forgotten at sign-out");
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, [], "no console error, page error or failed request");
  ok("no console error, page error, failed request or request off fotad");
  for (const s of skipped) console.log(`not run here: ${s}`);
  console.log(`${checks} passed, 0 failed${skipped.length ? `, ${skipped.length} skipped` : ""}`);
}

main().catch((e) => {
  console.error(e);
  if (problems.length) console.error(problems.join("\n"));
  console.log(`${checks} passed, 1 failed`);
  process.exit(1);
});
