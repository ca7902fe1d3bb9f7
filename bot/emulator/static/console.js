"use strict";
// The emulator console: a person's Slack client. State comes from console/api/state
// (long-poll); every command and click goes to the bot as a signed Slack request.

const $ = (id) => document.getElementById(id);

const EMOJI = {
  rocket: "🚀", white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", rotating_light: "🚨", red_circle: "🔴",
  large_green_circle: "🟢", green_circle: "🟢", large_yellow_circle: "🟡", yellow_circle: "🟡",
  large_blue_circle: "🔵", pause_button: "⏸️", arrow_forward: "▶️", leftwards_arrow_with_hook: "↩️",
  rewind: "⏪", lock: "🔒", unlock: "🔓", tada: "🎉", no_entry: "⛔", no_entry_sign: "🚫",
  construction: "🚧", eyes: "👀", "+1": "👍", thumbsup: "👍", "-1": "👎", thumbsdown: "👎",
  fire: "🔥", snowflake: "❄️", clipboard: "📋", bar_chart: "📊", chart_with_upwards_trend: "📈",
  shield: "🛡️", bell: "🔔", stopwatch: "⏱️", information_source: "ℹ️", ship: "🚢", gear: "⚙️",
  package: "📦", mag: "🔍", link: "🔗", question: "❓", exclamation: "❗", bulb: "💡",
  white_circle: "⚪", black_circle: "⚫", checkered_flag: "🏁", stop_sign: "🛑", wave: "👋",
  small_blue_diamond: "🔹", double_vertical_bar: "⏸️", raised_hand: "✋", thinking_face: "🤔",
};

const ui = {
  boot: null,
  user: localStorage.getItem("emu.user") || "",
  channel: "",
  tab: "channel",
  thread: null,
  focusTs: "",
  version: -1,
  state: null,
  modalKey: "",
  generation: 0,
  localBanners: [],
};

// ---------------------------------------------------------------------------------------
// text

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function unesc(s) {
  return String(s ?? "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emojify(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);
}
function userName(id) {
  if (ui.boot && id === ui.boot.bot.user_id) return ui.boot.bot.name;
  const u = ui.boot && ui.boot.users.find((x) => x.id === id);
  return u ? u.name : id;
}
function channelName(id) {
  const c = ui.state && ui.state.channels.find((x) => x.id === id);
  return c ? c.name : id;
}

function special(inner) {
  const [target, label] = inner.split("|");
  if (/^@[UW]/.test(target)) return `<span class="mention">@${esc(userName(target.slice(1)))}</span>`;
  if (target.startsWith("#C") || target.startsWith("#G")) {
    return `<span class="mention">#${esc(label || channelName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice(9);
    const g = ui.boot && ui.boot.usergroups.find((x) => x.id === id);
    return `<span class="mention">${esc(label || (g ? "@" + g.handle : "@" + id))}</span>`;
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    if (["here", "channel", "everyone"].includes(word)) return `<span class="mention">@${word}</span>`;
    return esc(label || word);
  }
  if (/^(https?:|mailto:)/.test(target)) {
    return `<a href="${esc(target)}" target="_blank" rel="noopener">${esc(unesc(label || target))}</a>`;
  }
  return esc(unesc(label || target));
}

function formatting(text) {
  const tokens = [];
  let s = text.replace(/<([^<>\n]+)>/g, (_, inner) => {
    tokens.push(special(inner));
    return `\u0000${tokens.length - 1}\u0000`;
  });
  s = esc(unesc(s));
  const around = (ch, tag) => {
    const c = ch === "*" ? "\\*" : ch;
    const re = new RegExp(`(^|[\\s(>\\u0000])${c}([^${c}\\n]+?)${c}(?=$|[\\s).,!?:;<\\u0000])`, "g");
    s = s.replace(re, `$1<${tag}>$2</${tag}>`);
  };
  around("*", "b");
  around("_", "i");
  around("~", "s");
  s = emojify(s).replace(/\n/g, "<br>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
}

function inline(text) {
  return text.split("`").map((p, i, all) => {
    if (i % 2 === 1 && i < all.length - 1) return `<code>${esc(unesc(p))}</code>`;
    return formatting(i % 2 === 1 ? "`" + p : p);
  }).join("");
}

