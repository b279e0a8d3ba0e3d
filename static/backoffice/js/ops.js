// Operations console: draws the throughput charts with the Chart.js that Unfold already
// loads, redraws them after htmx refreshes the overview, and refreshes task lists in place.
(function () {
  const charts = new Map();

  function drawCharts(root) {
    if (typeof Chart === "undefined") return;
    for (const canvas of root.querySelectorAll("canvas.bo-chart")) {
      const previous = charts.get(canvas.closest(".bo-chart-box") || canvas);
      if (previous) previous.destroy();
      const chart = new Chart(canvas.getContext("2d"), {
        type: canvas.dataset.type || "bar",
        data: JSON.parse(canvas.dataset.value),
        options: {
          animation: false, maintainAspectRatio: false,
          locale: document.documentElement.lang || undefined,  // numbers as the page groups them
          plugins: { legend: { display: true } },
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } },
                    y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
      charts.set(canvas.closest(".bo-chart-box") || canvas, chart);
    }
  }

  // Stands in for the table when no row matches the view any more (a failure resolved by
  // its retry leaves the unresolved list), and keeps the id the next refresh looks for.
  function emptyList() {
    const note = document.createElement("p");
    note.id = "result_list";
    note.className = "text-subtle p-4";
    note.textContent = "No run matches this view any more.";
    return note;
  }

  // Task history and failed lists: replace the result table every 10 s unless the user
  // has selected rows or is typing.
  function refreshList() {
    const table = document.getElementById("result_list");
    if (!table || document.querySelector("#result_list input.action-select:checked")) return;
    if (document.activeElement && ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" } })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        if (!html) return;
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("result_list");
        table.replaceWith(fresh || emptyList());
      })
      .catch(() => {});
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawCharts(document);
    if (document.getElementById("result_list") && document.body.classList.contains("app-operations")) {
      setInterval(refreshList, 10000);
    }
  });
  // A refresh replaces the workflow table: results the user opened stay open.
  let opened = [];
  document.addEventListener("htmx:beforeSwap", () => {
    opened = [...document.querySelectorAll("[data-result-of] details[open]")]
      .map((details) => details.closest("[data-result-of]").dataset.resultOf);
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    drawCharts(event.target);
    for (const id of opened) {
      const details = document.querySelector(`[data-result-of="${CSS.escape(id)}"] details`);
      if (details) details.open = true;
    }
  });
})();
