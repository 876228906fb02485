// One deployment: header status, phase timeline, bootstrap-kit cards and event log, all
// driven by the deployment's SSE stream (resumed with Last-Event-ID, each event shown once);
// the result, kubeconfig download, retry of a failed phase and destroy with a typed FQDN.

import { $, api, boot, el, request, showError } from "./api.js";
import { follow } from "./sse.js";

const header = $("#deployment");
const id = header.dataset.id;
const base = `/api/v1/deployments/${encodeURIComponent(id)}`;
const log = $("#log");
const timeline = $("#timeline");
const BLOCKED = "blocked: depends on ";
const PHASE_OF = { tofu: null, "component-log": "component", "phase1-watch": "component" };
const PHASE0 = new Set(["tofu-init", "tofu-plan", "tofu-apply", "tofu-output", "flux-bootstrap"]);
const RUNNING = new Set(["pending", "provisioning", "tofu-applying", "flux-bootstrapping", "phase1-watching", "destroying"]);

let state = null;
let stream = null;
const seen = new Set();
let refreshTimer = null;

// --- state ------------------------------------------------------------------------------------

function link(url) {
  return url ? el("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, url) : "–";
}

function applyState(next) {
  state = next;
  header.dataset.status = next.status;
  $("#fqdn").textContent = next.sovereignFQDN || id;
  document.title = `${next.sovereignFQDN || id} · catalyst`;
  const status = $("#status");
  status.textContent = next.status;
  status.className = `status status-${next.status}`;
  $("#started").textContent = next.startedAt ? `started ${next.startedAt}` : "";
  $("#owner").textContent = next.owner ? `owner ${next.owner}` : "";
  const result = next.result || {};
  $("#result-controlPlaneIP").textContent = result.controlPlaneIP || "–";
  $("#result-loadBalancerIP").textContent = result.loadBalancerIP || "–";
  $("#result-consoleURL").replaceChildren(link(result.consoleURL));
  $("#result-gitopsRepoURL").replaceChildren(link(result.gitopsRepoURL));
  for (const [component, componentState] of Object.entries(next.componentStates || {})) {
    const card = cardOf(component);
    if (card && card.dataset.state !== componentState) setCard(card, componentState);
  }
  const download = $("#download");
  if (download) download.disabled = !result.kubeconfigPath || next.status === "destroyed";
  const retry = $("#retry");
  if (retry) retry.hidden = next.status !== "failed";
  offerNewToken(next);
  const destroy = $("#destroy");
  const confirming = !$("#destroy-confirm")?.hidden;
  if (destroy) destroy.hidden = RUNNING.has(next.status) || next.status === "destroyed" || confirming;
  if (next.error) showError("#error", new Error(next.error));
  else showError("#error", null);
}

async function refreshState() {
  try {
    applyState(await api(base));
  } catch (error) {
    showError("#error", error);
  }
}

function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refreshState();
  }, 400);
}

// --- timeline ---------------------------------------------------------------------------------

function step(phase) {
  let item = timeline.querySelector(`li[data-phase="${CSS.escape(phase)}"]`);
  if (!item) {
    item = el("li", { "data-phase": phase, "data-state": "pending" }, phase);
    timeline.append(item);
  }
  return item;
}

function advance(event) {
  const phase = event.phase in PHASE_OF ? PHASE_OF[event.phase] : event.phase;
  if (!phase) return;
  const item = step(phase);
  for (const other of timeline.querySelectorAll('li[data-state="running"]')) {
    if (other !== item) other.dataset.state = "done";
  }
  if (item.dataset.state !== "failed" || event.level !== "error") item.dataset.state = "running";
  if (event.level === "error" && phase !== "component") item.dataset.state = "failed";
}

function finishTimeline(status) {
  for (const item of timeline.querySelectorAll('li[data-state="running"]')) {
    item.dataset.state = status === "failed" ? "failed" : "done";
  }
  if (status === "ready" || status === "destroyed") {
    for (const item of timeline.querySelectorAll('li[data-state="pending"]')) item.dataset.state = "skipped";
  }
}

// --- cards ------------------------------------------------------------------------------------

function cardOf(component) {
  return $(`#cards [data-component="${CSS.escape(component)}"]`);
}

function setCard(card, componentState, message) {
  card.dataset.state = componentState;
  card.querySelector(".state").textContent = componentState;
  if (componentState === "installed" || componentState === "installing") {
    card.removeAttribute("data-blocked-by");
    card.querySelector(".blocked").hidden = true;
  }
  if (message !== undefined) {
    const text = card.querySelector(".message");
    if (message.startsWith(BLOCKED)) {
      const names = message.slice(BLOCKED.length).split(", which")[0];
      card.dataset.blockedBy = names;
      const note = card.querySelector(".blocked");
      note.textContent = `blocked by ${names}`;
      note.hidden = false;
    } else {
      text.textContent = componentState === "installed" ? "" : message;
    }
  }
}

// --- event log --------------------------------------------------------------------------------

function append(event, seq) {
  if (seq !== null && seen.has(seq)) return;
  if (seq !== null) seen.add(seq);
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
  log.append(
    el(
      "div",
      { class: "entry", "data-seq": seq ?? "", "data-level": event.level || "info", "data-phase": event.phase || "" },
      el("time", {}, (event.time || "").replace("T", " ").replace("Z", "")),
      el("span", { class: "phase" }, event.component ? `${event.phase} ${event.component}` : event.phase || ""),
      el("span", { class: "message" }, event.message || ""),
    ),
  );
  if (stick) log.scrollTop = log.scrollHeight;
}

