"""Reads for the operations console: queue depths, oldest waiting task, charts, alerts.

Everything here is bounded: Redis reads are one pipeline, the charts read at most 1,440
minute rows, and nothing counts the task history.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from kombu.transport.redis import PRIORITY_STEPS, Channel

from backoffice.celery import app, import_task_modules
from backoffice.redis_client import redis_client, redis_status
from operations.beat import beat_status
from operations.models import TaskMinuteStat, TaskRun
from operations.registry import paused_queues, resumed_queues, worker_records

RUNNING_LIMIT = 20
IN_FLIGHT_STATES = (TaskRun.State.QUEUED, TaskRun.State.STARTED, TaskRun.State.RETRY)
BADGE_COUNT_CAP = 99


def unresolved_failures(queryset=None):
    """Failed runs that still need someone: not discarded, and no retry of them (or of
    their retries) has succeeded. A retry still waiting or failed leaves them unresolved."""
    queryset = TaskRun.objects.all() if queryset is None else queryset
    return queryset.filter(state=TaskRun.State.FAILURE, discarded_at__isnull=True,
                           resolved_at__isnull=True)


def unresolved_failure_count(*, cap: int = BADGE_COUNT_CAP) -> tuple[int, bool]:
    """How many unresolved failures there are, counting at most `cap` + 1 of them:
    (count, whether there are more than `cap`)."""
    found = unresolved_failures().order_by().values("pk")[:cap + 1].count()
    return min(found, cap), found > cap


def queue_names() -> list[str]:
    return list(settings.CELERY_QUEUE_NAMES)


def queue_keys(queue: str) -> list[str]:
    """The Redis lists kombu keeps for one queue (one per priority step)."""
    return [queue if not step else f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS]


def queue_depths(client=None) -> dict[str, int]:
    client = client or redis_client()
    pipe = client.pipeline(transaction=False)
    for queue in queue_names():
        for key in queue_keys(queue):
            pipe.llen(key)
    lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in PRIORITY_STEPS) for queue in queue_names()}


def _message_headers(raw: str | None) -> dict:
    try:
        return json.loads(raw).get("headers") or {}
    except (TypeError, ValueError, AttributeError):
        return {}


def oldest_waiting(client=None, *, depths: dict[str, int]) -> dict[str, dict]:
    """Per non-empty queue: the message next in line (kombu pops from the right)."""
    client = client or redis_client()
    waiting = [queue for queue, depth in depths.items() if depth]
    pipe = client.pipeline(transaction=False)
    for queue in waiting:
        for key in queue_keys(queue):
            pipe.lindex(key, -1)
    raw = iter(pipe.execute())
    heads = {}
    for queue in waiting:
        candidates = [_message_headers(next(raw)) for _ in PRIORITY_STEPS]
        head = next((h for h in candidates if h.get("id")), None)
        if head:
            heads[queue] = {"task_id": head["id"], "name": head.get("task", "")}
    queued_at = dict(
        TaskRun.objects.filter(task_id__in=[h["task_id"] for h in heads.values()])
        .values_list("task_id", "queued_at")
    )
    now = timezone.now()
    for head in heads.values():
        when = queued_at.get(head["task_id"])
        head["queued_at"] = when
        head["age_seconds"] = round((now - when).total_seconds()) if when else None
    return heads


def throughput(*, now=None) -> dict:
    """Finished runs per minute over the last hour and the last 24 hours."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    since = now - timedelta(hours=24) + timedelta(minutes=1)
    rows = (
        TaskMinuteStat.objects.filter(minute__gte=since)
        .values("minute")
        .annotate(ok=Sum("succeeded"), bad=Sum("failed"))
    )
    by_minute = {row["minute"]: (row["ok"], row["bad"]) for row in rows}
    minutes = [since + timedelta(minutes=i) for i in range(24 * 60)]
    local = [timezone.localtime(m) for m in minutes]
    ok = [by_minute.get(m, (0, 0))[0] for m in minutes]
    bad = [by_minute.get(m, (0, 0))[1] for m in minutes]
    return {
        "hour": {"labels": [m.strftime("%H:%M") for m in local[-60:]], "ok": ok[-60:],
                 "failed": bad[-60:]},
        "day": {"labels": [m.strftime("%H:%M") for m in local], "ok": ok, "failed": bad},
        "totals": {"hour_ok": sum(ok[-60:]), "hour_failed": sum(bad[-60:]),
                   "day_ok": sum(ok), "day_failed": sum(bad)},
    }


def running_runs(limit: int = RUNNING_LIMIT) -> list[TaskRun]:
    """The most recent runs a worker has started and not finished (index on state)."""
    return list(TaskRun.objects.filter(state=TaskRun.State.STARTED)
                .only("task_id", "name", "queue", "state", "worker", "started_at",
                      "queued_at")[:limit])


