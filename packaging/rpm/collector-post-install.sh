# lightbulb-collector: its state directory and certificate directory; enabled, not
# started (it needs its configuration and certificates first).
install -d -o root -g lightbulb -m 0750 /etc/lightbulb/certs
install -d -o lightbulb -g lightbulb -m 0750 /var/lib/lightbulb /var/lib/lightbulb/collector
chgrp lightbulb /etc/lightbulb/collector.toml
if [ -x /usr/bin/systemctl ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    [ "$1" -eq 1 ] && systemctl enable lightbulb-collector.service >/dev/null 2>&1 || true
fi
exit 0
