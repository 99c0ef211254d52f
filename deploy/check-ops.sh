#!/usr/bin/env bash
# Validates the operations files under deploy/:
#   1. promtool check config  deploy/prometheus/prometheus.yml (also loads alerts.yml)
#   2. promtool check rules   deploy/prometheus/alerts.yml
#   3. promtool test rules    deploy/prometheus/alerts_test.yml
#   4. python3 deploy/check-dashboard.py (dashboard JSON, datasource uids, PromQL)
#   5. every YAML file under deploy/ parses (when PyYAML is importable)
#
# Usage: bash deploy/check-ops.sh        (from any directory)
#
# promtool comes from Debian's `prometheus` package. When it is missing and we
# run as root, the package is installed with its service start-up suppressed,
# and any Prometheus server that the installation started anyway is stopped,
# so nothing is left running. Set PROMTOOL=/path/to/promtool to use another.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

log() { printf '==> %s\n' "$*"; }

prometheus_server_pids() {
    # PIDs of processes whose executable is Debian's Prometheus server binary.
    local pid exe
    for pid in /proc/[0-9]*; do
        exe=$(readlink "$pid/exe" 2>/dev/null) || continue
        if [[ "$exe" == /usr/bin/prometheus ]]; then
            echo "${pid#/proc/}"
        fi
    done
}

install_promtool() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "promtool is missing and this is not root: install Debian's 'prometheus' package (or set PROMTOOL)" >&2
        return 1
    fi
    log "installing promtool (Debian package 'prometheus', no recommends)"

    local before rc=0 policy=/usr/sbin/policy-rc.d saved_policy=""
    before=$(prometheus_server_pids)

    # invoke-rc.d and deb-systemd-invoke consult policy-rc.d; exit code 101
    # forbids every service action, so the package's postinst starts nothing.
    # A policy that is already there is put back afterwards.
    if [[ -e $policy ]]; then
        saved_policy=$(mktemp)
        cp -p "$policy" "$saved_policy"
    fi
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"

    local started_at=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq; then
        rc=1
    elif ! apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
        rc=1
    fi

    if [[ -n $saved_policy ]]; then
        cp -p "$saved_policy" "$policy"
        rm -f "$saved_policy"
    else
        rm -f "$policy"
    fi

    # Belt and braces: stop a server that the installation started in spite
    # of the policy (only PIDs that were not running before we began).
    for pid in $(prometheus_server_pids); do
        if ! grep -qx "$pid" <<<"$before"; then
            log "stopping Prometheus server pid $pid started by the package installation"
            kill "$pid" 2>/dev/null || true
        fi
    done
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    fi

    if [[ $rc -ne 0 ]]; then
        echo "installing the prometheus package failed" >&2
        return 1
    fi
    log "promtool installed in $((SECONDS - started_at))s"
}

PROMTOOL=${PROMTOOL:-}
if [[ -z "$PROMTOOL" ]]; then
    if ! command -v promtool >/dev/null 2>&1; then
        install_promtool || exit 1
    fi
    PROMTOOL=$(command -v promtool) || { echo "promtool not found after installation" >&2; exit 1; }
fi
export PROMTOOL
log "using $("$PROMTOOL" --version 2>&1 | head -n 1) ($PROMTOOL)"

passed=0
failed=0
failures=()

run_check() {
    local name=$1
    shift
    log "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "ok: $name"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "FAILED: $name" >&2
    fi
    echo
}

run_check "promtool check config deploy/prometheus/prometheus.yml" \
    "$PROMTOOL" check config deploy/prometheus/prometheus.yml
run_check "promtool check rules deploy/prometheus/alerts.yml" \
    "$PROMTOOL" check rules deploy/prometheus/alerts.yml
run_check "promtool test rules deploy/prometheus/alerts_test.yml" \
    "$PROMTOOL" test rules deploy/prometheus/alerts_test.yml
run_check "python3 deploy/check-dashboard.py (Grafana dashboard)" \
    python3 deploy/check-dashboard.py --promtool "$PROMTOOL"

yaml_files_parse() {
    if ! python3 -c 'import yaml' 2>/dev/null; then
        echo "PyYAML is not importable: skipped (the files above were parsed by promtool)"
        return 0
    fi
    python3 - <<'PY'
import pathlib, sys, yaml
bad = 0
for path in sorted(pathlib.Path("deploy").rglob("*.yml")):
    try:
        with open(path, encoding="utf-8") as f:
            list(yaml.safe_load_all(f))  # Kubernetes files hold several documents
        print(f"parsed {path}")
    except yaml.YAMLError as err:
        bad += 1
        print(f"{path}: {err}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
run_check "YAML syntax of deploy/**/*.yml" yaml_files_parse

for name in "${failures[@]}"; do
    echo "failed check: $name" >&2
done
echo "check-ops: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
