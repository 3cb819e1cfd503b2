"""Bulk resubmission: many versions as Batch array jobs over a manifest, instead of one
SubmitJob each (`conveyor resubmit` / `reprocess` above a threshold).

plan: which versions go into which array (pure); staging: the one listing that says which
versions are still there; arrays: claim, manifest, SubmitJob, record, for one array; resume:
finding and adopting an array an earlier run submitted but never recorded; resubmit and
reprocess: the two commands' bulk paths.
"""
