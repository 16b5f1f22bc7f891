# SPDX-License-Identifier: MIT
"""The board's page: a form, the tasks, a task's output live, the feed.

Two browser ``EventSource`` objects: one on ``/events`` (the notifications,
from which the task list is built) and one on the opened task's
``/tasks/<id>/events``.  Both resume after the last ID they saw when the
server comes back.  ``window.board`` exposes what arrived, for the tests.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sse_core demo: an agent task board</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5em; }
  .state-created { color: #9a6700; } .state-running { color: #0969da; }
  .state-done { color: #1a7f37; }
  #output, #feed { font-family: ui-monospace, monospace; font-size: 13px; }
  #output li.done { font-weight: bold; }
  li.new { background: #fff8c5; }
  button.task { all: unset; cursor: pointer; text-decoration: underline; }
  .status { font-weight: bold; }
</style>
</head>
<body>
<h1>An agent task board, over server-sent events</h1>
<p>Submit a task: a simulated agent works on it and its output streams in step by
step. Agents talk to the board over MCP at <code>/mcp</code>; their replies show
in the feed at once. Stop and restart the server: both streams resume after the
last event ID they saw.</p>
<form id="new">
  <input id="title" name="title" size="50" placeholder="What should the agent do?" required>
  <button>Submit</button>
</form>
<main>
<section>
  <h2>Tasks</h2>
  <ul id="tasks"></ul>
  <h2>Output of task <span id="opened">none</span>
    (<span id="output-status" class="status">closed</span>)</h2>
  <ol id="output"></ol>
</section>
<section>
  <h2>Feed (<span id="feed-status" class="status">connecting</span>)</h2>
  <ul id="feed"></ul>
</section>
</main>
<script>
"use strict";
const board = window.board = {feed: [], output: [], feedOpens: 0, outputOpens: 0, tasks: {}};
const $ = (id) => document.getElementById(id);
function add(list, text, cls) {
  const item = document.createElement("li");
  item.textContent = text;
  item.className = "new " + (cls || "");
  setTimeout(() => { item.classList.remove("new"); }, 600);
  list.appendChild(item);
  return item;
}
function watch(source, statusId, opened) {
  source.onopen = () => { board[opened] += 1; $(statusId).textContent = "open"; };
  source.onerror = () => {
    $(statusId).textContent =
      source.readyState === EventSource.CONNECTING ? "reconnecting" : "closed";
  };
}
function renderTasks() {
  const list = $("tasks");
  list.textContent = "";
  for (const task of Object.values(board.tasks)) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.className = "task";
    button.textContent = "#" + task.id + " " + task.title;
    button.onclick = () => openTask(task.id);
    const state = document.createElement("span");
    state.className = "state-" + task.state;
    state.textContent = " " + task.state;
    item.append(button, state);
    list.appendChild(item);
  }
}
let output = null;
function openTask(id) {
  if (output) output.close();
  board.opened = id;
  board.output = [];
  $("opened").textContent = "#" + id;
  $("output").textContent = "";
  output = new EventSource("/tasks/" + encodeURIComponent(id) + "/events");
  watch(output, "output-status", "outputOpens");
  const source = output;
  source.onmessage = (event) => {
    board.output.push({id: event.lastEventId, data: event.data});
    add($("output"), event.data);
  };
  source.addEventListener("done", (event) => {
    board.output.push({id: event.lastEventId, done: true, data: event.data});
    add($("output"), "done: " + JSON.parse(event.data).output, "done");
    source.close();
    $("output-status").textContent = "finished";
  });
}
const feed = new EventSource("/events");
watch(feed, "feed-status", "feedOpens");
feed.addEventListener("task", (event) => {
  const task = JSON.parse(event.data);
  board.feed.push({id: event.lastEventId, type: "task", data: task});
  board.tasks[task.id] = task;
  renderTasks();
  add($("feed"), "task #" + task.id + " " + task.state + ": " + task.title);
  if (board.opened === undefined) openTask(task.id);
});
feed.addEventListener("reply", (event) => {
  const reply = JSON.parse(event.data);
  board.feed.push({id: event.lastEventId, type: "reply", data: reply});
  add($("feed"), "reply on #" + reply.task_id + ": " + reply.message, "reply");
});
$("new").onsubmit = async (event) => {
  event.preventDefault();
  const response = await fetch("/tasks", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({title: $("title").value}),
  });
  const created = await response.json();
  $("title").value = "";
  openTask(created.id);
};
</script>
</body>
</html>
"""
