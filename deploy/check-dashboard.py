#!/usr/bin/env python3
"""Checks the ums-notify Grafana dashboard (standard library only, plus promtool).

Default mode checks deploy/grafana/dashboards/ums-notify.json:
  * it is valid JSON with a uid, a title and a schemaVersion;
  * panel ids are present and unique, panels nested in collapsed rows included;
  * every panel, every query and every templating variable uses the datasource
    whose uid is provisioned in deploy/grafana/provisioning/datasources/;
  * every panel other than a row has at least one query;
  * every PromQL expression parses: each one becomes a recording rule in a
    temporary rules file, which `promtool check rules` must accept.

--metric-names prints instead the sorted metric names that the dashboard and
deploy/prometheus/alerts.yml refer to, one per line (histogram series are
reduced to their family name; Prometheus' own `up` is left out). The service's
tests compare that list with what GET /metrics exports.

Exit status: 0 when everything holds, 1 when a check fails, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DASHBOARD = REPO / "deploy/grafana/dashboards/ums-notify.json"
DEFAULT_DATASOURCES = REPO / "deploy/grafana/provisioning/datasources/prometheus.yml"
DEFAULT_ALERTS = REPO / "deploy/prometheus/alerts.yml"

METRIC_PREFIXES = ("ums_notify_", "process_")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Grafana's built-in interval variables, replaced by a duration before parsing.
INTERVAL_VARIABLES = ("__rate_interval", "__interval", "__range", "__range_s", "__range_ms")
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::[^}]*)?\}|(\w+))|\[\[(\w+)(?::[^\]]*)?\]\]")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*(?:,\s*\w+\s*)?\)\s*$", re.S)


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)


# --------------------------------------------------------------------- reading

def provisioned_datasource_uids(path: Path) -> list[str]:
    """The `uid:` values of a Grafana datasource provisioning file (no YAML parser needed)."""
    uids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"""^\s*(?:-\s+)?uid:\s*(?:"([^"]*)"|'([^']*)'|([^\s#]+))""", line)
        if match:
            uids.append(next(group for group in match.groups() if group is not None))
    return uids


def walk_panels(panels: list, parent: str = ""):
    """Yields (panel, path) for every panel, descending into rows' nested panels."""
    for index, panel in enumerate(panels or []):
        title = panel.get("title") or f"#{index}"
        path = f"{parent}/{title}" if parent else title
        yield panel, path
        yield from walk_panels(panel.get("panels") or [], path)


def alert_expressions(path: Path) -> list[str]:
    """The `expr:` values of a rules file, inline or as a block scalar (`expr: |`)."""
    exprs: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"^(\s*)(?:-\s+)?expr:\s*(.*?)\s*$", lines[i])
        i += 1
        if not match:
            continue
        indent, value = len(match.group(1)), match.group(2)
        if value and value[0] in "|>":
            block = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i].strip())
                i += 1
            exprs.append(" ".join(part for part in block if part))
        else:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            exprs.append(value)
    return exprs


