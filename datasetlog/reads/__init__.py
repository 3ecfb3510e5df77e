"""The read side of DatasetLog: datasets, versions, and any version's datapoints.

Every read goes to the read models, never to event replay; each statement
sees whole commits only, and a version, once committed, never changes.
``resolve`` is the one place a version reference is resolved.
"""
