// Logs (#/logs/validator, #/logs/evaluation/ID): the tail the API serves, as plain text.
import { getLog } from "./api.js";
import { h, clear, copyText, clock } from "./format.js";

export function mount(main, route) {
  let seq = 0;
  let target = null;

  const title = h("h1", { tabindex: "-1" });
  const crumbs = h("p", { class: "crumbs" });
  const meta = h("p", { class: "muted", "aria-live": "polite" });
  const note = h("p", { class: "note-box", hidden: true });
  const refreshBtn = h("button", { type: "button" }, "Refresh");
  const copyBtn = h("button", { type: "button", class: "secondary" }, "Copy");
  const bottomBtn = h("button", { type: "button", class: "secondary" }, "Jump to end");
  const pre = h("pre", { class: "log", tabindex: "0", "aria-label": "Log text" });
  main.append(crumbs, title, h("div", { class: "toolbar" }, refreshBtn, copyBtn, bottomBtn), meta, note, pre);

  refreshBtn.addEventListener("click", () => load());
  bottomBtn.addEventListener("click", () => {
    pre.scrollTop = pre.scrollHeight;
    pre.focus();
  });
  copyBtn.addEventListener("click", async () => {
    const ok = await copyText(pre.textContent);
    if (!ok) {
      // Last resort: select the text so the user can copy it by hand.
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    copyBtn.textContent = ok ? "Copied" : "Selected: press Ctrl+C";
    setTimeout(() => (copyBtn.textContent = "Copy"), 2000);
  });

  function resolve(r) {
    if (r.parts[0] === "validator") return { url: "/api/v1/logs/validator", name: "Validator log", evalId: null };
    if (r.parts[0] === "evaluation" && /^\d+$/.test(r.parts[1] || ""))
      return { url: `/api/v1/evaluations/${r.parts[1]}/logs`, name: `Container log of evaluation #${r.parts[1]}`,
               evalId: r.parts[1] };
    if (r.parts[0] === "round" && /^\d+$/.test(r.parts[1] || ""))
      return { url: `/api/v1/rounds/${r.parts[1]}/baseline-log`,
               name: `Baseline log of round ${r.parts[1]}`, evalId: null };
    return null;
  }

  async function load() {
    const mine = ++seq;
    if (!target) return;
    meta.textContent = "Loading…";
    let log;
    try {
      log = await getLog(target.url);
    } catch (e) {
      if (mine !== seq) return;
      const missing = e.status === 404;
      meta.textContent = missing
        ? (target.evalId ? "No log is stored for this evaluation." : "No validator log is available (none configured or not written yet).")
        : `Could not load the log: ${e.message}${pre.textContent ? " Showing the text loaded before." : ""}`;
      if (missing) pre.textContent = "";
      return;
    }
    if (mine !== seq) return;
    const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    pre.textContent = log.text;
    const bytes = new TextEncoder().encode(log.text).length;
    meta.textContent = `${bytes.toLocaleString()} bytes · loaded ${clock(Date.now())}`;
    note.hidden = !log.truncated;
    note.textContent = log.truncated ? "Truncated: only the end of the log is shown (the API serves the last 1 MiB)." : "";
    if (!log.text) meta.textContent = "The log is empty.";
    if (atEnd || pre.scrollTop === 0) pre.scrollTop = pre.scrollHeight; // a tail: start at its end
  }

  function applyRoute(r) {
    target = resolve(r);
    clear(crumbs);
    if (target && target.evalId)
      crumbs.append(h("a", { href: `#/evaluations/${target.evalId}` }, `Back to evaluation #${target.evalId}`));
    title.textContent = target ? target.name : "No such log";
    pre.textContent = "";
    note.hidden = true;
    if (!target) {
      meta.textContent = "Logs are at #/logs/validator, #/logs/evaluation/ID and #/logs/round/ID.";
      return;
    }
    load();
  }

  applyRoute(route);
  return {
    route: (r) => {
      applyRoute(r);
      title.focus();
    },
    refresh: load,
    unmount: () => seq++,
  };
}
