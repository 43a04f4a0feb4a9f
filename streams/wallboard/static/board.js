// The wallboard: renders each board the server pushes (Server-Sent Events), and keeps the
// clock and the urgent items' time left ticking between pushes. No framework, no other host.
"use strict";

const FIGURES = [
  ["waiting", "Waiting", "count"],
  ["oldest_wait", "Oldest wait", "duration"],
  ["asa_15m", "ASA 15 min", "duration"],
  ["service_level_15m", "Service level 15 min", "percent"],
  ["service_level_today", "Service level today", "percent"],
  ["abandon_rate_15m", "Abandoned 15 min", "percent"],
  ["targets_at_risk", "SLA at risk", "count"],
  ["targets_breached", "SLA breached", "count"],
  ["unassigned", "Unassigned", "count"],
];
const STALE_AFTER_MS = 12000;

let serverOffset = 0; // server clock minus this browser's clock
let lastBoardAt = 0;
let urgentItems = [];

function show(kind, value) {
  if (value === null || value === undefined) return "–";
  if (kind === "percent") return `${Math.round(value * 100)}%`;
  if (kind === "duration") return span(value * 1000);
  return String(Math.round(value));
}

function span(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function tileFor(queue) {
  const main = document.getElementById("tiles");
  let tile = main.querySelector(`[data-queue="${CSS.escape(queue)}"]`);
  if (tile) return tile;
  tile = element("section", "tile");
  tile.dataset.queue = queue;
  tile.append(element("h2", "", queue));
  const figures = element("div", "figures");
  for (const [name, label] of FIGURES) {
    const figure = element("div", "figure");
    figure.dataset.figure = name;
    figure.append(element("div", "label", label), element("div", "value", "–"));
    figures.append(figure);
  }
  tile.append(figures);
  main.append(tile);
  return tile;
}

function render(board) {
  serverOffset = board.generated_at - Date.now();
  lastBoardAt = Date.now();
  const main = document.getElementById("tiles");
  main.style.setProperty("--columns", Math.max(1, Math.ceil(Math.sqrt(board.tiles.length))));
  const shown = new Set();
  for (const data of board.tiles) {
    shown.add(data.queue);
    const tile = tileFor(data.queue);
    main.append(tile); // in the board's order (by queue name)
    tile.className = `tile ${data.status}`;
    for (const [name, , kind] of FIGURES) {
      const figure = tile.querySelector(`[data-figure="${name}"]`);
      const value = data.figures[name];
      figure.className = `figure ${value ? value.status : "ok"}`;
      figure.querySelector(".value").textContent = show(kind, value ? value.value : null);
    }
  }
  for (const tile of document.querySelectorAll(".tile")) {
    if (!shown.has(tile.dataset.queue)) tile.remove();
  }
  const problems = document.getElementById("problems");
  problems.hidden = board.problems.length === 0;
  problems.textContent = board.problems.join(" · ");
  urgentItems = board.urgent;
  tick();
}

function renderUrgent() {
  const list = document.getElementById("urgent");
  const now = Date.now() + serverOffset;
  const items = urgentItems.map((item) => {
    const left = item.due_at - now;
    const li = element("li", item.state);
    li.dataset.interaction = item.interaction_id;
    const when = left >= 0 ? `${span(left)} left` : `${span(-left)} overdue`;
    li.append(
      element("span", "when", when),
      document.createTextNode(
        ` · ${item.queue || "no queue"} · ${item.metric.replaceAll("_", " ")} · ${item.owner}`,
      ),
    );
    return li;
  });
  list.replaceChildren(...(items.length ? items : [element("li", "none", "nothing at risk")]));
}

function tick() {
  const now = new Date(Date.now() + serverOffset);
  document.getElementById("clock").textContent = now.toLocaleTimeString([], { hour12: false });
  const freshness = document.getElementById("freshness");
  const age = Date.now() - lastBoardAt;
  const stale = !lastBoardAt || age > STALE_AFTER_MS;
  freshness.className = stale ? "stale" : "";
  freshness.textContent = lastBoardAt
    ? `updated ${span(age)} ago${stale ? " · not live" : ""}`
    : "connecting…";
  renderUrgent();
}

function connect() {
  const source = new EventSource("events");
  source.addEventListener("board", (event) => render(JSON.parse(event.data)));
}

connect();
setInterval(tick, 1000);
