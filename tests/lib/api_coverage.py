# SPDX-License-Identifier: Apache-2.0
"""Fails when an operation documented in api-spec/openapi.yaml was never exercised.

    api_coverage.py SPEC DIR TEST_FILE...

DIR holds what the test processes recorded (tests/conftest.py): exercised-*.jsonl lines
{"operation", "status"} and ran-*.txt, the test files each pytest run collected. The check
only judges a complete run: when some TEST_FILE did not run (ctest -R …), it says so and
passes.
"""
import glob
import json
import os
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    spec_path, directory, expected = argv[1], argv[2], set(argv[3:])
    ran = set()
    for path in glob.glob(os.path.join(directory, "ran-*.txt")):
        with open(path, encoding="utf-8") as f:
            ran.update(line.strip() for line in f if line.strip())
    missing_files = sorted(expected - ran)
    if missing_files:
        print(f"api coverage: partial run ({len(missing_files)} API test files did not run, "
              f"e.g. {missing_files[0]}); not judged")
        return 0
    exercised = {}
    for path in glob.glob(os.path.join(directory, "exercised-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                exercised.setdefault(rec["operation"], set()).add(rec["status"])
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    documented = sorted(op["operationId"] for item in spec["paths"].values()
                        for m, op in item.items() if m in METHODS)
    never = [op for op in documented if op not in exercised]
    for op in documented:
        statuses = ", ".join(str(s) for s in sorted(exercised.get(op, ())))
        print(f"  {op:28} {statuses or 'NEVER EXERCISED'}")
    if never:
        print(f"api coverage: {len(never)} documented operation(s) never exercised: "
              f"{', '.join(never)}")
        return 1
    print(f"api coverage: all {len(documented)} documented operations exercised")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
