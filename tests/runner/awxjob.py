# -*- coding: utf-8 -*-
"""A job run as AWX runs it: a private data directory handed to ``ansible_runner.interface.run``.

What AWX does for a job (awx/main/tasks/jobs.py, ``BaseTask.run`` and ``RunJob``), and what this does:

- a fresh private data directory per job, with ``project/`` a copy of the project's checkout (each job
  has its own: what a job writes there is discarded with it), ``inventory/hosts`` an executable script
  that prints the inventory as JSON, ``env/extravars`` (YAML: the template's extra variables plus AWX's
  ``awx_*`` variables), ``env/cmdline`` (``--check`` for the job type *Check*, ``--diff`` for *Show
  Changes*), ``env/settings`` (``suppress_ansible_output``);
- the credential's injector rendered with its inputs (AWX renders it with a sandboxed Jinja) into the
  job's environment, next to AWX's ``AWX_PRIVATE_DATA_DIR``; AWX hands that environment to ansible-runner, here it is ``env/envvars``;
- ``ansible_runner.interface.run(ident=<job id>, private_data_dir=..., playbook=<relative to project/>,
  inventory=..., suppress_env_files=True, fact_cache_type='')`` (no ``passwords``: without a machine
  credential AWX has no prompt to answer), process isolation off, as the
  ``ansible-runner worker`` inside an execution environment runs it.

A job on a remote execution node (``launch(..., execution_node=True)``, ``Awx.launch_on_node``) goes through
ansible-runner's streams as AWX's ``AWXReceptorJob`` drives them: ``transmit`` on the controller, ``ansible-runner
worker`` in a directory of the node's own, ``process`` back into the controller's directory.

Two settings differ from AWX's defaults, both to look at more, not less: ``suppress_output_file`` is off
(AWX's ``AWX_RUNNER_SUPPRESS_OUTPUT_FILE``), so ``artifacts/<id>/stdout`` is written and searched too; and
the job events are left on disk (AWX receives the same event dicts through its ``event_handler``).
"""

import json
import os
import shutil
import subprocess

import ansible_runner
import yaml
from ansible_runner.utils import args2cmdline
from jinja2.sandbox import ImmutableSandboxedEnvironment

