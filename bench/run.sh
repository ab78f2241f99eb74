#!/usr/bin/env bash
# volley's benchmark suite, in one command (bench/README.md):
#
#   bench/run.sh            # full run, ~15 min on 2 cores; results in bench/results/<date>/
#   bench/run.sh --quick    # one run per case, no warm-up, MANY up to 10^5
#   bench/run.sh --only FAST,STARTUP --servers nginx
#
# Installs what is missing (Debian packages, Python packages, oha), builds
# volley, the testbed and the reqwest baseline in release mode, then runs
# bench/run.py with the remaining arguments. --no-install and --no-build skip
# those steps. A tool that cannot be had is reported as n/a in the table.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
install=1
build=1
args=()
for arg in "$@"; do
    case "$arg" in
        --no-install) install=0 ;;
        --no-build) build=0 ;;
        *) args+=("$arg") ;;
    esac
done

say() { printf '[bench] %s\n' "$*" >&2; }

if [ "$install" = 1 ]; then
    need_apt=()
    command -v nginx >/dev/null || need_apt+=(nginx)
    [ -e /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need_apt+=(libnginx-mod-http-echo)
    command -v hyperfine >/dev/null || need_apt+=(hyperfine)
    [ -x /usr/bin/time ] || need_apt+=(time)
    command -v taskset >/dev/null || need_apt+=(util-linux)
    if [ "${#need_apt[@]}" -gt 0 ] && command -v apt-get >/dev/null; then
        say "installing ${need_apt[*]}"
        # Debian's nginx package starts no daemon without systemd; the suite
        # runs its own foreground nginx on 127.0.0.1.
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >&2 \
            || say "apt-get failed: the missing tools will show as n/a"
    fi
    if ! python3 -c 'import aiohttp, httpx' 2>/dev/null; then
        say "installing aiohttp and httpx"
        python3 -m pip install -q aiohttp httpx >&2 || say "pip failed: the Python clients will show as n/a"
    fi
    if ! command -v oha >/dev/null && [ ! -x "$HOME/.cargo/bin/oha" ]; then
        say "installing oha (cargo install, a few minutes the first time)"
        cargo install oha --locked >&2 || say "cargo install oha failed: oha will show as n/a"
    fi
fi
export PATH="$PATH:$HOME/.cargo/bin"

if [ "$build" = 1 ]; then
    say "building volley and the testbed (release)"
    (cd "$root" && cargo build --release -p volley-cli -p testbed) >&2
    say "building the reqwest baseline (release)"
    cargo build --release --locked --manifest-path "$here/reqwest-baseline/Cargo.toml" >&2 \
        || say "the reqwest baseline did not build: it will show as n/a"
fi

exec python3 "$here/run.py" "${args[@]+"${args[@]}"}"
