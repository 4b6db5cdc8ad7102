"""Schemathesis hooks of the contract test (loaded by the `schemathesis run`
that test_schema_contract.py starts; see schemathesis.toml beside this file).

positive_data_acceptance is told that a request the schema allows may still be
refused with 400: a cursor is opaque, a name may not hold a bidirectional
control, a restore's target may not lie inside what it restores. This check
holds the other half of that bargain: such a 400 names one of those rules in
its problem type, and is never invalid_input, DRF's answer for a field it
refused, which would mean the schema left out a constraint the serializer has.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

PROBLEM_TYPE_PREFIX = "urn:hubport:problem:"
# The codes that mean "a rule of the store JSON Schema cannot state".
SEMANTIC_400_CODES = frozenset(
    {
        "invalid_path",
        "invalid_cursor",
        "invalid_move",
        "restore_refused",
        "incomplete_upload",
        "invalid_content_length",
        "invalid_archive",  # a bulk upload's body must be a tar stream; the schema says binary
    }
)

# The bulk upload's tar stream is bytes to the generator, as any binary body is.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")


@schemathesis.check
def schema_valid_400_names_a_rule(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return
    try:
        problem = json.loads(response.content)
    except ValueError:
        raise AssertionError("A 400 answer is not a JSON problem.") from None
    code = str(problem.get("type", "")).removeprefix(PROBLEM_TYPE_PREFIX)
    if code not in SEMANTIC_400_CODES:
        raise AssertionError(
            f"A request the schema allows was refused with 400 {code}: {problem.get('detail')!r}. "
            "The schema should state that constraint."
        )
