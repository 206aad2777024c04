// Draws the analytics charts from the page's JSON block (#analytics-data) with the vendored
// Chart.js. Colours come from the design system's custom properties, so the charts follow the
// light and dark themes; they are redrawn when the theme changes. Each canvas gets
// data-points (how many points it drew) once drawn, which tests and people can read.
(function () {
  "use strict";

  var source = document.getElementById("analytics-data");
  if (!source || typeof window.Chart === "undefined") return;
  var data = JSON.parse(source.textContent || "{}");
  var charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function palette() {
    return {
      primary: css("--primary"),
      accent: css("--accent"),
      success: css("--success"),
      text: css("--text-muted"),
      grid: css("--border"),
      surface: css("--surface"),
    };
  }

  function soft(colour, alpha) {
    // color-mix keeps it in CSS terms; Chart.js hands the string to the canvas as is.
    return "color-mix(in srgb, " + colour + " " + alpha + "%, transparent)";
  }

  function base(p, percent) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { labels: { color: p.text, boxWidth: 12 } },
        tooltip: {
          callbacks: percent
            ? { label: function (c) { return c.dataset.label + ": " + c.formattedValue + "%"; } }
            : {},
        },
      },
      scales: {
        x: { ticks: { color: p.text, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 }, grid: { display: false } },
        y: { ticks: { color: p.text, precision: 0 }, grid: { color: p.grid }, beginAtZero: !!percent },
      },
    };
  }

  function make(canvas, config, points) {
    charts.push(new window.Chart(canvas, config));
    canvas.dataset.points = String(points);
  }

  function draw() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var p = palette();
    var i18n = data.i18n || {};
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var kind = canvas.dataset.chart;
      if (kind === "followers") {
        make(canvas, {
          type: "line",
          data: {
            labels: data.labels,
            datasets: [{
              label: i18n.followers, data: data.followers, borderColor: p.primary,
              backgroundColor: soft(p.primary, 18), fill: true, tension: 0.25, pointRadius: 0,
              spanGaps: false,
            }],
          },
          options: base(p, false),
        }, data.followers.length);
      } else if (kind === "engagement") {
        make(canvas, {
          type: "line",
          data: {
            labels: data.labels,
            datasets: [{
              label: i18n.engagement, data: data.engagement, borderColor: p.accent,
              backgroundColor: p.accent, tension: 0.25, pointRadius: 2, spanGaps: false,
            }],
          },
          options: base(p, true),
        }, data.engagement.length);
      } else if (kind === "spark") {
        // The dashboard's small trend line: no axes, no legend.
        make(canvas, {
          type: "line",
          data: {
            labels: data.labels,
            datasets: [{
              label: i18n.engagement, data: data.engagement, borderColor: p.accent,
              borderWidth: 2, pointRadius: 0, tension: 0.3, spanGaps: false,
            }],
          },
          options: {
            responsive: true, maintainAspectRatio: false, animation: false,
            plugins: { legend: { display: false }, tooltip: { enabled: false } },
            scales: { x: { display: false }, y: { display: false } },
          },
        }, data.engagement.length);
      } else if (kind === "posts") {
        var options = base(p, false);
        options.scales.x.ticks.autoSkip = false;
        options.scales.y.beginAtZero = true;
        options.scales.x.ticks.callback = function (value) {
          var label = this.getLabelForValue(value) || "";
          return label.length > 12 ? label.slice(0, 11) + "…" : label;
        };
        make(canvas, {
          type: "bar",
          data: {
            labels: data.posts.labels,
            datasets: [
              { label: i18n.reach, data: data.posts.reach, backgroundColor: p.primary, borderRadius: 4 },
              { label: i18n.interactions, data: data.posts.interactions, backgroundColor: p.accent, borderRadius: 4 },
            ],
          },
          options: options,
        }, data.posts.labels.length);
      }
    });
  }

  draw();
  // The theme toggle changes data-theme on <html>; the system theme can change on its own.
  new MutationObserver(draw).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
  }
})();
