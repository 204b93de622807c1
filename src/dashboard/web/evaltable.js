// The evaluation summary table, shared by the Evaluations page and a round's page.
import { h, hotkeyEl, imageRef, outcome, chip, pct, duration, timeEl, num } from "./format.js";

// key: the API's sort name, when the column sorts.
export const COLUMNS = [
  { label: "ID" },
  { label: "Round", key: "round" },
  { label: "UID" },
  { label: "Hotkey", key: "hotkey" },
  { label: "Image", cls: "col-image" },
  { label: "Outcome" },
  { label: "Reason" },
  { label: "Score", key: "score", num: true },
  { label: "Duration", key: "duration", num: true },
  { label: "Finished", key: "finished" },
];

// One row; `href(id)` gives the drawer's address. A click anywhere on the row opens it too.
export function evalRow(e, href) {
  const o = outcome(e);
  const link = h("a", { href: href(e.id), class: "row-link" }, `#${e.id}`);
  const tr = h("tr", { "data-id": e.id },
    h("td", {}, link),
    h("td", {}, h("a", { href: `#/rounds/${e.round}` }, num(e.round))),
    h("td", {}, num(e.uid)),
    h("td", {}, hotkeyEl(e.hotkey, false), h("span", { class: "muted small" }, ` @${num(e.commit_block)}`)),
    h("td", { class: "image-cell col-image" }, h("code", { title: `${e.image || ""}@${e.digest || ""}` },
                                         imageRef(e.image, e.digest))),
    h("td", {}, chip(o.word, o.cls)),
    h("td", {}, e.reason_code ? h("code", {}, e.reason_code) : "—"),
    h("td", { class: "num" }, e.score === null || e.score === undefined ? "—" : pct(e.score)),
    h("td", { class: "num" }, duration(e.duration_ms)),
    h("td", {}, timeEl(e.finished_ms)));
  tr.addEventListener("click", (ev) => {
    if (ev.target.closest("a, button, input, select")) return;
    link.click();
  });
  return tr;
}

// A table with static (non-sorting) headers, for a round's participants.
export function plainTable(items, href, caption) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
    h("table", { class: "data" },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col", class: c.num ? "num" : c.cls || null }, c.label)))),
      h("tbody", {}, items.map((e) => evalRow(e, href)))));
}
