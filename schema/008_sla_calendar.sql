-- Business-hours SLA clocks. One calendar for the department: an IANA time zone, up to four
-- open intervals per weekday ("HH:MM", "24:00" ends at midnight) and holidays. A policy whose
-- clock is 'business_hours' counts its hours only inside open intervals on non-holidays, in
-- the calendar's zone (so a DST change shortens or lengthens that day's wall-clock span, not
-- the open hours). Deadlines are fixed when the complaint is created (or its severity
-- changes); later changes of the calendar or a policy apply to later complaints only.
CREATE TABLE sla_calendar (
    id         integer PRIMARY KEY CHECK (id = 1),
    time_zone  text NOT NULL,
    hours      jsonb NOT NULL,
    holidays   date[] NOT NULL DEFAULT '{}',
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at timestamptz NOT NULL DEFAULT csrd_now()
);
INSERT INTO sla_calendar (id, time_zone, hours) VALUES (1, 'UTC',
    '{"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
      "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]], "sat": [], "sun": []}');

ALTER TABLE sla_policies ADD COLUMN clock text NOT NULL DEFAULT '24x7'
    CHECK (clock IN ('24x7', 'business_hours'));

CREATE OR REPLACE FUNCTION sla_policy_json(p sla_policies) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'severity', p.severity, 'first_response_hours', p.first_response_hours,
    'resolution_hours', p.resolution_hours, 'follow_up_after_hours', p.follow_up_after_hours,
    'clock', p.clock, 'version', p.version, 'created_at', csrd_ts(p.created_at),
    'updated_at', csrd_ts(p.updated_at)) $$;

CREATE FUNCTION sla_calendar_json(c sla_calendar) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'time_zone', c.time_zone, 'hours', c.hours,
    'holidays', (SELECT coalesce(json_agg(to_char(d, 'YYYY-MM-DD') ORDER BY d), '[]')
                 FROM unnest(c.holidays) d),
    'version', c.version, 'updated_at', csrd_ts(c.updated_at)) $$;

-- The moment `hours` of open time after `start` under the given calendar. Walks the local
-- days from start's; a calendar without any open interval never ends, so the walk stops after
-- ten years (PUT refuses such calendars) and answers NULL.
CREATE FUNCTION csrd_business_deadline(start timestamptz, hours numeric, tz text, week jsonb,
                                       holidays date[])
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    left_s  numeric := hours * 3600;
    day     date := (start AT TIME ZONE tz)::date;
    names   text[] := ARRAY['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    iv      jsonb;
    open_at timestamptz;
    shut_at timestamptz;
    span_s  numeric;
BEGIN
    IF left_s <= 0 THEN
        RETURN start;
    END IF;
    FOR n IN 0 .. 3660 LOOP
        IF NOT day = ANY (holidays) THEN
            FOR iv IN SELECT * FROM jsonb_array_elements(week -> names[extract(dow FROM day)::int + 1])
            LOOP
                open_at := (day + (iv ->> 0)::time) AT TIME ZONE tz;
                shut_at := CASE WHEN iv ->> 1 = '24:00' THEN (day + 1)::timestamp AT TIME ZONE tz
                           ELSE (day + (iv ->> 1)::time) AT TIME ZONE tz END;
                IF shut_at > start THEN
                    open_at := greatest(open_at, start);
                    span_s := extract(epoch FROM shut_at - open_at);
                    IF span_s >= left_s THEN
                        RETURN open_at + left_s * interval '1 second';
                    END IF;
                    left_s := left_s - span_s;
                END IF;
            END LOOP;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN NULL;
END $$;

-- A complaint's deadline under the policy's clock and the stored calendar.
CREATE FUNCTION csrd_sla_deadline(p_start timestamptz, p_hours numeric, p_clock text)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN p_clock = 'business_hours'
             THEN (SELECT csrd_business_deadline(p_start, p_hours, c.time_zone, c.hours,
                                                 c.holidays)
                   FROM sla_calendar c WHERE c.id = 1)
             ELSE p_start + p_hours * interval '1 hour' END $$;
