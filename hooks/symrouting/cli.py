"""Command line: `python -m symrouting preflight|discover|teardown|prune|wait|verify|diagram|status|adopt`.

Credentials, the first that applies: `--server`, `--token-file` and `--ca-file` name an API
server directly; `--kubectl` goes through `kubectl get --raw`; in a pod (KUBERNETES_SERVICE_HOST
set, the Helm hook Job) the pod's service account; else the kubeconfig kubectl reads
(KUBECONFIG, or ~/.kube/config), through kubectl. Outside a pod a refused connection ends the
run at once (exit 3); in a pod it is retried until the deadline, as an API server restarts.
Every retry burst says so in one line on standard error, as does every wait for nodes.

Exit codes: 0 all checks passed (or the nodes were cleaned, status found every release
symmetric and healthy, or the adoption is clean); 1 a check failed (or warned, with
--warnings-fail), a node did not apply a removal or (wait) the release, another release's
cleanup held the Lease past --timeout, status found a problem, or adopt found a difference;
2 bad arguments; 3 the API could not be read (unreachable, or it refused the request); 4 a
broken hook: the plan unreadable, an answer the hook cannot read (not a JSON object, paging
without end), or an internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from symrouting.api import ApiError, HttpsTransport, Transport, Unexpected, Unreachable
from symrouting.gather import gather
from symrouting.plan import Plan, PlanError, parse_plan

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_API, EXIT_BROKEN = 0, 1, 2, 3, 4


class UnreadablePlan(Exception):
    """The plan is missing or malformed: the chart or the hook is broken (exit 4)."""


def notice(line: str) -> None:
    """A progress or retry line on standard error, flushed at once so that `kubectl logs -f`
    of a hook Job shows it while the hook still runs."""
    sys.stderr.write(f"symrouting: {line}\n")
    sys.stderr.flush()


# name: (help, reads the API, reads a plan)
COMMANDS = {
    "preflight": ("check the cluster before the release touches a node", True, True),
    "discover": ("print a values override with the cluster's CIDRs", True, False),
    "teardown": ("remove the release's VRFs from the nodes (before uninstall)", True, True),
    "prune": ("remove from the nodes what the new values drop (before upgrade)", True, True),
    "wait": ("wait until nmstate applied the release's policies on their nodes (after install/upgrade)", True, True),
    "verify": ("check the installed release works (helm test)", True, True),
    "diagram": ("draw the site's topology from its plan (no cluster needed)", False, True),
    "status": ("show a release's live symmetry: enactments, VRFs, sessions, announcements", True, True),
    "adopt": ("write a site values file from a setup built by hand, and prove it", True, False),
    "leftovers": ("list what the nodes carry that no policy declares; --remove takes it off", True, False),
}
# What the hook Jobs run; the other commands, their options and the help's examples are in
# commands.py, which the hooks' zip leaves out.
JOB_COMMANDS = ("preflight", "teardown", "prune", "wait", "verify")
# Commands whose plan may be left out (status then finds the releases by the chart's labels).
PLAN_OPTIONAL = ("status",)



def prog_name(argv0: str) -> str:
    """`kubectl symrouting` when kubectl runs this as its plugin `kubectl-symrouting` (kubectl
    finds plugins by that prefix on PATH: kubectl's pkg/cmd/plugin), else `symrouting`."""
    return "kubectl symrouting" if Path(argv0).name == "kubectl-symrouting" else "symrouting"


def chart_app_version(chart_yaml: str) -> str:
    """appVersion of a Chart.yaml's text (the version of this command)."""
    found = re.search(r"""^appVersion:[ \t]*["']?([^"'\s#]+)""", chart_yaml, re.MULTILINE)
    return found.group(1) if found else "unknown"


def version() -> str:
    """The chart's appVersion: from Chart.yaml beside the source tree, else from the
    installed distribution (whose version setup.py took from the same line)."""
    chart = Path(__file__).resolve().parents[2] / "Chart.yaml"
    if chart.is_file():
        return chart_app_version(chart.read_text())
    from importlib import metadata

    try:
        return metadata.version("symrouting")
    except metadata.PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """--version, read only when asked: from the ConfigMap (no Chart.yaml beside it) version()
    imports importlib.metadata, which would cost every hook run."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        sys.stdout.write(f"{parser.prog} {version()}\n")
        parser.exit()


class _ChecksHelp(argparse.HelpFormatter):
    """Names the preflight's checks in --skip's help only when the help is shown: the checks
    module is the preflight's and verify's alone, and the other commands do without it
    (every module is compiled from source on each run, from the ConfigMap)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.dest != "skip":
            return action.help
        from symrouting.checks import CHECKS

        return f"{action.help}: {', '.join(CHECKS)}"


def poll_help() -> str:
    """--poll's help for the commands that wait for the enactments."""
    from symrouting.nodeconfig import FIRST_POLL

    return f"longest wait between looks at the enactments (the first is {FIRST_POLL:g} s, each next twice as long)"


def _parser(prog: str = "symrouting", only: str | None = None, tool: Any = None) -> argparse.ArgumentParser:
    """The command line; with only, the subcommand of that name alone (the others' options
    are never read on its run, and building them all costs each hook run more than a
    request). tool, the commands module, adds a person's commands' options and the examples."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     epilog=tool.EXAMPLES if tool else None,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version, nargs=0, default=argparse.SUPPRESS,
                        help="show program's version number and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, reads_api, reads_plan) in COMMANDS.items():
        if only is not None and name != only:
            continue
        command = sub.add_parser(name, help=help_text, formatter_class=_ChecksHelp if name == "preflight"
                                 else argparse.HelpFormatter)
        if reads_plan:
            plan = command.add_mutually_exclusive_group(required=name not in PLAN_OPTIONAL)
            plan.add_argument("--plan", type=Path, help="plan.json as the chart renders it ('-' for stdin)")
            plan.add_argument("--plan-from-manifest", type=Path,
                              help="`helm template` output holding the hooks ConfigMap ('-' for stdin)")
        if reads_api:
            api = command.add_argument_group(
                "API access (default: the pod's service account in a pod, else your kubeconfig through kubectl)")
            api.add_argument("--kubectl", action="store_true", help="go through `kubectl get --raw`")
            api.add_argument("--context", help="kubeconfig context, with --kubectl")
            api.add_argument("--server", help="API server URL, with --token-file and --ca-file")
            api.add_argument("--token-file", type=Path)
            api.add_argument("--ca-file", type=Path)
            api.add_argument("--request-timeout", type=float, default=10.0, help="seconds per request (default 10)")
            api.add_argument("--deadline", type=float, default=60.0,
                             help="seconds of retries for one request before giving up (default 60)")
        if name == "teardown":
            command.add_argument("--peers-only", action="store_true",
                                 help="leave the nodes alone; only delete the peers that name a BFD profile")
        if name in ("teardown", "prune"):
            command.add_argument("--timeout", type=float, default=600.0,
                                 help="seconds for the cleanup in all: waiting for another release's cleanup "
                                      "to end (the Lease), then for nmstate to apply the removals on every node "
                                      "(default 600)")
            command.add_argument("--poll", type=float, default=2.0, help=poll_help())
            command.add_argument("--continue-on-failure", action="store_true",
                                 help="exit 0 even when a node did not apply a removal (the report still says so)")
        if name == "wait":
            command.add_argument("--timeout", type=float, default=600.0,
                                 help="seconds to wait for every node, all waves together (default 600)")
            command.add_argument("--poll", type=float, default=2.0, help=poll_help())
        if name == "preflight":
            command.add_argument("--json", action="store_true", help="print the report as JSON")
            command.add_argument("--warnings-fail", action="store_true", help="exit 1 on warnings too")
            command.add_argument("--skip", action="append", default=[], metavar="CHECK",
                                 help="skip a check (repeatable, or comma-separated)")
        if name == "verify":
            command.add_argument("--status", action="store_true",
                                 help="then show the release's live status too (helm test); exit 1 if either fails")
        if tool is not None:
            tool.add_options(name, command)
    return parser


# The hook each command runs as, for the advice a 403 gives.
ROLES = {"preflight": "preflight", "prune": "cleanup", "teardown": "cleanup", "wait": "wait", "verify": "verify",
         "discover": "user", "status": "user", "adopt": "user", "leftovers": "user"}


def transport_for(args: argparse.Namespace, env: dict[str, str] | None = None) -> Transport:
    """The credentials, in the order the module's docstring gives."""
    env = dict(os.environ) if env is None else env
    role = ROLES.get(args.command, "preflight")
    if args.server:
        if not (args.token_file and args.ca_file):
            raise ApiError("--server needs --token-file and --ca-file")
        return HttpsTransport(args.server, args.token_file.read_text().strip(), args.ca_file,
                              timeout=args.request_timeout, deadline_seconds=args.deadline, role=role,
                              refused_is_final=True, notice=notice)
    # client-go's rest.InClusterConfig also starts from KUBERNETES_SERVICE_HOST.
    if not args.kubectl and env.get("KUBERNETES_SERVICE_HOST"):
        return HttpsTransport.in_cluster(env, timeout=args.request_timeout, deadline_seconds=args.deadline, role=role,
                                         notice=notice)
    from symrouting.kubectl import KubectlTransport, kubeconfig_paths  # the tool's: not in the hooks' zip

    if not args.kubectl and not kubeconfig_paths(env, Path(env.get("HOME", "~")).expanduser()):
        raise ApiError("no credentials: not in a pod (KUBERNETES_SERVICE_HOST is unset) and no kubeconfig at "
                       "$KUBECONFIG or ~/.kube/config; point KUBECONFIG at one, or give --server, --token-file "
                       "and --ca-file")
    return KubectlTransport(context=args.context, deadline_seconds=args.deadline, notice=notice)


def _read(path: Path, stdin: TextIO) -> str:
    return stdin.read() if str(path) == "-" else path.read_text()


def plan_from_manifest(manifest: str) -> str:
    """The plan.json block of the hooks ConfigMap in `helm template` output."""
    lines = manifest.splitlines()
    for index, line in enumerate(lines):
        if line.strip() in ("plan.json: |", "plan.json: |-"):
            indent = len(line) - len(line.lstrip()) + 2
            block = []
            for body in lines[index + 1:]:
                if body.strip() and len(body) - len(body.lstrip()) < indent:
                    break
                block.append(body[indent:])
            return "\n".join(block)
    raise UnreadablePlan("no plan.json in the manifest: render with preflight.enabled=true")


def load_plan(args: argparse.Namespace, stdin: TextIO) -> Plan:
    try:
        if args.plan is not None:
            raw = _read(args.plan, stdin)
        else:
            raw = plan_from_manifest(_read(args.plan_from_manifest, stdin))
    except OSError as error:
        raise UnreadablePlan(f"cannot read the plan: {error}") from None
    try:
        decoded = json.loads(raw)
    except ValueError as error:
        raise UnreadablePlan(f"plan is not valid JSON: {error}") from None
    try:
        return parse_plan(decoded)
    except PlanError as error:
        raise UnreadablePlan(str(error)) from None


def preflight(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> int:
    from symrouting import report
    from symrouting.checks import CHECKS, Options, failed, run_checks

    plan = load_plan(args, stdin)
    skip = frozenset(name.strip() for value in args.skip for name in value.split(",") if name.strip())
    unknown = sorted(skip - set(CHECKS))
    if unknown:
        raise PlanError(f"unknown check(s) to skip: {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    facts = gather(transport_for(args), plan)
    results = run_checks(plan, facts, Options(skip=skip, warnings_fail=args.warnings_fail))
    bad = failed(results, args.warnings_fail)
    verdict = (f"preflight FAILED for release {plan.namespace}/{plan.release}: nothing was changed on the nodes"
               if bad else f"preflight passed for release {plan.namespace}/{plan.release}")
    stdout.write(report.as_json(results, verdict, not bad) if args.json else report.text(results, verdict))
    return EXIT_FAILED if bad else EXIT_OK


def clean(args: argparse.Namespace, stdout: TextIO, stdin: TextIO, stderr: TextIO) -> int:
    import gc
    from contextlib import AbstractContextManager, nullcontext

    from symrouting import cleanup, lease, peers

    # The policies and nodes are read once and kept; the answers of each look at the
    # enactments are freed as they go: the cyclic collector would sweep thousands of live
    # objects again and again and free nothing (benchmarks/preflight.py, the teardown).
    gc.disable()
    plan = load_plan(args, stdin)
    transport = transport_for(args)
    uninstall = args.command == "teardown"

    def log(line: str) -> None:
        stderr.write(f"symrouting: {line}\n")
        stderr.flush()

    if getattr(args, "peers_only", False):
        # cleanup.onUninstall: false: nothing leaves the nodes, so no Lease and no wait
        deleted = peers.delete_before_profiles(transport, plan, uninstall)
        stdout.write("".join(f"{line}\n" for line in deleted))
        stdout.write(f"{args.command} of release {plan.namespace}/{plan.release}: nodes left as they are "
                     "(cleanup.onUninstall: false)\n")
        return EXIT_OK
    # One cleanup at a time in the cluster (lease.py); --timeout covers the wait for it too.
    guard: AbstractContextManager[float] = nullcontext(0.0)
    if plan.cleanup_lease:
        holder = lease.identity(f"{plan.namespace}/{plan.release} {args.command}")
        held = lease.Lease(transport, plan.metallb_namespace, plan.cleanup_lease, holder)
        guard = lease.held(held, args.timeout, log)
    else:
        log("WARN  the plan names no cleanup Lease (an older chart rendered it): not serialised with other releases")
    try:
        with guard as waited:
            outcomes = cleanup.run(transport, plan, uninstall=uninstall, timeout=max(args.timeout - waited, 0.0),
                                   poll=args.poll, say=log)
            # Only once Helm goes on: a failed cleanup stops it, and the peers stay with the release.
            if all(outcome.ok for outcome in outcomes) or args.continue_on_failure:
                deleted = peers.delete_before_profiles(transport, plan, uninstall)
            else:
                deleted = []
    except lease.LeaseTimeout as error:
        stderr.write(f"symrouting: {args.command} of release {plan.namespace}/{plan.release} did not start, "
                     f"nothing was written: {error}\n")
        return EXIT_OK if args.continue_on_failure else EXIT_FAILED
    except cleanup.Interrupted as stop:
        # What was written goes to the report first; the error's own exit code and line follow.
        stdout.write(cleanup.stopped_report(stop.outcomes, f"{args.command} of release {plan.namespace}/{plan.release}",
                                            stop.error))
        stdout.flush()
        raise stop.error from None
    stdout.write("".join(f"{line}\n" for line in deleted))
    stdout.write(cleanup.report(outcomes, f"{args.command} of release {plan.namespace}/{plan.release}"))
    if all(outcome.ok for outcome in outcomes) or args.continue_on_failure:
        return EXIT_OK
    return EXIT_FAILED


def wait(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> int:
    from symrouting import wait as rollout

    plan = load_plan(args, stdin)
    waves = rollout.run(transport_for(args), plan, timeout=args.timeout, poll=args.poll, say=notice)
    stdout.write(rollout.report(waves, f"{plan.namespace}/{plan.release}"))
    return EXIT_OK if all(wave.ok for wave in waves) else EXIT_FAILED


def verify(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> int:
    from symrouting import report
    from symrouting import verify as checks
    from symrouting.checks import failed

    plan = load_plan(args, stdin)
    results = checks.verify(transport_for(args), plan)
    bad = failed(results, warnings_fail=False)
    verdict = f"release {plan.namespace}/{plan.release} " + ("does NOT route symmetrically yet" if bad else "verified")
    stdout.write(report.text(results, verdict))
    code = EXIT_FAILED if bad else EXIT_OK
    if args.status:
        from symrouting import status

        stdout.write("\n")
        text, live = status_text(status, transport_for(args), [plan], colour=False)
        stdout.write(text)
        code = max(code, live)
    return code


def status_text(status: Any, transport: Transport, plans: list[Plan], colour: bool, every_row: bool = False,
                as_json: Callable[[list[Any], Any], str] | None = None) -> tuple[str, int]:
    """One look at the releases of plans: the status table (or the as_json text) to print and
    its exit code."""
    observed = status.observe(transport, plans, leftovers=as_json is None)  # the text lists them under its table
    statuses = [status.evaluate(plan, observed) for plan in plans]
    code = EXIT_OK if all(s.ok for s in statuses) else EXIT_FAILED
    if as_json is not None:
        return as_json(statuses, observed), code
    text = status.table(statuses, colour, every_row)
    if "malformed" in observed.unavailable:
        text += f"note: {observed.unavailable['malformed']}\n"
    return text + _leftover_rows(observed), code


def _leftover_rows(observed: Any) -> str:
    """What the nodes carry that no policy declares, per node, under the status table."""
    from symrouting import leftovers

    if observed.leftovers_unread:
        return f"leftovers: not checked: {observed.leftovers_unread}\n"
    if not observed.leftovers:
        return ""
    lines = "".join(f"  {line}\n" for line in leftovers.lines(observed.leftovers))
    return ("leftovers on the nodes (no policy declares them; `symrouting leftovers --remove` takes them off):\n"
            + lines)


def main(argv: list[str] | None = None, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr,
         stdin: TextIO = sys.stdin) -> int:
    given = sys.argv[1:] if argv is None else argv
    # The first word names the command; anything else (--help, --version, a typo) gets them all.
    only = given[0] if given and given[0] in COMMANDS else None
    tool: Any = None
    if only not in JOB_COMMANDS:  # --help, or a person's command
        try:
            from symrouting import commands as tool  # a person's commands: not in the hooks' zip
        except ImportError:  # the hooks' zip: the Jobs' commands only
            if only is not None:
                stderr.write(f"symrouting: {only}: the hooks' code runs the Jobs' commands only; "
                             "install the symrouting command (pipx install symrouting) for it\n")
                return EXIT_USAGE
    args = _parser(prog_name(sys.argv[0]), only, tool).parse_args(argv)
    try:
        if args.command == "preflight":
            return preflight(args, stdout, stdin)
        if args.command in ("teardown", "prune"):
            return clean(args, stdout, stdin, stderr)
        if args.command == "wait":
            return wait(args, stdout, stdin)
        if args.command == "verify":
            return verify(args, stdout, stdin)
        if args.command == "diagram":
            return tool.draw(args, stdout, stdin)  # type: ignore[no-any-return]
        if args.command == "status":
            return tool.show_status(args, stdout, stdin)  # type: ignore[no-any-return]
        if args.command == "adopt":
            return tool.adopt(args, stdout)  # type: ignore[no-any-return]
        if args.command == "leftovers":
            return tool.show_leftovers(args, stdout, stderr)  # type: ignore[no-any-return]
        return tool.discover(args, stdout)  # type: ignore[no-any-return]
    except PlanError as error:
        stderr.write(f"symrouting: {error}\n")
        return EXIT_USAGE
    except UnreadablePlan as error:
        stderr.write(f"symrouting: broken plan (exit {EXIT_BROKEN}): {error}\n")
        return EXIT_BROKEN
    except Unexpected as error:
        stderr.write(f"symrouting: unexpected answer (exit {EXIT_BROKEN}): {error}\n")
        return EXIT_BROKEN
    except (ApiError, Unreachable) as error:
        stderr.write(f"symrouting: {error}\n")
        return EXIT_API
    except OSError as error:
        stderr.write(f"symrouting: {error}\n")
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 (the last guard: one line, never a traceback)
        line, where = "", error.__traceback__
        while where is not None:  # the innermost line of this package's own code
            if Path(where.tb_frame.f_code.co_filename).parent == Path(__file__).parent:
                line = f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}"
            where = where.tb_next
        stderr.write(f"symrouting: internal error (exit {EXIT_BROKEN}): {type(error).__name__}: {error}{line}; "
                     "please report it with the command that ran\n")
        return EXIT_BROKEN
