"""The served process (wsgi.py): start-up objects out of the collector's generations, new cycles still collected."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = """
import gc, wsgi
frozen = gc.get_freeze_count()
class Node: pass
a, b = Node(), Node(); a.other, b.other = b, a  # a cycle made while serving
del a, b
print(frozen, gc.collect() >= 2)
"""


def test_wsgi_freezes_start_up_objects_and_still_collects_new_cycles(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "test",
           "SCHEDULER_IN_PROCESS": "0"}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    frozen, collected = out.stdout.split()
    assert int(frozen) > 10_000  # the app's objects
    assert collected == "True"
