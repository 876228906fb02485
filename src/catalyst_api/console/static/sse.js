// A server-sent-events reader over fetch(): unlike EventSource it can send the tab's bearer in
// `Authorization` (never in the URL), and it resumes with `Last-Event-ID` after any drop (a
// restarted server included). Frames already seen (by id) are skipped, so each event is handed
// over exactly once.

import { authHeaders, page, showSignIn, sleep } from "./api.js";

function parseFrame(text) {
  const frame = { event: "message", data: [], id: null, retry: null };
  for (const line of text.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") frame.event = value;
    else if (field === "data") frame.data.push(value);
    else if (field === "id") frame.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) frame.retry = Number(value);
  }
  return frame;
}

/**
 * Follow `url` until a frame named `done` (or `stop()`).
 * handlers: onMessage(data, id, event), onDone(data), onState("live" | "reconnecting" | "closed").
 * `lastId`: resume after this id. Returns {stop(), lastId()}.
 */
export function follow(url, handlers, lastId = 0) {
  let last = Number(lastId) || 0;
  let stopped = false;
  let controller = null;
  let wait = 1000;
  const state = (s) => handlers.onState && handlers.onState(s);

  async function read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (frame.retry !== null) wait = frame.retry;
        if (!frame.data.length) continue;
        const data = JSON.parse(frame.data.join("\n"));
        if (frame.event === "done") {
          handlers.onDone(data);
          return true;
        }
        const id = frame.id === null ? null : Number(frame.id);
        if (id !== null && id <= last) continue; // seen before a reconnect
        if (id !== null) last = id;
        handlers.onMessage(data, id, frame.event);
      }
    }
  }

  async function run() {
    let delay = 0;
    while (!stopped) {
      if (delay) await sleep(delay);
      if (stopped) break;
      controller = new AbortController();
      try {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (last) headers["Last-Event-ID"] = String(last);
        const resp = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
        if (resp.status === 401 && page.authMode === "required") {
          showSignIn("The token was not accepted: sign in again.");
          break;
        }
        if (!resp.ok) throw new Error(`stream answered ${resp.status}`);
        state("live");
        if (await read(resp.body)) break;
      } catch {
        if (stopped) break;
      }
      state("reconnecting");
      delay = Math.min(Math.max(wait, 250), 5000);
    }
    state("closed");
  }

  run();
  return {
    stop() {
      stopped = true;
      if (controller) controller.abort();
    },
    lastId() {
      return last;
    },
  };
}
