-- Stream handlers: registration rules, in-order batches as the registering
-- role (in a session of its own: the role needs LOGIN), retries into dead
-- letters, replay, security-restricted execution.
\set VERBOSITY terse

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

CREATE ROLE sh_app LOGIN;
CREATE SCHEMA sh AUTHORIZATION sh_app;
SELECT partkv.create_table('sh_orders', 'id', 'N', partitions => 2,
						   stream_view_type => 'NEW_IMAGE') IS NOT NULL AS created;
SELECT partkv.create_table('sh_plain', 'id', 'N', partitions => 2) IS NOT NULL AS created;
GRANT SELECT ON sh_orders, sh_plain TO sh_app;

SET ROLE sh_app;
CREATE TABLE sh.seen (n serial, batch int, id numeric, event text, who name);
-- the handler: one row per record; an item with "boom" fails the batch
CREATE FUNCTION sh.collect(records jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	b int := (SELECT coalesce(max(batch), 0) + 1 FROM sh.seen);
BEGIN
	IF EXISTS (SELECT 1 FROM jsonb_array_elements(records) r WHERE r->'dynamodb'->'NewImage' ? 'boom') THEN
		RAISE EXCEPTION 'boom in batch';
	END IF;
	INSERT INTO sh.seen (batch, id, event, who)
	SELECT b, (r->'dynamodb'->'Keys'->>'id')::numeric, r->>'eventName', current_user
	  FROM jsonb_array_elements(records) WITH ORDINALITY AS x(r, o) ORDER BY o;
END;
$$;
CREATE FUNCTION sh.escalate(records jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'SET SESSION AUTHORIZATION ' || quote_ident(session_user);
END;
$$;
CREATE FUNCTION sh.wrong(records text) RETURNS void LANGUAGE sql AS '';

-- registration
SELECT h - 'Position' - 'HandlerId' AS handler
  FROM partkv.add_stream_handler('sh_orders', 'sh.collect', batch_size => 2, max_attempts => 2) h;
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sh_orders', 'sh.collect')$$);
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sh_orders', 'sh.wrong')$$);
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sh_plain', 'sh.escalate')$$);
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sh_orders', 'sh.escalate', batch_size => 0)$$);
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sh_orders', 'sh.escalate', max_attempts => 0)$$);
SELECT h->>'Handler' AS handler FROM partkv.add_stream_handler('sh_orders', 'sh.escalate', max_attempts => 1) h;
RESET ROLE;
-- never as superuser
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sh_orders', 'sh.escalate')$$);

-- batches of two, in order, as the registering role (one transaction, so
-- that the handlers see all its records at once)
BEGIN;
SELECT partkv.put_item('sh_orders', jsonb_build_object('id', g)) IS NOT NULL AS put
  FROM generate_series(1, 5) g;
SELECT partkv.delete_item('sh_orders', '{"id": 2}');
COMMIT;
SELECT partkv.stream_handlers_wait() AS handled;
SELECT batch, id, event, who FROM sh.seen ORDER BY n;

-- a failing batch is retried, then becomes a dead letter; the handler moves on
BEGIN;
SELECT partkv.put_item('sh_orders', '{"id": 10, "boom": true}');
SELECT partkv.put_item('sh_orders', '{"id": 11}');
COMMIT;
SELECT partkv.stream_handlers_wait() AS handled;
SELECT partkv.put_item('sh_orders', '{"id": 12}');
SELECT partkv.stream_handlers_wait() AS handled;
SELECT batch, id, event FROM sh.seen WHERE id >= 10 ORDER BY n;
SELECT handler, table_name, jsonb_array_length(records) AS records, error, attempts, replay_requested
  FROM partkv.dead_letters WHERE handler = 'sh.collect'::regproc;
-- the handler cannot change its identity (a security-restricted operation in its role's session)
SELECT handler, error, attempts FROM partkv.dead_letters WHERE handler = 'sh.escalate'::regproc LIMIT 1;
SELECT h->>'Handler' AS handler, h->>'LastProcessingResult' AS result, h->'DeadLetters' AS dead_letters
  FROM partkv.list_stream_handlers('sh_orders') h;

-- fix the handler and replay the dead letter
SET ROLE sh_app;
CREATE OR REPLACE FUNCTION sh.collect(records jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	INSERT INTO sh.seen (batch, id, event, who)
	SELECT -1, (r->'dynamodb'->'Keys'->>'id')::numeric, r->>'eventName', current_user
	  FROM jsonb_array_elements(records) WITH ORDINALITY AS x(r, o) ORDER BY o;
END;
$$;
SELECT d - 'DeadLetterId' AS replay
  FROM partkv.replay_dead_letter((SELECT dead_letter_id FROM partkv.dead_letters
								  WHERE handler = 'sh.collect'::regproc)) d;
SELECT partkv.stream_handlers_wait() AS handled;
SELECT batch, id, event, who FROM sh.seen WHERE batch = -1 ORDER BY n;
SELECT count(*) AS dead_letters FROM partkv.dead_letters WHERE handler = 'sh.collect'::regproc;
SELECT pg_temp.try($$SELECT partkv.replay_dead_letter(-1)$$);

-- removal
SELECT h->>'Handler' AS handler, h->>'State' AS state
  FROM partkv.remove_stream_handler('sh_orders', 'sh.escalate') h;
SELECT pg_temp.try($$SELECT partkv.remove_stream_handler('sh_orders', 'sh.escalate')$$);
SELECT h->>'Handler' AS handler FROM partkv.list_stream_handlers() h;
RESET ROLE;

-- another role sees neither the handlers nor their dead letters
CREATE ROLE sh_other;
SET ROLE sh_other;
SELECT count(*) AS handlers FROM partkv.list_stream_handlers();
SELECT count(*) AS dead_letters FROM partkv.dead_letters;
RESET ROLE;

SELECT partkv.delete_table('sh_orders') IS NOT NULL AS deleted;
SELECT partkv.delete_table('sh_plain') IS NOT NULL AS deleted;
SELECT count(*) AS handlers_left FROM partkv.stream_handlers WHERE role_name = 'sh_app';
DROP SCHEMA sh CASCADE;
DROP ROLE sh_app;
DROP ROLE sh_other;

-- a slow handler is cancelled after partkv.handler_timeout: it fails like any
-- other and cannot hold up the worker
CREATE ROLE sh_slow LOGIN;
GRANT CREATE ON SCHEMA public TO sh_slow;
SET ROLE sh_slow;
SELECT partkv.create_table('sh_slowt', 'pk', stream_view_type => 'KEYS_ONLY') IS NOT NULL AS created;
CREATE FUNCTION public.sh_sleepy(records jsonb) RETURNS void LANGUAGE sql AS $$ SELECT pg_sleep(10) $$;
SELECT partkv.add_stream_handler('sh_slowt', 'public.sh_sleepy', max_attempts => 1) IS NOT NULL AS added;
RESET ROLE;
ALTER SYSTEM SET partkv.handler_timeout = '300ms';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SET ROLE sh_slow;
SELECT partkv.put_item('sh_slowt', '{"pk": "a"}');
RESET ROLE;
SELECT partkv.stream_handlers_wait() AS handled;
SELECT handler, error, attempts FROM partkv.dead_letters WHERE handler = 'public.sh_sleepy'::regproc;
ALTER SYSTEM RESET partkv.handler_timeout;
SELECT pg_reload_conf();
SELECT partkv.delete_table('sh_slowt') IS NOT NULL AS deleted;
DROP FUNCTION public.sh_sleepy(jsonb);
REVOKE CREATE ON SCHEMA public FROM sh_slow;
DROP ROLE sh_slow;
