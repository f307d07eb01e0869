# SPDX-License-Identifier: Apache-2.0
"""Measurements 5 and 6 of issue #8 (placeholder)."""


def run(ctx):
    ctx.results["replication"] = {"skipped": "not yet"}
