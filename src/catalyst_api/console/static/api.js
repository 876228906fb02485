// Shared by every console page: the tab's API token, the caller's session, API calls and a
// few DOM helpers. The token lives in sessionStorage only (this tab), never in localStorage,
// a cookie or a URL.

const TOKEN_KEY = "catalyst.apiToken";
const RANKS = { viewer: 1, operator: 2, admin: 3 };

export const page = document.body.dataset;

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return headers;
}

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function failure(resp) {
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const code = data && typeof data.error === "string" ? data.error : "";
  const detail = (data && (data.detail || data.message || data.error)) || text.trim();
  return new ApiError(resp.status, code, detail || resp.statusText);
}

/** fetch() with the tab's bearer; a non-2xx answer throws ApiError (401 shows the sign-in). */
export async function request(path, { method = "GET", json, headers = {}, signal } = {}) {
  const init = { method, headers: authHeaders(headers), cache: "no-store", signal };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, init);
  if (!resp.ok) {
    const error = await failure(resp);
    if (resp.status === 401 && page.authMode === "required") {
      showSignIn("The token was not accepted (expired or revoked): sign in again.");
    }
    throw error;
  }
  return resp;
}

/** request() and the answer's JSON (null for an empty body). */
export async function api(path, options = {}) {
  const resp = await request(path, options);
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// --- DOM helpers ------------------------------------------------------------------------------

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** A new element: el("a", {href: "/x", class: "y"}, "text", child…). Text is never parsed. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, String(value));
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function age(iso, now = Date.now()) {
  const then = Date.parse(iso || "");
  if (Number.isNaN(then)) return "–";
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function showError(target, error) {
  const node = typeof target === "string" ? $(target) : target;
  if (node) node.textContent = error ? error.message || String(error) : "";
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Call `refresh()` every `ms` (errors shown in `errorTarget`) until it answers 401 (the
 * sign-in takes over) or a status in `stopOn`. */
export async function poll(ms, refresh, errorTarget, stopOn = []) {
  for (;;) {
    try {
      await refresh();
      showError(errorTarget, null);
    } catch (error) {
      if (error.status === 401) return;
      showError(errorTarget, error);
      if (stopOn.includes(error.status)) return;
    }
    await sleep(ms);
  }
}

// --- sign-in and roles ------------------------------------------------------------------------

export function showSignIn(message = "") {
  $("#main").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
  if (page.oidcIssuer && page.oidcClientId) $("#sign-in-oidc").hidden = false;
  $("#sign-in-token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const value = $("#sign-in-token").value.trim();
  if (!value) return;
  setToken(value);
  try {
    await api("/api/v1/session");
  } catch (error) {
    setToken("");
    $("#sign-in-error").textContent =
      error.status === 401 ? "This token was not accepted." : error.message;
    return;
  }
  window.location.reload();
}

function applyRole(session) {
  if (session.authMode !== "required") return; // open: everyone may do everything
  const rank = RANKS[session.role] || 0;
  for (const node of document.querySelectorAll("[data-needs-role]")) {
    if ((RANKS[node.dataset.needsRole] || 99) > rank) node.remove();
  }
  const who = $("#who");
  who.textContent = `${session.principal} (${session.role || "no role"})`;
  who.hidden = false;
  $("#sign-out").hidden = false;
}

/** Every page's entry point: sign-in when needed, then `start(session)`. */
export async function boot(start) {
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", () => {
    setToken("");
    window.location.assign("/");
  });
  const oidcButton = $("#sign-in-oidc-button");
  if (oidcButton) {
    oidcButton.addEventListener("click", async () => {
      const { beginOidcSignIn } = await import("./oidc.js");
      beginOidcSignIn().catch((error) => showError("#sign-in-error", error));
    });
  }
  let session;
  try {
    session = await api("/api/v1/session");
  } catch (error) {
    if (error.status === 401) {
      showSignIn(token() ? "The token was not accepted: sign in again." : "");
      return;
    }
    $("#main").hidden = false;
    document.body.prepend(el("p", { class: "error", role: "alert" }, error.message));
    return;
  }
  applyRole(session);
  $("#main").hidden = false;
  await start(session);
}
