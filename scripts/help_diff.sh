#!/bin/bash
# Diff every action's --help (and --list-actions) between two git refs of this repository.
#   scripts/help_diff.sh main schema        # prints the diff; exit 0 when identical
set -euo pipefail
before=$1 after=$2
repo=$(git rev-parse --show-toplevel)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=$(command -v python3)
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/a" >/dev/null 2>&1 || true;
      git -C "$repo" worktree remove --force "$work/b" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
dump() {  # dump REF DIR
    git -C "$repo" worktree add --detach "$work/$2" "$1" >/dev/null 2>&1
    mkdir -p "$work/out-$2"
    (cd "$work/$2" && export PYTHONPATH="$work/$2" COLUMNS=100 &&
     "$py" -m dataset_forge --list-actions > "$work/out-$2/list-actions.txt" &&
     for a in $("$py" -c "from dataset_forge.actions.registry import all_actions; print(*all_actions())"); do
         "$py" -m dataset_forge --action "$a" --help > "$work/out-$2/help-$a.txt" 2>&1 || true
     done)
}
dump "$before" a
dump "$after" b
diff -ru "$work/out-a" "$work/out-b"
