// A portal form sent back with errors: open the page at that form's error summary and give it
// the focus (the summary's autofocus does it where the browser honours autofocus on any
// element; this does it everywhere else), so that a debtor on a phone sees what to correct.
(function () {
  var summary = document.querySelector(".error-summary");
  if (!summary) { return; }
  summary.scrollIntoView({block: "start"});
  if (document.activeElement !== summary) { summary.focus({preventScroll: true}); }
})();
