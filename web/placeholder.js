// BlurHash placeholders (https://blurha.sh): the index stores one per image (ThumbnailsGenerated
// 1.1); the gallery paints it behind a thumbnail until the thumbnail has loaded.
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

  // Paint ``hash`` behind ``img`` until it has loaded; a bad hash is ignored (no placeholder).
  function behind(img, hash) {
    if (!hash || img.complete) return;
    try {
      const canvas = document.createElement("canvas");
      canvas.width = 32; canvas.height = 24;
      const context = canvas.getContext("2d");
      context.putImageData(new ImageData(pixels(hash, 32, 24), 32, 24), 0, 0);
      img.style.backgroundImage = `url(${canvas.toDataURL()})`;
      img.style.backgroundSize = "cover";
      img.dataset.placeholder = "blurhash";
      img.addEventListener("load", () => { img.style.backgroundImage = ""; delete img.dataset.placeholder; }, { once: true });
    } catch (error) {
      console.warn("placeholder not shown:", error);
    }
  }

  return { pixels, behind };
})();
