// A live view of the Sovereign's objects from the k8scache: pick a kind and a namespace,
// search by name; the list follows the cache's stream (initial state, then every change).

import { $, age, api, boot, el, showError } from "./api.js";
import { follow } from "./sse.js";

const id = $("#deployment").dataset.id;
const base = `/api/v1/sovereigns/${encodeURIComponent(id)}/k8s`;
const kindSelect = $("#kind");
const nsSelect = $("#namespace");
const search = $("#search");
const objects = new Map();
let stream = null;

function key(obj) {
  const meta = obj.metadata || {};
  return `${meta.namespace || ""}/${meta.name || ""}`;
}

function status(obj) {
  const st = obj.status || {};
  const ready = (st.conditions || []).find((c) => c && c.type === "Ready");
  if (ready) return ready.status === "True" ? "Ready" : ready.reason || "NotReady";
  return st.phase || "";
}

function render() {
  const ns = nsSelect.value;
  const text = search.value.trim().toLowerCase();
  const namespaces = new Set();
  const rows = [];
  for (const [k, obj] of [...objects.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const meta = obj.metadata || {};
    if (meta.namespace) namespaces.add(meta.namespace);
    if (ns && meta.namespace !== ns) continue;
    if (text && !(meta.name || "").toLowerCase().includes(text)) continue;
    rows.push(
      el(
        "tr",
        { "data-key": k, "data-name": meta.name || "", "data-namespace": meta.namespace || "" },
        el("td", {}, meta.namespace || "–"),
        el("td", {}, meta.name || ""),
        el("td", {}, status(obj)),
        el("td", {}, age(meta.creationTimestamp)),
      ),
    );
  }
  $("#objects").replaceChildren(...rows);
  const known = new Set([...nsSelect.options].map((o) => o.value));
  for (const name of [...namespaces].sort()) {
    if (!known.has(name)) nsSelect.append(el("option", { value: name }, name));
  }
  $("#objects-state").textContent = `${rows.length} of ${objects.size}`;
}

function watch() {
  if (stream) stream.stop();
  objects.clear();
  render();
  const query = new URLSearchParams({ kinds: kindSelect.value, initialState: "1" });
  stream = follow(`${base}/stream?${query}`, {
    onMessage: (data, _id, event) => {
      if (event === "resync") {
        watch();
        return;
      }
      if (!data.object) return;
      if (data.type === "DELETED") objects.delete(key(data.object));
      else objects.set(key(data.object), data.object);
      render();
    },
    onDone: () => {},
    onState: (s) => {
      if (s === "reconnecting") objects.clear();
    },
  });
}

boot(async () => {
  let synced;
  try {
    synced = (await api(`${base}/sync`)).synced || {};
  } catch (error) {
    showError("#error", error.status === 404 ? new Error("this Sovereign is not in the k8scache (no kubeconfig yet)") : error);
    return;
  }
  const kinds = Object.keys(synced).sort();
  kindSelect.replaceChildren(...kinds.map((k) => el("option", { value: k }, k)));
  const wanted = new URLSearchParams(window.location.search).get("kind");
  kindSelect.value = kinds.includes(wanted) ? wanted : kinds.includes("helmrelease") ? "helmrelease" : kinds[0] || "";
  kindSelect.addEventListener("change", () => {
    nsSelect.replaceChildren(el("option", { value: "" }, "all"));
    watch();
  });
  nsSelect.addEventListener("change", render);
  search.addEventListener("input", render);
  if (kindSelect.value) watch();
});
