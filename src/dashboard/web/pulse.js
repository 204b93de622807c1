// Pulse (#/): the live round, leader and runner-up, arena counts and the leader's score history.
import { getJson } from "./api.js";
import { h, clear, scoreText, hotkeyEl, imageRef, timeEl, num, pct, short, chip } from "./format.js";

const HISTORY_LIMIT = 500;

export function mount(main, route, ctx) {
  const live = h("section", { class: "live", "aria-labelledby": "live-h" });
  const cards = h("div", { class: "cards" });
  const stats = h("section", { "aria-labelledby": "stats-h" });
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": "Leader score chart" });
  const chartNote = h("p", { class: "muted" });
  main.append(
    h("h1", { tabindex: "-1" }, "Pulse"),
    live,
    h("section", { "aria-label": "Leader and runner-up" }, cards),
    stats,
    h("section", { "aria-labelledby": "chart-h", class: "panel" },
      h("h2", { id: "chart-h" }, "Leader score by block"),
      h("p", { class: "muted" }, "Each point is a standings entry; the dashed line is the score " +
                                  "a challenger had to beat to take the lead."),
      chartBox, chartNote));

  let lastKeys = {};
  let historyKey = null;
  let plot = null;
  const resize = new ResizeObserver(() => {
    if (plot) plot.setSize({ width: chartWidth(chartBox), height: 260 });
  });
  resize.observe(chartBox);

  function changed(name, value) {
    const k = JSON.stringify(value);
    if (lastKeys[name] === k) return false;
    lastKeys[name] = k;
    return true;
  }

  async function loadHistory(force) {
    const s = ctx.status;
    const key = s ? `${s.standings_block}/${s.counts && s.counts.rounds}` : "none";
    if (!force && key === historyKey) return;
    historyKey = key;
    try {
      const hist = await getJson(`/api/v1/leader/history?limit=${HISTORY_LIMIT}`);
      if (plot) plot.destroy();
      plot = drawChart(chartBox, chartNote, hist.items || []);
    } catch (e) {
      historyKey = null; // try again on the next poll
      chartNote.textContent = `Could not load the score history: ${e.message}`;
    }
  }

  return {
    update(s) {
      if (changed("live", s.live)) renderLive(live, s.live);
      if (changed("cards", [s.leader, s.runner_up])) {
        clear(cards).append(placementCard("Leader", s.leader), placementCard("Runner-up", s.runner_up));
      }
      renderStats(stats, s); // relative times move on every poll
      loadHistory(false);
    },
    refresh() {
      loadHistory(true);
    },
    unmount() {
      resize.disconnect();
      if (plot) plot.destroy();
    },
  };
}

function placementCard(title, p) {
  const id = `card-${title.toLowerCase()}`;
  const card = h("article", { class: "card", "aria-labelledby": id });
  if (!p) {
    card.append(h("h2", { id }, title),
                h("p", { class: "muted" }, title === "Leader" ? "No leader yet." : "No runner-up yet."));
    return card;
  }
  card.classList.add(title === "Leader" ? "card-leader" : "card-runner");
  card.append(
    h("h2", { id }, title, " ", h("span", { class: "uid" }, p.uid === null ? "no UID" : `UID ${p.uid}`)),
    h("p", { class: "score" }, scoreText(p.score)),
    h("dl", { class: "kv" },
      h("dt", {}, "Hotkey"), h("dd", {}, hotkeyEl(p.hotkey)),
      h("dt", {}, "Image"), h("dd", {}, h("code", { class: "wrap", title: `${p.image || ""}@${p.digest || ""}` },
                                           imageRef(p.image, p.digest))),
      h("dt", {}, "Committed"), h("dd", {}, `block ${num(p.commit_block)}`),
      h("dt", {}, "Crowned"), h("dd", {}, `block ${num(p.crowned_block)}`)),
    p.evaluation_id !== null && p.evaluation_id !== undefined
      ? h("a", { href: `#/evaluations/${p.evaluation_id}`, class: "more" },
          `Evaluation #${p.evaluation_id}`)
      : h("p", { class: "muted" }, "No evaluation recorded."));
  return card;
}

function renderStats(box, s) {
  const c = s.counts || {};
  const item = (label, value) => h("div", { class: "stat" }, h("dt", {}, label), h("dd", {}, value));
  clear(box).append(
    h("h2", { id: "stats-h", class: "sr-only" }, "Arena counts"),
    h("dl", { class: "stats" },
      item("Evaluated", num(c.evaluated)),
      item("Active", num(c.active)),
      item("Disqualified", num(c.disqualified)),
      item("Queued", num(c.queued)),
      item("Last evaluation", timeEl(s.last_evaluation_ms)),
      item("Last scanned block", num(s.last_scanned_block)),
      item("Last weights block", num(s.last_weights_block))));
}

