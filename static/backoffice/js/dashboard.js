// Fills the dashboard's "System status" card from /healthz and refreshes it every 15 s,
// so a slow worker ping never delays the page itself.
(function () {
  const list = document.getElementById("system-status");
  if (!list) return;
  const checked = document.getElementById("system-status-checked");

  function describe(part, check) {
    if (!check.ok) return check.error || "down";
    if (part === "workers") return check.count + " online";
    if (part === "beat") return "last tick " + Math.round(check.age_seconds) + " s ago";
    if (part === "database") return check.vendor || "up";
    return "up";
  }

  async function refresh() {
    try {
      const response = await fetch(list.dataset.healthzUrl, { headers: { Accept: "application/json" } });
      const report = await response.json();
      for (const [part, check] of Object.entries(report.checks)) {
        const item = list.querySelector(`[data-part="${part}"]`);
        if (!item) continue;
        item.querySelector(".bo-status-dot").className = "bo-status-dot " + (check.ok ? "bo-status-ok" : "bo-status-fail");
        item.querySelector("[data-detail]").textContent = "— " + describe(part, check);
        item.dataset.ok = check.ok ? "1" : "0";
      }
      checked.textContent = "Checked " + new Date().toLocaleTimeString();
    } catch (error) {
      checked.textContent = "Could not reach /healthz: " + error;
    }
  }
  refresh();
  setInterval(refresh, 15000);
})();
