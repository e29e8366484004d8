"""Reads one JSON command per line on stdin, answers one JSON line on stdout.

{"cmd": "run", "graphs": [...], "tag": "r0"}: builds each graph as Celery canvas (fan: chain of the
first task and a chord of the fan-out with the last task as its body; chain: a chain; parallel: a
group), applies them all and waits for every one.   {"cmd": "running"}: tasks running now.
"""
import json
import sys

from celery import chain, chord, group

from bench_tasks import PREFIX, _r, task


def canvas(g):
    shape, body = g["shape"], g["body"]
    secs = body.get("seconds", 0)
    t = lambda i: task.si(g["id"], i, body["kind"], secs)
    if shape["kind"] == "chain":
        return chain(*[t(i) for i in range(shape["n"])])
    if shape["kind"] == "parallel":
        return group(*[t(i) for i in range(shape["n"])])
    w = shape["width"]
    return chain(t(0), chord(group(*[t(k + 1) for k in range(w)]), t(w + 1)))


def main():
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "running":
                out = {"ok": True, "running": int(_r.get(PREFIX + ":running") or 0)}
            elif cmd["cmd"] == "run":
                _r.delete(PREFIX + ":times")
                _r.set(PREFIX + ":running", 0)
                results = [canvas(g).apply_async() for g in cmd["graphs"]]
                for res in results:
                    res.get(timeout=600, disable_sync_subtasks=False)
                    res.forget() if hasattr(res, "forget") else None
                times = {}
                for raw in _r.lrange(PREFIX + ":times", 0, -1):
                    gid, i, s, e = raw.decode().split(" ")
                    times.setdefault(gid, {})[int(i)] = [float(s), float(e)]
                out = {"ok": True, "times": times}
            else:
                out = {"ok": False, "error": "unknown command"}
        except Exception as exc:  # noqa: BLE001 - reported to the harness
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
