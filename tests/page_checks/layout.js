// What sticks out of the viewport sideways, scrolls sideways or is set too small to read, and
// every isolated name whose next words its bidi controls pulled in front of it. MINIMUM_FONT_PX
// is replaced by the test before the page evaluates this.
((MINIMUM) => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const hidden = (el) => {
    const head = el.closest('thead');
    return head !== null && getComputedStyle(head).position === 'absolute';
  };
  const overflowing = [], tiny = [], reordered = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (hidden(el)) continue;
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    if (r.right > width + 1 || r.left < -1)
      overflowing.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
    const overflowX = getComputedStyle(el).overflowX;
    if (['auto', 'scroll'].includes(overflowX) && el.scrollWidth > el.clientWidth + 1)
      overflowing.push(`${describe(el)} scrolls sideways`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || hidden(el) || el.closest('svg')) continue;
    if (!el.getBoundingClientRect().width) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < MINIMUM) tiny.push(`${describe(el)} at ${size}px: ${node.textContent.trim().slice(0, 40)}`);
  }
  const scaledSvgText = [...document.querySelectorAll('svg')].filter((svg) =>
    svg.querySelector('text') && svg.viewBox.baseVal &&
    svg.getBoundingClientRect().width < svg.viewBox.baseVal.width - 1).length;
  for (const name of document.querySelectorAll('.name')) {
    const next = name.nextSibling;
    if (!next || next.nodeType !== Node.TEXT_NODE) continue;
    const at = next.textContent.search(/\S/);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(next, at);
    range.setEnd(next, at + 1);
    const after = range.getBoundingClientRect(), rects = name.getClientRects();
    const last = rects[rects.length - 1];
    if (last && Math.abs(after.top - last.top) < 3 && after.left < last.right - 1)
      reordered.push(`${name.textContent.slice(0, 30)} | ${next.textContent.slice(0, 20)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, overflowing, tiny,
          scaledSvgText, reordered};
})(MINIMUM_FONT_PX)
