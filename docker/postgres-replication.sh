#!/bin/sh
# Run once by the postgres image's entrypoint when it makes the cluster: lets the replica of
# compose.yaml take its base backup and stream (as the csrd role, which the image makes a
# superuser), with the same password rule as every other connection.
echo "host replication csrd all scram-sha-256" >>"$PGDATA/pg_hba.conf"