function renderLive(box, live) {
  clear(box);
  const title = (text) => h("h2", { id: "live-h" }, text);
  box.className = "live";
  if (!live || !live.available) {
    box.append(title("Live progress"),
               h("p", { class: "muted" }, "Unavailable: the validator has not written its live file."));
    return;
  }
  if (!live.active) {
    box.append(title("No round running"),
               h("p", { class: "muted" }, "The validator is waiting for new submissions."));
    return;
  }
  box.classList.add(live.stale ? "live-stale" : "live-active");
  box.append(title(`Round ${num(live.round)} in progress${live.stale ? " (no update for over a minute)" : ""}`));
  const step = live.step;
  const line = h("p", { class: "live-line" }, h("span", {}, "Phase "), h("strong", {}, live.phase || "starting"));
  if (live.started_ms) line.append(" · started ", timeEl(live.started_ms));
  box.append(line);
  if (step && Number.isFinite(step.total) && step.total > 0) {
    const done = Math.min(step.done, step.total);
    box.append(h("div", { class: "progress-row" },
      h("progress", { max: step.total, value: done, "aria-label": `${live.phase || "phase"} progress` }),
      h("span", {}, `${done}/${step.total}${step.note ? ` — ${step.note}` : ""}`)));
  }
  if (live.current)
    box.append(h("p", {}, "Evaluating ", hotkeyEl(live.current.hotkey, false),
                 ` (${live.current.role || "?"}, commit block ${num(live.current.commit_block)})`));
  if (live.message) box.append(h("p", { class: "muted wrap" }, live.message));
  const parts = live.participants || [];
  if (parts.length)
    box.append(h("ul", { class: "chips", "aria-label": "Participants" }, parts.map((p) => {
      const result = p.state === "done" ? (p.passed ? "passed" : "failed") : p.state || "pending";
      return h("li", { title: `${p.hotkey} @ ${p.commit_block}${p.reason_code ? ` — ${p.reason_code}` : ""}` },
               chip(`${short(p.hotkey, 8, 4)} · ${p.role || "?"} · ${result}`,
                    result === "passed" || result === "failed" || result === "running" ? result : "pending"));
    })));
}

function chartWidth(box) {
  return Math.max(260, box.clientWidth || 600);
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function drawChart(box, note, items) {
  clear(box);
  const rows = items.filter((i) => i.leader && Number.isFinite(i.block)).reverse(); // oldest first
  if (!rows.length) {
    note.textContent = "No standings yet: the chart starts after the first round.";
    box.setAttribute("aria-label", "No score history yet");
    return null;
  }
  const xs = rows.map((r) => r.block);
  const lead = rows.map((r) => r.leader.score ?? null);
  const thr = rows.map((r) => r.overtake_threshold ?? null);
  const last = rows[rows.length - 1];
  const summary = `Latest leader score ${pct(last.leader.score)} at block ${last.block}, ` +
                  `${rows.length} standings ${rows.length === 1 ? "entry" : "entries"}.`;
  note.textContent = summary;
  box.setAttribute("aria-label", `Leader score chart. ${summary}`);
  if (typeof window.uPlot !== "function") {
    note.textContent = `${summary} (The chart library did not load.)`;
    return null;
  }
  const fg = cssVar("--muted", "#555");
  const grid = cssVar("--line", "#ddd");
  const fmt = (u, v) => (v === null || v === undefined ? "—" : pct(v));
  const opts = {
    width: chartWidth(box),
    height: 260,
    scales: {
      x: { time: false, range: (u, lo, hi) => (lo === hi ? [lo - 1, hi + 1] : [lo, hi]) },
      y: { range: (u, lo, hi) => [Math.min(0, lo ?? 0), Math.max(0.05, (hi ?? 0) * 1.15)] },
    },
    axes: [
      { label: "block", stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } },
      { stroke: fg, size: 56, grid: { stroke: grid }, ticks: { stroke: grid },
        values: (u, ticks) => ticks.map((v) => pct(v, 0)) },
    ],
    series: [
      { label: "Block" },
      { label: "Leader score", stroke: cssVar("--accent", "#0b63c5"), width: 2, value: fmt,
        points: { show: true, size: 7, fill: cssVar("--accent", "#0b63c5") } },
      { label: "Overtake threshold", stroke: cssVar("--warn", "#a15c00"), width: 1.5, dash: [6, 4],
        value: fmt, points: { show: rows.length < 3 } },
    ],
  };
  return new window.uPlot(opts, [xs, lead, thr], box);
}
