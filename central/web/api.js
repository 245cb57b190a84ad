// The console's only door to central: JSON calls with cookie auth + CSRF header, and the live
// event stream with its own reconnect. See docs/api.md for the contract.

export class ApiError extends Error {
  constructor(status, message, retryAfterS = null) {
    super(message);
    this.status = status;
    this.retryAfterS = retryAfterS; // seconds from a Retry-After header (429), else null
  }
}

let onUnauthorized = () => {};

/** Called whenever the server says the session is gone (401), so the page can show the login. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (body.detail) return JSON.stringify(body.detail);
  } catch {
    // not JSON: fall through to the status text
  }
  return response.statusText || `HTTP ${response.status}`;
}

/** fetch + JSON; throws ApiError carrying the HTTP status and the server's reason. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const csrf = cookie("crowd_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    const wait = Number.isFinite(retryAfter) ? retryAfter : null;
    const error = new ApiError(response.status, await detailOf(response), wait);
    if (response.status === 401 && path !== "/api/login") onUnauthorized(error);
    throw error;
  }
  if (response.status === 204) return null;
  return response.json();
}

export const login = (username, password) => api("/api/login", { method: "POST", body: { username, password } });
export const logout = () => api("/api/logout", { method: "POST", body: {} });

/**
 * The live stream. EventSource retries by itself after a dropped connection, but gives up for good
 * when the server answers with an error status (a restart that is still booting, an expired session);
 * then we retry ourselves with a growing delay. `onHello` fires on every (re)connect: the caller
 * refetches everything then, because events sent while we were away are lost.
 */
export function connectEvents({ handlers, onHello, onState }) {
  let source = null;
  let retryMs = 1000;
  let timer = null;
  let stopped = false;

  const open = () => {
    if (stopped) return;
    source = new EventSource("/api/events", { withCredentials: true });
    source.addEventListener("open", () => {
      retryMs = 1000;
      onState("live");
    });
    source.addEventListener("hello", (event) => {
      onState("live");
      onHello(parse(event));
    });
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        const data = parse(event);
        if (data !== null) handler(data);
      });
    }
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        onState("down");
        timer = setTimeout(async () => {
          // A 401 here means the session ended: the login screen takes over instead of a retry loop.
          try {
            await api("/api/me");
          } catch (error) {
            if (error instanceof ApiError && error.status === 401) return;
          }
          open();
        }, retryMs);
        retryMs = Math.min(retryMs * 2, 15000);
      } else {
        onState("reconnecting");
      }
    });
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (source) source.close();
  };
}

function parse(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    console.warn("event stream: unreadable data", event.type);
    return null;
  }
}
