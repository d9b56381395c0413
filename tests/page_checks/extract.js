// The page's tables and funnel as a reader sees them: each cell's words, its <time> moments, the
// names in it and the title of its picture; the verdict banner with its colour and position.
(() => {
  const words = (el) => el ? el.textContent.replace(/\s+/g, ' ').trim() : null;
  const cell = (td) => {
    const copy = td.cloneNode(true);
    copy.querySelectorAll('.rank-inline, title').forEach((n) => n.remove());
    return {text: words(copy),
            times: [...td.querySelectorAll('time')].map((t) => t.getAttribute('datetime')),
            names: [...td.querySelectorAll('.name')].map((n) => n.textContent),
            title: words(td.querySelector('svg title'))};
  };
  const table = (selector) => {
    const t = document.querySelector(selector);
    return t ? [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map(cell)) : null;
  };
  const verdict = document.getElementById('verdict');
  return {
    title: document.title,
    verdict: {text: words(verdict), classes: verdict.className, role: verdict.getAttribute('role'),
              background: getComputedStyle(verdict).backgroundColor,
              top: verdict.getBoundingClientRect().top, bottom: verdict.getBoundingClientRect().bottom},
    sources: table('#sources'),
    builds: table('#all-builds'),
    changes: table('#inventory-changes table'),
    fluctuations: table('#fluctuations table'),
    stockouts: table('#stockouts table'),
    by_product: table('#by-product'),
    funnel: [...document.querySelectorAll('#funnel-by-step .drop')].map((d) => ({
      step: Number(d.dataset.step), label: words(d.querySelector('.step-label .name')),
      count: words(d.querySelector('.count')), of_first: words(d.querySelector('.of-first')),
      from_previous: words(d.querySelector('.from-previous')),
      lost: words(d.querySelector('.lost-count')), lost_rate: words(d.querySelector('.lost-rate')),
      note: words(d.querySelector('.drop-note'))})),
    names: [...document.querySelectorAll('.name')].map((n) => n.textContent),
    elements: [...document.querySelectorAll('script, img, iframe, object, embed, b')].length,
  };
})()
