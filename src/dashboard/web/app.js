// The dashboard's shell: hash routing, the poll (live progress every 2 s while a round runs,
// 10 s otherwise) and the honest-state banners (API unreachable, validator stale, store unreadable).
import { getJson, link, onLinkChange } from "./api.js";
import { h, clear, clock, relTime } from "./format.js";
import * as pulse from "./pulse.js";
import * as evaluations from "./evaluations.js";
import * as rounds from "./rounds.js";
import * as logs from "./logs.js";

const STALE_STATUS_MS = 5 * 60 * 1000;
const FAST_MS = 2000;
const SLOW_MS = 10000;
const DOWN_MS = 5000;
const HIDDEN_MS = 60000;

const main = document.getElementById("main");
const bannerBox = document.getElementById("banners");
const updatedEl = document.getElementById("updated");
const footer = document.getElementById("validator-info");

const state = { status: null, statusAt: 0, statusError: null, liveKey: null };
let current = null; // {name, page}
let timer = null;

const PAGES = { pulse, evaluations, rounds, logs };

// "#/evaluations/7?outcome=failed" -> {name: "evaluations", parts: ["7"], params}
function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [pathPart, queryPart = ""] = raw.split("?");
  const parts = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts.length === 0 ? "pulse" : parts[0];
  return { name, parts: parts.slice(1), params: new URLSearchParams(queryPart) };
}

function notFound(route) {
  clear(main).append(
    h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, `There is no page "${route.name}". `, h("a", { href: "#/" }, "Go to the pulse")));
}

function navigate() {
  const route = parseHash();
  const mod = PAGES[route.name];
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    if (a.dataset.page === route.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current && current.name === route.name && current.page.route) {
    current.page.route(route); // same page, new detail or filters: keep its state and focus
    return;
  }
  const first = current === null;
  if (current && current.page.unmount) current.page.unmount();
  current = null;
  if (!mod) {
    notFound(route);
    return;
  }
  clear(main);
  current = { name: route.name, page: mod.mount(main, route, ctx) };
  if (state.status && current.page.update) current.page.update(state.status);
  // After a page change move focus to its heading, so keyboard and reader users land there.
  if (!first) main.querySelector("h1")?.focus({ preventScroll: false });
}

function banner(kind, text) {
  return h("div", { class: `banner banner-${kind}` }, text);
}

function errorText(err) {
  if (err === null || err === undefined) return "";
  if (typeof err === "string") return err;
  if (typeof err === "object" && err.message) return String(err.message);
  return JSON.stringify(err);
}

function renderBanners() {
  const out = [];
  const s = state.status;
  if (!link.reachable) {
    const since = clock(link.downSinceMs);
    out.push(banner("error", link.lastOkMs
      ? `Cannot reach the API since ${since} — showing data from ${clock(link.lastOkMs)}.`
      : `Cannot reach the API since ${since} — no data loaded yet.`));
  } else if (state.statusError) {
    out.push(banner("error", `The API could not answer the status: ${state.statusError.message}`));
  }
  if (s) {
    const upd = s.validator && s.validator.status_updated_ms;
    if (upd && Date.now() - upd > STALE_STATUS_MS)
      out.push(banner("warn", `The validator has not reported since ${clock(upd)} ` +
                              `(${relTime(upd)}): it may be stopped, and what you see may be old.`));
    if (s.live && s.live.stale)
      out.push(banner("warn", `A round is marked running but its progress has not moved since ` +
                              `${clock(s.live.updated_ms)}: the validator may have died.`));
    if (s.validator && s.validator.error)
      out.push(banner("warn", `The validator's last pass failed: ${errorText(s.validator.error)}`));
  }
  // Rewrite only on change, so screen readers do not hear the same banner every poll.
  const key = out.map((b) => b.className + b.textContent).join("|");
  if (bannerBox.dataset.key !== key) {
    bannerBox.dataset.key = key;
    clear(bannerBox).append(...out);
  }
  document.body.classList.toggle("api-down", !link.reachable);
  updatedEl.textContent = link.lastOkMs ? `Updated ${clock(link.lastOkMs)}` : "Loading…";
}

function renderFooter(s) {
  const v = s && s.validator;
  clear(footer);
  if (!v) {
    footer.append("No validator status file: its identity and last error are unknown.");
    return;
  }
  footer.append("Validator ", h("code", { title: v.hotkey || "" }, v.hotkey || "?"),
                ` · netuid ${v.netuid ?? "?"} · model ${v.model || "?"}`);
}

// Each tick reads /api/v1/live (a small file, cheap); the status (store queries) every 10 s, or
// at once when the live file shows a participant finishing or a round starting or ending.
async function poll(force = false) {
  clearTimeout(timer);
  let live = null;
  try {
    live = await getJson("/api/v1/live");
  } catch {
    // reported through the link state and the status below
  }
  const liveKey = live && JSON.stringify([live.active, live.round,
    (live.participants || []).map((p) => p.state)]);
  const due = force || !state.status || Date.now() - state.statusAt >= SLOW_MS - 500 ||
              liveKey !== state.liveKey;
  state.liveKey = liveKey;
  if (due && link.reachable) {
    try {
      state.status = await getJson("/api/v1/status");
      state.statusAt = Date.now();
      state.statusError = null;
      renderFooter(state.status);
    } catch (e) {
      state.statusError = e;
    }
  } else if (!link.reachable) {
    state.statusError = new Error("unreachable");
  }
  if (state.status && live && (live.updated_ms ?? 0) >= (state.status.live?.updated_ms ?? 0))
    state.status = { ...state.status, live };
  if (current && state.status && link.reachable && current.page.update) current.page.update(state.status);
  renderBanners();
  const l = state.status && state.status.live;
  let next = !link.reachable ? DOWN_MS : l && l.active && !l.stale ? FAST_MS : SLOW_MS;
  if (document.hidden) next = Math.max(next, HIDDEN_MS); // a background tab asks rarely
  timer = setTimeout(poll, next);
}

const ctx = {
  get status() {
    return state.status;
  },
  refresh: () => poll(true),
};

onLinkChange(renderBanners);
document.getElementById("refresh").addEventListener("click", () => {
  poll(true);
  if (current && current.page.refresh) current.page.refresh();
});
window.addEventListener("hashchange", navigate);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poll();
});
navigate();
poll();
