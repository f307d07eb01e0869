#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Converts the OpenAPI YAML to JSON at build time (mse-server serves both)."""
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.safe_load(f)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(doc, f, separators=(",", ":"), ensure_ascii=False)  # compact, as every answer
