#!/usr/bin/env bash
# Regenerates src/rtnl/constants.ts from the kernel headers installed on this machine.
# The C program prints every constant with the value the headers give it.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -o "$tmp/gen" tools/gen-constants.c
{ sed -n '1,5p' src/rtnl/constants.ts; "$tmp/gen"; sed -n '/^\/\/ Structure sizes/,$p' src/rtnl/constants.ts | sed '1i\\'; } > "$tmp/out.ts"
mv "$tmp/out.ts" src/rtnl/constants.ts
