# Sourced by scripts/run and scripts/test: find Python >= 3.12, make .venv, install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
  local candidates=(python3.13 python3.12 python3)
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    candidates+=("$root"/versions/3.13*/bin/python "$root"/versions/3.12*/bin/python)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.13*/bin/python "$HOME"/.pyenv/versions/3.12*/bin/python /usr/local/bin/python3.13 /usr/local/bin/python3.12)
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  echo "Frontdesk needs Python 3.12 or newer; none found (tried: ${candidates[*]})." >&2
  return 1
}

VENV=${FRONTDESK_VENV:-.venv}
# $1: the extras to install ("" or "dev")
ensure_venv() {
  local extras=${1:-}
  if [ ! -x "$VENV/bin/python" ]; then
    local py; py=$(find_python)
    echo "Creating $VENV with $("$py" --version)" >&2
    "$py" -m venv "$VENV"
  fi
  local spec="." stamp_want
  [ -n "$extras" ] && spec=".[$extras]"
  stamp_want="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
  if [ "$(cat "$VENV/.frontdesk-installed" 2>/dev/null)" != "$stamp_want" ]; then
    echo "Installing Frontdesk into $VENV ..." >&2
    local log; log=$(mktemp)
    if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip &&
           "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec"; } >"$log" 2>&1; then
      grep -v '^WARNING: Location' "$log" >&2; rm -f "$log"; return 1
    fi
    rm -f "$log"
    echo "$stamp_want" > "$VENV/.frontdesk-installed"
  fi
}
