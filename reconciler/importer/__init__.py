"""``reconciler import``: bring an existing account under git by writing manifests of what is deployed.

``run.import_account`` reads the account (read-only), ``select`` decides what to import, ``convert``
turns live resources into manifest data, ``writer``/``yamlout`` write the files, ``report`` prints the
outcome. See docs/import.md.
"""

from reconciler.importer.run import ImportOptions, ImportResult, import_account
from reconciler.importer.select import Filters

__all__ = ["Filters", "ImportOptions", "ImportResult", "import_account"]
