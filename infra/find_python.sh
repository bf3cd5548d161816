#!/bin/sh
# Print the path of a Python for the venv: the functions' runtime is python3.12 (Lambda SnapStart needs 3.12 or
# later), so the venv, the tests and `chalice package` (which takes the runtime from the Python it runs on) use it.
# Best first: python3.12 on PATH when it runs; pyenv's newest 3.12.x (pyenv's shim refuses python3.12 unless
# PYENV_VERSION names it); then 3.13 the same two ways; then python3 if it is 3.12 or later. Nothing found: a
# message on stderr and exit 1 (the Makefile then stops and says why).
ok() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' >/dev/null 2>&1; }
path_of() { "$1" -c 'import sys; print(sys.executable)'; }
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for minor in 3.12 3.13; do
  if ok "python$minor"; then path_of "python$minor"; exit 0; fi
  found=$(ls -d "$pyenv_root"/versions/"$minor".*/bin/python"$minor" 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$found" ] && ok "$found"; then echo "$found"; exit 0; fi
done
if ok python3; then path_of python3; exit 0; fi
echo "find_python.sh: no Python 3.12 or later found (the Lambda runtime is python3.12): install it, or run" \
     "make PY=/path/to/python3.12" >&2
exit 1
