# -*- coding: utf-8 -*-
"""Test-only stand-in for ``kubernetes.core.k8s``: records its arguments, talks to no cluster.

tests/docs/conftest.py installs it as the module ``k8s`` of a collection ``kubernetes.core`` in a
temporary collections path, so the README's Rancher binding play runs for real; each call appends
its arguments, as one JSON line, to the file named by WALDUR_DOCS_K8S_RECORD, which the test reads.
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def main():
    # Only what the docs use: an unknown option fails, as the real module's would not silently work.
    module = AnsibleModule(
        argument_spec=dict(
            definition=dict(type="dict", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    with open(os.environ["WALDUR_DOCS_K8S_RECORD"], "a") as stream:
        stream.write(json.dumps(module.params, sort_keys=True) + "\n")
    module.exit_json(changed=True, result=module.params["definition"])


if __name__ == "__main__":
    main()
