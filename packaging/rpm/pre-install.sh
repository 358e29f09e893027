# lightbulb: the system user, made before the files are laid down.
getent group lightbulb >/dev/null || groupadd --system lightbulb
getent passwd lightbulb >/dev/null || useradd --system --gid lightbulb \
    --home-dir /var/lib/lightbulb --no-create-home --shell /sbin/nologin \
    --comment "lightbulb" lightbulb
exit 0
