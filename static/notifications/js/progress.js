// Refreshes a notification's progress bar and counts every 2 s while it is sending.
(function () {
  const panel = document.getElementById("notification-panel");
  if (!panel) return;
  async function refresh() {
    try {
      const response = await fetch(panel.dataset.progressUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const progress = await response.json();
      for (const [part, percent] of Object.entries(progress.percent)) {
        const bar = panel.querySelector(`#progress-bar [data-part="${part}"]`);
        if (bar) bar.style.width = percent + "%";
      }
      for (const [key, count] of Object.entries(progress.counts)) {
        const cell = panel.querySelector(`[data-count="${key}"]`);
        if (cell) cell.textContent = count;
      }
      document.getElementById("notification-status").textContent = progress.status_display;
      if (progress.done || progress.stalled !== (panel.dataset.stalled === "1")) {
        window.location.reload(); // the buttons that apply (Resume among them) have changed
        return;
      }
    } catch (error) {
      /* a missed refresh is retried on the next tick */
    }
    setTimeout(refresh, 2000);
  }
  if (panel.dataset.done !== "1") setTimeout(refresh, 1000);
})();
