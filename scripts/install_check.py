"""Did the demo run from the installed collection? The verdict of scripts/install_test.sh on the demo's log.

    python scripts/install_check.py LOG INSTALLED SOURCE [ALLOWED ...]

LOG is `ansible-playbook -vvv waldur.keycloak.demo`'s output, INSTALLED the installed collection
(.../ansible_collections/waldur/keycloak), SOURCE the checkout it was built from, ALLOWED the directories
under SOURCE that the commands may name without the collection coming from there: the virtualenv they
run from, whose third-party packages print their own paths (cryptography's DSA deprecation warning
names its site-packages on every ansible-* command).

Exit 0 when every task file and module of the collection came from INSTALLED and no other file of
SOURCE is named; else exit 1 with one line per finding.
"""

import os
import re
import sys

COLLECTION = "/ansible_collections/waldur/keycloak/"
INCLUDED = re.compile(r"^included: (/\S+)")
MODULE_FILE = re.compile(r"Using module file (/\S+)")


def _under(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def findings(log, installed, source, allowed=()):
    """The reasons (one line each) why LOG does not show a run from INSTALLED; [] when it does."""
    problems = []
    seen_included = seen_module = False
    source_path = re.compile(re.escape(source.rstrip("/")) + r"(?![\w.-])(?:/[^\s'\",:;)\]}]*)?")
    for number, line in enumerate(log.splitlines(), 1):
        reported = len(problems)
        included = INCLUDED.match(line)
        if included:
            seen_included = True
            if not _under(included.group(1), installed):
                problems.append("line %d: a task file included from outside the installed collection: %s"
                                % (number, included.group(1)))
        module = MODULE_FILE.search(line)
        # The collection's module: by its collection path (also a link to the checkout, as `make collection`
        # makes in the virtualenv), or any module file of the checkout that is no third party's.
        if module and (COLLECTION in module.group(1) or (
                _under(module.group(1), source) and not any(_under(module.group(1), d) for d in allowed))):
            seen_module = True
            if not _under(module.group(1), installed):
                problems.append("line %d: a module of the collection run from outside the installed copy: %s"
                                % (number, module.group(1)))
        if len(problems) > reported:
            continue
        for match in source_path.finditer(line):
            path = match.group(0)
            if not any(_under(path, directory) for directory in allowed) and not _under(path, installed):
                problems.append("line %d: the source tree is named: %s" % (number, path))
    if not seen_included:
        problems.append("no task file was included (expected the drift_report role's)")
    if not seen_module:
        problems.append("no module of the collection was run (expected 'Using module file' lines: run with -vvv)")
    return problems


def main(argv):
    log_path, installed, source = (os.path.realpath(path) for path in argv[:3])
    allowed = [os.path.realpath(path) for path in argv[3:]]
    with open(log_path, encoding="utf-8", errors="replace") as stream:
        problems = findings(stream.read(), installed, source, allowed)
    for problem in problems[:20]:
        print("install-test: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
