# -*- coding: utf-8 -*-
"""Run the collection's modules through real ansible-playbook processes."""

import json
import os
import subprocess
import sys
import tempfile

import yaml


class PlaybookResult(object):
    def __init__(self, results, stdout, stderr, returncode):
        self.results = results
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode

    @property
    def result(self):
        return self.results[-1]


def run_tasks(tasks, check=False, diff=False, env=None, extra_args=(), workdir=None, module_defaults=None):
    """Run ``tasks`` (dicts, each one module call) in one play; return every registered result.

    Each task's result is registered and written to a JSON file by a task that
    runs even in check mode, so tests read exactly what the module returned.
    """
    workdir = workdir or tempfile.mkdtemp(prefix="wk-play-")
    out = os.path.join(workdir, "results.json")
    play_tasks = []
    for index, task in enumerate(tasks):
        task = dict(task)
        task["register"] = "result_%d" % index
        task["ignore_errors"] = True
        play_tasks.append(task)
    play_tasks.append({
        "name": "save results",
        "ansible.builtin.copy": {
            "dest": out,
            "content": "{{ [%s] | to_json }}" % ", ".join("result_%d" % i for i in range(len(tasks))),
        },
        "check_mode": False,
        "diff": False,
    })
    play = {"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    playbook = [play]
    path = os.path.join(workdir, "play.yml")
    with open(path, "w") as stream:
        yaml.safe_dump(playbook, stream, sort_keys=False)
    command = ["ansible-playbook", "-i", "localhost,", "-c", "local", path]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    command.extend(extra_args)
    environment = dict(os.environ)
    # The modules run with the same Python (and libraries) as the tests.
    environment["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    environment["ANSIBLE_NOCOLOR"] = "1"
    environment.update(env or {})
    process = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=workdir, check=False)
    if not os.path.exists(out):
        raise AssertionError("ansible-playbook did not finish (rc %d):\n%s\n%s"
                             % (process.returncode, process.stdout[-3000:], process.stderr[-3000:]))
    with open(out) as stream:
        results = json.load(stream)
    return PlaybookResult(results, process.stdout, process.stderr, process.returncode)


def run_module(module, args, check=False, diff=False, env=None, extra_args=()):
    """One call of ``waldur.keycloak.<module>``; returns its result dict (``failed`` and ``msg`` on failure)."""
    run = run_tasks([{"waldur.keycloak." + module: args}], check=check, diff=diff, env=env, extra_args=extra_args)
    result = run.result
    result["_stdout"] = run.stdout
    result["_stderr"] = run.stderr
    return result
