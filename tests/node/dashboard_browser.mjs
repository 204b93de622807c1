// The dashboard's web UI in a real browser (Debian's chromium through playwright-core) against the
// real `cacheon dashboard` over the demo's store. What the page shows is compared with what the
// API answers (fetched here in node): the leader, the table's rows and their order under each
// sort, a drawer's prompts and reason, a log tail, the rounds. Also keyboard use, a phone
// viewport and the API going away. Any console error or page exception fails the test.
// Screenshots of every state are left in ARTIFACT_DIR.
// Usage: node dashboard_browser.mjs CACHEON_BIN DEMO_DIR ARTIFACT_DIR
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "./spawn_server.mjs";

const [bin, demo, artifacts] = process.argv.slice(2);
if (!bin || !demo || !artifacts) {
  console.error("usage: node dashboard_browser.mjs CACHEON_BIN DEMO_DIR ARTIFACT_DIR");
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });

const WAIT = { timeout: 10000 };
let failures = 0;
let passes = 0;
const check = (ok, what) => {
  if (ok) passes++;
  else {
    failures++;
    console.error("FAIL:", what);
  }
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

let server = null;
let context = null;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cacheon-chromium-"));
const consoleErrors = [];
let serverGone = false;

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, name), fullPage: true });
}

try {
  server = await startServer(
    bin, ["dashboard", "--store", path.join(demo, "arena.db"), "--listen", "127.0.0.1:0"],
    { name: "dashboard" });
  const base = server.url.replace(/\/$/, "");
  const api = async (route) => {
    const r = await fetch(base + route);
    if (!r.ok) throw new Error(`${route}: HTTP ${r.status}`);
    return r.json();
  };
  const status = await api("/api/v1/status");
  const evals = await api("/api/v1/evaluations?limit=500");
  const history = await api("/api/v1/leader/history?limit=500");

  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // Once the server is killed on purpose, the browser logs each refused request.
    if (serverGone && /net::ERR_/.test(m.text())) return;
    consoleErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));

  // --- Pulse: the leader card agrees with the API, the chart is drawn.
  await page.goto(`${base}/#/`);
  await page.waitForSelector(".cards .card", WAIT);
  if (status.leader) {
    const card = page.locator(".card-leader");
    await card.waitFor(WAIT);
    const title = await card.locator("h2").innerText();
    check(title.includes(`UID ${status.leader.uid}`), `leader card "${title}" shows UID ${status.leader.uid}`);
    check(await card.locator(".hotkey code").getAttribute("title") === status.leader.hotkey,
          "leader card carries the full hotkey");
    const score = await card.locator(".score").innerText();
    const want = `${(status.leader.score * 100).toFixed(1)}% vs baseline`;
    check(score.includes(want), `leader score "${score}" shows ${want}`);
  } else {
    check((await page.locator(".cards").innerText()).includes("No leader yet"), "no leader shown as such");
  }
  const stat = async (label) =>
    page.locator(".stat", { has: page.locator(`dt:text-is("${label}")`) }).locator("dd").innerText();
  check(await stat("Evaluated") === String(status.counts.evaluated), "evaluated count");
  check(await stat("Last scanned block") === String(status.last_scanned_block), "last scanned block");
  if (history.items.some((i) => i.leader)) {
    await page.waitForSelector(".chart canvas", WAIT).catch(() => {});
    check(await page.locator(".chart canvas").count() === 1, "the score chart has a canvas");
  }
  await shot(page, "pulse.png");

  // --- Evaluations: one row per evaluation, sorting follows the API.
  await page.click('nav a[data-page="evaluations"]');
  const rowIds = () => page.$$eval("table.data tbody tr", (trs) =>
    trs.map((tr) => Number(tr.querySelector("a.row-link").textContent.replace("#", ""))));
  const waitRows = async (want, what) => {
    try {
      await page.waitForFunction((w) => {
        const ids = [...document.querySelectorAll("table.data tbody tr a.row-link")]
          .map((a) => Number(a.textContent.replace("#", "")));
        return JSON.stringify(ids) === JSON.stringify(w);
      }, want, WAIT);
      check(true, what);
    } catch {
      check(false, `${what}: rows ${JSON.stringify(await rowIds())}, want ${JSON.stringify(want)}`);
    }
  };
  const apiOrder = async (sort, order) =>
    (await api(`/api/v1/evaluations?limit=50&sort=${sort}&order=${order}`)).items.map((e) => e.id);
  await waitRows(evals.items.slice(0, 50).map((e) => e.id), `table rows = the API's ${evals.total}`);
  check(await page.locator("table.data tbody tr").count() === Math.min(evals.total, 50), "row count");
  await shot(page, "evaluations.png");

  const ariaSort = (key) => page.locator(`th:has(button[data-sort="${key}"])`).getAttribute("aria-sort");
  await page.click('button[data-sort="score"]');
  await waitRows(await apiOrder("score", "desc"), "sorted by score, descending, as the API");
  check(await ariaSort("score") === "descending", "score header aria-sort=descending");
  check(await ariaSort("finished") === null, "the other headers lose aria-sort");
  await page.click('button[data-sort="score"]');
  await waitRows(await apiOrder("score", "asc"), "sorted by score, ascending, as the API");
  check(await ariaSort("score") === "ascending", "score header aria-sort=ascending");

  // Keyboard: Tab from the heading reaches a sort button, Enter sorts by it.
  await page.focus("main h1");
  let key = null;
  for (let i = 0; i < 40 && !key; i++) {
    await page.keyboard.press("Tab");
    key = await page.evaluate(() => document.activeElement?.dataset?.sort || null);
  }
  check(key !== null, "Tab reaches a sort button");
  if (key) {
    const before = await ariaSort(key);
    await page.keyboard.press("Enter");
    const order = before === "descending" ? "asc" : key === "hotkey" ? "asc" : "desc";
    await waitRows(await apiOrder(key, order), `Enter sorts by ${key} ${order}`);
    check(await ariaSort(key) === (order === "asc" ? "ascending" : "descending"),
          `aria-sort follows the keyboard sort on ${key}`);
    check(await page.evaluate(() => document.activeElement?.dataset?.sort) === key,
          "focus stays on the sort button after sorting");
  }

  // --- The drawer: prefer a failed evaluation (its reason matters most to a miner).
  const pick = evals.items.find((e) => e.decided && !e.passed) || evals.items[0];
  if (pick) {
    const detail = await api(`/api/v1/evaluations/${pick.id}`);
    const rowLink = page.locator(`tr[data-id="${pick.id}"] a.row-link`);
    await rowLink.click();
    const dialog = page.locator('[role="dialog"]');
    await dialog.waitFor(WAIT);
    check(await dialog.getAttribute("aria-modal") === "true", "the drawer is aria-modal");
    check(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')),
          "focus moves into the drawer");
    check(new URL(page.url()).hash.startsWith(`#/evaluations/${pick.id}`), "the address names the evaluation");
    await page.waitForFunction((n) => document.querySelectorAll('[role="dialog"] table.prompts tbody tr').length === n ||
      (n === 0 && document.querySelector('[role="dialog"] .reason')), detail.prompts.length, WAIT).catch(() => {});
    check(await dialog.locator("table.prompts tbody tr").count() === detail.prompts.length,
          `one prompt row per API prompt (${detail.prompts.length})`);
    if (detail.reason_text)
      check((await dialog.locator(".reason").innerText()).trim() === detail.reason_text, "the reason in plain words");
    await shot(page, "drawer.png");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached", ...WAIT }).catch(() => {});
    check(await dialog.count() === 0, "Escape closes the drawer");
    check(await page.evaluate((id) => document.activeElement?.closest("tr")?.dataset.id === String(id), pick.id),
          "focus returns to the row that opened the drawer");

    // The HTML report opens in a new tab and is an HTML page.
    if (detail.links.report_html) {
      await rowLink.click();
      await dialog.waitFor(WAIT);
      const link = dialog.locator('a:text-is("HTML report")');
      await link.waitFor(WAIT);
      check(await link.getAttribute("target") === "_blank", "the HTML report opens in a new tab");
      const [tab, resp] = await Promise.all([
        context.waitForEvent("page", WAIT),
        context.waitForEvent("response", { predicate: (r) => r.url().endsWith("/report.html"), ...WAIT }),
        link.click(),
      ]);
      check(resp.status() === 200, `report.html status ${resp.status()}`);
      check((resp.headers()["content-type"] || "").startsWith("text/html"), "report.html is text/html");
      await tab.waitForLoadState("load");
      await shot(tab, "report.png");
      await tab.close();
      await page.bringToFront();
    }

    // The logs link shows exactly the API's tail.
    if (detail.links.logs) {
      if (await dialog.count() === 0) {
        await rowLink.click();
        await dialog.waitFor(WAIT);
      }
      const resp = await fetch(`${base}/api/v1/evaluations/${pick.id}/logs`);
      const tail = await resp.text();
      const truncated = resp.headers.get("x-log-truncated") === "true";
      await dialog.locator('a:text-is("Container logs")').click();
      await page.waitForFunction(() => location.hash.startsWith("#/logs/evaluation/"), null, WAIT);
      await page.waitForFunction(() => !/Loading/.test(document.querySelector("main p[aria-live]")?.textContent || "Loading"),
                                 null, WAIT).catch(() => {});
      const shown = await page.locator("pre.log").evaluate((el) => el.textContent);
      check(shown === tail, `the log shows the API's tail (${shown.length} vs ${tail.length} chars)`);
      check(await page.locator('[role="dialog"]').count() === 0, "leaving for the logs closes the drawer");
      check(await page.locator(".note-box").isVisible() === truncated, "the truncated note follows X-Log-Truncated");
      check(await page.locator('button:text-is("Copy")').count() === 1, "a Copy button");
      await shot(page, "logs.png");
    }
  }

  // --- Rounds: every round of the API is listed; round 1 shows its evaluations.
  const rounds = await api("/api/v1/rounds?limit=50");
  await page.click('nav a[data-page="rounds"]');
  await page.waitForSelector("table.data tbody tr", WAIT).catch(() => {});
  const listed = await page.$$eval("table.data tbody tr", (trs) => trs.map((t) => Number(t.dataset.id)));
  check(same(listed, rounds.items.map((r) => r.id)), `rounds listed ${JSON.stringify(listed)}`);
  check(listed.includes(1), "round 1 is listed");
  await shot(page, "rounds.png");
  if (listed.includes(1)) {
    const r1 = await api("/api/v1/rounds/1");
    await page.click('a[href="#/rounds/1"]');
    await page.waitForFunction(() => document.querySelector("main h1")?.textContent === "Round 1", null, WAIT);
    await page.waitForSelector("table.data tbody tr", WAIT).catch(() => {});
    check(await page.locator("table.data tbody tr").count() === r1.evaluations.length,
          "round 1 shows one row per evaluation");
    await shot(page, "round.png");
    // Its baseline log, through the logs viewer.
    check(!!r1.links?.baseline_log, "round 1 links its baseline log");
    if (r1.links?.baseline_log) {
      const tail = await (await fetch(base + r1.links.baseline_log)).text();
      await page.click('a[href="#/logs/round/1"]');
      await page.waitForFunction(() => location.hash === "#/logs/round/1", null, WAIT);
      await page.waitForFunction((n) => (document.querySelector("pre.log")?.textContent || "").length === n,
                                 tail.length, WAIT).catch(() => {});
      const shown = await page.locator("pre.log").evaluate((el) => el.textContent);
      check(shown === tail, `the baseline log shows the API's tail (${shown.length} vs ${tail.length})`);
    }
  }

  // --- A round in progress: a second server over the same store with a live file saying so
  // (written the way validator/live_status.cpp writes it), then the same file gone stale.
  {
    const liveFile = path.join(profile, "live.json");
    const writeLive = (updated) => fs.writeFileSync(liveFile, JSON.stringify({
      kind: "cacheon.validator.live", version: 1, active: true, round: 9, started_ms: Date.now() - 5000,
      updated_ms: updated, phase: "C (candidate)", step: { done: 3, total: 6, note: "" },
      current: { hotkey: "0x" + "ab".repeat(32), commit_block: 30, role: "challenger" },
      participants: [
        { hotkey: "0x" + "cd".repeat(32), commit_block: 18, role: "leader", state: "done", passed: true, reason_code: "ok" },
        { hotkey: "0x" + "ab".repeat(32), commit_block: 30, role: "challenger", state: "running" }],
      message: "round 9: evaluating <b>not markup</b>" }));
    writeLive(Date.now());
    const busy = await startServer(
      bin, ["dashboard", "--store", path.join(demo, "arena.db"), "--listen", "127.0.0.1:0",
            "--live", liveFile], { name: "dashboard (live)" });
    try {
      await page.goto(`${busy.url}#/`);
      const box = page.locator("section.live");
      await page.waitForFunction(() => /Round 9 in progress/.test(document.querySelector("section.live")?.textContent || ""),
                                 null, WAIT).catch(() => {});
      const text = await box.innerText();
      check(/Round 9 in progress/.test(text) && text.includes("C (candidate)"), "the live banner: " + text.slice(0, 200));
      check(await box.locator("progress").getAttribute("value") === "3" &&
              await box.locator("progress").getAttribute("max") === "6", "the phase's progress bar");
      check(await box.locator("ul.chips li").count() === 2, "a chip per participant");
      check(text.includes("<b>not markup</b>") && await box.locator("b").count() === 0,
            "the live message is text, not markup");
      await shot(page, "live.png");
      writeLive(Date.now() - 5 * 60 * 1000);  // the validator stopped updating it
      await page.click("button:text-is('Refresh')");
      await page.waitForFunction(() => /no update for over a minute/.test(document.querySelector("section.live")?.textContent || ""),
                                 null, WAIT).catch(() => {});
      check(/no update for over a minute/.test(await box.innerText()), "a stale live file is shown as stale");
    } finally {
      busy.child.kill("SIGTERM");
    }
    await page.goto(`${base}/#/`);
    await page.waitForSelector(".cards .card", WAIT);
  }

  // --- Phone: no horizontal page overflow on the pulse and the table pages.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, file] of [["#/", "pulse-phone.png"], ["#/evaluations", "evaluations-phone.png"]]) {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(hash === "#/" ? ".cards .card" : "table.data tbody tr", WAIT);
    await page.waitForTimeout(300); // the chart sizes itself to its box
    const { sw, iw } = await page.evaluate(() => ({ sw: document.scrollingElement.scrollWidth, iw: innerWidth }));
    check(sw <= iw, `${hash} on a phone: page width ${sw} <= ${iw}`);
    await shot(page, file);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- The API goes away: a banner says since when, the last data stays.
  await page.goto(`${base}/#/`);
  await page.waitForSelector(".cards .card", WAIT);
  const cardsBefore = await page.locator(".cards").innerText();
  serverGone = true;
  server.child.kill("SIGTERM");
  await new Promise((r) => (server.child.exitCode !== null ? r() : server.child.once("exit", r)));
  await page.click("#refresh");
  const down = page.locator(".banner-error", { hasText: "Cannot reach the API since" });
  await down.waitFor(WAIT).catch(() => {});
  check(await down.count() === 1, "the unreachable banner appears");
  check((await down.innerText().catch(() => "")).includes("showing data from"), "it says how old the data is");
  check(await page.locator(".cards").innerText() === cardsBefore, "the last data stays visible");
  check(await page.evaluate(() => document.body.classList.contains("api-down")), "the data is marked as old");
  await shot(page, "unreachable.png");

  check(consoleErrors.length === 0, `no console errors:\n  ${consoleErrors.join("\n  ")}`);
} catch (e) {
  failures++;
  console.error("FAIL:", e.stack || e.message);
} finally {
  if (context) await context.close().catch(() => {});
  if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
  fs.rmSync(profile, { recursive: true, force: true });
}

console.log(`dashboard_browser: ${passes} checks passed, ${failures} failed; screenshots in ${artifacts}`);
process.exit(failures ? 1 : 0);
