// DOM building and value formatting. Every string from the API is miner-controlled (image names,
// messages, logs): it only ever reaches the page through textContent or attribute values set
// here, never through innerHTML.

// h("a", {href: "#/", class: "x", onclick: fn}, "text", childNode, [more children])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const dash = "—";

// 0.554 -> "+55.4%"; scores are fractions faster than the baseline.
export function pct(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  const s = (v * 100).toFixed(digits);
  return (v > 0 || (v === 0 && !s.startsWith("-")) ? "+" : "") + s + "%";
}

export function scoreText(v) {
  return v === null || v === undefined ? dash : `${pct(v)} vs baseline`;
}

export function ms(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
}

export function duration(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  if (v < 1000) return `${Math.round(v)} ms`;
  const s = v / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function num(v) {
  return v === null || v === undefined ? dash : String(v);
}

export function clock(msTime) {
  if (!msTime) return dash;
  return new Date(msTime).toLocaleTimeString([], { hour12: false });
}

export function dateTime(msTime) {
  if (!msTime) return dash;
  const d = new Date(msTime);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

export function relTime(msTime, now = Date.now()) {
  if (!msTime) return dash;
  const s = Math.round((now - msTime) / 1000);
  if (s < 0) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ago`;
  return `${Math.floor(hrs / 24)} days ago`;
}

// <time> with the relative text shown and the full date in its title.
export function timeEl(msTime) {
  if (!msTime) return document.createTextNode(dash);
  return h("time", { datetime: new Date(msTime).toISOString(), title: dateTime(msTime) },
           relTime(msTime));
}

export function short(s, head = 8, tail = 6) {
  if (typeof s !== "string") return dash;
  return s.length <= head + tail + 1 ? s : `${s.slice(0, head)}…${s.slice(-tail)}`;
}

// "ghcr.io/alice/engine@sha256:070f3ae2…"
export function imageRef(image, digest) {
  if (!image && !digest) return dash;
  const d = typeof digest === "string" ? digest.replace(/^(sha256:)(.{12}).*$/, "$1$2…") : "";
  return `${image || "?"}${d ? "@" + d : ""}`;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http beyond localhost, old browsers): copy through a selection.
    const ta = h("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function copyButton(text, label) {
  const b = h("button", { type: "button", class: "copy", "aria-label": `Copy ${label}` }, "Copy");
  b.addEventListener("click", async () => {
    const ok = await copyText(text);
    b.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => (b.textContent = "Copy"), 1500);
  });
  return b;
}

// A hotkey shortened for reading, the full value in its title and a copy button beside it.
export function hotkeyEl(hotkey, withCopy = true) {
  if (typeof hotkey !== "string") return document.createTextNode(dash);
  return h("span", { class: "hotkey" },
           h("code", { title: hotkey }, short(hotkey, 10, 6)),
           withCopy ? copyButton(hotkey, "hotkey") : null);
}

// The outcome of an evaluation summary as one word and its chip class.
export function outcome(e) {
  if (e.state !== "done") return { word: e.state || "pending", cls: "pending" };
  if (!e.decided) return { word: "undecided", cls: "undecided" };
  return e.passed ? { word: "passed", cls: "passed" } : { word: "failed", cls: "failed" };
}

export function chip(word, cls) {
  return h("span", { class: `chip chip-${cls}` }, word);
}
