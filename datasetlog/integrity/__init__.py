"""Integrity verification: re-derive what a store holds from its raw rows and compare.

:func:`~datasetlog.integrity.verify.verify` reads the store in one snapshot
and checks:

1. Commits (``scan``): global positions run 1..n without gaps; each dataset's
   sequences run 1..m without gaps and its content versions 0, 1, 2, ... in
   order; a dataset's first commit starts with a ``dataset_created`` event.
2. Events (``scan``): commit ``i`` owns the event positions right after commit
   ``i - 1``'s, exactly ``event_count`` of them, each naming ``i`` as its
   commit; no event is left without a commit; every event decodes and matches
   the digest stored beside it, which names an edited event within its commit.
3. Hash chains (``scan``): each commit's hash, recomputed over its stored
   content and its stream parent's *stored* hash, equals its stored hash.
   Chaining to the stored parent pins a change on the commit that changed,
   not on every later one. The hash is unkeyed: it catches corruption and
   naive edits, not a forger who rewrites the hashes too.
4. Read models (``replay``): every commit is replayed into fresh read models in
   a private store (a temporary file), which must equal the stored tables row
   by row; a missing table is a problem, and the stored applied position must
   be the last commit's.
5. The projector's fold (``fold``, checked against
   :mod:`datasetlog.projector`, the reference read path) must agree with the
   read models on every live dataset (``projection``): its fields, its latest
   version and that version's content; of a fork, the datapoints it holds
   itself (its inherited ones are its source's).

The scan (``scan``) reads commits and events once, in position order, and
feeds each commit's events a batch at a time to the hash, the decoder, the
fold and the replay (``feeds``): time and memory follow what the store holds,
a fork costs what it stores, and no commit is held whole. Memory or disk
running out ends a run with ``VerifyIncompleteError``, never with a problem
reported in the store.

``report`` holds what a run found. Added in 0.1; changed in 0.2 (#27).
"""
