"""The preset dictionary with which plan details are packed (``cw_plan_detail.detail_zlib``).

A plan row's detail is a small JSON document (about 1.9 KB at 100,000 assets) whose keys and
most phrases are the same in every one: the debt factors' names and weights, the support
components' keys, the planner's own evidence and strategy wording. zlib packs such a document
alone about 2.5 times smaller (in some 30 microseconds); given these words first (a preset
dictionary, as zlib's ``zdict``), about 6 times (189 MB of details' text in 29.5 MB at 100,000
assets), in some 20 to 35 microseconds a detail.

The words are the detail format's own vocabulary (its keys, the factor names and the
planner's fixed wording), not any estate's data. Once details have been stored with them they
must never change: each packed detail names its dictionary by its Adler-32 checksum, which
:func:`agent.store.jsontext.detail_text` checks, and a changed dictionary would leave every
stored detail unreadable. A new vocabulary is a new constant beside this one, chosen by that
checksum. tests/agent/test_jsontext.py holds its SHA-256.

zlib reads a preset dictionary's end as the most likely to match: the words most details
hold come last.
"""

from __future__ import annotations

DETAIL_WORDS_1 = (
    b'"strategy_reasons":["OS: ","strategy_rule":"supported-x86","unsupported-os",'
    b'"support-ends-by-move","hypervisor-host","network-and-facilities","kept-for-what-stays",'
    b'"database-to-managed"," is eol: rebuild on a supported OS image in the cloud",'
    b'"hypervisor host: decommission once its guests have moved",'
    b'"database engine (database, web): move to a managed database service",'
    b" support ends by the end of its wave : rebuild on a supported OS image instead of moving"
    b' it as it is (was: supported OS on x86: lift and shift as it is)",'
    b'"hub":false,"debt_retired":0.0}'
    b'"support":[{"component":"os","subject":"","status":"supported","product":"","cycle":"",'
    b'"security_until":null,"extended_until":null,"days_remaining":null,"evidence":"",'
    b'"verdict":"supported","why":null,"packaged_by":null,'
    b'"source":"https://endoflife.date/ (endoflife.date, MIT licence; snapshot of 20'
    b'"status":"eol","status":"extended","status":"unknown": end of life since  days ago) '
    b": paid extended support only until : security fixes only until  days)"
    b'{"name":"criticality","weight":10.0,"value":0.0,"points":0.0,"evidence":"set to medium'
    b' by override","set to low by override","set to high by override"," dependants; PageRank'
    b' at percentile  of assets with dependants"},'
    b'{"name":"single_point_of_failure","weight":5.0,"value":0.0,"points":0.0,"evidence":'
    b'"only 2 dependants"," of callers also use another server on the same port"}],'
    b'"dependants":1'
    b'{"name":"utilisation","weight":5.0,"value":0.0,"points":0.0,"evidence":"CPU % on 8 cores'
    b": over-provisioned (below  with + cores): idle (below %) (a single poll's figure, no "
    b'sampled history)"},'
    b'{"name":"insecure_exposure","weight":15.0,"value":0.0,"points":0.0,"evidence":'
    b'"no insecure services observed"},'
    b'{"name":"hardware_age","weight":10.0,"value":0.0,"points":0.0,"evidence":"first seen (so'
    b' at least this old) : years (scored from  to  years)"},'
    b'{"name":"support_runway","weight":10.0,"value":0.0,"points":0.0,"evidence":"os support'
    b' ends 2029-01-09 in  days (scored over 730 days)","os already past end of support ("},'
    b'{"name":"hardware_support","weight":10.0,"value":0.0,"points":0.0,"evidence":"virtual'
    b' machine: no hardware of its own","no hardware end-of-life or warranty data (add the'
    b' model or serial to "},'
    b'{"name":"software_support","weight":10.0,"value":0.0,"points":0.0,"evidence":"no major'
    b' software with lifecycle data detected"},'
    b'{"factors":[{"name":"os_support","weight":25.0,"value":0.0,"points":0.0,"evidence":"'
)
