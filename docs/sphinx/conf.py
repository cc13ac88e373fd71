# Sphinx configuration of the waldur.keycloak docs site, built by `make docs` (scripts/docs.sh build).
# Started from `antsibull-docs sphinx-init --use-current waldur.keycloak` (antsibull-docs 2.28), changed so
# that the build needs no network: no intersphinx inventories are fetched; the few references that the
# generated pages make to the Ansible documentation become plain links to docs.ansible.com (see setup()).
# Any other unresolved reference still fails the build (-W).

project = 'waldur.keycloak'
copyright = 'waldur.keycloak contributors'
title = 'waldur.keycloak collection documentation'
html_short_title = 'waldur.keycloak'

extensions = ['sphinx.ext.autodoc', 'sphinx_antsibull_ext']

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_title = title

default_role = 'any'
nitpicky = True

ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/latest/'
# Labels of the Ansible documentation that antsibull-docs' generated pages refer to.
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
}


def _ansible_docs_reference(app, env, node, contnode):
    """Resolve references to the Ansible documentation (not fetched: offline build) to external links."""
    from docutils import nodes

    reftype, target = node.get('reftype'), node.get('reftarget', '')
    if reftype == 'ref' and target in ANSIBLE_LABELS:
        uri = ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    elif reftype == 'envvar' and target.startswith('ANSIBLE_'):
        uri = ANSIBLE_DOCS + 'reference_appendices/config.html#envvar-' + target
    else:
        return None
    reference = nodes.reference('', '', internal=False, refuri=uri, reftitle=target)
    reference += contnode
    return reference


def setup(app):
    app.connect('missing-reference', _ansible_docs_reference)
