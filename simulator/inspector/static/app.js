// The inspector page: tabs, the live stream, and buttons that call the admin API.
// Views are rendered by the server (/_sim/ui/part/<view>); an event from /_sim/events marks the
// views it changes and they are fetched again (at most one fetch per view at a time).
"use strict";

const token = document.querySelector('meta[name="sim-token"]').content;
const headers = token ? { Authorization: "Bearer " + token } : {};
const filters = { webhooks: new URLSearchParams(), board: new URLSearchParams(), calls: new URLSearchParams() };

// ---- tabs ----------------------------------------------------------------------------------
function showTab() {
  const name = (location.hash || "#board").slice(1);
  const known = document.getElementById(name) && document.querySelector(`[data-tab="${name}"]`);
  const current = known ? name : "board";
  document.querySelectorAll("section.view").forEach((s) => s.classList.toggle("shown", s.id === current));
  document.querySelectorAll("[data-tab]").forEach((a) => a.setAttribute("aria-current", a.dataset.tab === current ? "page" : "false"));
  window.scrollTo(0, 0);   // a tab opens at its top, not where the anchor would jump
}
window.addEventListener("hashchange", showTab);
document.body.classList.add("js");
showTab();

// ---- refreshing views ----------------------------------------------------------------------
const dirty = new Set();
const busy = new Set();
let timer = null;

function mark(...views) {
  views.forEach((v) => dirty.add(v));
  if (!timer) timer = setTimeout(flush, 30);
}

function flush() {
  timer = null;
  for (const view of Array.from(dirty)) {
    if (busy.has(view)) continue;   // refetched when the running fetch ends
    dirty.delete(view);
    refresh(view);
  }
}

async function refresh(view) {
  const box = document.querySelector(`[data-part="${view}"]`);
  if (!box) return;
  busy.add(view);
  try {
    const query = filters[view] ? "?" + filters[view].toString() : "";
    const answer = await fetch(`/_sim/ui/part/${view}${query}`, { headers });
    if (answer.ok) {
      const open = new Set(Array.from(box.querySelectorAll("details[open] [data-attempt], details[open]"))
        .map((d) => d.closest("[data-attempt]")?.dataset.attempt).filter(Boolean));
      box.innerHTML = await answer.text();
      open.forEach((id) => box.querySelector(`[data-attempt="${id}"] details`)?.setAttribute("open", ""));
      box.dataset.version = String(Number(box.dataset.version || 0) + 1);
      if (view === "clock") tickClock();
    }
  } finally {
    busy.delete(view);
    if (dirty.has(view)) mark();
  }
}

// ---- the live stream -----------------------------------------------------------------------
const liveText = document.getElementById("live-text");
const liveBox = document.getElementById("live");
function connect() {
  const stream = new EventSource("/_sim/events");
  stream.onopen = () => { liveBox.dataset.state = "on"; liveText.textContent = "live"; };
  stream.onmessage = (message) => {
    let event = {};
    try { event = JSON.parse(message.data); } catch (e) { return; }
    const type = event.type || "";
    if (type === "webhook") mark("webhooks", "calls");
    else if (type === "requests") mark("requests");
    else if (/^(call|leg|employee)\./.test(type)) mark("board", "calls", "handset");
    else mark("board", "calls", "handset", "webhooks", "requests", "clock");   // hello, overflow, kinds added later
  };
  stream.onerror = () => { liveBox.dataset.state = "off"; liveText.textContent = "reconnecting…"; };
}
connect();

// ---- the clock: the page's own tick between events in real and scaled time ------------------
let clockBase = null;
function tickClock() {
  const el = document.getElementById("clock-now");
  if (!el) return;
  const mode = el.dataset.mode;
  const scale = mode === "real" ? 1 : mode.startsWith("scale:") ? Number(mode.slice(6)) : 0;
  clockBase = { at: Date.parse(el.getAttribute("datetime")), wall: Date.now(), scale };
}
setInterval(() => {
  const el = document.getElementById("clock-now");
  if (!el || !clockBase || !clockBase.scale) return;
  const now = new Date(clockBase.at + (Date.now() - clockBase.wall) * clockBase.scale);
  el.textContent = now.toISOString().slice(0, 19).replace("T", " ") + " UTC";
}, 1000);
tickClock();

// ---- calling the admin API -----------------------------------------------------------------
function toast(text, bad) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.className = bad ? "bad shown" : "shown";
  clearTimeout(box._t);
  box._t = setTimeout(() => { box.className = ""; }, bad ? 6000 : 2500);
}

async function api(spec, body) {
  const [method, url] = spec.split(" ");
  const init = { method, headers: { ...headers } };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const answer = await fetch(url, init);
  const text = await answer.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = text; }
  if (!answer.ok) {
    toast(`${method} ${url}: ${answer.status} ${(data && data.error) || text}`, true);
    throw new Error(String(answer.status));
  }
  return data;
}

document.addEventListener("click", async (ev) => {
  const button = ev.target.closest("[data-api]");
  if (button) {
    ev.preventDefault();
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    if (button.hasAttribute("data-with-transfer")) body.to = button.parentElement.querySelector("[data-transfer-to]").value;
    button.disabled = true;
    try {
      await api(button.dataset.api, body);
      toast(button.textContent.trim() + ": done");
      if (button.dataset.api.includes("/_sim/clock")) mark("clock", "board", "calls", "handset");
      else if (button.dataset.api.includes("/_sim/faults")) mark("faults");
      else mark("board", "calls", "handset", "webhooks");
    } catch (e) { /* the toast says why */ } finally { button.disabled = false; }
    return;
  }
  const copy = ev.target.closest("[data-copy]");
  if (copy) {
    try { await navigator.clipboard.writeText(copy.dataset.copy); } catch (e) {
      const area = Object.assign(document.createElement("textarea"), { value: copy.dataset.copy });
      document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
    }
    toast("copied");
    return;
  }
  const link = ev.target.closest("[data-filter-call]");
  if (link) {
    filters.webhooks = new URLSearchParams({ call: link.dataset.filterCall, account: link.dataset.filterAccount });
    mark("webhooks");
    return;
  }
  if (ev.target.closest("[data-clear-filters]")) {
    filters.webhooks = new URLSearchParams();
    mark("webhooks");
  }
});