# AWX's Demo Inventory: localhost, local connection, the Python that runs Ansible.
DEMO_INVENTORY = {
    "all": {"hosts": ["localhost"]},
    "_meta": {"hostvars": {"localhost": {"ansible_connection": "local",
                                         "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
}


def inject(injectors, inputs):
    """The environment a custom credential type's ``env`` injector gives a job (rendered as AWX renders it)."""
    sandbox = ImmutableSandboxedEnvironment()
    return dict((name, sandbox.from_string(template).render(**inputs))
                for name, template in injectors.get("env", {}).items())


class Job(object):
    """One finished job: its private data directory and what ansible-runner left in ``artifacts/<id>``."""

    def __init__(self, job_id, private_data_dir, runner, node_dir=None):
        self.id = job_id
        self.dir = private_data_dir
        self.node_dir = node_dir     # the execution node's directory of the job; None: run on the controller
        self.runner = runner
        self.artifacts = os.path.join(private_data_dir, "artifacts", str(job_id))

    def artifact(self, name):
        with open(os.path.join(self.artifacts, name)) as stream:
            return stream.read()

    @property
    def status(self):
        return self.artifact("status").strip()

    @property
    def rc(self):
        return int(self.artifact("rc").strip())

    def events(self):
        """The job events, in order (artifacts/<id>/job_events/<counter>-<uuid>.json)."""
        folder = os.path.join(self.artifacts, "job_events")
        events = []
        for name in os.listdir(folder):
            with open(os.path.join(folder, name)) as stream:
                events.append(json.load(stream))
        return sorted(events, key=lambda event: event["counter"])

    def task_results(self, task, event="runner_on_ok"):
        """``event_data.res`` of each ``event`` of the task named ``task``."""
        return [e["event_data"]["res"] for e in self.events()
                if e["event"] == event and e["event_data"].get("task") == task]

    def stdout(self):
        return self.artifact("stdout")

    def project_file(self, *parts):
        return os.path.join(self.dir, "project", *parts)

    def node_file(self, *parts):
        """A file in the node's copy of the project (what the job wrote there stays on the node)."""
        return os.path.join(self.node_dir, "project", *parts)

    def summary(self):
        """What to show when a job did not end as expected: status, rc and the end of its output."""
        return "job %s: status %s, rc %s\n%s" % (self.id, self.status, self.rc, self.stdout()[-3000:])


class Awx(object):
    """The AWX side of the tests: a project (the repository checkout), a credential, numbered jobs."""

    def __init__(self, root, repository, credential_env):
        self.root = root
        self.repository = repository
        self.credential_env = credential_env
        self.last_id = 0

    def launch(self, playbook, name, job_type="run", diff_mode=False, extra_vars=None, fact_storage=False,
               execution_node=False):
        """Run a job of the template ``name``; ``execution_node``: on a remote execution node (``launch_on_node``)."""
        self.last_id += 1
        job_id = self.last_id
        private_data_dir = os.path.join(self.root, "awx_%d_job" % job_id)
        os.makedirs(private_data_dir, mode=0o700)
        for sub in ("inventory", "env"):
            os.mkdir(os.path.join(private_data_dir, sub), 0o700)
        shutil.copytree(self.repository, os.path.join(private_data_dir, "project"))

        hosts = os.path.join(private_data_dir, "inventory", "hosts")
        self._write(hosts, "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n"
                    % json.dumps(DEMO_INVENTORY), 0o700)
        variables = dict(extra_vars or {})
        variables.update({"awx_job_id": job_id, "awx_job_template_name": name, "awx_job_launch_type": "manual",
                          "tower_job_id": job_id, "tower_job_template_name": name})
        self._write(os.path.join(private_data_dir, "env", "extravars"), yaml.safe_dump(variables))
        args = (["--check"] if job_type == "check" else []) + (["--diff"] if diff_mode else [])
        self._write(os.path.join(private_data_dir, "env", "cmdline"), args2cmdline(*args))
        self._write(os.path.join(private_data_dir, "env", "settings"), json.dumps(
            {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": False}))
        # AWX's own variable (BaseTask.build_env), then what the credential injects.
        envvars = dict(self.credential_env, AWX_PRIVATE_DATA_DIR=private_data_dir)
        self._write(os.path.join(private_data_dir, "env", "envvars"), json.dumps(envvars))

        params = dict(
            ident=job_id, private_data_dir=private_data_dir, playbook=playbook, inventory=hosts,
            # The template's "Enable Fact Storage": ansible-runner's jsonfile fact cache in artifacts/<id>/fact_cache.
            suppress_env_files=True, fact_cache_type="jsonfile" if fact_storage else "",
            process_isolation=False, quiet=True)
        if execution_node:
            return self.launch_on_node(job_id, params)
        runner = ansible_runner.interface.run(**params)
        job = Job(job_id, private_data_dir, runner)
        assert (job.status, job.rc) == (runner.status, runner.rc), "the artifacts disagree with the runner"
        return job

    def launch_on_node(self, job_id, params):
        """The job on a remote execution node, as AWXReceptorJob (awx/main/tasks/receptor.py) runs it.

        The controller streams the job (``interface.run(streamer='transmit')``: the kwargs, then the private
        data directory zipped) to receptor, whose ``ansible-runner`` work type runs ``ansible-runner worker
        --private-data-dir=<dir>`` on the node with that stream on its standard input; the worker unpacks it into
        its own directory, runs the job and writes its events, its status and, at the end, its
        ``artifacts/<id>`` zipped to its standard output, which receptor carries back to the controller's
        ``interface.run(streamer='process')``, after AWX has removed the controller's ``artifacts/``. Here a pipe
        stands for receptor, and the node's disk is another directory: nothing passes from the controller to the
        node or back but the two streams. AWX adds ``--delete`` (the node's directory is removed before and after
        the job) when it cleans up paths (``AWX_CLEANUP_PATHS``, on by default); here it is kept, to be looked at.
        """
        node_dir = os.path.join(self.root, "node", "awx_%d_job" % job_id)
        os.makedirs(os.path.dirname(node_dir), mode=0o700, exist_ok=True)
        worker_cli = shutil.which("ansible-runner")
        assert worker_cli, "ansible-runner is not on PATH"
        with open(node_dir + ".stderr", "wb") as stderr:
            worker = subprocess.Popen([worker_cli, "worker", "--private-data-dir", node_dir],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)

            # AWX transmits in a thread while receptor takes the stream in; the worker reads all of it before it
            # writes anything back, so here the transmit can finish first.
            try:
                ansible_runner.interface.run(streamer="transmit", _output=worker.stdin, **params)
            finally:
                worker.stdin.close()     # the end of the stream: without it the worker would wait forever
            shutil.rmtree(os.path.join(params["private_data_dir"], "artifacts"), ignore_errors=True)
            processor = ansible_runner.interface.run(streamer="process", _input=worker.stdout, **params)
            worker.stdout.close()
            worker.wait(timeout=60)
        job = Job(job_id, params["private_data_dir"], processor, node_dir=node_dir)
        # The worker exits with the job's rc, which receptor reports as the work unit's end.
        assert (job.status, job.rc) == (processor.status, worker.returncode), \
            "the processed artifacts disagree with the worker: rc %s, %s" % (
                worker.returncode, read_text(node_dir + ".stderr"))
        return job

    @staticmethod
    def _write(path, text, mode=0o600):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as stream:
            stream.write(text)


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def read(path):
    with open(path, "rb") as stream:
        return stream.read()
