// Rounds (#/rounds, #/rounds/ID): the list, and one round's participants and standings events.
import { getJson, query } from "./api.js";
import { h, clear, num, short, timeEl, pct, hotkeyEl, scoreText } from "./format.js";
import { plainTable } from "./evaltable.js";

const PAGE = 50;

export function mount(main, route) {
  let id = null;
  let offset = 0;
  let seq = 0;
  let shownKey = null;

  async function show(r) {
    const newId = r.parts[0] || null;
    const newOffset = Math.max(0, Number.parseInt(r.params.get("offset") || "0", 10) || 0);
    const pageChanged = newId !== id || newOffset !== offset || shownKey === null;
    id = newId;
    offset = newOffset;
    const mine = ++seq;
    if (pageChanged) {
      shownKey = null;
      clear(main).append(h("h1", { tabindex: "-1" }, id ? `Round ${id}` : "Rounds"), h("p", {}, "Loading…"));
    }
    let data;
    try {
      data = await getJson(id ? `/api/v1/rounds/${encodeURIComponent(id)}`
                              : `/api/v1/rounds${query({ limit: PAGE, offset })}`);
    } catch (e) {
      if (mine !== seq) return;
      if (shownKey !== null) return; // keep what is shown; the banner says the API is down
      clear(main).append(h("h1", { tabindex: "-1" }, id ? `Round ${id}` : "Rounds"),
        h("p", { class: "error", role: "alert" },
          e.status === 404 ? `There is no round ${id}.` : `Could not load: ${e.message}`),
        h("p", {}, h("a", { href: "#/rounds" }, "All rounds")));
      return;
    }
    if (mine !== seq) return;
    const key = JSON.stringify(data);
    if (key === shownKey) return;
    shownKey = key;
    const hadFocus = main.contains(document.activeElement) && document.activeElement.tagName === "H1";
    clear(main).append(...(id ? roundView(data) : listView(data, offset)));
    if (hadFocus) main.querySelector("h1").focus(); // a re-render keeps the reader in place
  }

  show(route);
  return {
    route: (r) => {
      show(r);
      main.querySelector("h1")?.focus();
    },
    update: () => show({ parts: id ? [id] : [], params: new URLSearchParams(offset ? `offset=${offset}` : "") }),
    refresh: () => {
      shownKey = "";
      show({ parts: id ? [id] : [], params: new URLSearchParams(offset ? `offset=${offset}` : "") });
    },
    unmount: () => seq++,
  };
}

function listView(page, offset) {
  const items = page.items || [];
  const out = [h("h1", { tabindex: "-1" }, "Rounds")];
  if (!items.length) {
    out.push(h("p", { class: "empty" }, offset ? "No rounds on this page." : "No rounds yet."));
    return out;
  }
  out.push(h("p", { class: "summary" }, `Showing ${offset + 1}–${offset + items.length} of ${page.total}`));
  const cols = ["Round", "Block", "Block hash", "State", "Created", "Participants", "Passed",
                "Failed", "Undecided", "Pending"];
  out.push(h("div", { class: "table-wrap", role: "region", "aria-label": "Rounds table", tabindex: "0" },
    h("table", { class: "data" },
      h("caption", { class: "sr-only" }, "Rounds, newest first"),
      h("thead", {}, h("tr", {}, cols.map((c, i) => h("th", { scope: "col", class: i >= 5 ? "num" : null }, c)))),
      h("tbody", {}, items.map((r) => h("tr", { "data-id": r.id },
        h("td", {}, h("a", { href: `#/rounds/${r.id}` }, `Round ${r.id}`)),
        h("td", {}, num(r.block)),
        h("td", {}, h("code", { title: r.block_hash || "" }, short(r.block_hash, 10, 6))),
        h("td", {}, r.state || "—"),
        h("td", {}, timeEl(r.created_ms)),
        ...[r.participants, r.passed, r.failed, r.undecided, r.pending].map((v) => h("td", { class: "num" }, num(v)))))))));
  const nav = h("nav", { class: "pager", "aria-label": "Pages" });
  if (offset > 0) nav.append(h("a", { href: `#/rounds${query({ offset: Math.max(0, offset - PAGE) || null })}` }, "Previous"));
  if (offset + items.length < page.total) nav.append(h("a", { href: `#/rounds?offset=${offset + PAGE}` }, "Next"));
  if (nav.childNodes.length) out.push(nav);
  return out;
}

function roundView(r) {
  const out = [
    h("p", { class: "crumbs" }, h("a", { href: "#/rounds" }, "All rounds")),
    h("h1", { tabindex: "-1" }, `Round ${r.id}`),
    h("dl", { class: "kv" },
      h("dt", {}, "State"), h("dd", {}, r.state || "—"),
      h("dt", {}, "Block"), h("dd", {}, num(r.block)),
      h("dt", {}, "Block hash"), h("dd", {}, h("code", { class: "wrap" }, r.block_hash || "—")),
      h("dt", {}, "Created"), h("dd", {}, timeEl(r.created_ms)),
      h("dt", {}, "Results"), h("dd", {}, `${num(r.participants)} participants: ${num(r.passed)} passed, ` +
        `${num(r.failed)} failed, ${num(r.undecided)} undecided, ${num(r.pending)} pending`),
      h("dt", {}, "Baseline log"), h("dd", {}, r.links && r.links.baseline_log
        ? h("a", { href: `#/logs/round/${r.id}` }, "The baseline server's log") : "—")),
    h("h2", { class: "section" }, "Evaluations"),
  ];
  const evals = r.evaluations || [];
  out.push(evals.length ? plainTable(evals, (eid) => `#/evaluations/${eid}?round=${r.id}`, "Evaluations of this round")
                        : h("p", { class: "empty" }, "No evaluations in this round yet."));
  out.push(h("h2", { class: "section" }, "Standings after this round"));
  const st = r.standings;
  if (!st) {
    out.push(h("p", { class: "muted" }, "No standings recorded for this round (yet)."));
    return out;
  }
  const place = (p) => (p ? [h("span", {}, p.uid === null ? "no UID " : `UID ${p.uid} `), hotkeyEl(p.hotkey),
                              ` ${scoreText(p.score)}`] : "none");
  out.push(h("dl", { class: "kv" },
    h("dt", {}, "Leader"), h("dd", {}, place(st.leader)),
    h("dt", {}, "Runner-up"), h("dd", {}, place(st.runner_up)),
    h("dt", {}, "Margin"), h("dd", {}, st.margin === null || st.margin === undefined ? "—" : pct(st.margin, 2)),
    h("dt", {}, "Score to beat"), h("dd", {}, st.overtake_threshold === null || st.overtake_threshold === undefined
      ? "— (no incumbent)" : pct(st.overtake_threshold))));
  const events = st.events || [];
  if (events.length)
    out.push(h("h3", {}, "Events"), h("ul", { class: "events" }, events.map((e) =>
      h("li", {}, h("code", {}, e.code || "?"), " ", h("span", { class: "muted" }, `${e.role || ""}`), " ",
        hotkeyEl(e.hotkey, false), ` @${num(e.commit_block)}`,
        e.score !== null && e.score !== undefined ? ` · ${pct(e.score)}` : "",
        e.message ? h("div", { class: "wrap" }, e.message) : null))));
  return out;
}
