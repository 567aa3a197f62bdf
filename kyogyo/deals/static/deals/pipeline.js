// The pipeline board: drag a card to another column to move the deal, or use the menu and
// the Move button on the card (the keyboard way; without script it is a plain form post).
// Both post the card's own form, asking for JSON: the server moves the deal through the deal
// actions and answers the outcome with every column's new totals. A refusal comes back with
// its reason, said on the card and the board, and the card returns to where it was.
// Dropping on Won or Lost (or choosing them in the menu) opens the win or lose dialog.
(function () {
  "use strict";

  var board, status, dialogs = {};
  var dragged = null;

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(text, bad) {
    status.textContent = text || "";
    status.classList.toggle("bad", !!bad);
  }

  function post(url, data) {
    data.set("board_query", window.location.search);
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: board.dataset.failed }; });
    }, function () {
      return { ok: false, message: board.dataset.failed };
    });
  }

  function columnOf(key) {
    return board.querySelector('.column[data-stage="' + key + '"]');
  }

  function showTotals(columns) {
    Object.keys(columns || {}).forEach(function (key) {
      var column = columnOf(key);
      if (!column) return;
      ["count", "amount", "stalled"].forEach(function (name) {
        var slot = column.querySelector('[data-total="' + name + '"]');
        if (slot) slot.textContent = columns[key][name];
      });
    });
  }

  function setVersion(card, version) {
    card.querySelectorAll("input[name=version]").forEach(function (field) { field.value = version; });
  }

  function cardError(card, text) {
    var slot = card.querySelector(".card-error");
    if (!slot) return;
    slot.textContent = text || "";
    slot.hidden = !text;
  }

  function stageOf(card) {
    var column = card.closest(".column");
    return column ? column.dataset.stage : "";
  }

  // A move the server accepted: the card now counts from today and is no longer stalled.
  function moved(card, answer, key) {
    setVersion(card, answer.version);
    var select = card.querySelector("select[name=stage]");
    if (select) select.value = key;
    var days = card.querySelector(".days");
    if (days && answer.days) days.textContent = answer.days;
    card.classList.remove("stalled");
    var flag = card.querySelector(".flag");
    if (flag) flag.remove();
  }

  function move(card, key) {
    var target = columnOf(key);
    if (!target || key === stageOf(card)) return;
    var form = card.querySelector("form.move");
    var data = new FormData(form);
    data.set("stage", key);
    var home = card.parentElement, next = card.nextElementSibling;
    target.querySelector("[data-cards]").prepend(card);
    card.classList.add("pending");
    cardError(card, "");
    post(form.action, data).then(function (answer) {
      card.classList.remove("pending");
      if (answer.ok) {
        moved(card, answer, key);
        showTotals(answer.columns);
        say(answer.message, false);
      } else {
        home.insertBefore(card, next);
        var select = card.querySelector("select[name=stage]");
        if (select) select.value = stageOf(card);
        cardError(card, answer.message);
        say(answer.message, true);
      }
      var focusable = card.querySelector("select, a");
      if (focusable && card.contains(document.activeElement)) focusable.focus();
    });
  }

  function openClose(kind, card) {
    var dialog = dialogs[kind];
    if (!dialog || !card.dataset[kind + "Url"]) return;
    var form = dialog.querySelector("form");
    form.reset();
    form.action = card.dataset[kind + "Url"];
    form.querySelector("input[name=version]").value = card.querySelector("input[name=version]").value;
    dialog.querySelector(".dialog-deal").textContent = card.querySelector(".deal-name").textContent;
    var error = dialog.querySelector(".error");
    error.hidden = true;
    error.textContent = "";
    dialog.card = card;
    dialog.showModal();
  }

  function bindDialog(kind) {
    var dialog = dialogs[kind];
    if (!dialog) return;
    var form = dialog.querySelector("form");
    dialog.querySelector("[data-cancel]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () {
      var card = dialog.card;
      if (card && card.isConnected) {
        var select = card.querySelector("select[name=stage]");
        if (select) select.value = stageOf(card);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var card = dialog.card;
      post(form.action, new FormData(form)).then(function (answer) {
        if (answer.ok) {
          card.remove();
          showTotals(answer.columns);
          dialog.close();
          say(answer.message, false);
        } else {
          var error = dialog.querySelector(".error");
          error.textContent = answer.message;
          error.hidden = false;
          cardError(card, answer.message);
          say(answer.message, true);
        }
      });
    });
  }

  function dropOn(column) {
    var card = dragged;
    if (!card) return;
    var kind = column.dataset.kind;
    if (kind === "won") openClose("win", card);
    else if (kind === "lost") openClose("lose", card);
    else move(card, column.dataset.stage);
  }

  function bindDragging() {
    board.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest('.deal-card[draggable="true"]');
      if (!card) return;
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.id);
    });
    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
      dragged = null;
    });
    board.querySelectorAll(".column").forEach(function (column) {
      column.addEventListener("dragover", function (event) {
        if (!dragged) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        column.classList.add("drop-target");
      });
      column.addEventListener("dragleave", function (event) {
        if (!column.contains(event.relatedTarget)) column.classList.remove("drop-target");
      });
      column.addEventListener("drop", function (event) {
        event.preventDefault();
        column.classList.remove("drop-target");
        dropOn(column);
      });
    });
  }

  function bindMenus() {
    board.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.classList.contains("move")) return;
      event.preventDefault();
      var card = form.closest(".deal-card");
      var select = form.querySelector("select[name=stage]");
      var option = select.options[select.selectedIndex];
      if (option && option.dataset.close) openClose(option.dataset.close, card);
      else move(card, select.value);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    board = document.querySelector("[data-board]");
    if (!board) return;
    status = document.getElementById("board-status");
    dialogs.win = document.getElementById("win-dialog");
    dialogs.lose = document.getElementById("lose-dialog");
    bindDragging();
    bindMenus();
    bindDialog("win");
    bindDialog("lose");
  });
})();
