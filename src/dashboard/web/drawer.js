// The evaluation detail drawer: a modal dialog (focus moved in and kept there, Escape closes,
// focus returns to what opened it) with the verdict in plain words and the per-prompt metrics.
import { getJson } from "./api.js";
import { h, clear, hotkeyEl, imageRef, outcome, chip, pct, ms, duration, timeEl, num, scoreText,
         dateTime } from "./format.js";

const root = () => document.getElementById("drawer-root");
const BEHIND = ["header.top", "#banners", "#main", "footer.bottom"];

let openState = null; // {id, panel, opener, onClose}

export function isOpen() {
  return openState !== null;
}

// Opens (or switches) the drawer for evaluation `id`; onClose() must change the address back.
export function openDrawer(id, onClose) {
  if (openState && openState.id === id) return;
  const opener = openState ? openState.opener : document.activeElement;
  closeDrawer(false);
  const heading = h("h2", { id: "drawer-h", tabindex: "-1" }, `Evaluation #${id}`);
  const body = h("div", { class: "drawer-body" }, h("p", {}, "Loading…"));
  const closeBtn = h("button", { type: "button", class: "close", "aria-label": "Close" }, "Close");
  const panel = h("div", { class: "drawer", role: "dialog", "aria-modal": "true",
                           "aria-labelledby": "drawer-h" },
                  h("div", { class: "drawer-head" }, heading, closeBtn), body);
  const backdrop = h("div", { class: "backdrop" });
  closeBtn.addEventListener("click", onClose);
  backdrop.addEventListener("click", onClose);
  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Tab") trapTab(ev, panel);
  });
  clear(root()).append(backdrop, panel);
  for (const sel of BEHIND) document.querySelector(sel)?.setAttribute("inert", "");
  document.body.classList.add("drawer-open");
  openState = { id, panel, opener, onClose };
  heading.focus();
  load(id, body);
}

// restoreFocus: false while switching to another evaluation.
export function closeDrawer(restoreFocus = true) {
  if (!openState) return;
  const { opener, id } = openState;
  openState = null;
  clear(root());
  for (const sel of BEHIND) document.querySelector(sel)?.removeAttribute("inert");
  document.body.classList.remove("drawer-open");
  if (!restoreFocus) return;
  // The element that opened it, else the row of this evaluation, else the page heading.
  const target = opener && opener.isConnected && opener !== document.body ? opener
    : document.querySelector(`tr[data-id="${id}"] a.row-link`) || document.querySelector("#main h1");
  target?.focus();
}

// Escape closes from anywhere (focus may sit on the backdrop after a click).
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && openState) {
    ev.preventDefault();
    openState.onClose();
  }
});

function trapTab(ev, panel) {
  const items = [...panel.querySelectorAll(
    'a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex="-1"])')];
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (ev.shiftKey && (document.activeElement === first || !panel.contains(document.activeElement) ||
                      document.activeElement.id === "drawer-h")) {
    ev.preventDefault();
    last.focus();
  } else if (!ev.shiftKey && document.activeElement === last) {
    ev.preventDefault();
    first.focus();
  }
}

async function load(id, body) {
  let e;
  try {
    e = await getJson(`/api/v1/evaluations/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!openState || openState.id !== id) return;
    clear(body).append(h("p", { class: "error", role: "alert" },
      err.status === 404 ? `There is no evaluation #${id}.` : `Could not load it: ${err.message}`));
    return;
  }
  if (!openState || openState.id !== id) return; // closed or switched meanwhile
  clear(body).append(...detail(e));
}

function detail(e) {
  const o = outcome(e);
  const links = e.links || {};
  const out = [];
  out.push(h("p", { class: "verdict" }, chip(o.word, o.cls), " ",
             h("strong", {}, e.score === null || e.score === undefined ? "no score" : scoreText(e.score)),
             e.reason_code ? [" · ", h("code", {}, e.reason_code)] : null));
  if (e.reason_text) out.push(h("p", { class: `reason reason-${o.cls}` }, e.reason_text));
  else if (e.state !== "done") out.push(h("p", { class: "muted" }, "Not finished yet: no verdict."));
  if (e.message) out.push(h("p", { class: "muted wrap" }, h("span", { class: "sr-only" }, "Harness message: "), e.message));
  out.push(h("ul", { class: "links" },
    links.logs ? h("li", {}, h("a", { href: `#/logs/evaluation/${e.id}` }, "Container logs")) : null,
    links.report ? h("li", {}, h("a", { href: links.report, target: "_blank", rel: "noopener" }, "JSON report")) : null,
    links.report_html ? h("li", {}, h("a", { href: links.report_html, target: "_blank", rel: "noopener" }, "HTML report")) : null,
    !links.logs && !links.report ? h("li", { class: "muted" }, "No logs or report stored.") : null));
  out.push(h("dl", { class: "kv" },
    h("dt", {}, "Hotkey"), h("dd", {}, hotkeyEl(e.hotkey)),
    h("dt", {}, "UID"), h("dd", {}, num(e.uid)),
    h("dt", {}, "Commit block"), h("dd", {}, num(e.commit_block)),
    h("dt", {}, "Image"), h("dd", {}, h("code", { class: "wrap" }, `${e.image || "?"}@${e.digest || "?"}`)),
    h("dt", {}, "Round"), h("dd", {}, h("a", { href: `#/rounds/${e.round}` }, `Round ${num(e.round)}`),
                             ` · ${e.role || "?"} · position ${num(e.position)}`),
    h("dt", {}, "Attempts"), h("dd", {}, num(e.attempts)),
    h("dt", {}, "Started"), h("dd", {}, e.started_ms ? dateTime(e.started_ms) : "—"),
    h("dt", {}, "Finished"), h("dd", {}, e.finished_ms ? timeEl(e.finished_ms) : "—",
                                e.duration_ms ? ` (took ${duration(e.duration_ms)})` : ""),
    h("dt", {}, "Blame"), h("dd", {}, e.blame || "—"),
    e.fingerprint ? [h("dt", {}, "Fingerprint"), h("dd", {}, h("code", { class: "wrap" }, e.fingerprint))] : null));
  out.push(h("h3", {}, "Per prompt"));
  const prompts = e.prompts || [];
  if (!prompts.length) {
    out.push(h("p", { class: "muted" }, "No per-prompt results recorded."));
    return out;
  }
  out.push(h("div", { class: "table-wrap", role: "region", "aria-label": "Per-prompt metrics", tabindex: "0" },
    h("table", { class: "data prompts" },
      h("caption", { class: "sr-only" }, "Per-prompt metrics; times in milliseconds"),
      h("thead", {}, h("tr", {}, ["Prompt", "TTFT", "E2E", "Baseline E2E", "Tokens (you / base)",
                                  "Improvement", "Gates"].map((t, i) =>
        h("th", { scope: "col", class: i > 0 && i < 6 ? "num" : null }, t)))),
      h("tbody", {}, prompts.map((p) => h("tr", {},
        h("th", { scope: "row" }, num(p.index)),
        h("td", { class: "num" }, ms(p.candidate_ttft_ms)),
        h("td", { class: "num" }, ms(p.candidate_e2e_ms)),
        h("td", { class: "num" }, ms(p.baseline_e2e_ms)),
        h("td", { class: "num" }, `${num(p.candidate_tokens)} / ${num(p.baseline_tokens)}`),
        h("td", { class: "num" }, pct(p.improvement)),
        h("td", {}, chip(p.gates_passed ? "pass" : "fail", p.gates_passed ? "passed" : "failed"),
          p.note ? h("span", { class: "note" }, ` ${p.note}`) : null)))))));
  return out;
}
