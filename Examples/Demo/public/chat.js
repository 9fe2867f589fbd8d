// The chat page: logs in with a name, joins a room over ws://HOST:CHAT_PORT/?format=json, and
// reconnects (showing "reconnecting") whenever the socket drops, back into the same room.
"use strict";

const $ = (id) => document.getElementById(id);
const defaultRooms = ["lobby", "swift", "php", "random"];
const params = new URLSearchParams(location.search);
const state = {
  name: params.get("name") || localStorage.getItem("chat-name") || "",
  room: (params.get("room") || localStorage.getItem("chat-room") || "lobby").toLowerCase(),
  socket: null,
  port: 2346,
  retries: 0,
  seen: new Set(),      // message ids shown in this room: history and live may overlap on a join
  rooms: new Set(defaultRooms),
  usersTimer: null,
};

function setState(kind, text) {
  const el = $("state");
  el.className = `state ${kind}`;
  el.textContent = text;
  $("say").querySelector("button").disabled = kind !== "online";
}

function time(ms) {
  return new Date(ms || Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// Messages stay scrolled to the newest unless the reader scrolled up to read older ones.
function append(node) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(node);
  while (list.children.length > 500) list.firstChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// History goes above whatever arrived live while it was being read (the join notice, a new message).
function showMessage(message, old, into) {
  if (message.id && state.seen.has(message.id)) return;
  if (message.id) state.seen.add(message.id);
  const item = document.createElement("li");
  item.className = "message" + (message.from === state.name ? " mine" : "") + (old ? " old" : "");
  const head = document.createElement("div");
  head.className = "meta";
  const who = document.createElement("b");
  who.textContent = message.from;
  const when = document.createElement("time");
  when.textContent = time(message.time);
  head.append(who, when);
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = message.text;
  item.append(head, body);
  if (into) into.append(item); else append(item);
}

function showNotice(text, kind = "notice") {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  append(item);
}

function renderRooms() {
  const list = $("rooms");
  list.replaceChildren();
  for (const room of [...state.rooms].sort()) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.textContent = "# " + room;
    button.className = room === state.room ? "current" : "";
    button.onclick = () => switchRoom(room);
    item.append(button);
    list.append(item);
  }
  $("room-title").textContent = "#" + state.room;
}

function renderUsers(users) {
  const list = $("users");
  list.replaceChildren();
  for (const name of users) {
    const item = document.createElement("li");
    item.textContent = name;
    if (name === state.name) item.className = "me";
    list.append(item);
  }
  $("user-count").textContent = `(${users.length})`;
}

// Joins and leaves change the list: ask again, once for a burst of them.
function refreshUsersSoon() {
  clearTimeout(state.usersTimer);
  state.usersTimer = setTimeout(() => send("/users"), 250);
}

function send(text) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(text);
}

function switchRoom(room) {
  room = room.toLowerCase().replace(/[^a-z0-9_-]/g, "").slice(0, 32) || "lobby";
  if (room === state.room) return;
  state.room = room;
  localStorage.setItem("chat-room", room);
  state.rooms.add(room);
  state.seen.clear();
  $("messages").replaceChildren();
  renderRooms();
  send("/join " + room);
}

function handle(event) {
  let data;
  try { data = JSON.parse(event.data); } catch { return showNotice(event.data); }
  switch (data.type) {
    case "welcome":
      state.room = data.room;
      state.rooms.add(data.room);
      renderRooms();
      $("served").textContent = `served by chat worker ${data.worker}, pid ${data.pid}`;
      showNotice(`Welcome, ${data.name}: you are in #${data.room}.`);
      break;
    case "history":
      if (data.room !== state.room) break;
      if (data.messages.length) {
        const older = document.createDocumentFragment();
        for (const message of data.messages) showMessage(message, true, older);
        const divider = document.createElement("li");
        divider.className = "divider";
        divider.textContent = `the last ${data.messages.length} messages of #${data.room}`;
        older.append(divider);
        $("messages").prepend(older);
        $("messages").scrollTop = $("messages").scrollHeight;
      }
      break;
    case "message":
      if (data.room === state.room) showMessage(data, false);
      break;
    case "joined":
    case "left":
      if (data.room !== state.room) break;
      showNotice(`${data.from} ${data.type} #${data.room}${data.text ? ` (${data.text})` : ""}`);
      refreshUsersSoon();
      break;
    case "users":
      if (data.room === state.room) renderUsers(data.users);
      break;
    case "error":
      showNotice(data.text, "error");
      break;
    case "push":   // a private message (/msg NAME text) or a push from the web's /api/push
      showNotice(`✉ ${data.text}`, "push");
      break;
    case "link":   // the chat process lost (or found again) the server that joins the processes
      setState(data.up ? "online" : "offline", data.up ? "online" : "reconnecting to the other processes…");
      showNotice(data.text, data.up ? "notice" : "error");
      break;
  }
}

function connect() {
  const query = new URLSearchParams({ name: state.name, room: state.room, format: "json" });
  const socket = new WebSocket(`ws://${location.hostname}:${state.port}/?${query}`);
  state.socket = socket;
  socket.onopen = () => {
    state.retries = 0;
    setState("online", "online");
    state.seen.clear();
    $("messages").replaceChildren();
  };
  socket.onmessage = handle;
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    // 1s, 2s, 4s … at most 10s, with jitter so a restarted server is not hit by every tab at once.
    const delay = Math.min(10000, 1000 * 2 ** state.retries++) * (0.75 + Math.random() / 2);
    setState("offline", `reconnecting in ${Math.round(delay / 1000)} s…`);
    showNotice(`connection lost${event.code !== 1006 ? ` (${event.code}${event.reason ? " " + event.reason : ""})` : ""}; reconnecting…`, "error");
    setTimeout(connect, delay);
  };
}

function start(name, room) {
  state.name = name.trim().slice(0, 24);
  state.room = room;
  localStorage.setItem("chat-name", state.name);
  $("login").hidden = true;
  $("chat").hidden = false;
  renderRooms();
  setState("connecting", "connecting…");
  connect();
  $("text").focus();
}

$("login-name").value = state.name;
$("login-room").value = state.room;
for (const el of document.querySelectorAll(".host")) el.textContent = `${location.hostname}:${state.port}`;
$("login").onsubmit = (event) => {
  event.preventDefault();
  start($("login-name").value, $("login-room").value.toLowerCase() || "lobby");
};
$("say").onsubmit = (event) => {
  event.preventDefault();
  const input = $("text");
  if (!input.value.trim()) return;
  send(input.value);
  input.value = "";
};
$("new-room").onsubmit = (event) => {
  event.preventDefault();
  switchRoom($("new-room-name").value);
  $("new-room-name").value = "";
};

fetch("/api/config").then((r) => r.json()).then((config) => { state.port = config.chatPort; }).catch(() => {}).finally(() => {
  for (const el of document.querySelectorAll(".host")) el.textContent = `${location.hostname}:${state.port}`;
  if (params.get("name")) start(state.name, state.room);   // ?name=…&room=… skips the login form
  else setState("connecting", "not signed in");
});
