// Restore page: follow the queued restore (rows restored so far of the total) until it ends.
(function () {
  "use strict";

  const box = document.getElementById("restore-progress");
  if (!box) { return; }

  function show(run) {
    box.dataset.status = run.status;
    box.dataset.finished = run.finished ? "true" : "false";
    const status = box.querySelector("[data-field=status]");
    const label = box.querySelector('template[data-label-variant="' + run.status_variant + '"]');
    if (label) { status.replaceChildren(label.content.cloneNode(true)); }
    status.querySelector("span").textContent = run.status_display;
    box.querySelector("[data-field=bar]").style.width = run.percent + "%";
    const progress = run.progress;
    let text = "Waiting for a worker…";
    if (run.status === "success") {
      text = run.summary.map(function (item) { return item.label + ": " + item.value; }).join(" · ");
    } else if (progress) {
      text = progress.done.toLocaleString() + " / " +
        (progress.total === null ? "?" : progress.total.toLocaleString()) + " rows";
    }
    box.querySelector("[data-field=progress]").textContent = text;
    box.querySelector("[data-field=error]").textContent = run.error || "";
  }

  function poll() {
    fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (run) {
        show(run);
        if (!run.finished) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }

  if (box.dataset.finished !== "true") { setTimeout(poll, 500); }
})();
