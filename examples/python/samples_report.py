"""The same data from Python with plain SQL on plantmesh's stable interface (schema api), as any model
or notebook reads it: no SDK, only psycopg2 (Debian: python3-psycopg2).

    PLANTMESH_URL=postgres://dashboards:...@host/plantmesh python3 examples/python/samples_report.py 'plant1/+/+/meter/energy'

Prints one JSON document: the range, the series matching the pattern with their hourly aggregates of the
last day, and the heats of the last day from their curated table.
"""

import json
import os
import re
import sys

import psycopg2


def main() -> None:
    pattern = sys.argv[1] if len(sys.argv) > 1 else "#"
    with psycopg2.connect(os.environ["PLANTMESH_URL"], application_name="samples-report") as connection:
        with connection.cursor() as cursor:
            # The last day, in whole hours (the hourly rollups serve whole hours).
            cursor.execute("select date_trunc('hour', now()) - interval '1 day', date_trunc('hour', now()) + interval '1 hour'")
            start, end = cursor.fetchone()
            cursor.execute("select path, unit from api.find_series(%s)", (pattern,))
            series = [{"path": path, "unit": unit} for path, unit in cursor.fetchall()]
            for entry in series:
                cursor.execute(
                    "select bucket, samples, avg, min, max, first, last from api.samples_bucketed(%s, %s, %s, '1 hour')",
                    (entry["path"], start, end),
                )
                entry["hours"] = [
                    {"bucket": bucket.isoformat(), "samples": samples, "avg": avg, "min": low, "max": high,
                     "first": first, "last": last}
                    for bucket, samples, avg, low, high, first, last in cursor.fetchall()
                ]
            # A curated product's table is named by the interface, never built from input.
            cursor.execute("select table_name from api.products where product = 'heats'")
            (table,) = cursor.fetchone()
            schema, name = table.split(".")
            assert re.fullmatch(r"[a-z][a-z0-9_]*", schema) and re.fullmatch(r"[a-z][a-z0-9_]*", name), table
            cursor.execute(
                f'select heat_id, grade, cast_weight from "{schema}"."{name}" '
                "where finished_at >= now() - interval '1 day' order by heat_id"
            )
            heats = [{"heat_id": heat_id, "grade": grade, "cast_weight": float(weight)}
                     for heat_id, grade, weight in cursor.fetchall()]
    json.dump({"from": start.isoformat(), "to": end.isoformat(), "series": series, "heats": heats}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
