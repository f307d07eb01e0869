#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The server's layers, one folder each, depend one way (docs/architecture.md): handlers
(api/) over request machinery (http/) over SQL (db/) over pure domain code (domain/). A file
that includes a header of a layer above its own fails `make test` (check.source), naming the
file and the header. Top-level files (main.c, scheduler.c …) wire the layers and may include
any."""
import os
import re
import sys

ORDER = ("domain", "db", "http", "api")  # bottom to top


def main(root):
    server = os.path.join(root, "server")
    layer_of = {}
    for layer in ORDER:
        for name in os.listdir(os.path.join(server, layer)):
            if name.endswith((".c", ".h")):
                layer_of[name] = layer
    bad = []
    for layer in ORDER:
        for name in sorted(os.listdir(os.path.join(server, layer))):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(server, layer, name), encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    target = layer_of.get(os.path.basename(m.group(1))) if m else None
                    if target and ORDER.index(target) > ORDER.index(layer):
                        bad.append(f"server/{layer}/{name}:{n}: includes {m.group(1)} "
                                   f"of {target}/, a layer above {layer}/")
    for b in bad:
        print(f"checklayers: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
