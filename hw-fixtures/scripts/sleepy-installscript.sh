#!/bin/sh
# Test script for crash/cancel tests. When $SLEEPY_MARKER is set, --action-install records the
# criteria like component-installscript.sh would NOT (it never finishes): it writes its pid to
# $SLEEPY_MARKER and sleeps, a long flash in progress. Without $SLEEPY_MARKER, and for every other
# action, it is component-installscript.sh (which must sit beside it in the work folder).
dir=$(dirname "$0")
if [ -n "${SLEEPY_MARKER:-}" ]; then
  case " $* " in
    *" --action-install "*)
      [ -n "${SENSOR_PROXY_SCRIPT_LOG:-}" ] && printf 'sleepy-installscript.sh\t%s\n' "$*" >> "$SENSOR_PROXY_SCRIPT_LOG"
      echo $$ > "$SLEEPY_MARKER"
      exec sleep 600 ;;
  esac
fi
exec "$dir/component-installscript.sh" "$@"
