// Kyogyo's behaviours, attached by data attributes (the CSP allows no inline script):
//   data-autosubmit      on a select/input: submit its form when it changes
//   data-confirm="…"     on a form: ask before submitting (destructive and bulk actions)
//   data-chart="ID"      on an element: draw the Plotly figure in <script id="ID" type="application/json">;
//                        points whose customdata is a URL (same origin) open it on click (drill-down)
(function () {
  "use strict";

  function autosubmit(root) {
    root.querySelectorAll("[data-autosubmit]").forEach(function (field) {
      if (field.dataset.bound) return;
      field.dataset.bound = "1";
      field.addEventListener("change", function () {
        if (field.form) field.form.requestSubmit();
      });
    });
  }

  function confirmations(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) {
          event.preventDefault();
          event.stopImmediatePropagation();
        }
      }, true);
    });
  }

  function sameOrigin(url) {
    try { return new URL(url, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  function charts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      if (element.dataset.drawn) return;
      var source = document.getElementById(element.dataset.chart);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      element.dataset.drawn = "1";
      window.Plotly.newPlot(element, figure.data || [], figure.layout || {}, {
        displaylogo: false, responsive: true, locale: document.documentElement.lang
      });
      element.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        var target = point && point.customdata;
        if (Array.isArray(target)) target = target[0];
        if (typeof target === "string" && sameOrigin(target)) window.location.href = target;
      });
    });
  }

  function attach(root) {
    autosubmit(root);
    confirmations(root);
    charts(root);
  }

  document.addEventListener("DOMContentLoaded", function () { attach(document); });
  document.addEventListener("htmx:afterSwap", function (event) { attach(event.target); });
})();
