/* The post form's "Upload and insert", a little quicker with JavaScript; it works without it
 * (the form is sent, the image stored and the form comes back with its Markdown at the end of
 * the text). Here the file goes to POST /admin/media/upload (JSON) and its Markdown is inserted
 * where the cursor was in the text; on a refusal the server's message is shown. */
(function () {
  "use strict";

  var button = document.querySelector("button[data-media-upload]");
  var body = document.getElementById("f-body");
  var file = document.getElementById("f-file");
  var alt = document.getElementById("f-alt_text");
  var status = document.getElementById("media-upload-status");
  if (!button || !body || !file || !alt || !status || !window.fetch || !window.FormData) {
    return;
  }
  var form = button.form;
  var selection = null;

  function remember() {
    selection = [body.selectionStart, body.selectionEnd];
  }
  body.addEventListener("blur", remember);
  body.addEventListener("keyup", remember);
  body.addEventListener("click", remember);

  function say(text, kind) {
    var line = document.createElement("p");
    line.className = kind;
    line.textContent = text;
    status.textContent = "";
    status.appendChild(line);
  }

  function insert(markdown) {
    var start = selection ? selection[0] : body.value.length;
    var end = selection ? selection[1] : start;
    var before = body.value.slice(0, start);
    var after = body.value.slice(end);
    var lead = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
    var tail = after && !/^\n/.test(after) ? "\n\n" : "";
    body.value = before + lead + markdown + tail + after;
    var caret = (before + lead + markdown).length;
    body.focus();
    body.setSelectionRange(caret, caret);
    selection = [caret, caret];
  }

  function answered(response) {
    return response.json().then(
      function (answer) { return { ok: response.ok, answer: answer }; },
      function () {
        var text = response.status === 413
          ? "The file is larger than this site accepts."
          : "The upload failed (" + response.status + "). Please try again.";
        return { ok: false, answer: { error: text } };
      }
    );
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    if (!file.files.length) {
      say("Choose an image file (JPEG, PNG, WebP or GIF) to upload.", "form-error");
      return;
    }
    var data = new FormData();
    data.append("csrf_token", form.elements.csrf_token.value);
    data.append("file", file.files[0]);
    data.append("alt_text", alt.value);
    button.disabled = true;
    say("Uploading\u2026", "field-help");
    fetch(button.getAttribute("data-media-upload"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(answered, function () {
      return { ok: false, answer: { error: "The upload failed: check the connection and try again." } };
    }).then(function (result) {
      button.disabled = false;
      if (!result.ok) {
        say(result.answer.error || "The image was not uploaded.", "form-error");
        return;
      }
      insert(result.answer.markdown);
      file.value = "";
      alt.value = "";
      if ((result.answer.warnings || []).length) {
        say("Image inserted. " + document.getElementById("media-no-alt").textContent, "form-error");
      } else {
        say("Image inserted into the text.", "flash");
      }
    });
  });
})();
