// BlurHash placeholders (https://blurha.sh): the index stores one per image (ThumbnailsGenerated
// 1.1); the gallery paints it behind a thumbnail until the thumbnail has loaded. And which of an
// asset's renditions to show: AVIF where the deployment makes it and this browser decodes it,
// else the main format (WebP or JPEG).
// A BlurHash is a few cosine components in base 83; decoding is the algorithm's own definition.
"use strict";

const BlurHash = (() => {
  const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

  function decode83(text) {
    let value = 0;
    for (const char of text) {
      const digit = DIGITS.indexOf(char);
      if (digit < 0) throw new Error(`not a BlurHash digit: ${char}`);
      value = value * 83 + digit;
    }
    return value;
  }

  const toLinear = (v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const toSrgb = (v) => {
    const c = Math.max(0, Math.min(1, v));
    return Math.round((c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055) * 255);
  };
  const signPow = (v, e) => Math.sign(v) * Math.abs(v) ** e;

  // The hash as RGBA pixels, width x height.
  function pixels(hash, width, height) {
    const size = decode83(hash[0]);
    const nx = (size % 9) + 1, ny = Math.floor(size / 9) + 1;
    if (hash.length !== 4 + 2 * nx * ny) throw new Error("BlurHash of the wrong length");
    const maximum = (decode83(hash[1]) + 1) / 166;
    const colours = [];
    const dc = decode83(hash.slice(2, 6));
    colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
    for (let i = 1; i < nx * ny; i++) {
      const ac = decode83(hash.slice(4 + i * 2, 6 + i * 2));
      colours.push([Math.floor(ac / 361), Math.floor(ac / 19) % 19, ac % 19]
        .map((q) => signPow((q - 9) / 9, 2) * maximum));
    }
    const out = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const rgb = [0, 0, 0];
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
            const c = colours[i + j * nx];
            rgb[0] += c[0] * basis; rgb[1] += c[1] * basis; rgb[2] += c[2] * basis;
          }
        }
        const at = 4 * (x + y * width);
        out[at] = toSrgb(rgb[0]); out[at + 1] = toSrgb(rgb[1]); out[at + 2] = toSrgb(rgb[2]); out[at + 3] = 255;
      }
    }
    return out;
  }

  // Show ``hash`` in the place of ``img`` until it has loaded; a bad hash is ignored. A canvas,
  // not a data: URL, so a Content-Security-Policy without data: in img-src still allows it.
  function behind(img, hash) {
    if (!hash || img.complete) return;
    try {
      const canvas = document.createElement("canvas");
      canvas.width = 32; canvas.height = 24;
      canvas.getContext("2d").putImageData(new ImageData(pixels(hash, 32, 24), 32, 24), 0, 0);
      canvas.className = "placeholder";
      canvas.dataset.blurhash = hash;
      Object.assign(canvas.style, { display: "block", width: "100%", aspectRatio: "4 / 3" });
      const picture = img.parentElement && img.parentElement.tagName === "PICTURE" ? img.parentElement : null;
      (picture || img).before(canvas);
      img.style.display = "none";
      const done = () => { canvas.remove(); img.style.display = ""; };
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
    } catch (error) {
      console.warn("placeholder not shown:", error);
    }
  }

  return { pixels, behind };
})();

const Renditions = (() => {
  // The renditions of the main format (WebP or JPEG): what every browser shows.
  function usable(thumbnails) {
    return (thumbnails || []).filter((t) => t.format !== "avif");
  }

  // Where the deployment also makes AVIF: offer it in a <picture>, and the browser takes it if
  // it decodes AVIF (the choice an Accept header would make), else the main format's <img>.
  function offerAvif(img, thumbnails) {
    const avif = (thumbnails || []).filter((t) => t.format === "avif").sort((a, b) => a.size - b.size);
    if (!avif.length) return;
    const picture = document.createElement("picture");
    const source = document.createElement("source");
    source.type = "image/avif";
    source.srcset = avif.map((t) => `${t.url} ${t.width}w`).join(", ");
    source.sizes = img.sizes;
    img.replaceWith(picture);
    picture.append(source, img);
  }

  return { usable, offerAvif };
})();
