/* The comment section, a little quicker with JavaScript; everything works without it.
 * - A link to #comment-N whose comment is on another comment page goes to /comments/N,
 *   which redirects to the right page.
 * - "Preview" shows the comment at once (POST /blog/<slug>/comments/preview, sanitized by the
 *   server exactly as posting would); on any failure the form's own preview takes over. */
(function () {
  "use strict";

  var wanted = /^#comment-(\d+)$/.exec(window.location.hash);
  if (wanted && !document.getElementById("comment-" + wanted[1])) {
    window.location.replace("/comments/" + wanted[1]);
    return;
  }

  var form = document.getElementById("commentform");
  var box = document.getElementById("comment-preview");
  var button = form && form.querySelector('button[name="preview"]');
  if (!button || !box || !window.fetch || !window.FormData) {
    return;
  }

  function show(content) {
    var heading = document.createElement("h3");
    heading.textContent = "Preview";
    box.textContent = "";
    box.appendChild(heading);
    box.appendChild(content);
    box.hidden = false;
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    var data = new FormData();
    data.append("body", form.elements.body.value);
    if (form.elements.csrf_token) { /* only a signed-in user's form has one */
      data.append("csrf_token", form.elements.csrf_token.value);
    }
    fetch(form.getAttribute("data-preview"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          return { ok: response.ok, answer: answer };
        });
      })
      .then(function (result) {
        var content;
        if (result.ok) {
          content = document.createElement("div");
          content.className = "comment-content";
          content.innerHTML = result.answer.html; /* sanitized by the server */
        } else {
          content = document.createElement("p");
          content.className = "form-error";
          content.textContent = result.answer.error;
        }
        show(content);
      })
      .catch(function () {
        form.requestSubmit(button);
      });
  });
})();