document.addEventListener("change", (ev) => {
  const form = ev.target.closest("form[data-filters]");
  if (form) {
    filters[form.dataset.filters] = new URLSearchParams(
      Array.from(new FormData(form)).filter(([, v]) => v !== ""));
    mark(form.dataset.filters);
    return;
  }
  if (ev.target.matches("select[data-numbers]")) limitChoices(ev.target.closest("form"));
  if (ev.target.matches('#scenario-form select[name="example"]') && ev.target.value) loadExample(ev.target.value);
});

// the number and employee choices of the phone's forms follow the chosen account
function limitChoices(form) {
  if (!form) return;
  const account = form.querySelector("select[data-numbers]").value;
  form.querySelectorAll("option[data-account]").forEach((o) => { o.hidden = o.dataset.account !== account; });
  form.querySelectorAll("select").forEach((s) => {
    if (s.selectedOptions[0] && s.selectedOptions[0].hidden) {
      const first = Array.from(s.options).find((o) => !o.hidden);
      if (first) s.value = first.value;
    }
  });
}
new MutationObserver(() => document.querySelectorAll("form[data-form] select[data-numbers]").forEach((s) => {
  if (!s.form.dataset.limited) { s.form.dataset.limited = "1"; limitChoices(s.form); }
})).observe(document.querySelector("main"), { childList: true, subtree: true });
document.querySelectorAll("form[data-form] select[data-numbers]").forEach((s) => { s.form.dataset.limited = "1"; limitChoices(s.form); });

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (form.id === "scenario-form") { ev.preventDefault(); runScenario(form); return; }
  if (!form.dataset.form) return;
  ev.preventDefault();
  if (form.dataset.json) {   // the form holds the request body itself, as JSON
    let payload;
    try { payload = JSON.parse(form.elements[form.dataset.json].value); } catch (e) { toast(`not JSON: ${e.message}`, true); return; }
    try { const answer = await api(form.dataset.form, payload); toast(`added ${answer.id}`); mark("faults"); } catch (e) { /* the toast says why */ }
    return;
  }
  const body = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") body[el.name] = el.checked;
    else body[el.name] = el.value;
  }
  if (form.dataset.kind === "out") {   // an employee dialling a colleague's extension: an internal call
    const colleague = Array.from(form.querySelectorAll('select[name="employee"] option'))
      .find((o) => o.dataset.account === body.account && o.value === body.to.trim());
    if (colleague) body.direction = "internal";
  }
  const payload = form.dataset.wrap ? { [form.dataset.wrap]: body } : body;
  try {
    const answer = await api(form.dataset.form, payload);
    toast(answer && answer.call_id ? `call ${answer.call_id.slice(0, 12)} placed` : "saved");
    mark("board", "calls", "handset", "accounts");
  } catch (e) { /* the toast says why */ }
});

// ---- scenarios -----------------------------------------------------------------------------
async function loadExample(name) {
  const answer = await fetch(`/_sim/ui/examples/${encodeURIComponent(name)}`, { headers });
  if (answer.ok) document.querySelector('#scenario-form textarea[name="scenario"]').value = await answer.text();
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.forEach((c) => node.append(c));
  return node;
}

async function runScenario(form) {
  const out = document.getElementById("scenario-result");
  const body = { scenario: form.elements.scenario.value, source: form.elements.example.value || "<page>" };
  if (form.elements.provider.value) body.provider = form.elements.provider.value;
  out.textContent = "running…";
  const [method, url] = ["POST", "/_sim/scenarios/run"];
  const answer = await fetch(url, { method, headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await answer.json();
  out.textContent = "";
  if (!answer.ok) {
    out.append(el("p", { class: "violations" }, data.error || "the scenario did not run"));
    (data.problems || []).forEach((p) => out.append(el("div", { class: "violations" }, `line ${p.line}: ${p.field}: ${p.reason}`)));
    return;
  }
  out.append(el("p", { class: "badge " + (data.passed ? "v-ok" : "v-violations") }, data.passed ? "passed" : "failed"));
  for (const report of data.reports) {
    const card = el("article", { class: "card report", "data-provider": report.provider });
    card.append(el("h3", {}, `${report.name} · ${report.provider} · `, el("span", { class: "badge r-" + report.status }, report.status)));
    if (report.error) card.append(el("p", { class: "violations" }, report.error));
    const list = el("ul", { class: "expectations" });
    for (const exp of report.expectations || []) {
      const item = el("li", { class: "exp r-" + exp.status.replace("/", "") },
        el("span", { class: "badge r-" + exp.status.replace("/", "") }, exp.status), " ", `line ${exp.line}: ${exp.title}`);
      const checks = el("ul", {});
      (exp.checks || []).forEach(([status, what, detail]) => checks.append(el("li", { class: "r-" + status.replace("/", "") }, `${status}: ${what}${detail ? " — " + detail : ""}`)));
      item.append(checks);
      list.append(item);
    }
    card.append(list);
    out.append(card);
  }
}
