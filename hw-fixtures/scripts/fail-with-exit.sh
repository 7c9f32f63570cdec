#!/bin/sh
# fail-with-exit.sh: a step script that fails by its exit code (test fixture for microsoft/script:1).
# Writes a SUCCESS result file first (600) and a few lines on stdout and stderr, then exits with
# the code given by `--exit-code <n>` (default 1). The handler must ignore the result file and
# report ERC 0x30501000+n with the tail of stderr (reference/adu-agent.md §3.5).
# Appends its argv to $SENSOR_PROXY_SCRIPT_LOG like component-installscript.sh (TAB-separated line).

if [ -n "${SENSOR_PROXY_SCRIPT_LOG:-}" ]; then
    line=$(basename "$0")
    for a in "$@"; do line="$line	$a"; done
    printf '%s\n' "$line" >> "$SENSOR_PROXY_SCRIPT_LOG"
fi

code=1 result_file=
while [ $# -gt 0 ]; do
    case "$1" in
        --exit-code) code=$2; shift 2 ;;
        --result-file) result_file=$2; shift 2 ;;
        *) shift ;;
    esac
done

[ -n "$result_file" ] && printf '{"resultCode":600,"extendedResultCode":0,"resultDetails":"must be ignored"}\n' > "$result_file"
echo "fail-with-exit: about to fail with exit code $code"
echo "fail-with-exit: first complaint" >&2
echo "fail-with-exit: flashing failed, giving up with $code" >&2
exit "$code"