function mrkdwn(text) {
  return String(text ?? "").split("```").map((p, i, all) => {
    if (i % 2 === 1 && i < all.length - 1) return `<pre>${esc(unesc(p.replace(/^\n/, "")))}</pre>`;
    return inline(i % 2 === 1 ? "```" + p : p);
  }).join("");
}

function textHtml(t) {
  if (!t) return "";
  if (typeof t === "string") return mrkdwn(t);
  if (t.type === "mrkdwn") return t.verbatim ? esc(t.text) : mrkdwn(t.text);
  return t.emoji === false ? esc(t.text) : emojify(esc(t.text));
}
function plain(t) {
  return t ? (typeof t === "string" ? t : t.text || "") : "";
}

function h(tag, attrs = {}, html = "") {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  if (html) el.innerHTML = html;
  return el;
}

function tsTime(ts) {
  const d = new Date(Number(String(ts).split(".")[0]) * 1000);
  return d.toTimeString().slice(0, 5);
}

// ---------------------------------------------------------------------------------------
// server calls

async function post(path, body) {
  let res;
  try {
    const r = await fetch("console/api/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: ui.user, ...body }),
    });
    res = await r.json().catch(() => ({ ok: false, error: `HTTP ${r.status}` }));
  } catch (err) {
    res = { ok: false, error: String(err) };
  }
  if (!res.ok) localBanner(`Console error: ${res.error}`);
  return res;
}

function localBanner(text) {
  ui.localBanners.push({ id: "local-" + Date.now() + Math.random(), text });
  renderBanners();
}

