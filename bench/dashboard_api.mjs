// How fast the dashboard answers, over loopback, on a store filled by a real round (make demo's
// build/demo, or any validator's arena.db): per route the median and p90 of N sequential
// requests, against the peer measured in the same run: the same server's cheapest route, an
// embedded static file (no store read). Also the web UI's transfer size (everything the pulse
// page loads). Usage: node bench/dashboard_api.mjs CACHEON_BIN DEMO_DIR [N=300]
import fs from "node:fs";
import path from "node:path";
import { startServer } from "../tests/node/spawn_server.mjs";

const [bin, demo, nText] = process.argv.slice(2);
if (!bin || !demo) {
  console.error("usage: node bench/dashboard_api.mjs CACHEON_BIN DEMO_DIR [N]");
  process.exit(2);
}
const N = Number(nText ?? 300);
const { child, url } = await startServer(
  bin, ["dashboard", "--store", path.join(demo, "arena.db"), "--listen", "127.0.0.1:0",
        "--rate", "100000", "--burst", "100000"], { name: "dashboard" });
const base = url.replace(/\/$/, "");
const quantile = (xs, q) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
async function time(route) {
  const ms = [];
  let bytes = 0;
  for (let i = 0; i < N + 20; i++) {
    const t0 = performance.now();
    const r = await fetch(base + route);
    const body = await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${route}: ${r.status}`);
    if (i >= 20) ms.push(performance.now() - t0);  // the first 20 warm up
    bytes = body.byteLength;
  }
  return { route, p50: quantile(ms, 0.5), p90: quantile(ms, 0.9), bytes };
}
try {
  const first = (await (await fetch(base + "/api/v1/evaluations?limit=1")).json()).items[0];
  const routes = ["/app.css", "/api/v1/status", "/api/v1/evaluations?limit=50",
                  `/api/v1/evaluations/${first.id}`, `/api/v1/evaluations/${first.id}/report.html`,
                  "/api/v1/leader/history", "/metrics"];
  const rows = [];
  for (const r of routes) rows.push(await time(r));
  const peer = rows[0].p50;
  console.log(`N=${N} sequential requests per route (after 20 warm-up), loopback, node fetch`);
  console.log("route".padEnd(44) + "p50 ms".padStart(9) + "p90 ms".padStart(9) + "x peer".padStart(8) + "bytes".padStart(9));
  for (const r of rows)
    console.log(r.route.padEnd(44) + r.p50.toFixed(3).padStart(9) + r.p90.toFixed(3).padStart(9) +
                (r.p50 / peer).toFixed(2).padStart(8) + String(r.bytes).padStart(9));
  const index = await (await fetch(base + "/")).text();
  const assets = [...index.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
  let ui = index.length;
  for (const a of new Set(assets)) ui += (await (await fetch(base + a)).arrayBuffer()).byteLength;
  const modules = fs.readdirSync(path.join(path.dirname(new URL(import.meta.url).pathname), "../src/dashboard/web"));
  let own = 0;
  for (const f of modules) own += fs.statSync(path.join(path.dirname(new URL(import.meta.url).pathname), "../src/dashboard/web", f)).size;
  console.log(`web UI: index + directly linked assets ${ui} bytes; all of src/dashboard/web ${own} bytes (uncompressed, no build step)`);
} finally {
  child.kill("SIGTERM");
}
