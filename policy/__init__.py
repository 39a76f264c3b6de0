"""The platform's CrossGuard policy pack: its guarantees as plain checks over (resource type, inputs).

`pulumi preview --policy-pack policy` runs them (see `__main__.py`); the tests run the same checks over
every resource the offline render records.
"""
