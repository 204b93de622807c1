// Every request to the read API goes through here: an 8 s timeout on each, and one shared view
// of whether the API is reachable (for the "cannot reach the API" banner).
export const TIMEOUT_MS = 8000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status; // 0 when the API could not be reached at all
    this.code = code;
  }
}

const listeners = new Set();
export const link = { reachable: true, downSinceMs: null, lastOkMs: null };

export function onLinkChange(fn) {
  listeners.add(fn);
}

function mark(ok) {
  const was = link.reachable;
  if (ok) {
    link.reachable = true;
    link.downSinceMs = null;
    link.lastOkMs = Date.now();
  } else if (was) {
    link.reachable = false;
    link.downSinceMs = Date.now();
  }
  if (was !== link.reachable || ok) for (const fn of listeners) fn(link);
}

async function request(path) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  let res;
  try {
    res = await fetch(path, { signal: ctl.signal, headers: { Accept: "application/json" } });
  } catch (e) {
    clearTimeout(timer);
    mark(false);
    const why = e.name === "AbortError" ? `no answer in ${TIMEOUT_MS / 1000} s` : "network error";
    throw new ApiError(0, "unreachable", `Cannot reach the API (${why}).`);
  }
  clearTimeout(timer);
  // Any HTTP answer means the server is there, even an error.
  mark(true);
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = `The API answered ${res.status}.`;
    try {
      const body = await res.json();
      if (body && body.error) {
        code = String(body.error.code || code);
        message = String(body.error.message || message);
      }
    } catch {
      // not JSON: keep the generic message
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

export async function getJson(path) {
  const res = await request(path);
  try {
    return await res.json();
  } catch {
    throw new ApiError(res.status, "bad_json", `The API sent invalid JSON for ${path}.`);
  }
}

// A log tail: {text, truncated}.
export async function getLog(path) {
  const res = await request(path);
  return { text: await res.text(), truncated: res.headers.get("X-Log-Truncated") === "true" };
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
