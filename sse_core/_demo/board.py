# SPDX-License-Identifier: MIT
"""The task board's state: tasks, a simulated agent per task, notifications.

Everything a client can stream is a hub topic: ``task/<id>`` holds one task's
output (one event per step, then ``done``), ``board`` the notifications
(``task``: created, running, done; ``reply``: a message sent through MCP).
The board keeps no events of its own; replay is the hub's.

A journal (a JSON line per notification) lets a restarted board publish the
same notifications again, with the same IDs, and rerun its tasks: the agent
is simulated, so a task's output depends on its title alone.  Clients that
reconnect with ``Last-Event-ID`` then continue where they left off.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List, Optional

from .._events import Event
from ..broadcast import Broadcaster

__all__ = ("BOARD_TOPIC", "Board", "Task", "agent_lines", "task_topic")

#: The topic of the board's notifications (``GET /events``).
BOARD_TOPIC = "board"
#: The task the board runs when it starts empty, so the page shows output at once.
SAMPLE_TITLE = "Fix the failing test in the line splitter"
#: Bounds on what a client may submit.
MAX_TITLE = 200
MAX_MESSAGE = 2000

_STEPS = (
    "reading the task: {title}",
    "listing the repository",
    "opening the files the task names",
    "running the test suite: 3 tests fail",
    "editing the code, re-running the tests: all pass",
    "writing the summary",
)


def task_topic(task_id: str) -> str:
    """The hub topic of a task's output."""
    return f"task/{task_id}"


def agent_lines(title: str) -> List[str]:
    """What the simulated agent writes for a task, step by step."""
    total = len(_STEPS)
    return [f"step {n}/{total}: " + text.format(title=title) for n, text in enumerate(_STEPS, 1)]


class Task:
    """One task: ``state`` is created, running or done; ``done_id`` the ID of
    its ``done`` event once there is one."""

    __slots__ = ("done_id", "id", "output", "state", "title")

    def __init__(self, task_id: str, title: str) -> None:
        self.id = task_id
        self.title = title
        self.state = "created"
        self.done_id: Optional[str] = None
        self.output: List[str] = []

    def view(self) -> Dict[str, Any]:
        """The task as the API and the notifications show it."""
        return {
            "id": self.id,
            "title": self.title,
            "state": self.state,
            "events": f"/tasks/{self.id}/events",
        }


def check_text(value: Any, name: str, limit: int) -> str:
    """``value`` as a non-blank string of at most ``limit`` characters.

    Raises:
        ValueError: it is not one.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{name} must be at most {limit} characters")
    return value.strip()


class Board:
    """The tasks and their agents, publishing to ``hub``.

    Args:
        hub: the hub every stream reads.
        interval: seconds the agent takes per step.
        journal: a file to append notifications to and restore them from, or None.
    """

    def __init__(self, hub: Broadcaster, *, interval: float, journal: Optional[str] = None) -> None:
        self.hub = hub
        self.interval = interval
        self.tasks: Dict[str, Task] = {}
        self._journal = journal
        self._lock = threading.RLock()
        self._stop = threading.Event()

    def start(self) -> None:
        """Restore the journal; on an empty board, start the sample task."""
        self._restore()
        if not self.tasks:
            self.create(SAMPLE_TITLE)

    def close(self) -> None:
        """Stop the agents and end every stream."""
        with self._lock:
            self._stop.set()
            self.hub.close()

    def publish(self, data: str, event: str = "message", *, topic: str) -> Event:
        """Publish on the hub; once the board is closed, return the event unsent.

        The agents and the MCP server's threads publish through here, so a
        board stopped while they run ends them without an error.
        """
        with self._lock:
            if self._stop.is_set():
                return Event(data, event=event)
            return self.hub.publish(data, event, topic=topic)

    def get(self, task_id: str) -> Optional[Task]:
        with self._lock:
            return self.tasks.get(task_id)

    def views(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [task.view() for task in self.tasks.values()]

    def create(self, title: Any) -> Task:
        """Add a task and start its agent.

        Raises:
            ValueError: a bad title.
        """
        title = check_text(title, "title", MAX_TITLE)
        with self._lock:
            task = Task(str(len(self.tasks) + 1), title)
            self.tasks[task.id] = task
            self._notify("task", task.view())
        self._start_agent(task)
        return task

    def reply(self, task_id: str, message: Any) -> Event:
        """Post a message about a task on the board; returns the notification.

        Raises:
            KeyError: no such task.
            ValueError: a bad message.
        """
        message = check_text(message, "message", MAX_MESSAGE)
        with self._lock:
            task = self.tasks[task_id]
            return self._notify("reply", {"task_id": task.id, "message": message})

    # -- inside ------------------------------------------------------------------

    def _notify(self, kind: str, payload: Dict[str, Any], *, journal: bool = True) -> Event:
        data = json.dumps(payload)
        with self._lock:  # the journal's order is the IDs' order
            if journal and self._journal is not None:
                # Written before it is published: whatever a client saw is
                # in the journal, whenever the board is stopped.
                with open(self._journal, "a", encoding="utf-8") as file:
                    file.write(json.dumps({"event": kind, "data": data}) + "\n")
            return self.publish(data, kind, topic=BOARD_TOPIC)

    def _start_agent(self, task: Task) -> None:
        thread = threading.Thread(
            target=self._run, args=(task, self.interval, True), name=f"agent-{task.id}"
        )
        thread.daemon = True
        thread.start()

    def _run(self, task: Task, delay: float, announce: bool) -> None:
        """The simulated agent: one event per step on the task's topic, then
        ``done``; ``announce`` notifies the board of the end (a restored
        finished task's end is in the journal already)."""
        topic = task_topic(task.id)
        for line in agent_lines(task.title):
            if delay and self._stop.wait(delay):
                return
            with self._lock:
                if task.state == "created":  # a restored task's journal says running
                    task.state = "running"
                    self._notify("task", task.view())
                task.output.append(line)
            self.publish(line, topic=topic)
        summary = {"id": task.id, "title": task.title, "output": task.output[-1]}
        done = self.publish(json.dumps(summary), "done", topic=topic)
        with self._lock:
            task.state = "done"
            task.done_id = done.id
            if announce:
                self._notify("task", task.view())

    def _restore(self) -> None:
        """Publish the journal's notifications again and rerun its tasks."""
        if self._journal is None:
            return
        try:
            with open(self._journal, encoding="utf-8") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            return
        finished = set()
        for line in lines:
            try:
                record = json.loads(line)
                kind, data = str(record["event"]), str(record["data"])
                payload = json.loads(data)
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by a crash
            self._notify(kind, payload, journal=False)
            if kind == "task" and isinstance(payload, dict):
                task_id, state = str(payload.get("id")), payload.get("state")
                task = self.tasks.setdefault(task_id, Task(task_id, str(payload.get("title"))))
                if state == "running":
                    task.state = state
                elif state == "done":
                    finished.add(task_id)
        for task in list(self.tasks.values()):
            if task.id in finished:
                self._run(task, 0.0, announce=False)  # its events, at once
            else:
                # Not finished when the board stopped: the agent starts over;
                # clients skip the steps they saw (same output, same IDs).
                self._start_agent(task)
