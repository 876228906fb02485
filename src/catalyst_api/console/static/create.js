// The create form: its inputs are named after the create body's keys. "Preview plan" asks the
// plan API (nothing is created); "Launch" creates the deployment and opens its page.

import { $, api, boot, el, showError } from "./api.js";

const form = $("#create-form");

function body() {
  const data = new FormData(form);
  const out = {};
  for (const [key, value] of data.entries()) out[key] = String(value).trim();
  out.workerCount = Number.parseInt(out.workerCount || "0", 10) || 0;
  out.haEnabled = $("#haEnabled").checked;
  if (out.sovereignDomainMode !== "pool") {
    out.sovereignPoolDomain = "";
    out.sovereignSubdomain = "";
  }
  if (out.workerCount === 0 && !out.workerSize) delete out.workerSize;
  return out;
}

function money(amount, currency) {
  if (typeof amount !== "number") return "–";
  return new Intl.NumberFormat("en", { style: "currency", currency: currency || "EUR" }).format(amount);
}

function showPlan(plan) {
  const counts = plan.counts || {};
  $("#plan-counts").textContent =
    `${counts.add ?? 0} to add, ${counts.change ?? 0} to change, ${counts.destroy ?? 0} to destroy`;
  $("#plan-resources").replaceChildren(
    ...(plan.resources || []).map((r) =>
      el("tr", { "data-address": r.address }, el("td", {}, el("code", {}, r.address)), el("td", {}, r.type), el("td", {}, r.action)),
    ),
  );
  const estimate = plan.estimate || {};
  $("#plan-lines").replaceChildren(
    ...(estimate.lines || []).map((line) =>
      el(
        "tr",
        { "data-sku": line.sku },
        el("td", {}, line.item),
        el("td", {}, line.sku),
        el("td", {}, line.count),
        el("td", {}, money(line.unitMonthly * line.count, estimate.currency)),
      ),
    ),
  );
  const total = $("#plan-monthly");
  total.textContent = `${money(estimate.monthly, estimate.currency)} per month`;
  total.dataset.monthly = String(estimate.monthly ?? "");
  $("#plan-warnings").replaceChildren(...(plan.warnings || []).map((w) => el("li", {}, w)));
  $("#plan-result").hidden = false;
}

async function preview() {
  const button = $("#preview");
  button.disabled = true;
  showError("#create-error", null);
  $("#plan-result").hidden = true;
  $("#plan-status").textContent = "Planning (OpenTofu init and plan)…";
  try {
    showPlan(await api("/api/v1/deployments/plan", { method: "POST", json: body() }));
    $("#plan-status").textContent = "Nothing has been created yet.";
  } catch (error) {
    $("#plan-status").textContent = "No plan.";
    showError("#create-error", error);
  } finally {
    button.disabled = false;
  }
}

async function launch(event) {
  event.preventDefault();
  const button = $("#launch");
  button.disabled = true;
  showError("#create-error", null);
  try {
    const created = await api("/api/v1/deployments", { method: "POST", json: body() });
    window.location.assign(`/deployments/${encodeURIComponent(created.id)}`);
  } catch (error) {
    showError("#create-error", error);
    button.disabled = false;
  }
}

boot(async () => {
  $("#preview").addEventListener("click", preview);
  form.addEventListener("submit", launch);
});
