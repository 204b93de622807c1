// Evaluations (#/evaluations?filters, #/evaluations/ID with the drawer open): filters, a table
// sorted by the API (sort/order), pagination. The address holds the whole view, so it can be shared.
import { getJson, query } from "./api.js";
import { h, clear } from "./format.js";
import { COLUMNS, evalRow } from "./evaltable.js";
import { openDrawer, closeDrawer } from "./drawer.js";

const PAGE = 50;
const FILTERS = ["outcome", "reason", "hotkey", "round"];
const REASONS = ["ok", "correctness_first_mismatch", "correctness_teacher_forcing", "prompt_error",
  "too_few_tokens", "too_many_tokens", "logprob_count_mismatch", "usage_mismatch",
  "finish_reason_missing", "finish_reason_invalid", "finish_reason_inconsistent", "data_after_done",
  "tokens_after_finish", "missing_done", "startup_timeout", "candidate_unreachable",
  "image_unavailable", "image_pull_failed", "image_too_large", "image_digest_mismatch",
  "evaluation_timeout", "baseline_failed", "baseline_unstable", "scorer_unavailable",
  "harness_error", "launch_failed"];

function fromParams(p) {
  const q = {};
  for (const k of [...FILTERS, "sort", "order"]) if (p.get(k)) q[k] = p.get(k);
  const off = Number.parseInt(p.get("offset") || "0", 10);
  if (off > 0) q.offset = off;
  return q;
}

const sortOf = (q) => q.sort || "finished";
const orderOf = (q) => q.order || "desc";
const hashFor = (q, id) => `#/evaluations${id ? `/${encodeURIComponent(id)}` : ""}${query(q)}`;

