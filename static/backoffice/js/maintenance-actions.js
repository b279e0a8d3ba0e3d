// Maintenance page: while a run is unfinished, reload the cards and the recent runs together
// (one server-rendered fragment, so both always show the same state); copy buttons.
(function () {
  "use strict";

  const container = document.getElementById("maintenance-state");

  function unfinished() {
    const state = container && container.querySelector("[data-state]");
    return Boolean(state && state.dataset.unfinished === "true");
  }

  function refresh() {
    fetch(container.dataset.stateUrl, {credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        container.innerHTML = html;
        if (unfinished()) { setTimeout(refresh, 1000); }
      })
      .catch(function () { setTimeout(refresh, 3000); });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) { return; }
    const done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(button.dataset.copy).then(done, function () {});
    }
  });

  if (container && unfinished()) { setTimeout(refresh, 1000); }
})();