def dashboard_expressions(dashboard: dict) -> list[tuple[str, str]]:
    """(where, expr) for every PromQL query of the panels and templating variables."""
    found = []
    for panel, path in walk_panels(dashboard.get("panels", [])):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if expr:
                found.append((f"panel {panel.get('id')} '{path}' query {target.get('refId')}", expr))
    for variable in (dashboard.get("templating") or {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and isinstance(query, str) and query.strip():
            match = LABEL_VALUES.match(query)
            inner = match.group(1) if match else query
            if inner and not inner.startswith("label_names"):
                found.append((f"variable '{variable.get('name')}'", inner))
    return found


# --------------------------------------------------------------------- checking

def substitute_variables(expr: str) -> str:
    """Replaces Grafana variables so that the result is plain PromQL."""

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return "5m" if name in INTERVAL_VARIABLES else "grafana_variable"

    return VARIABLE.sub(replace, expr)


def check_structure(dashboard: dict, uid: str, problems: Problems) -> int:
    for key in ("uid", "title", "schemaVersion"):
        if not dashboard.get(key):
            problems.add(f"dashboard has no {key}")

    seen: dict[object, str] = {}
    count = 0
    for panel, path in walk_panels(dashboard.get("panels", [])):
        count += 1
        pid = panel.get("id")
        if not isinstance(pid, int):
            problems.add(f"panel '{path}' has no integer id")
        elif pid in seen:
            problems.add(f"panel id {pid} is used by both '{seen[pid]}' and '{path}'")
        else:
            seen[pid] = path

        if "gridPos" not in panel:
            problems.add(f"panel {pid} '{path}' has no gridPos")

        is_row = panel.get("type") == "row"
        datasource = panel.get("datasource")
        if is_row and datasource is None:
            pass
        elif not isinstance(datasource, dict) or datasource.get("uid") != uid:
            problems.add(f"panel {pid} '{path}' datasource {datasource!r} does not use uid {uid!r}")
        elif datasource.get("type") != "prometheus":
            problems.add(f"panel {pid} '{path}' datasource type is {datasource.get('type')!r}, not 'prometheus'")

        if is_row:
            continue
        targets = panel.get("targets") or []
        if not targets:
            problems.add(f"panel {pid} '{path}' has no queries")
        ref_ids = set()
        for target in targets:
            ref = target.get("refId")
            if ref in ref_ids:
                problems.add(f"panel {pid} '{path}' repeats refId {ref!r}")
            ref_ids.add(ref)
            target_ds = target.get("datasource")
            if not isinstance(target_ds, dict) or target_ds.get("uid") != uid:
                problems.add(f"panel {pid} '{path}' query {ref} datasource {target_ds!r} does not use uid {uid!r}")
            if not (target.get("expr") or "").strip():
                problems.add(f"panel {pid} '{path}' query {ref} has an empty expr")

    for variable in (dashboard.get("templating") or {}).get("list", []):
        if variable.get("type") != "query":
            continue
        datasource = variable.get("datasource")
        if not isinstance(datasource, dict) or datasource.get("uid") != uid:
            problems.add(f"variable '{variable.get('name')}' datasource {datasource!r} does not use uid {uid!r}")
    return count


def check_promql(exprs: list[tuple[str, str]], promtool: str, problems: Problems) -> None:
    """Every expression becomes a recording rule; promtool parses the file."""
    lines = ["groups:", "  - name: dashboard-expressions", "    rules:"]
    for n, (_, expr) in enumerate(exprs):
        lines.append(f"      - record: check:expr_{n}")
        # A JSON string is a valid YAML double-quoted scalar.
        lines.append(f"        expr: {json.dumps(substitute_variables(expr))}")
    with tempfile.TemporaryDirectory(prefix="check-dashboard-") as tmp:
        rules = Path(tmp) / "dashboard-expressions.yml"
        rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = subprocess.run([promtool, "check", "rules", str(rules)],
                                capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        failing = {int(n) for n in re.findall(r"check:expr_(\d+)", output)}
        for n in sorted(failing):
            where, expr = exprs[n]
            problems.add(f"{where}: PromQL does not parse: {expr}")
        problems.add("promtool check rules rejected the dashboard's expressions:\n" + output)


def find_promtool(explicit: str | None) -> str | None:
    for candidate in (explicit, os.environ.get("PROMTOOL"), shutil.which("promtool")):
        if candidate:
            return candidate
    return None


# ------------------------------------------------------------------ metric names

def metric_names(exprs: list[str]) -> list[str]:
    names = set()
    for expr in exprs:
        # Label values and other string literals are not metric names.
        code = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
        for token in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", code):
            if not token.startswith(METRIC_PREFIXES):
                continue
            for suffix in HISTOGRAM_SUFFIXES:
                if token.endswith(suffix):
                    token = token[: -len(suffix)]
                    break
            names.add(token)
    names.discard("up")
    return sorted(names)


# -------------------------------------------------------------------------- main

def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dashboard", type=Path, default=DEFAULT_DASHBOARD)
    parser.add_argument("--datasources", type=Path, default=DEFAULT_DATASOURCES,
                        help="Grafana datasource provisioning file holding the expected uid")
    parser.add_argument("--alerts", type=Path, default=DEFAULT_ALERTS,
                        help="Prometheus rules file (read by --metric-names)")
    parser.add_argument("--promtool", help="promtool binary (default: $PROMTOOL, then PATH)")
    parser.add_argument("--metric-names", action="store_true",
                        help="print the metric names used by the dashboard and the alerts, then exit")
    args = parser.parse_args(argv)

    try:
        dashboard = json.loads(args.dashboard.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"cannot read dashboard {args.dashboard}: {err}", file=sys.stderr)
        return 1

    exprs = dashboard_expressions(dashboard)

    if args.metric_names:
        try:
            rules = alert_expressions(args.alerts)
        except OSError as err:
            print(f"cannot read {args.alerts}: {err}", file=sys.stderr)
            return 1
        for name in metric_names([expr for _, expr in exprs] + rules):
            print(name)
        return 0

    problems = Problems()
    uids = provisioned_datasource_uids(args.datasources)
    if len(uids) != 1:
        print(f"{args.datasources}: expected exactly one datasource uid, found {uids}", file=sys.stderr)
        return 1
    uid = uids[0]

    panel_count = check_structure(dashboard, uid, problems)

    promtool = find_promtool(args.promtool)
    if promtool is None:
        problems.add("promtool not found (install Debian's 'prometheus' package or pass --promtool)")
    elif not exprs:
        problems.add("the dashboard has no PromQL expressions")
    else:
        check_promql(exprs, promtool, problems)

    for problem in problems.items:
        print(f"error: {problem}", file=sys.stderr)
    if problems.items:
        print(f"{args.dashboard}: {len(problems.items)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.dashboard.relative_to(REPO) if args.dashboard.is_relative_to(REPO) else args.dashboard}: "
          f"{panel_count} panels with unique ids, all on datasource uid {uid!r}, "
          f"{len(exprs)} PromQL expressions parse")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
