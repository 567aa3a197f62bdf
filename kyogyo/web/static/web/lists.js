// The list pages: a header checkbox (data-select-all="FORM-ID") selects every row checkbox
// of that bulk form on the page; the bulk form's fields for other actions are hidden.
(function () {
  "use strict";

  function selectAll(root) {
    root.querySelectorAll("input[data-select-all]").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      box.addEventListener("change", function () {
        var selector = 'input[type=checkbox][name=ids][form="' + box.dataset.selectAll + '"]';
        document.querySelectorAll(selector).forEach(function (row) { row.checked = box.checked; });
      });
    });
  }

  function bulkFields(root) {
    root.querySelectorAll("form.bulk select[name=action]").forEach(function (select) {
      if (select.dataset.bound) return;
      select.dataset.bound = "1";
      var form = select.form;
      function show() {
        form.querySelectorAll("[data-for-actions]").forEach(function (part) {
          var wanted = part.dataset.forActions.split(" ");
          part.hidden = wanted.indexOf(select.value) < 0;
        });
      }
      select.addEventListener("change", show);
      show();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { selectAll(document); bulkFields(document); });
})();
