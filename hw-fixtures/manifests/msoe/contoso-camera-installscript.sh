#!/bin/sh
# sensor-proxy fixture: stands in for the Contoso camera install script.
echo "camera install script: $*"
exit 0
