// Irreversible actions ask first: a form, or the button that submits it, carrying data-confirm shows its question,
// and the action goes on only if the agent (or the resident) confirms. Listening in the capture phase, a refusal
// stops the submission before any other script sees it.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = (event.submitter && event.submitter.dataset.confirm) || (form.dataset && form.dataset.confirm);
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);
