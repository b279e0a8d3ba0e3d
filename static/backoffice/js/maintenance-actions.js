// Maintenance page: poll each unfinished run's JSON status until it has finished.
(function () {
  "use strict";

  function show(box, run) {
    box.dataset.status = run.status;
    box.querySelector("[data-field=status]").textContent = run.status_display;
    box.querySelector("[data-field=task_id]").textContent = run.task_id || "—";
    const value = run.error || (run.result === null ? "" : JSON.stringify(run.result, null, 1));
    box.querySelector("[data-field=result]").textContent = value;
  }

  function poll(box) {
    fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (run) {
        show(box, run);
        if (run.finished) {
          box.dataset.finished = "true";
          const card = box.closest("[data-action]");
          const button = card && card.querySelector("[data-action-button]");
          if (button && !button.dataset.unavailable) { button.disabled = false; }
        } else {
          setTimeout(function () { poll(box); }, 1000);
        }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 3000); });
  }

  document.querySelectorAll("[data-run-status][data-finished=false]").forEach(poll);
})();
