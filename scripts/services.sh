#!/usr/bin/env bash
# Starts the services the tests need when they are down: PostgreSQL, RabbitMQ, Redis, Mosquitto.
# Each is the machine's own (Debian packages); nothing is installed here.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
say() { printf '\033[1m[services]\033[0m %s\n' "$*" >&2; }

wait_for() {  # port, name, seconds
  for _ in $(seq 1 "$3"); do up "$1" && return 0; sleep 1; done
  say "$2 did not start on port $1"
  return 1
}

status=0
if ! up 5432; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
  wait_for 5432 PostgreSQL 30 || status=1
fi
if ! up 5672; then
  say "starting RabbitMQ"
  rabbitmq-server -detached >&2 || true
  wait_for 5672 RabbitMQ 60 || status=1
fi
if ! up 6379; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
  wait_for 6379 Redis 20 || status=1
fi
if ! up 1883; then
  say "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf >&2 || true
  wait_for 1883 Mosquitto 20 || status=1
fi
exit $status
