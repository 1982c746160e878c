// The upload and gallery page: plain JavaScript, no framework, no build step.
//
// 1. /config.json says where the upload API and the read API are, and how to get a token.
// 2. Each chosen file: POST {uploadApi}/uploads (filename, type, size) -> a presigned POST, or a
//    refusal the page shows as it is; then the file goes straight to the uploads bucket
//    (XMLHttpRequest, for its upload progress); S3 answers the new version's id.
// 3. The upload is followed through the read API (GET /assets/by-upload, then the asset) until
//    it is indexed (its thumbnail appears) or rejected (its reason is shown).
// 4. The gallery lists the signed-in user's indexed assets (the read API answers no one else's),
//    newest first, with their metadata, and refreshes itself.
// Locally, ?user=<name> signs in as that user (the local issuer mints a token for any subject).
"use strict";

(() => {
  const POLL_MS = 1000;
  const FOLLOW_TIMEOUT_MS = 180000;
  const GALLERY_REFRESH_MS = 10000;
  const TERMINAL = new Set(["indexed", "rejected"]);

  const state = { config: null, token: null, tokenPromise: null };
  const $ = (id) => document.getElementById(id);
  // The user to sign in as, where the token endpoint lets the page choose (the local issuer).
  const USER = new URLSearchParams(window.location.search).get("user");

  // --- talking to the APIs ---------------------------------------------------------------

  async function loadConfig() {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    return response.json();
  }

  async function fetchToken() {
    const auth = state.config.auth || {};
    if (auth.token) return auth.token;
    if (!auth.tokenUrl) throw new Error("config.json names no way to get a token");
    const response = await fetch(auth.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(USER ? { subject: USER } : {}),
    });
    if (!response.ok) throw new Error(`token: HTTP ${response.status}`);
    return (await response.json()).access_token;
  }

  async function token(renew = false) {
    if (renew) state.token = null;
    if (state.token) return state.token;
    state.tokenPromise = state.tokenPromise || fetchToken().finally(() => {
      state.tokenPromise = null;
    });
    state.token = await state.tokenPromise;
    return state.token;
  }

  // One API call with the bearer token; a 401 gets one retry with a fresh token.
  async function api(base, path, options = {}) {
    for (const renew of [false, true]) {
      const headers = { ...(options.headers || {}), authorization: `Bearer ${await token(renew)}` };
      const response = await fetch(`${base || ""}${path}`, { ...options, headers });
      if (response.status !== 401 || renew) {
        let body = null;
        try {
          body = await response.json();
        } catch (_) {
          body = null;
        }
        return { status: response.status, ok: response.ok, body };
      }
    }
    throw new Error("unreachable");
  }

  // --- messages ----------------------------------------------------------------------------

  function say(text, kind = "error") {
    const message = $("message");
    message.textContent = text;
    message.className = kind === "error" ? "message" : "message info";
    message.hidden = !text;
  }

  // --- uploads -----------------------------------------------------------------------------

  function uploadCard(file) {
    const item = $("upload-template").content.firstElementChild.cloneNode(true);
    item.querySelector(".upload-name").textContent = file.name;
    $("uploads").prepend(item);
    return {
      item,
      progress: item.querySelector("progress"),
      set(stateName, text) {
        item.dataset.state = stateName;
        item.querySelector(".upload-state").textContent = text;
      },
      thumbnail(url, alt) {
        const img = item.querySelector("img");
        img.src = url;
        img.alt = alt;
        img.hidden = false;
      },
    };
  }

  function postToBucket(grant, file, card) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
      form.append("file", file); // S3 ignores every field after the file
      const xhr = new XMLHttpRequest();
      xhr.open("POST", grant.url);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) {
          card.progress.value = Math.round((100 * event.loaded) / event.total);
          card.set("uploading", `uploading… ${card.progress.value}%`);
        }
      });
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          card.progress.value = 100;
          resolve({ versionId: xhr.getResponseHeader("x-amz-version-id") });
          return;
        }
        const found = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || "");
        reject(new Error(`the bucket refused the upload: ${found ? found[1] : `HTTP ${xhr.status}`}`));
      });
      xhr.addEventListener("error", () => reject(new Error("the upload could not reach the bucket")));
      xhr.send(form);
    });
  }

  async function follow(grant, versionId, card, file) {
    const query = new URLSearchParams({ key: grant.key });
    if (versionId) query.set("version_id", versionId);
    const deadline = Date.now() + FOLLOW_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const answer = await api(state.config.readApi, `/assets/by-upload?${query}`);
      if (answer.status === 200) {
        const asset = answer.body;
        card.item.dataset.assetId = asset.asset_id;
        if (asset.status === "indexed") {
          const thumb = smallest(asset.thumbnails);
          if (thumb) card.thumbnail(thumb.url, `thumbnail of ${file.name}`);
          card.set("indexed", `indexed: ${describe(asset)}`);
          refreshGallery();
          return;
        }
        if (asset.status === "rejected") {
          card.set("rejected", `rejected: ${asset.reason || "no reason given"}`);
          return;
        }
        card.set(asset.status, `${asset.status}: processing…`);
      } else if (answer.status === 404) {
        if (answer.body && answer.body.asset_id) card.item.dataset.assetId = answer.body.asset_id;
        card.set("waiting", "uploaded; waiting for the pipeline…");
      } else {
        card.set("failed", `cannot follow the upload: HTTP ${answer.status}`);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    card.set("failed", "still not indexed after 3 minutes");
  }

  async function upload(file) {
    const card = uploadCard(file);
    card.set("requesting", "asking for an upload URL…");
    const answer = await api(state.config.uploadApi, "/uploads", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: file.name, content_type: file.type, size: file.size }),
    });
    if (answer.status !== 201) {
      const why = (answer.body && answer.body.message) || `HTTP ${answer.status}`;
      card.set("refused", `refused: ${why}`);
      card.progress.hidden = true;
      say(`${file.name} was refused: ${why}`);
      return;
    }
    try {
      const { versionId } = await postToBucket(answer.body, file, card);
      card.set("uploaded", "uploaded; waiting for the pipeline…");
      await follow(answer.body, versionId, card, file);
    } catch (error) {
      card.set("refused", error.message);
      say(`${file.name}: ${error.message}`);
    }
  }

  function uploadAll(files) {
    say("");
    for (const file of files) upload(file).catch((error) => say(`${file.name}: ${error.message}`));
  }

  // --- the gallery -------------------------------------------------------------------------

  function smallest(thumbnails) {
    return Renditions.usable(thumbnails).slice().sort((a, b) => a.size - b.size)[0] || null;
  }

  function describe(asset) {
    const parts = [];
    if (asset.width && asset.height) parts.push(`${asset.width}×${asset.height}`);
    if (asset.format) parts.push(asset.format.toUpperCase());
    return parts.join(" ");
  }

  function facts(asset) {
    const make = asset.camera_make || "";
    const model = asset.camera_model || "";
    // "Canon" + "Canon EOS R5" reads as "Canon EOS R5"
    const camera = model.toLowerCase().startsWith(make.toLowerCase()) ? model : `${make} ${model}`.trim();
    const exif = (asset.metadata && asset.metadata.exif) || {};
    return [
      ["Size", describe(asset)],
      ["Camera", camera],
      ["Lens", exif.lens],
      ["Taken", asset.taken_at ? asset.taken_at.slice(0, 16).replace("T", " ") : ""],
      ["Exposure", [exif.f_number && `f/${exif.f_number}`, exif.iso && `ISO ${exif.iso}`].filter(Boolean).join(" ")],
    ].filter(([, value]) => value);
  }

  function assetCard(asset) {
    const item = $("asset-template").content.firstElementChild.cloneNode(true);
    item.dataset.assetId = asset.asset_id;
    const img = item.querySelector("img");
    const thumbs = Renditions.usable(asset.thumbnails).slice().sort((a, b) => a.size - b.size);
    const grid = thumbs.find((t) => t.size >= 256) || thumbs[0];
    if (grid) {
      img.src = grid.url;
      img.srcset = thumbs.map((t) => `${t.url} ${t.width}w`).join(", ");
      img.sizes = "(max-width: 50rem) 50vw, 16rem";
      Renditions.offerAvif(img, asset.thumbnails); // AVIF where made and decodable
      BlurHash.behind(img, asset.blurhash); // the placeholder while it loads
    }
    img.alt = asset.filename || asset.asset_id;
    item.querySelector(".asset-name").textContent = asset.filename || asset.asset_id;
    const list = item.querySelector("dl");
    for (const [name, value] of facts(asset)) {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.title = value;
      list.append(dt, dd);
    }
    return item;
  }

  let galleryRun = null;
  function refreshGallery() {
    galleryRun = galleryRun || renderGallery().finally(() => {
      galleryRun = null;
    });
    return galleryRun;
  }

  async function renderGallery() {
    const answer = await api(state.config.readApi, "/assets?status=indexed&limit=48");
    if (!answer.ok) {
      $("gallery-count").textContent = `cannot list assets: HTTP ${answer.status}`;
      return;
    }
    const assets = answer.body.assets || [];
    const gallery = $("gallery");
    // Same assets, same versions: keep the cards (new presigned URLs would refetch every image).
    const shown = assets.map((a) => `${a.asset_id}@${a.updated_at}`).join(",");
    if (gallery.dataset.shown === shown) return;
    gallery.dataset.shown = shown;
    gallery.replaceChildren(...assets.map(assetCard));
    gallery.dataset.count = String(assets.length);
    $("gallery-count").textContent = `${assets.length} indexed`;
    $("gallery-empty").hidden = assets.length > 0;
  }

  // --- start -------------------------------------------------------------------------------

  // The subject the token names (shown only; the APIs verify the token themselves).
  function signedInAs(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part)).sub || null;
    } catch (_) {
      return null;
    }
  }

  async function start() {
    try {
      state.config = await loadConfig();
      await token();
    } catch (error) {
      $("session").textContent = `Not connected: ${error.message}`;
      return;
    }
    const who = signedInAs(state.token);
    $("session").textContent = `Signed in${who ? ` as ${who}` : ""}: your uploads and your gallery only.`;
    if (who) document.body.dataset.user = who;
    const input = $("file");
    input.disabled = false;
    input.addEventListener("change", () => {
      uploadAll(Array.from(input.files));
      input.value = "";
    });
    const drop = document.querySelector(".drop");
    drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      uploadAll(Array.from(event.dataTransfer.files));
    });
    document.body.dataset.ready = "true";
    await refreshGallery();
    setInterval(refreshGallery, GALLERY_REFRESH_MS);
  }

  start();
})();
