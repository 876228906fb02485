// The deployments list: status, FQDN, age, owner; filter by status; refreshed every 1.5 s.

import { $, age, api, boot, el, poll, showError } from "./api.js";

const REFRESH_MS = 1500;
const filter = $("#status-filter");
const tbody = $("#deployments");
let generation = 0;

function row(dep) {
  const link = el("a", { href: `/deployments/${encodeURIComponent(dep.id)}` }, dep.sovereignFQDN || dep.id);
  return el(
    "tr",
    { "data-id": dep.id, "data-status": dep.status },
    el("td", {}, link),
    el("td", {}, el("span", { class: `status status-${dep.status}` }, dep.status)),
    el("td", { class: "age", "data-started": dep.startedAt || "" }, age(dep.startedAt)),
    el("td", {}, dep.owner || "–"),
  );
}

function render(deployments) {
  const fresh = deployments.map(row);
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.id, tr]));
  fresh.forEach((tr, index) => {
    const current = old.get(tr.dataset.id);
    if (current && current.outerHTML === tr.outerHTML && tbody.children[index] === current) return;
    if (current) current.remove();
    tbody.insertBefore(tr, tbody.children[index] || null);
  });
  const wanted = new Set(deployments.map((d) => d.id));
  for (const tr of [...tbody.children]) if (!wanted.has(tr.dataset.id)) tr.remove();
  $("#list-empty").hidden = deployments.length > 0;
}

async function refresh() {
  const mine = generation;
  const query = new URLSearchParams({ limit: "200" });
  if (filter.value) query.set("status", filter.value);
  const page = await api(`/api/v1/deployments?${query}`);
  if (mine !== generation) return; // the filter changed meanwhile
  render(page.deployments || []);
  $("#list-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

boot(async () => {
  const initial = new URLSearchParams(window.location.search).get("status") || "";
  filter.value = [...filter.options].some((o) => o.value === initial) ? initial : "";
  filter.addEventListener("change", () => {
    generation += 1;
    const url = new URL(window.location.href);
    if (filter.value) url.searchParams.set("status", filter.value);
    else url.searchParams.delete("status");
    window.history.replaceState(null, "", url);
    tbody.replaceChildren();
    refresh().catch((error) => showError("#list-error", error));
  });
  poll(REFRESH_MS, refresh, "#list-error");
});
