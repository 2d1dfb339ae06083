// pagelens web page: search, browse, upload. Plain JS, no build step, no third-party code.
// Auth: the bearer token lives in sessionStorage and goes in the Authorization header of every API call;
// images are fetched the same way and shown as blob: URLs, so the token never appears in a URL or a log.
"use strict";

(() => {
  const TOKEN_KEY = "pagelens.token";
  const $ = (id) => document.getElementById(id);
  const els = {
    form: $("search-form"), q: $("q"), k: $("k"), queryBox: $("query-box"),
    imageButton: $("image-button"), imageFile: $("image-file"), imageChip: $("image-chip"),
    imageChipPreview: $("image-chip-preview"), imageChipName: $("image-chip-name"),
    imageChipClear: $("image-chip-clear"), status: $("status-line"), results: $("results"),
    title: $("results-title"), message: $("message"), documents: $("documents"),
    browse: $("browse-button"), uploadButton: $("upload-button"), tokenButton: $("token-button"),
    uploadPanel: $("upload-panel"), uploadFile: $("upload-file"), dropZone: $("drop-zone"),
    uploadProgress: $("upload-progress"), uploadLog: $("upload-log"), uploadLimit: $("upload-limit"),
    viewer: $("viewer"), viewerName: $("viewer-name"), viewerMeta: $("viewer-meta"),
    viewerImage: $("viewer-image"), viewerOverlay: $("viewer-overlay"), overlayToggle: $("overlay-toggle"),
    overlayLabel: $("overlay-label"), viewerSimilar: $("viewer-similar"), viewerClose: $("viewer-close"),
    tokenDialog: $("token-dialog"), tokenInput: $("token-input"), tokenError: $("token-error"),
    dropVeil: $("drop-veil"), filterPath: $("filter-path"), filterPages: $("filter-pages"),
    filterClear: $("filter-clear"), viewerDocument: $("viewer-document"),
    viewerDocumentPages: $("viewer-document-pages"), viewerMetadata: $("viewer-metadata"),
    viewerOnlyDocument: $("viewer-only-document"),
  };
  const state = { queryImage: null, maxUpload: null, viewing: null, blobUrls: new Set(), requestId: 0 };

  // ---- auth ---------------------------------------------------------------------------------------------
  const getToken = () => sessionStorage.getItem(TOKEN_KEY) || "";
  const setToken = (token) => (token ? sessionStorage.setItem(TOKEN_KEY, token) : sessionStorage.removeItem(TOKEN_KEY));

  function takeTokenFromUrl() {
    const url = new URL(location.href);
    const token = url.searchParams.get("token");
    if (token === null) return;
    setToken(token);
    url.searchParams.delete("token");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }

  let tokenPrompt = null;
  function askForToken(refused) {
    if (tokenPrompt) return tokenPrompt;
    tokenPrompt = new Promise((resolve) => {
      els.tokenError.hidden = !refused;
      els.tokenInput.value = "";
      els.tokenDialog.returnValue = "";
      els.tokenDialog.addEventListener("close", function done() {
        els.tokenDialog.removeEventListener("close", done);
        tokenPrompt = null;
        const token = els.tokenDialog.returnValue === "ok" ? els.tokenInput.value.trim() : "";
        if (token) setToken(token);
        resolve(Boolean(token));
      });
      els.tokenDialog.showModal();
      els.tokenInput.focus();
    });
    return tokenPrompt;
  }

  function authHeaders() {
    const token = getToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  // fetch an API path with the token; on 401 ask for a token and retry.
  async function api(path, options = {}) {
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
      if (response.status !== 401 || attempt >= 3) return response;
      if (!(await askForToken(attempt > 0 || Boolean(getToken())))) return response;
    }
  }

  async function apiJson(path, options) {
    const response = await api(path, options);
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const message = body && body.error ? body.error : `${response.status} ${response.statusText}`;
      throw Object.assign(new Error(message), { status: response.status, body });
    }
    return body;
  }

  // ---- images (fetched with the token, shown as blob: URLs) ---------------------------------------------
  const imageQueue = [];
  let imagesInFlight = 0;
  const MAX_IMAGE_REQUESTS = 4;

  function loadImage(img, url) {
    return new Promise((resolve) => {
      imageQueue.push({ img, url, resolve });
      pumpImages();
    });
  }

  function pumpImages() {
    while (imagesInFlight < MAX_IMAGE_REQUESTS && imageQueue.length) {
      const { img, url, resolve } = imageQueue.shift();
      if (!img.isConnected) { resolve(false); continue; }
      imagesInFlight += 1;
      api(url)
        .then(async (response) => {
          if (!response.ok) throw new Error(String(response.status));
          const blobUrl = URL.createObjectURL(await response.blob());
          state.blobUrls.add(blobUrl);
          img.addEventListener("load", () => resolve(true), { once: true });
          img.addEventListener("error", () => resolve(false), { once: true });
          img.src = blobUrl;
          img.closest(".card")?.classList.add("loaded");
        })
        .catch(() => { img.closest(".card")?.classList.add("broken"); resolve(false); })
        .finally(() => { imagesInFlight -= 1; pumpImages(); });
    }
  }

  const lazy = "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        lazy.unobserve(entry.target);
        loadImage(entry.target, entry.target.dataset.src);
      }
    }, { rootMargin: "300px" })
    : null;

  function lazyImage(img, url) {
    img.dataset.src = url;
    if (lazy) lazy.observe(img); else loadImage(img, url);
  }

  function releaseBlobs() {
    for (const url of state.blobUrls) URL.revokeObjectURL(url);
    state.blobUrls.clear();
  }

  // ---- rendering results --------------------------------------------------------------------------------
  const baseName = (path) => path.split(/[\\/]/).pop() || path;

  function clearResults() {
    els.results.replaceChildren();
    els.documents.replaceChildren();
    els.documents.hidden = true;
    els.message.textContent = "";
    imageQueue.length = 0;
    if (!els.viewer.open) releaseBlobs();
  }

  function showMessage(text, isError) {
    els.message.textContent = text;
    els.message.classList.toggle("error", Boolean(isError));
  }

  function pageCard(item, context) {
    const card = document.createElement("article");
    card.className = "card";
    card.dataset.pageId = item.page_id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "thumb";
    const name = item.path ? baseName(item.path) : context.name;
    open.setAttribute("aria-label", `Open page ${item.page} of ${name}`);
    const img = document.createElement("img");
    img.alt = `${name}, page ${item.page}`;
    lazyImage(img, item.thumbnail_url);
    open.append(img);
    open.addEventListener("click", () => openViewer(item, context));

    const meta = document.createElement("div");
    meta.className = "meta";
    const doc = document.createElement("div");
    doc.className = "doc";
    doc.textContent = name;
    doc.title = item.path || context.name;
    const row = document.createElement("div");
    row.className = "row";
    const page = document.createElement("span");
    page.className = "page";
    page.textContent = `p. ${item.page}`;
    row.append(page);
    if (typeof item.score === "number") {
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = item.mode === "hybrid" ? item.score.toFixed(4) : item.score.toFixed(2);
      score.title = scoreTitle(item);
      row.append(score);
    }
    const similar = document.createElement("button");
    similar.type = "button";
    similar.className = "similar";
    similar.textContent = "Similar";
    similar.title = "Find pages that look like this one";
    similar.addEventListener("click", () => runSimilar(item.page_id, true));
    row.append(similar);
    meta.append(doc, row);
    if (item.metadata && Object.keys(item.metadata).length) meta.append(metadataNode(item.metadata, 4));
    if (item.snippet) meta.append(snippetNode(item.snippet));
    card.append(open, meta);
    return card;
  }

  function scoreTitle(item) {
    const parts = [];
    if (typeof item.visual_score === "number") parts.push(`visual (MaxSim) ${item.visual_score.toFixed(3)}`);
    if (typeof item.text_score === "number") parts.push(`text (BM25) ${item.text_score.toFixed(3)}`);
    if (item.mode === "hybrid") return `fused score (reciprocal rank fusion): ${parts.join(", ")}`;
    return item.mode === "text" ? "BM25 score" : "MaxSim score";
  }

  // The page's text around the matched query terms; terms come marked **like this**: shown as <mark>,
  // built from text nodes only (never HTML from the page).
  function snippetNode(text) {
    const node = document.createElement("p");
    node.className = "snippet";
    text.split(/\*\*(.+?)\*\*/).forEach((part, i) => {
      if (!part) return;
      if (i % 2) {
        const mark = document.createElement("mark");
        mark.textContent = part;
        node.append(mark);
      } else {
        node.append(document.createTextNode(part));
      }
    });
    return node;
  }

  // Metadata as <dl> chips, built from text nodes only (values are the user's own data).
  function metadataNode(metadata, limit) {
    const list = document.createElement("dl");
    list.className = "metadata";
    const entries = Object.entries(metadata || {});
    for (const [key, value] of entries.slice(0, limit || entries.length)) {
      const pair = document.createElement("div");
      const term = document.createElement("dt");
      term.textContent = key;
      const text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
      const detail = document.createElement("dd");
      detail.textContent = text;
      detail.title = `${key}: ${text}`;
      pair.append(term, detail);
      list.append(pair);
    }
    return list;
  }

  function showResults(title, items, context) {
    clearResults();
    els.title.textContent = title;
    if (!items.length) showMessage("No pages found.");
    for (const item of items) els.results.append(pageCard(item, context));
  }

  // ---- searching ----------------------------------------------------------------------------------------
  // The path and page-range filters: what the inputs hold, as query parameters (empty ones left out).
  function filterParams() {
    const params = {};
    const path = els.filterPath.value.trim();
    const pages = els.filterPages.value.replace(/\s+/g, "");
    if (path) params.path = path;
    if (pages) params.pages = pages;
    return params;
  }

  function showFilters(params) {
    els.filterPath.value = params.get("path") || "";
    els.filterPages.value = params.get("pages") || "";
    markFilters();
  }

  function markFilters() {
    els.filterPath.classList.toggle("active", Boolean(els.filterPath.value.trim()));
    els.filterPages.classList.toggle("active", Boolean(els.filterPages.value.trim()));
    els.filterClear.hidden = !(els.filterPath.value.trim() || els.filterPages.value.trim());
  }

  function filterTitle(filters) {
    const parts = [];
    if (filters.path) parts.push(`in ${filters.path}`);
    if (filters.pages) parts.push(`pages ${filters.pages}`);
    return parts.length ? ` (${parts.join(", ")})` : "";
  }

  const query = (params) => new URLSearchParams(params).toString();

  function setUrl(params, push) {
    const search = new URLSearchParams(params).toString();
    const target = search ? `/?${search}` : "/";
    if (location.pathname + location.search === target) return;
    (push ? history.pushState : history.replaceState).call(history, params, "", target);
  }

  async function guarded(work) {
    const id = ++state.requestId;
    document.body.classList.add("busy");
    try {
      await work(() => id === state.requestId);
    } catch (error) {
      if (id === state.requestId) { clearResults(); showMessage(error.message, true); }
    } finally {
      if (id === state.requestId) document.body.classList.remove("busy");
    }
  }

  function runText(text, push) {
    const k = els.k.value;
    const filters = filterParams();
    const params = { q: text, k, ...(state.mode ? { mode: state.mode } : {}), ...filters };
    setUrl(params, push);
    els.q.value = text;
    state.lastQuery = text;
    markFilters();
    document.title = `${text} · pagelens`;
    return guarded(async (current) => {
      const body = await apiJson(`/api/search?${query(params)}`);
      if (!current()) return;
      showResults(`Results for “${body.query}”${filterTitle(filters)}`, body.results, { query: text, queryType: "text" });
    });
  }

  function runImage(file) {
    const k = els.k.value;
    setUrl({}, true);
    document.title = "Image search · pagelens";
    return guarded(async (current) => {
      const form = new FormData();
      form.append("image", file, file.name || "pasted.png");
      const filters = filterParams();
      const body = await apiJson(`/api/search/image?${query({ k, ...filters })}`, { method: "POST", body: form });
      if (!current()) return;
      showResults(`Pages that look like ${body.query}${filterTitle(filters)}`, body.results, { queryType: "image" });
    });
  }

  function runSimilar(pageId, push) {
    const k = els.k.value;
    if (els.viewer.open) els.viewer.close();
    const filters = filterParams();
    setUrl({ similar: pageId, k, ...filters }, push);
    markFilters();
    document.title = "Similar pages · pagelens";
    return guarded(async (current) => {
      const body = await apiJson(`/api/similar/${encodeURIComponent(pageId)}?${query({ k, ...filters })}`);
      if (!current()) return;
      const [path, page] = body.query.split("#page=");
      showResults(`Pages like ${baseName(path)} p. ${page}${filterTitle(filters)}`, body.results, { queryType: "page" });
    });
  }

  function setQueryImage(file) {
    state.queryImage = file;
    if (!file) {
      els.imageChip.hidden = true;
      els.q.hidden = false;
      if (els.imageChipPreview.src.startsWith("blob:")) URL.revokeObjectURL(els.imageChipPreview.src);
      els.imageChipPreview.removeAttribute("src");
      return;
    }
    els.imageChipPreview.src = URL.createObjectURL(file);
    els.imageChipName.textContent = file.name || "pasted image";
    els.imageChip.hidden = false;
    els.q.hidden = true;
    runImage(file);
  }

  // ---- the page viewer ----------------------------------------------------------------------------------
  function openViewer(item, context) {
    state.viewing = { item, context };
    const name = item.path ? baseName(item.path) : context.name;
    els.viewerName.textContent = name;
    els.viewerName.title = item.path || context.name || "";
    els.viewerMeta.textContent = `page ${item.page}` + (typeof item.score === "number" ? ` · score ${item.score.toFixed(3)}` : "");
    els.viewerImage.removeAttribute("src");
    els.viewerImage.alt = `${name}, page ${item.page}`;
    els.viewerOverlay.hidden = true;
    els.viewerOverlay.removeAttribute("src");
    const canOverlay = context.queryType === "text" && Boolean(item.overlay_url);
    els.overlayLabel.hidden = !canOverlay;
    els.overlayToggle.checked = false;
    els.viewerOnlyDocument.hidden = !item.path;
    els.viewer.showModal();
    loadImage(els.viewerImage, item.page_url);
    showDocumentInfo(item);
  }

  // The document of the page in the viewer: its page count and metadata, from the document route.
  async function showDocumentInfo(item) {
    const viewing = state.viewing;
    els.viewerDocument.hidden = true;
    els.viewerMetadata.replaceChildren();
    if (!item.path) return;
    try {
      const body = await apiJson(`/api/documents/pages?${query({ path: item.path })}`);
      if (state.viewing !== viewing) return;
      els.viewerDocumentPages.textContent = `${body.name || baseName(body.path)}: ${body.pages.length} page(s)`
        + (Object.keys(body.metadata || {}).length ? "" : ", no metadata");
      els.viewerMetadata.replaceChildren(...metadataNode(body.metadata).childNodes);
      els.viewerDocument.hidden = false;
    } catch (_) {
      els.viewerDocument.hidden = true;  // e.g. a page found through another copy's path: the page still shows
    }
  }

  async function toggleOverlay() {
    const viewing = state.viewing;
    if (!viewing) return;
    if (!els.overlayToggle.checked) { els.viewerOverlay.hidden = true; return; }
    if (!els.viewerOverlay.getAttribute("src")) await loadImage(els.viewerOverlay, viewing.item.overlay_url);
    if (state.viewing === viewing && els.overlayToggle.checked) els.viewerOverlay.hidden = false;
  }

  // ---- documents ----------------------------------------------------------------------------------------
  async function showDocuments(push) {
    setUrl({ view: "documents" }, push);
    document.title = "Documents · pagelens";
    return guarded(async (current) => {
      const body = await apiJson("/api/documents");
      if (!current()) return;
      clearResults();
      els.title.textContent = `${body.documents.length} document(s)`;
      els.documents.hidden = false;
      for (const doc of body.documents) els.documents.append(documentRow(doc));
      if (!body.documents.length) showMessage("Nothing indexed yet: upload PDFs or images.");
    });
  }

  function documentRow(doc) {
    const row = document.createElement("li");
    row.className = `document ${doc.status}`;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = doc.name;
    open.title = doc.path;
    open.disabled = doc.status !== "indexed";
    open.addEventListener("click", () => showDocumentPages(doc));
    const info = document.createElement("span");
    info.className = "muted";
    info.textContent = doc.status === "indexed" ? `${doc.pages} page(s)` : `failed: ${doc.reason}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "quiet danger";
    remove.textContent = "Remove";
    remove.addEventListener("click", async () => {
      if (!confirm(`Remove ${doc.name} from the index?`)) return;
      try {
        await apiJson(`/api/documents?${new URLSearchParams({ path: doc.path })}`, { method: "DELETE" });
        row.remove();
        refreshStatus();
      } catch (error) { showMessage(error.message, true); }
    });
    row.append(open, info);
    if (Object.keys(doc.metadata || {}).length) row.append(metadataNode(doc.metadata, 6));
    row.append(remove);
    return row;
  }

  function showDocumentPages(doc) {
    return guarded(async (current) => {
      const body = await apiJson(`/api/documents/pages?${new URLSearchParams({ path: doc.path })}`);
      if (!current()) return;
      showResults(doc.name, body.pages.map((p) => ({ ...p, path: doc.path })), { name: doc.name, queryType: "browse" });
    });
  }

  // ---- upload -------------------------------------------------------------------------------------------
  function logUpload(text, kind) {
    const line = document.createElement("li");
    line.className = kind || "";
    line.textContent = text;
    els.uploadLog.prepend(line);
  }

  function upload(files) {
    files = Array.from(files || []);
    if (!files.length) return;
    els.uploadPanel.hidden = false;
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (state.maxUpload && total > state.maxUpload) {
      logUpload(`Too large: ${(total / 1048576).toFixed(1)} MB (the limit is ${(state.maxUpload / 1048576).toFixed(0)} MB)`, "error");
      return;
    }
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const send = () => new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/documents");
      for (const [key, value] of Object.entries(authHeaders())) xhr.setRequestHeader(key, value);
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) els.uploadProgress.value = (100 * event.loaded) / event.total;
      });
      xhr.upload.addEventListener("load", () => { logUpload("Uploaded; indexing…"); });
      xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response }));
      xhr.addEventListener("error", () => resolve({ status: 0, body: { error: "network error (is the file over the size limit?)" } }));
      els.uploadProgress.hidden = false;
      els.uploadProgress.value = 0;
      xhr.send(form);
    });
    logUpload(`Uploading ${files.length} file(s), ${(total / 1048576).toFixed(1)} MB…`);
    (async () => {
      let result = await send();
      if (result.status === 401 && (await askForToken(Boolean(getToken())))) result = await send();
      els.uploadProgress.hidden = true;
      const body = result.body || {};
      for (const item of body.indexed || []) logUpload(`Indexed ${item.file}`, "ok");
      for (const failure of body.failed || []) logUpload(`${failure.file}: ${failure.reason}`, "error");
      if (result.status >= 400 && !(body.failed || []).length) logUpload(body.error || `Upload failed (${result.status})`, "error");
      if (body.report) logUpload(`${body.report.pages_added} new page(s) in ${body.report.seconds}s`, "ok");
      refreshStatus();
    })();
  }

  // ---- drag and drop, paste -----------------------------------------------------------------------------
  const isImage = (file) => file && file.type.startsWith("image/");
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");

  let dragDepth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    els.dropVeil.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) els.dropVeil.hidden = true;
  });
  document.addEventListener("dragover", (event) => { if (hasFiles(event)) event.preventDefault(); });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    els.dropVeil.hidden = true;
    const files = Array.from(event.dataTransfer.files);
    const onSearch = els.queryBox.contains(event.target) || event.target === els.queryBox;
    if (onSearch && files.length === 1 && isImage(files[0])) setQueryImage(files[0]);
    else upload(files);
  });
  els.queryBox.addEventListener("dragover", () => els.queryBox.classList.add("drop-target"));
  els.queryBox.addEventListener("dragleave", () => els.queryBox.classList.remove("drop-target"));
  els.queryBox.addEventListener("drop", () => els.queryBox.classList.remove("drop-target"));

  els.q.addEventListener("paste", (event) => {
    const file = Array.from(event.clipboardData?.files || []).find(isImage);
    if (!file) return;
    event.preventDefault();
    setQueryImage(file);
  });

  // ---- wiring -------------------------------------------------------------------------------------------
  async function refreshStatus() {
    try {
      const status = await apiJson("/api/status");
      state.maxUpload = status.server.max_upload_bytes;
      els.uploadLimit.textContent = `(up to ${(state.maxUpload / 1048576).toFixed(0)} MB)`;
      const failed = status.failed.length ? ` · ${status.failed.length} failed` : "";
      els.status.textContent = `${status.pages} page(s) in ${status.documents} document(s)${failed} · model ${status.model || "none"}`;
    } catch (error) {
      els.status.textContent = error.message;
    }
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (state.queryImage) { runImage(state.queryImage); return; }
    const query = els.q.value.trim();
    if (query) runText(query, true);
  });
  els.imageButton.addEventListener("click", () => els.imageFile.click());
  els.imageFile.addEventListener("change", () => { if (els.imageFile.files[0]) setQueryImage(els.imageFile.files[0]); els.imageFile.value = ""; });
  els.imageChipClear.addEventListener("click", () => { setQueryImage(null); els.q.focus(); });
  els.browse.addEventListener("click", () => showDocuments(true));
  els.uploadButton.addEventListener("click", () => { els.uploadPanel.hidden = !els.uploadPanel.hidden; });
  els.uploadFile.addEventListener("change", () => { upload(els.uploadFile.files); els.uploadFile.value = ""; });
  els.tokenButton.addEventListener("click", async () => { if (await askForToken(false)) { refreshStatus(); route(); } });
  els.overlayToggle.addEventListener("change", toggleOverlay);
  els.viewerClose.addEventListener("click", () => els.viewer.close());
  els.viewerSimilar.addEventListener("click", () => state.viewing && runSimilar(state.viewing.item.page_id, true));
  els.viewerOnlyDocument.addEventListener("click", () => {
    if (!state.viewing || !state.viewing.item.path) return;
    els.filterPath.value = state.viewing.item.path;
    els.viewer.close();
    markFilters();
    const text = els.q.value.trim() || state.lastQuery;
    if (text && !state.queryImage) runText(text, true);
  });
  for (const input of [els.filterPath, els.filterPages]) input.addEventListener("input", markFilters);
  els.filterClear.addEventListener("click", () => {
    els.filterPath.value = "";
    els.filterPages.value = "";
    markFilters();
    if (state.queryImage) { runImage(state.queryImage); return; }
    const text = els.q.value.trim();
    if (text) runText(text, true);
  });
  els.viewer.addEventListener("click", (event) => { if (event.target === els.viewer) els.viewer.close(); });
  els.viewer.addEventListener("close", () => { state.viewing = null; });
  window.addEventListener("popstate", () => route());

  function route() {
    const params = new URLSearchParams(location.search);
    if (params.get("k") && [...els.k.options].some((o) => o.value === params.get("k"))) els.k.value = params.get("k");
    state.mode = ["visual", "text", "hybrid"].includes(params.get("mode")) ? params.get("mode") : null;
    showFilters(params);
    if (params.get("q")) return runText(params.get("q"), false);
    if (params.get("similar")) return runSimilar(params.get("similar"), false);
    if (params.get("view") === "documents") return showDocuments(false);
    clearResults();
    els.title.textContent = "";
    return null;
  }

  takeTokenFromUrl();
  refreshStatus().then(route);
})();
