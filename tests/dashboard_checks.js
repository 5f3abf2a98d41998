/* Accessibility checks the dashboard's browser test runs in the page. */
({
  /* Visible text below WCAG AA: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold),
     against the nearest background (every stop of a gradient). */
  lowContrast() {
    const parse = (text) =>
      (text.match(/rgba?\([^)]*\)/g) || []).map((c) => {
        const n = c.match(/[\d.]+/g).map(Number);
        return { r: n[0], g: n[1], b: n[2], a: n.length > 3 ? n[3] : 1 };
      });
    const channel = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    };
    const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
    const ratio = (a, b) => {
      const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    const backgrounds = (element) => {
      for (let e = element; e; e = e.parentElement) {
        const style = getComputedStyle(e);
        const image = parse(style.backgroundImage);
        if (image.length) return image;
        const colour = parse(style.backgroundColor)[0];
        if (colour && colour.a > 0.5) return [colour];
      }
      return [{ r: 255, g: 255, b: 255, a: 1 }];
    };
    const failures = [];
    for (const element of document.querySelectorAll('body *')) {
      const style = getComputedStyle(element);
      if (!element.getClientRects().length || style.visibility === 'hidden') continue;
      if (element.closest('.visually-hidden, canvas, [hidden]')) continue;
      const text = Array.from(element.childNodes)
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent)
        .join('')
        .trim();
      if (!text) continue;
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const ink = parse(style.color)[0];
      const worst = Math.min(...backgrounds(element).map((b) => ratio(ink, b)));
      if (worst < (large ? 3 : 4.5)) failures.push(text.slice(0, 30) + ': ' + worst.toFixed(2));
    }
    return failures;
  },

  /* Visible controls and links without an accessible name. */
  unlabelled() {
    return Array.from(document.querySelectorAll('input, select, button, a[href]'))
      .filter((e) => e.getClientRects().length)
      .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))
      .map((e) => e.outerHTML.slice(0, 80));
  },
})
