# lightbulb-collector: stopped and disabled when removed (not on upgrade).
if [ "$1" -eq 0 ] && [ -x /usr/bin/systemctl ]; then
    systemctl disable --now lightbulb-collector.service >/dev/null 2>&1 || true
fi
exit 0
