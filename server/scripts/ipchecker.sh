#!/bin/sh
# IPmanager's default availability checker (ipchecker.sh), for `IpCheckerScript`.
# Prints OK when nothing answers ping at the address given as the first argument; any
# other output (here: none) means the address is in use.
# Unlike the original, a missing ping is an error (exit 2, no output), which ipvet reads as
# an inconclusive check rather than as "free".
command -v ping >/dev/null 2>&1 || { echo "ping is not installed" >&2; exit 2; }
ping -c3 -q "$1" > /dev/null
if [ $? -ne "0" ]; then
    echo "OK"
fi
