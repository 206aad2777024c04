// The simulated phone: plays a persona against the control API. Replies appear by polling.
"use strict";

const $ = (sel) => document.querySelector(sel);
const api = async (method, path, body) => {
  const res = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(JSON.stringify(data.detail || data));
  return data;
};
const status = (text) => { $("#status").textContent = text; };
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => { if (k === "class") node.className = v; else node.setAttribute(k, v); });
  children.forEach((c) => node.append(c));
  return node;
};

let openPost = null;
let lastThread = "";

async function loadAccounts(select) {
  const { data } = await api("GET", "/_sandbox/instagram/accounts");
  const current = select || $("#account").value;
  $("#account").replaceChildren(...data.map((a) => el("option", { value: a.id }, "@" + a.username)));
  if (current) $("#account").value = current;
}

async function loadPersonas(select) {
  const { data } = await api("GET", "/_sandbox/instagram/personas");
  const current = select || $("#persona").value;
  $("#persona").replaceChildren(...data.map((p) => el("option", { value: p.username }, "@" + p.username)));
  if (current) $("#persona").value = current;
}

function renderMessage(m) {
  const li = el("li", { class: "msg " + m.direction });
  if (m.text) li.append(el("div", {}, m.text));
  (m.attachments || []).forEach((a) => {
    const url = a.payload && a.payload.url;
    if (url && (a.type === "image" || a.type === "story_mention")) li.append(el("img", { src: url, alt: a.type }));
    else li.append(el("div", { class: "meta" }, "[" + a.type + "]"));
  });
  if (m.reply_to && m.reply_to.story) li.prepend(el("div", { class: "meta" }, "replied to a story"));
  const reactions = (m.reactions || []).map((r) => r.reaction).join(" ");
  li.append(el("div", { class: "meta" }, m.created_time.slice(11, 16) + (reactions ? " · " + reactions : "") + (m.read ? " · seen" : "")));
  return li;
}

async function refreshThread() {
  const account = $("#account").value;
  const persona = $("#persona").value;
  if (!account) { $("#chat-head").textContent = "Create a business account first"; return; }
  const name = $("#account").selectedOptions[0].textContent;
  $("#chat-head").textContent = persona ? `@${persona} ↔ ${name}` : `Pick or add a persona to chat with ${name}`;
  const { data } = await api("GET", `/_sandbox/instagram/accounts/${account}/conversations`);
  const conv = data.find((c) => c.persona.username === persona);
  const messages = conv ? conv.messages : [];
  const key = JSON.stringify(messages);
  if (key === lastThread) return;
  lastThread = key;
  $("#thread").replaceChildren(...messages.map(renderMessage));
  $("#thread").scrollTop = $("#thread").scrollHeight;
}

async function refreshFeed() {
  const account = $("#account").value;
  if (!account) return;
  const info = await api("GET", `/_sandbox/instagram/accounts/${account}`);
  const { data } = await api("GET", `/_sandbox/instagram/accounts/${account}/media`);
  $("#profile-head").textContent = `@${info.username} · ${data.length} posts · ${info.followers_count} followers`;
  $("#grid").replaceChildren(...data.filter((m) => m.media_product_type !== "STORY").map((m) => {
    const b = el("button", { title: m.caption || "" }, el("img", { src: m.media_url, alt: m.caption || "post" }));
    b.addEventListener("click", () => showPost(m));
    return b;
  }));
  if (openPost) {
    const fresh = data.find((m) => m.id === openPost.id);
    if (fresh) showPost(fresh);
  }
}

function showPost(m) {
  openPost = m;
  $("#grid").classList.add("hidden");
  $("#post").classList.remove("hidden");
  $("#post-img").src = m.media_url;
  $("#post-caption").textContent = m.caption;
  $("#post-comments").replaceChildren(...m.comments.map((c) => el("li", {}, el("strong", {}, c.username + " "), (c.parent_id ? "↳ " : "") + c.text)));
}

$("#post-close").addEventListener("click", () => {
  openPost = null;
  $("#post").classList.add("hidden");
  $("#grid").classList.remove("hidden");
});

$("#comment-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const persona = $("#persona").value;
  if (!openPost || !persona) { status("Pick a persona and a post"); return; }
  try {
    await api("POST", `/_sandbox/instagram/accounts/${$("#account").value}/comments`, {
      from_username: persona, media_id: openPost.id, text: ev.target.text.value,
    });
    ev.target.reset();
    await refreshFeed();
  } catch (e) { status(e.message); }
});

$("#composer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const persona = $("#persona").value;
  const account = $("#account").value;
  if (!persona || !account) { status("Pick a business account and a persona"); return; }
  const type = ev.target.type.value;
  const body = { from_username: persona, type };
  if (ev.target.text.value) body.text = ev.target.text.value;
  try {
    await api("POST", `/_sandbox/instagram/accounts/${account}/inbound`, body);
    ev.target.text.value = "";
    status("");
    await refreshThread();
  } catch (e) { status(e.message); }
});

$("#new-account").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const a = await api("POST", "/_sandbox/instagram/accounts", { username: ev.target.username.value });
    ev.target.reset();
    await loadAccounts(a.id);
    status(`Created @${a.username}; its token is in the control API response.`);
  } catch (e) { status(e.message); }
});

$("#new-persona").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const p = await api("POST", "/_sandbox/instagram/personas", { username: ev.target.username.value });
    ev.target.reset();
    await loadPersonas(p.username);
    lastThread = "";
    await refreshThread();
  } catch (e) { status(e.message); }
});

document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("active", x === b));
  $("#tab-chat").classList.toggle("hidden", b.dataset.tab !== "chat");
  $("#tab-feed").classList.toggle("hidden", b.dataset.tab !== "feed");
  if (b.dataset.tab === "feed") refreshFeed();
}));
["#account", "#persona"].forEach((s) => $(s).addEventListener("change", () => { lastThread = ""; openPost = null; refreshThread(); refreshFeed(); }));

async function tick() {
  try {
    await refreshThread();
    if (!$("#tab-feed").classList.contains("hidden")) await refreshFeed();
  } catch (e) { status(e.message); }
}

(async () => {
  await loadAccounts();
  await loadPersonas();
  await tick();
  setInterval(tick, 1000);
  setInterval(() => { loadAccounts(); loadPersonas(); }, 5000);
})();
