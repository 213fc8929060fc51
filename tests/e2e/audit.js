// The accessibility audit run in the page by test_accessibility.py: returns the problems found,
// as short strings naming the element. It reads computed styles, i.e. what the visitor sees.
() => {
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const visible = (el) => {
    if (!el.checkVisibility({visibilityProperty: true})) return false;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0
        && box.right > 0 && box.bottom > 0;
  };
  const rgba = (text) => {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[,\s/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {  // the first opaque background behind el, blended over white
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const [r, g, b, a] = rgba(getComputedStyle(node).backgroundColor);
      if (a > 0) return [r * a + 255 * (1 - a), g * a + 255 * (1 - a), b * a + 255 * (1 - a)];
    }
    return [255, 255, 255];
  };

  if (!['fr', 'en'].includes(document.documentElement.lang)) problems.push('html lang=' + document.documentElement.lang);
  if (document.querySelectorAll('h1').length !== 1) problems.push('h1 count ' + document.querySelectorAll('h1').length);
  if (!document.title.trim()) problems.push('empty title');
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    problems.push('sideways scroll: ' + document.documentElement.scrollWidth + 'px in ' + window.innerWidth + 'px');

  // A header that stays on screen must not hide what gets the focus (WCAG 2.4.11): the page must
  // scroll focused and linked-to elements clear of it (scroll-padding-top at least its height).
  for (const el of document.querySelectorAll('body > header, body > nav')) {
    const position = getComputedStyle(el).position;
    if (position !== 'sticky' && position !== 'fixed') continue;
    const padding = parseFloat(getComputedStyle(document.documentElement).scrollPaddingTop) || 0;
    const height = el.getBoundingClientRect().height;
    if (padding < height) problems.push('a ' + position + ' header of ' + Math.round(height)
        + 'px hides the focus: scroll-padding-top ' + padding + 'px: ' + name(el));
  }
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push('no label: ' + name(el) + ' name=' + el.name);
  }
  for (const el of document.querySelectorAll('button, a[href], summary')) {
    if (!visible(el)) continue;
    if (!(el.textContent.trim() || el.getAttribute('aria-label'))) problems.push('no text: ' + name(el));
  }
  for (const el of document.querySelectorAll('img')) {
    if (!el.hasAttribute('alt')) problems.push('no alt: ' + name(el));
  }
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg, option, .skip') || !visible(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const fg = rgba(style.color);
    const bg = background(el);
    const blended = [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const [l1, l2] = [luminance(blended), luminance(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ': ' + name(el) + ' "' + el.innerText.trim().slice(0, 30) + '"');
  }
  return problems;
}
