#!/usr/bin/env bash
# Installs what mailroom needs: the virtual environment at .venv/ with the project and its Python
# packages; with --test also the Debian packages the tests start on loopback (Dovecot); with --bench
# those the benchmarks compare against (notmuch and its Python bindings for bench.search, isync for bench.imap_ingest).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=no
want_bench=no
for flag in "$@"; do
  case "$flag" in
    --test) want_test=yes ;;
    --bench) want_bench=yes ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
  esac
done

debian_packages=()
# fonts-noto-cjk: Chromium draws the pages' Chinese in it (without a CJK font, boxes that no test would notice)
if [ "$want_test" = yes ]; then
  debian_packages+=(dovecot-imapd chromium fonts-noto-cjk libreoffice-calc libreoffice-writer libreoffice-impress catdoc)
fi
if [ "$want_bench" = yes ]; then
  debian_packages+=(notmuch python3-notmuch2 isync)
fi

missing=()
for package in "${debian_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  # policy-rc.d keeps the packages' own services from starting: the tests start theirs on high ports.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extras=""
[ "$want_test" = yes ] && extras="[test]"
# constraints.txt: the versions last tested (scripts/lock.sh refreshes it)
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".${extras}"
# An editable install is not byte-compiled as an installed wheel is; a process that may not write bytecode
# (PYTHONDONTWRITEBYTECODE, a service user who cannot write to the checkout) then compiles each module of
# the project it imports at every start: 45 of `mailroom inspect`'s 150 ms here. Python ignores stale files.
.venv/bin/python -m compileall -q -j 0 bot archive parsers scoring replies
