"""Code that belongs to no domain: pagination, the W&B filter language, artifact paths, form plumbing.

Nothing here defines models or imports from `apps`; the apps import from here.
"""
