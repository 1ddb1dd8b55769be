// The outermost elements sticking out of the viewport on the right (what makes a page scroll sideways),
// skipping those inside a scrolling container (a DSFR table's).
() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  const scrolls = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") { return true; }
    }
    return false;
  };
  const sticksOut = (e) => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > width + 1;
  for (const e of document.querySelectorAll("body *")) {
    if (!sticksOut(e) || scrolls(e) || (e.parentElement && sticksOut(e.parentElement))) { continue; }
    const classes = typeof e.className === "string" && e.className.trim()
      ? "." + e.className.trim().split(/\s+/).join(".") : "";
    out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + classes + " → "
             + Math.round(e.getBoundingClientRect().right) + " px");
  }
  return out.slice(0, 8);
}
