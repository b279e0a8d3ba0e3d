// While a send is scheduled, queued or sending, re-fetches the notification's delivery card
// every 2 s and swaps it in place when it changed. The server decides when to stop: the
// card it renders says whether it is still polling (data-polling), false once final.
(function () {
  const panel = document.getElementById("notification-panel");
  if (!panel) return;
  const card = () => document.getElementById("notification-delivery");
  const polling = () => card() && card().dataset.polling === "1";
  async function refresh() {
    try {
      const response = await fetch(panel.dataset.progressUrl + "?partial=1",
                                   { headers: { Accept: "text/html" } });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.querySelector("#notification-delivery");
        // Same state, same card: leave it, so a half-typed schedule time survives.
        if (fresh && fresh.dataset.version !== card().dataset.version) {
          card().replaceWith(fresh);
        } else if (fresh) {
          card().dataset.polling = fresh.dataset.polling;
        }
      }
    } catch (error) {
      /* a missed refresh is retried on the next tick */
    }
    if (polling()) setTimeout(refresh, 2000);
  }
  if (polling()) setTimeout(refresh, 1000);
})();
