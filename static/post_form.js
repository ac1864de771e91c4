// The post form's publish button reads "Schedule" while the chosen date lies ahead, as in
// WordPress. The form works without this script: the server decides from the date either way.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("publish-button");
  const date = document.getElementById("f-published_at");
  if (!button || !date || !button.dataset.publishLabel) {
    return;
  }
  const relabel = () => {
    // The field holds a UTC time without a zone ("2026-12-24T09:30").
    const value = date.value.length === 16 ? `${date.value}:00` : date.value;
    const chosen = value ? Date.parse(`${value}Z`) : NaN;
    const ahead = !Number.isNaN(chosen) && chosen > Date.now();
    button.textContent = ahead ? button.dataset.scheduleLabel : button.dataset.publishLabel;
  };
  date.addEventListener("input", relabel);
  date.addEventListener("change", relabel);
  relabel();
});
