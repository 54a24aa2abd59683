"""Checks API answers against the OpenAPI document that describes them.

Usage: openapi_check.py SPEC.json CASES.json

CASES is a list of {"method", "path" (the document's template, e.g.
/api/v1/tasks/{id}), "status", "body"}. Each answer's status must be one
the document declares for that operation, and its body must match the
schema declared for that status (JSON Schema 2020-12, the dialect of
OpenAPI 3.1). Prints every mismatch; exits 1 when there is one.
"""

import json
import sys

import jsonschema


def main() -> int:
    spec_path, cases_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    problems = []
    for case in cases:
        where = f"{case['method'].upper()} {case['path']} -> {case['status']}"
        operation = spec.get("paths", {}).get(case["path"], {}).get(case["method"].lower())
        if operation is None:
            problems.append(f"{where}: the document has no such operation")
            continue
        response = operation.get("responses", {}).get(str(case["status"]))
        if response is None:
            problems.append(f"{where}: status not declared for this operation")
            continue
        content = response.get("content", {}).get("application/json")
        if content is None or "schema" not in content:
            problems.append(f"{where}: no JSON schema declared for this status")
            continue
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": spec.get("components", {}),
            **content["schema"],
        }
        validator = jsonschema.Draft202012Validator(schema)
        for error in validator.iter_errors(case["body"]):
            location = "/".join(str(p) for p in error.absolute_path) or "(body)"
            problems.append(f"{where}: at {location}: {error.message}")
    for problem in problems:
        print(problem)
    print(f"{len(cases)} answers checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
