#!/usr/bin/env python3
"""moto's server, shimmed so it can deploy ingest's generated stacks. Test tooling only.

    .tools/venv-moto/bin/python tests/moto/ingest_moto.py -H 127.0.0.1 -p PORT

It starts exactly the server `moto_server` starts (moto 5.2.5, werkzeug, threaded, every
service), after applying the patches listed in `shim.PATCHES` (tests/moto/shim/__init__.py):
each names the gap of moto it covers and how. The list is printed at start, one line per
patch, so a test log always says what the fake AWS does differently from plain moto.

What the patches do, in short: resource types moto's CloudFormation does not model get a
generic model driven by cfn-lint's resource schemas (Ref/GetAtt with well-shaped values,
schema validation of properties); CloudFormation's lifecycle (template and parameter checks
at CreateChangeSet, "no changes" as a FAILED change set, per-resource events, rollback,
DeletionPolicy) replaces moto's; the moto models that crash on valid properties or drop them
(KMS keys, API Gateway methods, Route 53 records and health checks, S3 bucket settings) are
mended, and the resources moto only has service APIs for (API Gateway stages and custom
domains, bucket and queue policies, CloudWatch alarms) are created in those backends; Route 53
health checks are evaluated against the fake (so the lever's drain switches can be observed),
and SQS dead-letter redrive (StartMessageMoveTask) exists. A test-only endpoint creates a
hosted zone with a chosen id (POST /moto-api/ingest/hosted-zones). The templates are never
changed: where AWS would reject one, the shim rejects it too. tests/moto/README.md has the list
and what moto itself does and does not do.

The tests of the shim itself are tests/moto/test_ingest_moto.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

STARTED = time.monotonic()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import moto  # noqa: E402
import shim  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-H", "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument("-p", "--port", type=int, required=True, help="port to listen on")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every shim decision")
    args = parser.parse_args(argv)

    if moto.__version__ != shim.MOTO_VERSION:
        sys.exit(
            f"ingest_moto: moto {moto.__version__} is installed, the shim is written for moto "
            f"{shim.MOTO_VERSION} (requirements/moto.txt); re-run scripts/setup-python"
        )
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    log = logging.getLogger("ingest_moto")
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    # moto warns once per resource it does not model; the shim models them all.
    logging.getLogger("moto").setLevel(logging.ERROR)

    patches = shim.install()
    log.info("moto %s with %d test-only patches (tests/moto/shim):", moto.__version__, len(patches))
    for patch in patches:
        log.info("  patch %-18s gap: %s", patch.name, patch.gap)
        log.info("  %-24s fix: %s", "", patch.fix)
    log.info(
        "patched in %.2f s; starting moto's server on http://%s:%d",
        time.monotonic() - STARTED,
        args.host,
        args.port,
    )

    from moto.server import main as moto_server_main

    moto_server_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