function onEvent(event, seq) {
  append(event, seq);
  advance(event);
  if (event.phase === "component" && event.component && event.state) {
    const card = cardOf(event.component);
    if (card) setCard(card, event.state, event.message || "");
  }
  if (event.phase !== "tofu" && event.phase !== "component-log") refreshSoon();
}

function watch() {
  if (stream) stream.stop();
  const from = stream ? stream.lastId() : 0;
  stream = follow(
    `${base}/logs`,
    {
      onMessage: onEvent,
      onDone: (final) => {
        applyState(final);
        finishTimeline(final.status);
      },
      onState: (s) => {
        $("#stream-state").textContent = s === "live" ? "live" : s === "reconnecting" ? "reconnecting…" : "";
        log.dataset.stream = s;
      },
    },
    from,
  );
}

// --- actions ----------------------------------------------------------------------------------

function notice(text) {
  $("#notice").textContent = text;
}

async function download() {
  try {
    const resp = await request(`${base}/kubeconfig`);
    const blob = await resp.blob();
    const url = URL.createObjectURL(blob);
    const anchor = el("a", { href: url, download: `${state.sovereignFQDN || id}-kubeconfig.yaml`, hidden: true });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    showError("#error", error);
  }
}

function failedPhase() {
  const card = $('#cards [data-state="failed"]');
  if (card) return card.dataset.retryPhase;
  const failed = [...timeline.querySelectorAll('li[data-state="failed"]')].map((li) => li.dataset.phase);
  return failed.find((p) => PHASE0.has(p)) || "tofu-init";
}

let pendingWithToken = null;

// A Phase 0 failure (no bootstrap-kit card failed) may be the token itself (refused, expired):
// "Retry" re-runs with the token kept in memory; the panel lets the user give another one.
function offerNewToken(next) {
  const panel = $("#retry-token");
  if (!panel || !$("#retry")) return;
  const cardFailed = Object.values(next.componentStates || {}).includes("failed");
  const phase0Failed = next.status === "failed" && !cardFailed;
  if (phase0Failed && panel.hidden) {
    $("#retry-token-note").textContent =
      "Retry re-runs with the Hetzner token given at create. If that token was refused, enter another one:";
    pendingWithToken = retry;
    panel.hidden = false;
  } else if (!phase0Failed && pendingWithToken === retry) {
    panel.hidden = true;
  }
}

function askForToken(action) {
  pendingWithToken = action;
  $("#retry-token-note").textContent = "The Hetzner token is not kept after a restart: enter it again.";
  const panel = $("#retry-token");
  panel.hidden = false;
  $("#retry-token-input").focus();
}

async function retry(hetznerToken) {
  const phase = failedPhase();
  showError("#error", null);
  try {
    const answer = await api(`${base}/phases/${encodeURIComponent(phase)}/retry`, {
      method: "POST",
      json: hetznerToken ? { hetznerToken } : {},
    });
    $("#retry-token").hidden = true;
    $("#retry-token-input").value = "";
    notice(answer.message || `retry of ${phase}: ${answer.status}`);
    await refreshState();
    watch(); // the retry's events (a new run, or the manual-retry note) follow the last seen
  } catch (error) {
    if (error.code === "credentials-required") askForToken(retry);
    else showError("#error", error);
  }
}

async function destroy(hetznerToken) {
  const typed = $("#confirm-fqdn");
  if (!state || typed.value.trim() !== state.sovereignFQDN) return; // nothing is sent
  showError("#error", null);
  try {
    await api(base, { method: "DELETE", json: hetznerToken ? { hetznerToken } : {} });
    $("#destroy-confirm").hidden = true;
    $("#retry-token").hidden = true;
    notice("Destroy accepted.");
    await refreshState();
    watch();
  } catch (error) {
    if (error.code === "credentials-required") askForToken(destroy);
    else showError("#error", error);
  }
}

function wireActions() {
  $("#download")?.addEventListener("click", download);
  $("#retry")?.addEventListener("click", () => retry());
  $("#destroy")?.addEventListener("click", () => {
    // one "Destroy" control on the page at a time: the button gives way to its confirmation
    $("#destroy").hidden = true;
    $("#destroy-confirm").hidden = false;
    $("#confirm-fqdn").focus();
  });
  $("#confirm-fqdn")?.addEventListener("input", (event) => {
    $("#confirm-destroy").disabled = !state || event.target.value.trim() !== state.sovereignFQDN;
  });
  $("#confirm-destroy")?.addEventListener("click", () => destroy());
  $("#cancel-destroy")?.addEventListener("click", () => {
    $("#destroy-confirm").hidden = true;
    $("#destroy").hidden = false;
    $("#confirm-fqdn").value = "";
    $("#confirm-destroy").disabled = true;
  });
  $("#retry-with-token")?.addEventListener("click", () => {
    const value = $("#retry-token-input").value.trim();
    if (value && pendingWithToken) pendingWithToken(value);
  });
  $("#level-filter").addEventListener("change", (event) => {
    log.dataset.level = event.target.value;
  });
}

boot(async () => {
  wireActions();
  try {
    applyState(await api(base));
  } catch (error) {
    showError("#error", error.status === 404 ? new Error(`no deployment ${id}`) : error);
    return;
  }
  watch();
});