export function mount(main, route, ctx) {
  let q = fromParams(route.params);
  let listKey = null;
  let requested = null; // the filters of the last list asked for
  let refreshKey = null;
  let seq = 0;

  const outcomeSel = h("select", { id: "f-outcome", name: "outcome" },
    ["", "passed", "failed", "undecided"].map((v) => h("option", { value: v }, v || "any")));
  const reasonIn = h("input", { id: "f-reason", name: "reason", list: "reason-codes",
                                autocomplete: "off", spellcheck: "false", placeholder: "e.g. prompt_error" });
  const hotkeyIn = h("input", { id: "f-hotkey", name: "hotkey", autocomplete: "off",
                                spellcheck: "false", placeholder: "0x… (full hotkey)" });
  const clearBtn = h("button", { type: "button", class: "secondary" }, "Clear");
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter evaluations" },
    h("div", {}, h("label", { for: "f-outcome" }, "Outcome"), outcomeSel),
    h("div", {}, h("label", { for: "f-reason" }, "Reason"), reasonIn,
      h("datalist", { id: "reason-codes" }, REASONS.map((r) => h("option", { value: r })))),
    h("div", { class: "grow" }, h("label", { for: "f-hotkey" }, "Hotkey"), hotkeyIn),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"), clearBtn));

  const headers = new Map();
  const headRow = h("tr", {}, COLUMNS.map((c) => {
    const th = h("th", { scope: "col", class: c.num ? "num" : c.cls || null });
    if (!c.key) {
      th.textContent = c.label;
      return th;
    }
    const ind = h("span", { class: "sort-ind", "aria-hidden": "true" });
    const btn = h("button", { type: "button", class: "sort", "data-sort": c.key }, c.label, ind);
    btn.addEventListener("click", () => sortBy(c.key)); // Enter and Space click a button
    th.append(btn);
    headers.set(c.key, { th, ind });
    return th;
  }));
  const tbody = h("tbody");
  const table = h("table", { class: "data" },
    h("caption", { class: "sr-only" }, "Evaluations; column headers with buttons sort the table"),
    h("thead", {}, headRow), tbody);
  const wrap = h("div", { class: "table-wrap", role: "region", "aria-label": "Evaluations table",
                          tabindex: "0" }, table);
  const summary = h("p", { class: "summary", "aria-live": "polite" }, "Loading…");
  const empty = h("div", { class: "empty", hidden: true });
  const errorBox = h("p", { class: "error", role: "alert", hidden: true });
  const prev = h("button", { type: "button", class: "secondary" }, "Previous");
  const next = h("button", { type: "button", class: "secondary" }, "Next");
  const pager = h("nav", { class: "pager", "aria-label": "Pages" }, prev, next);

  main.append(h("h1", { tabindex: "-1" }, "Evaluations"), form, summary, errorBox, empty, wrap, pager);

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go({ ...q, outcome: outcomeSel.value, reason: reasonIn.value.trim(),
         hotkey: hotkeyIn.value.trim(), offset: 0 });
  });
  outcomeSel.addEventListener("change", () => go({ ...q, outcome: outcomeSel.value, offset: 0 }));
  clearBtn.addEventListener("click", () => go({ sort: q.sort, order: q.order }));
  prev.addEventListener("click", () => go({ ...q, offset: Math.max(0, (q.offset || 0) - PAGE) }));
  next.addEventListener("click", () => go({ ...q, offset: (q.offset || 0) + PAGE }));

  function go(nq, id = null) {
    for (const k of Object.keys(nq)) if (nq[k] === "" || nq[k] === 0) delete nq[k];
    location.hash = hashFor(nq, id);
  }

  function sortBy(key) {
    const same = sortOf(q) === key;
    const order = same ? (orderOf(q) === "desc" ? "asc" : "desc") : key === "hotkey" ? "asc" : "desc";
    go({ ...q, sort: key, order, offset: 0 });
  }

  function syncControls() {
    outcomeSel.value = q.outcome || "";
    reasonIn.value = q.reason || "";
    hotkeyIn.value = q.hotkey || "";
    for (const [key, { th, ind }] of headers) {
      if (key === sortOf(q)) {
        const asc = orderOf(q) === "asc";
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        ind.textContent = asc ? " ▲" : " ▼";
      } else {
        th.removeAttribute("aria-sort");
        ind.textContent = "";
      }
    }
  }

  async function load() {
    const mine = ++seq;
    const params = { ...q, limit: PAGE, offset: q.offset || 0 };
    let page;
    try {
      page = await getJson(`/api/v1/evaluations${query(params)}`);
    } catch (e) {
      if (mine !== seq) return;
      errorBox.hidden = false;
      errorBox.textContent = e.status === 400 ? `Bad filter: ${e.message}`
        : `Could not load evaluations: ${e.message}${listKey ? " Showing the last list loaded." : ""}`;
      return;
    }
    if (mine !== seq) return; // a newer request is under way
    errorBox.hidden = true;
    render(page);
  }

  function render(page) {
    const key = JSON.stringify(page);
    if (key === listKey) return; // unchanged: keep the DOM (and any focus inside it)
    listKey = key;
    const items = page.items || [];
    const off = page.offset || 0;
    const filtered = FILTERS.some((k) => q[k]);
    clear(tbody).append(...items.map((e) => evalRow(e, (id) => hashFor(q, id))));
    wrap.hidden = items.length === 0;
    clear(empty);
    empty.hidden = items.length > 0;
    if (!items.length) {
      if (filtered) {
        const b = h("button", { type: "button", class: "secondary" }, "Clear filters");
        b.addEventListener("click", () => clearBtn.click());
        empty.append(h("p", {}, "No evaluations match these filters."), b);
      } else if (off > 0) {
        empty.append(h("p", {}, "No evaluations on this page. "), h("a", { href: hashFor({ ...q, offset: undefined }) }, "First page"));
      } else {
        empty.append(h("p", {}, "No evaluations yet. They appear here once the validator runs a round."));
      }
    }
    summary.textContent = items.length
      ? `Showing ${off + 1}–${off + items.length} of ${page.total}` : `${page.total} evaluations`;
    prev.disabled = off === 0;
    next.disabled = off + items.length >= page.total;
    pager.hidden = prev.disabled && next.disabled;
  }

  function applyRoute(r) {
    const nq = fromParams(r.params);
    if (JSON.stringify(nq) !== requested) {
      q = nq;
      requested = JSON.stringify(nq);
      syncControls();
      load();
    }
    const id = r.parts[0];
    if (id) openDrawer(id, () => go({ ...q }));
    else closeDrawer();
  }

  syncControls();
  applyRoute(route);

  return {
    route: applyRoute,
    update(s) {
      // Reload when evaluations finish or a running one changes state.
      const parts = s.live && s.live.participants ? s.live.participants.map((p) => p.state) : [];
      const key = JSON.stringify([s.counts && s.counts.evaluations, s.live && s.live.round, parts]);
      if (refreshKey !== null && key !== refreshKey) load();
      refreshKey = key;
    },
    refresh: load,
    unmount() {
      seq++;
      closeDrawer(false);
    },
  };
}
