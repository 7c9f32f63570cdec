#!/bin/sh
# Test script for crash/cancel tests: on --action-install it writes its pid to $SLEEPY_MARKER and
# sleeps (a long flash in progress). Every other action behaves like component-installscript.sh.
dir=$(dirname "$0")
case " $* " in
  *" --action-install "*)
    [ -n "${SENSOR_PROXY_SCRIPT_LOG:-}" ] && printf 'sleepy-installscript.sh\t%s\n' "$*" >> "$SENSOR_PROXY_SCRIPT_LOG"
    echo $$ > "${SLEEPY_MARKER:?SLEEPY_MARKER must be set}"
    exec sleep 600 ;;
esac
exec "$dir/component-installscript.sh" "$@"