def running_for(run: TaskRun, *, now=None) -> str:
    """How long a started run has been running, in words ("2 h 5 min 3 s")."""
    if run.started_at is None:
        return "—"
    seconds = max(0, round(((now or timezone.now()) - run.started_at).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if hours or minutes else "",
             f"{seconds} s"]
    return " ".join(part for part in parts if part)


def task_acks_late(task_name: str) -> bool:
    """Whether the task acknowledges its message only after it ran (its own or the default)."""
    import_task_modules()
    task = app.tasks.get(task_name)
    return bool(task.acks_late) if task is not None else bool(app.conf.task_acks_late)


def queue_state(queue: dict, *, limit: int, resumed_at: float | None, finished_since: bool,
                now: float) -> str:
    """One word for a queue, the rule the overview's badges and alerts follow.

    `paused`: staff paused it. `stuck`: its oldest waiting task has waited longer than
    `limit` seconds and the queue shows no progress in that time. `draining`: it waits that
    long too, but the queue was resumed within `limit` seconds or one of its tasks finished
    within them (`finished_since`), so it is being worked through. `ok` otherwise.
    """
    if queue["paused"]:
        return "paused"
    age = (queue["oldest"] or {}).get("age_seconds")
    if age is None or age <= limit:
        return "ok"
    resumed_lately = resumed_at is not None and now - resumed_at <= limit
    return "draining" if resumed_lately or finished_since else "stuck"


def queues_finished_since(since) -> set[str]:
    """Queues with at least one run finished since `since` (per-minute counters, whole
    minutes: a run in the minute `since` falls in counts)."""
    return set(TaskMinuteStat.objects.filter(minute__gte=since.replace(second=0, microsecond=0))
               .values_list("queue", flat=True).distinct())


def _queue_alert(queue: dict, limit: int) -> dict | None:
    name, depth, state = queue["name"], queue["depth"], queue["state"]
    age = (queue["oldest"] or {}).get("age_seconds")
    if state == "paused":
        return {"level": "warning", "text": f"Queue {name} is paused ({depth} waiting)."}
    if state == "stuck":
        return {"level": "warning", "text": f"Queue {name} is stuck: the oldest task has "
                f"waited {age} s (limit {limit} s) and none of its tasks finished since."}
    if state == "draining":
        return {"level": "info", "text": f"Queue {name} is draining: {depth} waiting, the "
                f"oldest for {age} s; its workers are taking them."}
    return None


def _alerts(*, queues: list[dict], workers: list[dict]) -> list[dict]:
    alerts = []
    online = [w for w in workers if w["online"]]
    if not online:
        alerts.append({"level": "danger", "text": "No worker is online: nothing is being run."})
    limit = settings.OPS_QUEUE_WAIT_ALERT_SECONDS
    for queue in queues:
        if online and not queue["paused"] and not queue["served_by"]:
            alerts.append({"level": "danger", "text": f"No worker serves queue {queue['name']}."})
        if alert := _queue_alert(queue, limit):
            alerts.append(alert)
    return alerts


def _with_states(queues: list[dict], *, resumed: dict[str, float]) -> list[dict]:
    limit = settings.OPS_QUEUE_WAIT_ALERT_SECONDS
    now = timezone.now()
    waiting_long = [q for q in queues if ((q["oldest"] or {}).get("age_seconds") or 0) > limit]
    finished = queues_finished_since(now - timedelta(seconds=limit)) if waiting_long else set()
    for queue in queues:
        queue["state"] = queue_state(queue, limit=limit, resumed_at=resumed.get(queue["name"]),
                                     finished_since=queue["name"] in finished,
                                     now=now.timestamp())
    return queues


def ops_overview() -> dict:
    """Everything the overview shows. When Redis is down it says so and reads only the DB."""
    broker = redis_status()
    unresolved, more = unresolved_failure_count()
    data = {"broker": broker, "checked_at": timezone.now(), "throughput": throughput(),
            "queues": [], "workers": [], "alerts": [], "running": running_runs(),
            "unresolved_failures": {"count": unresolved, "more": more}}
    if not broker["ok"]:
        data["alerts"].append({"level": "danger", "text": "The broker (Redis) is unreachable: "
                               f"{broker['error']}. Nothing can be queued or run."})
        data["beat"] = {"ok": False, "error": "broker unreachable"}
        return data
    client = redis_client()
    try:
        depths = queue_depths(client)
        oldest = oldest_waiting(client, depths=depths)
        workers = worker_records(client)
        paused = paused_queues(client)
        resumed = resumed_queues(client)
    except Exception as exc:  # Redis went away between the ping and the reads
        data["broker"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        data["alerts"].append({"level": "danger", "text": f"The broker failed: {exc}"})
        data["beat"] = {"ok": False, "error": "broker unreachable"}
        return data
    data["beat"] = beat_status(broker_ok=True)
    data["workers"] = workers
    data["queues"] = [
        {"name": q, "depth": depths[q], "oldest": oldest.get(q), "paused": q in paused,
         "served_by": [w["hostname"] for w in workers if w["online"] and q in w["queues"]]}
        for q in queue_names()
    ]
    _with_states(data["queues"], resumed=resumed)
    data["alerts"] = _alerts(queues=data["queues"], workers=workers)
    if not data["beat"]["ok"]:
        data["alerts"].append({"level": "warning",
                               "text": f"Beat (scheduler): {data['beat']['error']}."})
    data["workers_online"] = sum(1 for w in workers if w["online"])
    return data


def _member_roles(members: list[TaskRun]) -> dict[int, str]:
    """Each member's role, read from the ids the runs were recorded with.

    A chord's header members carry its callback (recorded as `chord_callback`); the callback
    is recorded with the header's group id, so a run in a chord's group that is not a header
    member is its callback.
    """
    callbacks = {m.options.get("chord_callback") for m in members} - {None}
    chord_groups = {m.group_id for m in members if m.options.get("in_chord") and m.group_id}
    roles = {}
    for member in members:
        if member.task_id in callbacks or (member.group_id in chord_groups
                                           and not member.options.get("in_chord")):
            roles[member.pk] = "chord callback"
        elif member.options.get("in_chord"):
            roles[member.pk] = "chord header member"
        elif member.group_id:
            roles[member.pk] = "group member"
        elif member.parent_id or member.options.get("chain"):
            roles[member.pk] = "chain step"
        else:
            roles[member.pk] = "single task"
    return roles


def _workflow_kind(members: list[TaskRun], roles: dict[int, str]) -> str:
    found = set(roles.values())
    if "chord callback" in found or "chord header member" in found:
        return "chord"
    if "group member" in found:
        return "group"
    return "chain" if len(members) > 1 else "single task"


def workflow_runs(*, task_id: str) -> dict | None:
    """The chain, group or chord that `task_id` belongs to: every member, its role and state."""
    run = TaskRun.objects.filter(task_id=task_id).first()
    if run is None:
        return None
    root = run.root_id or run.task_id
    members = list(TaskRun.objects.filter(Q(root_id=root) | Q(task_id=root))[:500])
    groups = {m.group_id for m in members if m.group_id}
    if groups:
        known = {m.pk for m in members}
        members += [m for m in TaskRun.objects.filter(group_id__in=groups)[:500]
                    if m.pk not in known]
    callbacks = {m.options.get("chord_callback") for m in members} - {None}
    if callbacks - {m.task_id for m in members}:
        members += list(TaskRun.objects.filter(task_id__in=callbacks).exclude(
            pk__in=[m.pk for m in members]))
    members.sort(key=lambda m: (m.queued_at, m.pk))
    roles = _member_roles(members)
    for member in members:
        member.role = roles[member.pk]
    states = {}
    for member in members:
        states[member.state] = states.get(member.state, 0) + 1
    return {"run": run, "root_id": root, "kind": _workflow_kind(members, roles),
            "members": members, "groups": sorted(groups), "states": states}


def metrics_snapshot() -> dict:
    """Numbers for /metrics: queue depths, workers, runs by state (24 h), runtimes."""
    since = timezone.now() - timedelta(hours=24)
    per_queue = (
        TaskMinuteStat.objects.filter(minute__gte=since).values("queue")
        .annotate(ok=Sum("succeeded"), bad=Sum("failed"), rt=Sum("runtime_sum"),
                  n=Sum("runtime_count"))
    )
    in_flight = dict(
        TaskRun.objects.filter(queued_at__gte=since, state__in=IN_FLIGHT_STATES)
        .order_by().values("state").annotate(n=Count("id")).values_list("state", "n")
    )
    snapshot = {"per_queue": list(per_queue), "depths": {}, "workers_online": None,
                "beat_last_tick": None, "broker_up": False, "in_flight": in_flight}
    broker = redis_status()
    if broker["ok"]:
        client = redis_client()
        snapshot["broker_up"] = True
        snapshot["depths"] = queue_depths(client)
        snapshot["workers_online"] = sum(1 for w in worker_records(client) if w["online"])
        beat = beat_status(broker_ok=True)
        snapshot["beat_last_tick"] = beat.get("last_heartbeat")
    snapshot["scraped_at"] = time.time()
    return snapshot
