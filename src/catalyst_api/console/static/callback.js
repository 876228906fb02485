// The OIDC redirect page: exchange the authorization code (PKCE) for a token, keep it in
// this tab's sessionStorage and go back to where the sign-in started.

import { $, showError } from "./api.js";
import { completeOidcSignIn } from "./oidc.js";

completeOidcSignIn()
  .then((back) => window.location.replace(back || "/"))
  .catch((error) => {
    $("#main").hidden = false;
    showError("#error", error);
  });
