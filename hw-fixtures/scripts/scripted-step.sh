#!/bin/sh
# scripted-step.sh: a step script whose behaviour the test chooses through handlerProperties.arguments
# (test fixture for microsoft/script:1). Options, applied in this order:
#   --stderr-lines <n>     print n numbered lines on stderr ("stderr line <i>")
#   --kill-self <SIG>      kill itself with signal SIG (no result file)
#   --ignore-term          ignore SIGTERM from here on (also in the sleep it starts)
#   --sleep-forever        print "started" on stdout, then `sleep 600` as a child (no exec)
#   --leave-background <f> start `sleep 600 &` holding stdout/stderr, write its pid to file f
#   --no-result            exit 0 without writing the result file
#   --garbage-result       write a result file that is not JSON
#   --raw-result <json>    write this text as the result file (no spaces: arguments split on spaces)
#   --rc <n> --erc <n> --details <word> --long-details <n>   result file fields (defaults 600, 0, "ok";
#                          --long-details makes details n characters long)
# Prints "scripted-step <action>" on stdout. Appends its argv to $SENSOR_PROXY_SCRIPT_LOG (TAB-separated).

if [ -n "${SENSOR_PROXY_SCRIPT_LOG:-}" ]; then
    line=$(basename "$0")
    for a in "$@"; do line="$line	$a"; done
    printf '%s\n' "$line" >> "$SENSOR_PROXY_SCRIPT_LOG"
fi

action= result_file= rc=600 erc=0 details=ok stderr_lines=0 kill_self= ignore_term= sleep_forever=
background_pid_file= result_mode=json raw=
while [ $# -gt 0 ]; do
    case "$1" in
        --action-*) action=${1#--action-}; shift ;;
        --action) action=$2; shift 2 ;;
        --result-file) result_file=$2; shift 2 ;;
        --rc) rc=$2; shift 2 ;;
        --erc) erc=$2; shift 2 ;;
        --details) details=$2; shift 2 ;;
        --long-details) details=$(printf "%${2}s" '' | tr ' ' x); shift 2 ;;
        --stderr-lines) stderr_lines=$2; shift 2 ;;
        --kill-self) kill_self=$2; shift 2 ;;
        --ignore-term) ignore_term=yes; shift ;;
        --sleep-forever) sleep_forever=yes; shift ;;
        --leave-background) background_pid_file=$2; shift 2 ;;
        --no-result) result_mode=none; shift ;;
        --garbage-result) result_mode=garbage; shift ;;
        --raw-result) result_mode=raw; raw=$2; shift 2 ;;
        *) shift ;;
    esac
done

echo "scripted-step $action"
i=1
while [ "$i" -le "$stderr_lines" ]; do echo "stderr line $i" >&2; i=$((i + 1)); done
[ -n "$kill_self" ] && kill -s "$kill_self" $$
[ -n "$ignore_term" ] && trap '' TERM
if [ -n "$sleep_forever" ]; then
    echo started
    sleep 600
fi
if [ -n "$background_pid_file" ]; then
    sleep 600 &
    echo $! > "$background_pid_file"
fi
case "$result_mode" in
    none) ;;
    garbage) echo 'this is not json' > "$result_file" ;;
    raw) printf '%s\n' "$raw" > "$result_file" ;;
    json) printf '{"resultCode":%d,"extendedResultCode":%d,"resultDetails":"%s"}\n' "$rc" "$erc" "$details" > "$result_file" ;;
esac
exit 0
