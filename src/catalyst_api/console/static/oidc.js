// OIDC sign-in for the console: authorization code flow with PKCE (S256), a public client
// (CATALYST_CONSOLE_OIDC_CLIENT_ID), redirect back to /console/oidc-callback. The pending
// verifier and state live in this tab's sessionStorage; so does the resulting token.

import { page, setToken } from "./api.js";

const PENDING_KEY = "catalyst.oidcPending";
const CALLBACK = "/console/oidc-callback";

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function discovery(issuer) {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const resp = await fetch(url, { cache: "no-store" });
  if (!resp.ok) throw new Error(`OIDC discovery answered ${resp.status}`);
  return resp.json();
}

/** Redirect the browser to the provider's authorization endpoint. */
export async function beginOidcSignIn() {
  const config = await discovery(page.oidcIssuer);
  const verifier = randomString(48);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = randomString(16);
  const back = window.location.pathname + window.location.search;
  sessionStorage.setItem(
    PENDING_KEY,
    JSON.stringify({ verifier, state, back, tokenEndpoint: config.token_endpoint }),
  );
  const query = new URLSearchParams({
    response_type: "code",
    client_id: page.oidcClientId,
    redirect_uri: window.location.origin + CALLBACK,
    scope: "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  window.location.assign(`${config.authorization_endpoint}?${query}`);
}

/** On the callback page: check the state, exchange the code, keep the token; returns the
 * page to go back to. */
export async function completeOidcSignIn() {
  const params = new URLSearchParams(window.location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  if (params.get("error")) throw new Error(`sign-in refused: ${params.get("error_description") || params.get("error")}`);
  if (!pending || !params.get("code") || params.get("state") !== pending.state) {
    throw new Error("this sign-in was not started from this tab (state mismatch): start again");
  }
  const resp = await fetch(pending.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: window.location.origin + CALLBACK,
      client_id: page.oidcClientId,
      code_verifier: pending.verifier,
    }),
    cache: "no-store",
  });
  if (!resp.ok) throw new Error(`the token exchange answered ${resp.status}`);
  const tokens = await resp.json();
  const bearer = tokens.access_token || tokens.id_token;
  if (!bearer) throw new Error("the provider returned no token");
  setToken(bearer);
  return pending.back && pending.back.startsWith("/") && !pending.back.startsWith("//") ? pending.back : "/";
}
