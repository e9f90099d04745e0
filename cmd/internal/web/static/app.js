// Live progress of the job page: the server sends the figures as
// server-sent events; each fills the element with id "f-" + its name.
// When the job's state changes, the page reloads to show its actions.
"use strict";
const live = document.querySelector("[data-events]");
if (live) {
  const es = new EventSource(live.dataset.events);
  es.onmessage = (e) => {
    const d = JSON.parse(e.data);
    for (const [k, v] of Object.entries(d.fields)) {
      const el = document.getElementById("f-" + k);
      if (el) { if (el.tagName === "PROGRESS") { el.value = v; } else { el.textContent = v; } }
    }
    if (d.reload) { es.close(); location.reload(); }
  };
}
