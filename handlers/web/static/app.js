// The chat page: pick a persona, bind, then talk to the real bot.
// Every word on the page comes from the server (/api/strings), already translated.
// Content is only ever put on the page with textContent, never innerHTML.
"use strict";

(function () {
  const STORE = "jixiao.web.v1";
  const MAX_KEPT = 200; // messages kept per chat in localStorage

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  let state = load();
  let S = {}; // the page's strings in the current language
  let languages = [];
  let personasEnabled = true;
  let personaLoads = 0;
  let queue = Promise.resolve(); // one request at a time, in order
  let nextId = Math.max(
    Date.now(),
    ...Object.values(state.chats).flatMap((c) => c.messages.map((m) => Number(m.id) + 1)),
  );

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORE) || "null");
      if (saved && typeof saved === "object" && saved.chats) return saved;
    } catch (e) {
      /* a broken store starts afresh */
    }
    return { lang: "", current: "", chats: {} };
  }

  function save() {
    try {
      localStorage.setItem(STORE, JSON.stringify(state));
    } catch (e) {
      // Over quota: drop pictures and files from the stored history, keep the words.
      for (const chat of Object.values(state.chats)) {
        for (const m of chat.messages) {
          m.image = null;
          m.file = null;
        }
      }
      try {
        localStorage.setItem(STORE, JSON.stringify(state));
      } catch (e2) {
        /* history is a convenience; the bot's state lives in its database */
      }
    }
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));
  }

  async function api(path, body) {
    const opts = body === undefined ? {} : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
    const res = await fetch(path, opts);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || String(res.status));
    return data;
  }

  // ---- language ---------------------------------------------------------------

  async function loadStrings() {
    const lang = state.lang || navigator.language || "";
    const data = await api("/api/strings?lang=" + encodeURIComponent(lang));
    state.lang = data.lang;
    S = data.strings;
    languages = data.languages;
    personasEnabled = data.personas_enabled;
    save();
    document.documentElement.lang = data.lang.replace("_", "-");
    document.title = S.title;
    $("pick-title").textContent = S.pick_title;
    $("pick-intro").textContent = S.pick_intro;
    $("no-personas").textContent = S.no_personas;
    $("input").placeholder = S.placeholder;
    $("send").textContent = S.send;
    $("sticker").title = S.sticker;
    $("sticker").setAttribute("aria-label", S.sticker);
    $("back").title = S.switch_persona;
    $("back").setAttribute("aria-label", S.switch_persona);
    $("clear").textContent = S.clear;
    const other = languages.find((l) => l.code !== state.lang) || languages[0];
    $("lang").textContent = other.name;
    $("lang").title = S.language;
    $("lang").dataset.code = other.code;
  }

  // One language setting: the page's switch, pressed in a chat, sets the bot's language
  // for this identity too; and whenever the bot's language changes (its own "Language"
  // button, /lang, or the same person elsewhere), the server says so and the page follows.
  async function follow(lang) {
    if (!lang || lang === state.lang) return;
    state.lang = lang;
    await loadStrings();
    if (current()) showChat();
  }

  $("lang").addEventListener("click", () => {
    const lang = $("lang").dataset.code;
    const chat = current();
    if (!chat) {
      state.lang = lang;
      return loadStrings().then(show);
    }
    const key = state.current;
    queue = queue.then(async () => {
      try {
        const data = await api("/api/language", { user_id: chat.user_id, lang: lang });
        await follow(data.lang);
        if (data.note && state.current === key) {
          add({ id: nextId++, from: "note", text: data.note });
          save();
        }
      } catch (e) {
        if (state.current === key) failed();
      }
    });
    return queue;
  });

  // ---- choosing who to be -------------------------------------------------------

  async function showPicker() {
    $("chat").hidden = true;
    $("picker").hidden = false;
    $("back").hidden = true;
    $("clear").hidden = true;
    $("title").textContent = S.title;
    $("subtitle").textContent = S.subtitle;
    const list = $("personas");
    list.replaceChildren();
    if (!personasEnabled) {
      const li = el("li");
      const b = el("button", "persona");
      b.type = "button";
      b.append(el("div", "pname", S.own_identity));
      b.addEventListener("click", useOwnIdentity);
      li.append(b);
      list.append(li);
      return;
    }
    // A language switch can start a second load before the first returns: only the
    // latest one may fill the list, and it replaces whatever is there.
    const mine = ++personaLoads;
    const data = await api("/api/personas?lang=" + encodeURIComponent(state.lang));
    if (mine !== personaLoads) return;
    list.replaceChildren();
    $("no-personas").hidden = data.personas.length > 0;
    for (const p of data.personas) {
      const li = el("li");
      const b = el("button", "persona");
      b.type = "button";
      b.dataset.role = p.role;
      b.append(el("span", "role", p.role_label));
      b.append(el("div", "pname", p.name));
      b.append(el("div", "meta", [p.institution, p.position, p.number].filter(Boolean).join(" · ")));
      b.append(el("div", "hint", p.hint));
      b.addEventListener("click", () => pickPersona(p));
      li.append(b);
      list.append(li);
    }
  }

  async function pickPersona(p) {
    const key = "p:" + p.employee_id;
    const known = state.chats[key];
    const data = await api("/api/persona", {
      employee_id: p.employee_id,
      user_id: known ? known.user_id : "",
      lang: state.lang,
    });
    const chat = known || { user_id: data.user_id, messages: [] };
    chat.user_id = data.user_id;
    chat.name = data.persona.name;
    chat.role = data.persona.role;
    state.chats[key] = chat;
    state.current = key;
    if (!data.bound) {
      chat.messages.push({ id: nextId++, from: "note", text: data.note, command: data.command });
    }
    save();
    await show();
    if (data.command) {
      $("input").value = data.command;
      $("input").focus();
    }
  }

  async function useOwnIdentity() {
    let chat = state.chats.own;
    if (!chat) {
      const data = await api("/api/identity", {});
      chat = { user_id: data.user_id, messages: [], name: "", role: "" };
      chat.messages.push({ id: nextId++, from: "note", text: S.own_identity_note });
      state.chats.own = chat;
    }
    state.current = "own";
    save();
    await show();
    // The code alone is enough: the page binds with it (see handlers/web/app.py).
    $("input").focus();
  }

  // ---- the conversation ---------------------------------------------------------

  function current() {
    return state.chats[state.current];
  }

  function showChat() {
    const chat = current();
    $("picker").hidden = true;
    $("chat").hidden = false;
    $("back").hidden = false;
    $("clear").hidden = false;
    $("title").textContent = chat.name || S.title;
    $("subtitle").textContent = chat.name ? fmt(S.talking_as, { name: chat.name }) : S.subtitle;
    renderAll();
  }

  async function show() {
    if (current()) {
      showChat();
      poll(); // pushes waiting, and the language this identity speaks
    } else await showPicker();
  }

  $("back").addEventListener("click", () => {
    state.current = "";
    save();
    show();
  });

  // Clearing empties the transcript but keeps the buttons in force (the latest message
  // that has some), so the menu is still there to tap.
  $("clear").addEventListener("click", () => {
    const chat = current();
    const keep = chat.messages
      .slice()
      .reverse()
      .find((m) => (m.buttons && m.buttons.length) || m.command);
    chat.messages = keep ? [keep] : [];
    save();
    renderAll();
  });

  function renderAll() {
    const list = $("messages");
    list.replaceChildren(...current().messages.map(renderMessage));
    scrollDown();
  }

  function scrollDown() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  function renderMessage(m) {
    const li = el("li", "msg " + m.from);
    li.dataset.id = String(m.id);
    const bubble = el("div", "bubble");
    li.setAttribute("aria-label", m.from === "me" ? S.you : S.bot);
    if (m.sticker) {
      bubble.classList.add("sticker-sent");
      bubble.textContent = "\u263A"; // no emoji font is needed for this one
      bubble.title = S.sticker_sent;
    } else if (m.text) {
      bubble.append(document.createTextNode(m.text));
    }
    if (m.image) {
      const img = el("img");
      img.src = m.image.src; // a data: URL of a PNG or JPEG, built by the server
      img.alt = m.image.name || S.image_alt;
      bubble.prepend(img);
    }
    if (m.file) {
      const a = el("a", "file", fmt(S.download, { name: m.file.name }));
      const bytes = Uint8Array.from(atob(m.file.data), (c) => c.charCodeAt(0));
      a.href = URL.createObjectURL(new Blob([bytes], { type: m.file.type }));
      a.download = m.file.name;
      if (m.text) bubble.append(el("br"));
      bubble.append(a);
    }
    li.append(bubble);
    if (m.from === "note" && m.command) {
      const b = el("button", "", S.bind);
      b.type = "button";
      b.className = "bind";
      b.addEventListener("click", () => {
        if ($("input").value.trim() === m.command) $("input").value = "";
        sendText(m.command);
      });
      bubble.append(el("br"), b);
    }
    if (m.buttons && m.buttons.length) {
      const kb = el("div", "keyboard");
      for (const row of m.buttons) {
        const r = el("div", "row");
        for (const btn of row) {
          const b = el("button", "", btn.label);
          b.type = "button";
          b.addEventListener("click", () => press(m.id, btn.payload));
          r.append(b);
        }
        kb.append(r);
      }
      li.append(kb);
    }
    return li;
  }

  function add(m) {
    const chat = current();
    chat.messages.push(m);
    if (chat.messages.length > MAX_KEPT) chat.messages.splice(0, chat.messages.length - MAX_KEPT);
    $("messages").append(renderMessage(m));
    scrollDown();
  }

  function replace(id, m) {
    const chat = current();
    const i = chat.messages.findIndex((x) => x.id === id);
    if (i < 0) return false;
    chat.messages[i] = m;
    const old = $("messages").querySelector('li[data-id="' + String(id) + '"]');
    if (old) {
      const fresh = renderMessage(m);
      fresh.classList.add("edited");
      old.replaceWith(fresh);
    }
    return true;
  }

  function lastBotId() {
    const msgs = current().messages;
    for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].from === "bot") return msgs[i].id;
    return null;
  }

  // Show the bot's answer. An edit replaces the message it belongs to: the one whose
  // button was pressed, or else the bot's latest message, as Telegram would.
  function showReplies(replies, anchor) {
    let target = anchor !== null ? anchor : lastBotId();
    for (const r of replies) {
      const m = { from: "bot", text: r.text, buttons: r.buttons, image: r.image, file: r.file };
      if (r.edit && target !== null && current().messages.some((x) => x.id === target)) {
        m.id = target;
        replace(target, m);
      } else {
        m.id = nextId++;
        add(m);
      }
      target = m.id;
    }
    save();
  }

  function typing() {
    const li = el("li", "msg bot typing");
    li.append(el("div", "bubble", "•••"));
    $("messages").append(li);
    scrollDown();
    return li;
  }

  function talk(body, anchor) {
    const chat = current();
    const key = state.current;
    queue = queue.then(async () => {
      const dots = typing();
      try {
        const data = await api("/api/message", { user_id: chat.user_id, lang: state.lang, ...body });
        dots.remove();
        if (state.current === key) {
          showReplies(data.replies, anchor);
          await follow(data.lang);
        }
      } catch (e) {
        dots.remove();
        if (state.current === key) failed();
      }
    });
    return queue;
  }

  function failed() {
    const li = renderMessage({ id: nextId++, from: "bot", text: S.failed });
    li.classList.add("failed");
    $("messages").append(li);
    scrollDown();
  }

  // Pushes (reminders, a head's nudge) wait in the server's outbox; fetch them now and then.
  function poll() {
    const chat = current();
    if (!chat || document.hidden) return;
    const key = state.current;
    queue = queue.then(async () => {
      try {
        const data = await api("/api/inbox", { user_id: chat.user_id, lang: state.lang });
        if (state.current !== key) return;
        if (data.replies.length) showReplies(data.replies, null);
        await follow(data.lang);
      } catch (e) {
        /* the next poll tries again */
      }
    });
  }
  setInterval(poll, 4000);

  function sendText(text) {
    if (!text.trim()) return queue;
    add({ id: nextId++, from: "me", text: text });
    save();
    return talk({ kind: "text", text: text }, null);
  }

  function press(messageId, payload) {
    return talk({ kind: "button", payload: payload }, messageId);
  }

  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("input");
    const text = input.value;
    input.value = "";
    sendText(text);
    input.focus();
  });

  $("input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("composer").requestSubmit();
    }
  });

  $("sticker").addEventListener("click", () => {
    add({ id: nextId++, from: "me", sticker: true });
    save();
    talk({ kind: "other" }, null);
  });

  loadStrings()
    .then(show)
    .catch(() => {
      $("title").textContent = "Jixiao";
    });
})();