async function poll() {
  const generation = ++ui.generation;
  let wait = 0;
  while (generation === ui.generation) {
    try {
      const q = `user=${encodeURIComponent(ui.user)}&since=${ui.version}&wait=${wait}`;
      const r = await fetch("console/api/state?" + q);
      const s = await r.json();
      if (generation !== ui.generation) return;
      if (s.version !== ui.version) {
        ui.state = s;
        ui.version = s.version;
        render();
      }
      wait = 20;
    } catch (err) {
      if (generation !== ui.generation) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// ---------------------------------------------------------------------------------------
// actions

function withConfirm(confirm, go) {
  if (!confirm) return go();
  $("confirm-title").textContent = plain(confirm.title) || "Are you sure?";
  $("confirm-text").innerHTML = textHtml(confirm.text);
  $("confirm-ok").textContent = plain(confirm.confirm) || "Yes";
  $("confirm-ok").className = "btn " + (confirm.style === "danger" ? "danger" : "primary");
  $("confirm-deny").textContent = plain(confirm.deny) || "Cancel";
  const overlay = $("confirm-overlay");
  overlay.hidden = false;
  const done = (ok) => {
    overlay.hidden = true;
    $("confirm-ok").onclick = null;
    $("confirm-deny").onclick = null;
    if (ok) go();
  };
  $("confirm-ok").onclick = () => done(true);
  $("confirm-deny").onclick = () => done(false);
  $("confirm-ok").focus();
}

function act(ctx, element, value, control) {
  withConfirm(element.confirm, async () => {
    if (control) control.disabled = true;
    if (element.url) window.open(element.url, "_blank", "noopener");
    const body = { action_id: element.action_id, value: value ?? null };
    if (ctx.view_id) body.view_id = ctx.view_id;
    else Object.assign(body, { channel: ctx.channel, ts: ctx.ts });
    await post("click", body);
    if (control) control.disabled = false;
  });
}

// ---------------------------------------------------------------------------------------
// Block Kit

function optionsOf(el) {
  const out = [...(el.options || [])];
  for (const g of el.option_groups || []) out.push(...(g.options || []));
  return out;
}

function selectControl(el, attrs, { multiple = false, initial = null } = {}) {
  const sel = h("select", { class: "el", multiple, ...attrs });
  if (!multiple) sel.append(h("option", { value: "" }, esc(plain(el.placeholder) || "Select…")));
  let opts;
  if (el.type.includes("users_select")) {
    opts = ui.boot.users.map((u) => ({ value: u.id, label: `${u.real_name} (@${u.name})` }));
  } else if (el.type.includes("conversations_select") || el.type.includes("channels_select")) {
    opts = (ui.state ? ui.state.channels : []).map((c) => ({ value: c.id, label: "#" + c.name }));
  } else {
    opts = optionsOf(el).map((o) => ({ value: o.value, label: plain(o.text) }));
  }
  const chosen = new Set([].concat(initial ?? []));
  for (const o of opts) {
    sel.append(h("option", { value: o.value, selected: chosen.has(o.value) }, emojify(esc(o.label))));
  }
  return sel;
}

function elementNode(el, ctx) {
  const id = { "data-action-id": el.action_id };
  switch (el.type) {
    case "button": {
      const btn = h("button", {
        class: "btn " + (el.style || ""), type: "button", "data-testid": "button", ...id,
        "data-style": el.style,
      }, textHtml(el.text));
      btn.addEventListener("click", () => act(ctx, el, null, btn));
      return btn;
    }
    case "image":
      return h("img", { src: el.image_url, alt: el.alt_text, title: el.alt_text });
    case "overflow": {
      const sel = h("select", { class: "el", "data-testid": "overflow", ...id });
      sel.append(h("option", { value: "" }, "⋯"));
      for (const o of el.options || []) sel.append(h("option", { value: o.value }, esc(plain(o.text))));
      sel.addEventListener("change", () => { if (sel.value) act(ctx, el, sel.value, sel); });
      return sel;
    }
    case "datepicker": {
      const input = h("input", { class: "el", type: "date", value: el.initial_date, ...id });
      input.addEventListener("change", () => act(ctx, el, input.value, input));
      return input;
    }
    default: {
      if (el.type.endsWith("select")) {
        const multiple = el.type.startsWith("multi_");
        const sel = selectControl(el, { "data-testid": "select", ...id }, { multiple });
        sel.addEventListener("change", () => {
          const value = multiple ? [...sel.selectedOptions].map((o) => o.value) : sel.value;
          if (multiple || value) act(ctx, el, value, sel);
        });
        return sel;
      }
      return h("span", { class: "unsupported" }, `[${esc(el.type)}]`);
    }
  }
}

function inputControl(block, view) {
  const el = block.element;
  const attrs = {
    "data-block-id": block.block_id, "data-action-id": el.action_id, "data-type": el.type,
    "data-testid": "input-" + block.block_id, required: !block.optional,
  };
  if (el.type === "plain_text_input") {
    const tag = el.multiline ? "textarea" : "input";
    const node = h(tag, { class: "el", placeholder: plain(el.placeholder), maxlength: el.max_length, ...attrs });
    if (el.initial_value) node.value = el.initial_value;
    return node;
  }
  if (["email_text_input", "url_text_input", "number_input"].includes(el.type)) {
    const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[el.type];
    return h("input", { class: "el", type, value: el.initial_value, ...attrs });
  }
  if (el.type === "datepicker") return h("input", { class: "el", type: "date", value: el.initial_date, ...attrs });
  if (el.type === "timepicker") return h("input", { class: "el", type: "time", value: el.initial_time, ...attrs });
  if (el.type === "checkboxes" || el.type === "radio_buttons") {
    const box = h("div", { ...attrs, required: null });
    const initial = new Set([].concat(el.initial_options || el.initial_option || []).map((o) => o.value));
    for (const o of el.options || []) {
      const input = h("input", {
        type: el.type === "checkboxes" ? "checkbox" : "radio", name: block.block_id,
        value: o.value, checked: initial.has(o.value),
      });
      const label = h("label", { class: "choice" });
      label.append(input, h("span", {}, textHtml(o.text)));
      box.append(label);
    }
    return box;
  }
  if (el.type.endsWith("select")) {
    const multiple = el.type.startsWith("multi_");
    const initial = el.initial_option ? el.initial_option.value
      : el.initial_options ? el.initial_options.map((o) => o.value)
        : el.initial_user || el.initial_users || el.initial_conversation || el.initial_channel || null;
    return selectControl(el, attrs, { multiple, initial });
  }
  return h("input", { class: "el", ...attrs });
}

function inputValue(node) {
  const type = node.dataset.type;
  if (type === "checkboxes") return [...node.querySelectorAll("input:checked")].map((i) => i.value);
  if (type === "radio_buttons") {
    const on = node.querySelector("input:checked");
    return on ? on.value : null;
  }
  if (node.multiple) return [...node.selectedOptions].map((o) => o.value);
  return node.value === "" ? null : node.value;
}

function blockNode(block, ctx, view) {
  const wrap = h("div", { class: "blk blk-" + block.type, "data-block-id": block.block_id });
  switch (block.type) {
    case "header":
      wrap.innerHTML = textHtml(block.text);
      break;
    case "section": {
      const main = h("div", { class: "sec-main mrkdwn" }, textHtml(block.text));
      if (block.fields) {
        const grid = h("div", { class: "fields" });
        for (const f of block.fields) grid.append(h("div", {}, textHtml(f)));
        main.append(grid);
      }
      wrap.append(main);
      if (block.accessory) wrap.append(elementNode(block.accessory, ctx));
      break;
    }
    case "context":
      for (const el of block.elements || []) {
        wrap.append(el.type === "image" ? elementNode(el, ctx) : h("span", { class: "mrkdwn" }, textHtml(el)));
      }
      break;
    case "divider":
      return h("hr", { class: "blk-divider" });
    case "actions":
      for (const el of block.elements || []) wrap.append(elementNode(el, ctx));
      break;
    case "image":
      if (block.title) wrap.append(h("div", {}, textHtml(block.title)));
      wrap.append(h("img", { src: block.image_url, alt: block.alt_text }));
      break;
    case "markdown":
      wrap.innerHTML = mrkdwn(block.text);
      break;
    case "rich_text":
      wrap.innerHTML = esc(richText(block.elements)).replace(/\n/g, "<br>");
      break;
    case "input": {
      wrap.className = "input-block";
      const control = inputControl(block, view);
      const label = h("label", {}, esc(plain(block.label)) + (block.optional ? " <small>(optional)</small>" : ""));
      wrap.append(label, control);
      if (block.hint) wrap.append(h("div", { class: "hint" }, textHtml(block.hint)));
      const error = view && view.errors && view.errors[block.block_id];
      if (error) wrap.append(h("div", { class: "error", "data-testid": "input-error" }, esc(error)));
      break;
    }
    default:
      wrap.append(h("span", { class: "unsupported" }, `[${esc(block.type)} block]`));
  }
  return wrap;
}

function richText(elements) {
  let out = "";
  for (const e of elements || []) {
    if (e.type === "text") out += e.text;
    else if (e.type === "link") out += e.text || e.url;
    else if (e.type === "user") out += "@" + userName(e.user_id);
    else if (e.type === "emoji") out += EMOJI[e.name] || `:${e.name}:`;
    else if (e.elements) out += richText(e.elements) + (e.type === "rich_text_section" ? "" : "\n");
  }
  return out;
}

function blocksNode(blocks, ctx, view) {
  const frag = h("div", { class: "blocks" });
  for (const b of blocks || []) frag.append(blockNode(b, ctx, view));
  return frag;
}

// ---------------------------------------------------------------------------------------
// messages

function messageNode(m, { ephemeral = false, inThread = false } = {}) {
  const isBot = ephemeral || m.is_bot;
  const author = isBot ? ui.boot.bot.name : userName(m.user);
  const node = h("div", {
    class: "msg" + (ephemeral ? " ephemeral" : "") + (m.ts === ui.focusTs ? " highlight" : ""),
    "data-testid": ephemeral ? "ephemeral" : "message", "data-ts": m.ts,
    "data-ephemeral": ephemeral ? "true" : null,
  });
  node.append(h("div", { class: "avatar" + (isBot ? " bot" : "") }, esc(author[0].toUpperCase())));
  const body = h("div", { class: "msg-body" });
  const meta = h("div", { class: "msg-meta" });
  meta.append(h("span", { class: "author" }, esc(author)));
  if (isBot) meta.append(h("span", { class: "app-tag" }, "APP"));
  meta.append(h("span", { class: "time" }, tsTime(m.ts)));
  body.append(meta);
  if (ephemeral) {
    const only = h("div", { class: "only-you", "data-testid": "only-visible" }, "Only visible to you · ");
    only.append(h("button", { class: "link-btn", onclick: () => post("dismiss", { ephemeral_ts: m.ts }) }, "Dismiss"));
    body.append(only);
  }
  if (m.reply_broadcast && !inThread) body.append(h("div", { class: "broadcast" }, "replied to a thread"));
  const ctx = { channel: ui.channel, ts: m.ts };
  if (m.blocks && m.blocks.length) body.append(blocksNode(m.blocks, ctx));
  else body.append(h("div", { class: "mrkdwn" }, mrkdwn(m.text)));
  for (const a of m.attachments || []) {
    const att = h("div", { class: "attachment mrkdwn" }, mrkdwn(a.pretext || "") + mrkdwn(a.text || a.fallback || ""));
    if (a.color) att.style.borderLeftColor = a.color.startsWith("#") ? a.color : "#" + a.color;
    body.append(att);
  }
  for (const f of m.files || []) {
    body.append(h("div", {}, `📎 <a href="files/${esc(f.id)}" target="_blank">${esc(f.name)}</a>`));
  }
  if (m.edited) {
    const blocks = body.querySelector(":scope > .blocks");
    let target = body.querySelector(":scope > .mrkdwn");
    if (blocks) {
      const last = blocks.lastElementChild;
      target = last && (last.querySelector(".sec-main") || (last.matches(".blk-actions") ? null : last));
    }
    (target || body).append(h("span", { class: "edited", "data-testid": "edited" }, "(edited)"));
  }
  if (!inThread && m.reply_count) {
    const n = m.reply_count;
    body.append(h("button", {
      class: "reply-link", "data-testid": "reply-count", "data-ts": m.ts,
      onclick: () => openThread(m.ts),
    }, `${n} ${n === 1 ? "reply" : "replies"}`));
  } else if (!inThread && !ephemeral && !m.thread_ts) {
    node.addEventListener("dblclick", () => openThread(m.ts));
  }
  node.append(body);
  return node;
}

function byTs(a, b) {
  const [as, af] = String(a.ts).split(".").map(Number);
  const [bs, bf] = String(b.ts).split(".").map(Number);
  return as - bs || (af || 0) - (bf || 0);
}

function renderChannel() {
  const s = ui.state;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60 || list.dataset.rendered !== ui.channel;
  list.replaceChildren();
  const items = (s.messages[ui.channel] || []).map((m) => ({ m }));
  for (const e of s.ephemerals) if (e.channel === ui.channel && !e.thread_ts) items.push({ m: e, ephemeral: true });
  items.sort((a, b) => byTs(a.m, b.m));
  if (!items.length) list.append(h("div", { class: "empty" }, "No messages yet. Try a slash command below."));
  for (const it of items) list.append(messageNode(it.m, { ephemeral: it.ephemeral }));
  if (atBottom) list.scrollTop = list.scrollHeight;
  list.dataset.rendered = ui.channel;
  const c = s.channels.find((x) => x.id === ui.channel);
  $("channel-header").textContent = c ? (c.is_im ? "Direct messages with " + ui.boot.bot.name : "#" + c.name) : "";
  $("command-input").placeholder = `Message ${c ? (c.is_im ? ui.boot.bot.name : "#" + c.name) : ""} — or type /deploy …`;
  if (ui.focusTs) {
    const target = list.querySelector(`[data-ts="${ui.focusTs}"]`);
    if (target) target.scrollIntoView({ block: "center" });
  }
}

function renderHome() {
  const list = $("messages");
  list.replaceChildren();
  $("channel-header").textContent = `${ui.boot.bot.name} · Home`;
  const home = ui.state.home;
  if (!home) {
    list.append(h("div", { class: "empty", "data-testid": "home-empty" }, "The app has not published a Home tab for you yet."));
    return;
  }
  const wrap = h("div", { class: "home", "data-testid": "home", "data-view-id": home.id });
  wrap.append(blocksNode(home.blocks, { view_id: home.id }, home));
  list.append(wrap);
}

function openThread(ts) {
  ui.thread = ts;
  renderThread();
}

function findParent(ts) {
  const msgs = (ui.state && ui.state.messages[ui.channel]) || [];
  return msgs.find((m) => m.ts === ts);
}

function renderThread() {
  const pane = $("thread-pane");
  const parent = ui.thread && ui.tab === "channel" ? findParent(ui.thread) : null;
  pane.hidden = !parent;
  if (!parent) return;
  const list = $("thread-messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60 || list.dataset.rendered !== parent.ts;
  list.replaceChildren(messageNode(parent, { inThread: true }));
  const n = parent.replies.length;
  list.append(h("div", { class: "thread-sep" }, `${n} ${n === 1 ? "reply" : "replies"}`));
  const items = parent.replies.map((m) => ({ m }));
  for (const e of ui.state.ephemerals) {
    if (e.channel === ui.channel && e.thread_ts === parent.ts) items.push({ m: e, ephemeral: true });
  }
  items.sort((a, b) => byTs(a.m, b.m));
  for (const it of items) list.append(messageNode(it.m, { ephemeral: it.ephemeral, inThread: true }));
  if (atBottom) list.scrollTop = list.scrollHeight;
  list.dataset.rendered = parent.ts;
}

// ---------------------------------------------------------------------------------------
// modal

function renderModal() {
  const view = ui.state.modal;
  const overlay = $("modal-overlay");
  if (!view) {
    overlay.hidden = true;
    ui.modalKey = "";
    return;
  }
  const key = view.id + ":" + view.hash + ":" + JSON.stringify(view.errors || {});
  overlay.hidden = false;
  if (key === ui.modalKey) return;
  const keepValues = ui.modalKey.startsWith(view.id + ":" + view.hash + ":") ? collectValues() : null;
  ui.modalKey = key;
  const modal = $("modal");
  modal.dataset.viewId = view.id;
  modal.replaceChildren();
  const head = h("div", { class: "modal-head" });
  head.append(h("h2", { "data-testid": "modal-title" }, textHtml(view.title)));
  head.append(h("button", { class: "icon-btn", "aria-label": "Close", onclick: () => closeModal(view) }, "✕"));
  const form = h("form", { class: "modal-body", id: "modal-form", novalidate: true });
  form.append(blocksNode(view.blocks, { view_id: view.id }, view));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submitModal(view); });
  const actions = h("div", { class: "dialog-actions" });
  actions.append(h("button", {
    class: "btn", type: "button", "data-testid": "modal-cancel", onclick: () => closeModal(view),
  }, esc(plain(view.close) || "Cancel")));
  if (view.submit) {
    actions.append(h("button", {
      class: "btn primary", type: "button", "data-testid": "modal-submit", onclick: () => submitModal(view),
    }, esc(plain(view.submit))));
  }
  modal.append(head, form, actions);
  if (keepValues) restoreValues(keepValues);
}

function controls() {
  return [...document.querySelectorAll("#modal-form [data-block-id][data-action-id]")];
}
function collectValues() {
  const values = {};
  for (const node of controls()) {
    (values[node.dataset.blockId] ||= {})[node.dataset.actionId] = inputValue(node);
  }
  return values;
}
function restoreValues(values) {
  for (const node of controls()) {
    const v = (values[node.dataset.blockId] || {})[node.dataset.actionId];
    if (typeof v === "string" && "value" in node) node.value = v;
  }
}

async function submitModal(view) {
  const missing = controls().filter((n) => n.hasAttribute("required") && [null, ""].includes(inputValue(n)));
  if (missing.length) {
    localBanner("Please fill in the required fields.");
    missing[0].focus();
    return;
  }
  await post("submit", { view_id: view.id, values: collectValues() });
}

async function closeModal(view) {
  await post("close", { view_id: view.id });
}

// ---------------------------------------------------------------------------------------
// frame

function renderBanners() {
  const box = $("banners");
  box.replaceChildren();
  const server = ui.state ? ui.state.banners : [];
  for (const b of [...server, ...ui.localBanners]) {
    const row = h("div", { class: "banner", role: "alert", "data-testid": "error-banner" });
    row.append(h("span", {}, "⚠️ " + esc(b.text)));
    row.append(h("button", {
      class: "icon-btn", "aria-label": "Dismiss", onclick: () => {
        if (String(b.id).startsWith("local-")) {
          ui.localBanners = ui.localBanners.filter((x) => x.id !== b.id);
          renderBanners();
        } else {
          post("dismiss", { banner_id: b.id });
        }
      },
    }, "✕"));
    box.append(row);
  }
}

function renderNav() {
  const s = ui.state;
  const lists = { channel: $("channel-list"), dm: $("dm-list") };
  lists.channel.replaceChildren();
  lists.dm.replaceChildren();
  for (const c of s.channels) {
    const active = ui.tab === "channel" && c.id === ui.channel;
    const label = c.is_im ? ui.boot.bot.name + " (DM)" : "# " + c.name;
    const li = h("li");
    li.append(h("button", {
      class: "nav-item" + (active ? " active" : ""), "data-testid": "channel-" + c.id,
      onclick: () => selectChannel(c.id),
    }, esc(label)));
    (c.is_im ? lists.dm : lists.channel).append(li);
  }
  $("dm-section").hidden = !lists.dm.children.length;
  $("home-tab").classList.toggle("active", ui.tab === "home");
}

function render() {
  if (!ui.state) return;
  if (!ui.state.channels.some((c) => c.id === ui.channel)) ui.channel = (ui.state.channels[0] || {}).id || "";
  renderNav();
  renderBanners();
  if (ui.tab === "home") renderHome();
  else renderChannel();
  $("composer").hidden = ui.tab === "home";
  renderThread();
  renderModal();
  document.body.dataset.version = String(ui.state.version);
}

function selectChannel(id) {
  ui.tab = "channel";
  ui.channel = id;
  ui.thread = null;
  ui.focusTs = "";
  $("sidebar").classList.remove("open");
  const url = new URL(location.href);
  url.searchParams.set("channel", id);
  url.searchParams.delete("ts");
  history.replaceState(null, "", url);
  render();
}

function selectUser(id) {
  ui.user = id;
  localStorage.setItem("emu.user", id);
  ui.version = -1;
  ui.modalKey = "";
  ui.thread = null;
  poll();
  if (ui.tab === "home") post("home", {});
}

async function main() {
  ui.boot = await (await fetch("console/api/bootstrap")).json();
  $("team-name").textContent = ui.boot.team.name;
  const params = new URLSearchParams(location.search);
  const picker = $("user-picker");
  for (const u of ui.boot.users) {
    picker.append(h("option", { value: u.id }, esc(`${u.real_name} (@${u.name})${u.title ? " — " + u.title : ""}`)));
  }
  const wanted = params.get("user") || ui.user;
  ui.user = ui.boot.users.some((u) => u.id === wanted) ? wanted : ui.boot.users[0].id;
  picker.value = ui.user;
  picker.addEventListener("change", () => selectUser(picker.value));
  ui.channel = params.get("channel") || "";
  ui.focusTs = params.get("ts") || "";
  const threadTs = params.get("thread_ts");
  if (threadTs) ui.thread = threadTs;

  $("menu-toggle").addEventListener("click", () => $("sidebar").classList.toggle("open"));
  $("home-tab").addEventListener("click", () => {
    ui.tab = "home";
    ui.thread = null;
    $("sidebar").classList.remove("open");
    render();
    post("home", {});
  });
  $("thread-close").addEventListener("click", () => { ui.thread = null; renderThread(); });
  $("composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("command-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    await post("command", { channel: ui.channel, text });
  });
  $("thread-composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("thread-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    await post("command", { channel: ui.channel, text, thread_ts: ui.thread });
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !$("confirm-overlay").hidden) $("confirm-deny").click();
  });
  poll();
}

main();
