"""``prism lifecycle simulate|apply``: cost a storage lifecycle policy, or run it locally."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from typing import Any

from prism.settings import Env
from prism_tools.commands.arguments import iso_date, output_file, positive_int, readable_file

# Azurite's well-known local endpoint; the env var overrides it, --connection-string both.
_LOCAL_STORAGE = "UseDevelopmentStorage=true"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lifecycle", help="simulate the cost of a storage lifecycle policy, or apply it locally"
    )
    commands = parser.add_subparsers(dest="lifecycle_command", required=True, metavar="ACTION")

    simulate = commands.add_parser(
        "simulate",
        help="simulate a policy day by day and compare its cost with keeping everything hot",
    )
    simulate.add_argument(
        "--policy",
        type=readable_file,
        help="policy JSON (default: lifecycle_policies/default.json)",
    )
    source = simulate.add_mutually_exclusive_group(required=True)
    source.add_argument("--inventory", type=readable_file, help="Azure blob inventory report (CSV)")
    source.add_argument("--workload", type=readable_file, help="synthetic workload (JSON)")
    simulate.add_argument("--days", type=positive_int, default=365, help="days to simulate")
    simulate.add_argument(
        "--start",
        type=iso_date,
        help="day 0 for an inventory (default: the date of its newest blob)",
    )
    simulate.add_argument(
        "--prices", type=readable_file, help="price table JSON overriding the default"
    )
    simulate.add_argument(
        "--run-every",
        type=positive_int,
        default=1,
        metavar="DAYS",
        help="run the policy every DAYS days, not daily: what late runs cost (early deletion)",
    )
    simulate.add_argument("--json", action="store_true", help="print the full report as JSON")
    simulate.add_argument(
        "--plot", type=output_file, metavar="PNG", help="write the tier/cost plot"
    )
    simulate.set_defaults(handler=run_simulate)

    apply = commands.add_parser(
        "apply", help="tier and delete blobs in the local storage emulator as Azure would"
    )
    apply.add_argument(
        "--policy",
        type=readable_file,
        help="policy JSON (default: lifecycle_policies/default.json)",
    )
    apply.add_argument(
        "--as-of",
        type=iso_date,
        default=None,
        help="the day the policy runs (default: today in UTC)",
    )
    apply.add_argument("--dry-run", action="store_true", help="print the changes, make none")
    apply.add_argument(
        "--connection-string",
        help=f"storage connection string (default: ${Env.STORAGE_CONNECTION}, else Azurite)",
    )
    apply.set_defaults(handler=run_apply)


def run_simulate(args: argparse.Namespace) -> int:
    from prism.lifecycle import (
        compare_with_all_hot,
        inventory_cohorts,
        inventory_start,
        load_policy,
        load_prices,
        load_workload,
        workload_cohorts,
    )
    from prism.lifecycle.validation import DEFAULT_POLICY_PATH

    policy = load_policy(args.policy or DEFAULT_POLICY_PATH)
    if args.workload:
        cohorts = workload_cohorts(load_workload(args.workload), args.days)
    else:
        prefixes = {prefix for rule in policy.enabled_rules for prefix in rule.prefixes}
        start = args.start or inventory_start(args.inventory)
        cohorts = inventory_cohorts(args.inventory, start, prefixes)
    comparison = compare_with_all_hot(
        cohorts, policy, load_prices(args.prices), args.days, args.run_every
    )
    if args.plot:
        from prism_tools.lifecycle.plot import plot_comparison

        plot_comparison(comparison, args.plot)
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2))
    else:
        print(comparison.summary())
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from azure.storage.blob import BlobServiceClient

    from prism.lifecycle import load_policy
    from prism.lifecycle.validation import DEFAULT_POLICY_PATH
    from prism_tools.lifecycle.apply import (
        apply_changes,
        list_blob_states,
        plan_changes,
        policy_containers,
    )

    policy = load_policy(args.policy or DEFAULT_POLICY_PATH)
    # Azure runs lifecycle policies on UTC days, and every blob date is a UTC day
    # (prism_tools.lifecycle.apply): today must be one too, not the machine's local date.
    as_of = args.as_of or datetime.now(UTC).date()
    connection = args.connection_string or os.environ.get(Env.STORAGE_CONNECTION) or _LOCAL_STORAGE
    service = BlobServiceClient.from_connection_string(connection)
    changes = plan_changes(list_blob_states(service, policy_containers(policy)), policy, as_of)
    if not args.dry_run:
        apply_changes(service, changes)
    verb = "would change" if args.dry_run else "changed"
    for change in changes:
        print(change.describe())
    print(f"{verb} {len(changes)} blob(s) as of {as_of.isoformat()}")
    return 0
