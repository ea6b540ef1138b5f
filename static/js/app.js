// Registry: the few behaviours plain HTML lacks. No framework, no build step.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    // Copy the text of a code block: <div class="code-block"><pre>…</pre><button data-copy>Copy</button></div>
    // or of any element named by data-copy="<id>".
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const id = copy.getAttribute("data-copy");
      const source = id ? document.getElementById(id) : copy.closest(".code-block").querySelector("pre, code");
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.innerText.trim()).then(function () {
          const label = copy.textContent;
          copy.textContent = "Copied";
          setTimeout(function () { copy.textContent = label; }, 1500);
        });
      }
      return;
    }
    // Open and close native <dialog> elements.
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && dialog.showModal) {
        event.preventDefault();
        dialog.showModal();
        const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
      }
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // Selects marked data-autosubmit submit their form when changed (org switcher).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  // htmx does not swap error responses: say what went wrong instead of doing nothing. A refusal of a
  // form inside a dialog shows in that dialog (the server's reason, from its 403 page), where the user looks.
  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const text = status === 403 ? (serverReason(event.detail.xhr) || "Your role does not allow this action.")
      : status === 404 ? "Not found: it may have been deleted, or you no longer have access."
      : "Something went wrong (" + status + "). Try again in a moment.";
    const elt = event.detail.elt;
    const dialog = elt && elt.closest ? elt.closest("dialog") : null;
    if (dialog && dialog.open) {
      showInDialog(dialog, text);
      return;
    }
    showMessage(text);
  });

  // The reason a 403 page gives (templates/403.html), read as text: never inserted as HTML.
  function serverReason(xhr) {
    try {
      const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      const reason = page.querySelector("[data-error-reason]");
      return reason ? reason.textContent.trim() : "";
    } catch (error) {
      return "";
    }
  }

  function showInDialog(dialog, text) {
    let box = dialog.querySelector(".dialog-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "dialog-error";
      box.setAttribute("role", "alert");
      const body = dialog.querySelector(".dialog-body") || dialog;
      body.insertBefore(box, body.firstChild);
    }
    box.textContent = text;
    box.hidden = false;
  }
  document.addEventListener("htmx:sendError", function () {
    showMessage("The server cannot be reached. Check your connection and try again.");
  });

  function showMessage(text) {
    const main = document.getElementById("main");
    if (!main) return;
    let list = main.querySelector(".messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "alert");
      main.insertBefore(list, main.querySelector(".breadcrumbs").nextSibling);
    }
    const item = document.createElement("li");
    item.className = "message message-error";
    item.textContent = text;
    list.appendChild(item);
  }

  // The metadata editor checks its JSON as you type (the server checks again, and the rules):
  // an error shows under the textarea and Save waits until the text is a JSON object.
  document.addEventListener("input", function (event) {
    const editor = event.target.closest("[data-json-editor]");
    if (!editor) return;
    let problem = "";
    const text = editor.value.trim();
    if (text) {
      try {
        const value = JSON.parse(text);
        if (value === null || typeof value !== "object" || Array.isArray(value)) problem = "Metadata must be a JSON object: {\"key\": value, …}.";
      } catch (error) {
        problem = "Not valid JSON yet: " + error.message;
      }
    }
    const form = editor.form;
    const status = form && form.querySelector("[data-json-status]");
    if (status) {
      status.textContent = problem;
      status.classList.toggle("form-errors", Boolean(problem));
    }
    editor.setAttribute("aria-invalid", problem ? "true" : "false");
    const submit = form && form.querySelector("[data-json-submit]");
    if (submit) submit.disabled = Boolean(problem);
  });

  // Plain (non-htmx) forms marked data-confirm="<question>" ask before they submit.
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  // A "type the name to confirm" button stays disabled until the text matches data-confirm-name.
  document.addEventListener("input", function (event) {
    const input = event.target.closest("[data-confirm-name]");
    if (!input) return;
    const button = input.form && input.form.querySelector("[data-confirm-target]");
    if (button) button.disabled = input.value.trim() !== input.getAttribute("data-confirm-name");
  });
})();
