#!/usr/bin/env bash
# Starts the local services the test suite talks to, when this machine has them but they are stopped:
# PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379. Idempotent; prints what it did.
# Tests that need a service fail under CI=true when it is missing, so a machine without one fails loudly
# rather than skipping.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "ensure-services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || echo "ensure-services: PostgreSQL failed to start"
  else
    echo "ensure-services: PostgreSQL is not installed here; tests that need it will fail under CI=true"
  fi
fi

if ! port_open 6379; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "ensure-services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/idrelay-redis.log || echo "ensure-services: Redis failed to start"
  else
    echo "ensure-services: Redis is not installed here"
  fi
fi

# The LDAP tests run their own slapd on a free loopback port (see @idrelay/testkit/ldap); they need the Debian
# binaries only. The package's postinst may start a system slapd on port 389: stop and disable it.
if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "ensure-services: installing slapd and ldap-utils"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils >/dev/null ||
      echo "ensure-services: slapd failed to install; LDAP tests will fail under CI=true"
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now slapd >/dev/null 2>&1 || true
    else
      service slapd stop >/dev/null 2>&1 || true
      update-rc.d slapd disable >/dev/null 2>&1 || true
    fi
  else
    echo "ensure-services: slapd is not installed here and apt-get is missing; LDAP tests will fail under CI=true"
  fi
fi

for _ in $(seq 1 50); do port_open 5432 && break; sleep 0.1; done
exit 0
