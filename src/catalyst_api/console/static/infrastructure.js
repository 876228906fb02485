// The infrastructure view: the Sovereign's topology (regions, clusters, node pools, nodes,
// load balancers, networks) from the infrastructure endpoints, refreshed every 5 s.

import { $, api, boot, el, poll } from "./api.js";

const id = $("#deployment").dataset.id;
const base = `/api/v1/deployments/${encodeURIComponent(id)}/infrastructure`;
const REFRESH_MS = 5000;

function node(kind, item, label, ...children) {
  return el(
    "div",
    { class: "node", "data-kind": kind, "data-id": item.id || "", "data-status": item.status || "" },
    el("span", { class: "kind" }, kind),
    el("strong", {}, label || item.name || item.id || ""),
    item.status ? el("span", { class: `status status-${item.status}` }, ` ${item.status}`) : null,
    ...children,
  );
}

function detail(text) {
  return el("span", { class: "hint" }, ` ${text}`);
}

function cluster(c) {
  return node(
    "cluster",
    c,
    c.name,
    detail(`${c.version || ""} · ${c.nodeCount ?? 0} nodes`),
    ...(c.nodePools || []).map((p) =>
      node("pool", p, p.name, detail(`${p.role || ""} ${p.sku || ""} ${p.currentSize ?? "?"}/${p.desiredSize ?? "?"}`)),
    ),
    ...(c.nodes || []).map((n) => node("node", n, n.name, detail(`${n.role || ""} ${n.sku || ""} ${n.ip || ""}`))),
    ...(c.loadBalancers || []).map((lb) => node("load balancer", lb, lb.name, detail(`${lb.publicIP || ""} ports ${lb.ports || ""}`))),
    ...(c.vclusters || []).map((v) => node("vcluster", v, v.name, detail(v.namespace || ""))),
  );
}

function render(data) {
  const topology = data.topology || {};
  const regions = (topology.regions || []).map((r) =>
    node(
      "region",
      r,
      r.name,
      detail(`${r.provider || ""} ${r.providerRegion || ""} · control plane ${r.skuCP || ""}, ${r.workerCount ?? 0} × ${r.skuWorker || "–"}`),
      ...(r.clusters || []).map(cluster),
      ...(r.networks || []).map((n) => node("network", n, n.name, detail(n.cidr || ""))),
    ),
  );
  const clouds = (data.cloud || []).map((c) => node("cloud", c, c.name || c.provider));
  const target = $("#topology");
  target.replaceChildren(
    el("p", { class: "hint" }, `pattern: ${topology.pattern || "unknown"}`),
    ...clouds,
    ...regions,
  );
  target.setAttribute("aria-busy", "false");
}

function table(headers, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c ?? ""))))),
  );
}

function renderCompute(data) {
  $("#compute").replaceChildren(
    table(
      ["Node", "Role", "Server type", "Region", "IP", "Status"],
      (data.nodes || []).map((n) => [n.name, n.role, n.sku, n.region, n.ip, n.status]),
    ),
  );
}

function renderNetwork(data) {
  $("#network").replaceChildren(
    table(
      ["Load balancer", "Public IP", "Ports", "Region", "Status"],
      (data.loadBalancers || []).map((lb) => [lb.name, lb.publicIP, lb.ports, lb.region, lb.status]),
    ),
  );
}

async function refresh() {
  const [topology, compute, network] = await Promise.all([
    api(`${base}/topology`),
    api(`${base}/compute`),
    api(`${base}/network`),
  ]);
  render(topology);
  renderCompute(compute);
  renderNetwork(network);
}

boot(() => poll(REFRESH_MS, refresh, "#error", [404]));
