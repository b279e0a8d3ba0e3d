// Makes a day on a report chart clickable: it opens that day's DailyReport row.
// Unfold draws the charts on DOMContentLoaded; this runs after it (deferred, then load).
window.addEventListener("load", () => {
  for (const wrapper of document.querySelectorAll(".bo-chart[data-links]")) {
    const canvas = wrapper.querySelector("canvas");
    const chart = canvas && window.Chart && Chart.getChart(canvas);
    if (!chart) continue;
    const links = JSON.parse(wrapper.dataset.links);
    chart.options.onClick = (event, elements) => {
      const hit = elements.length ? elements[0] : chart.getElementsAtEventForMode(event, "index", { intersect: false }, false)[0];
      if (hit && links[hit.index]) window.location.href = links[hit.index];
    };
    chart.options.onHover = (event, elements) => {
      event.native.target.style.cursor = elements.length && links[elements[0].index] ? "pointer" : "default";
    };
    chart.update("none");
  }
});
