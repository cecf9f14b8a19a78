/* partkv--0.1.sql: first release */

\echo Use "CREATE EXTENSION partkv" to load this file. \quit

-- Every role may call the API; what it may touch is checked per table.
GRANT USAGE ON SCHEMA partkv TO PUBLIC;

-------------------------------------------------------------------------------
-- Item model
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.to_dynamodb_json(item jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_to_dynamodb_json'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION partkv.to_dynamodb_json(jsonb) IS
'convert a partkv item (plain JSON) to DynamoDB typed JSON';

CREATE FUNCTION partkv.from_dynamodb_json(item jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_from_dynamodb_json'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION partkv.from_dynamodb_json(jsonb) IS
'convert a DynamoDB typed-JSON item to a partkv item (plain JSON)';

CREATE FUNCTION partkv.item_size(item jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'partkv_item_size'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION partkv.item_size(jsonb) IS
'validate an item and return its size in bytes by DynamoDB''s rules';

-------------------------------------------------------------------------------
-- xxHash operator classes for hash partitioning of key columns
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.xxhash_text(text) RETURNS int4
AS 'MODULE_PATHNAME', 'partkv_xxhash_text'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION partkv.xxhash_text_extended(text, int8) RETURNS int8
AS 'MODULE_PATHNAME', 'partkv_xxhash_text_extended'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION partkv.xxhash_numeric(numeric) RETURNS int4
AS 'MODULE_PATHNAME', 'partkv_xxhash_numeric'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION partkv.xxhash_numeric_extended(numeric, int8) RETURNS int8
AS 'MODULE_PATHNAME', 'partkv_xxhash_numeric_extended'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION partkv.xxhash_bytea(bytea) RETURNS int4
AS 'MODULE_PATHNAME', 'partkv_xxhash_bytea'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION partkv.xxhash_bytea_extended(bytea, int8) RETURNS int8
AS 'MODULE_PATHNAME', 'partkv_xxhash_bytea_extended'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE OPERATOR CLASS partkv.xxhash_text_ops FOR TYPE text USING hash AS
	OPERATOR 1 pg_catalog.= (text, text),
	FUNCTION 1 partkv.xxhash_text(text),
	FUNCTION 2 partkv.xxhash_text_extended(text, int8);
CREATE OPERATOR CLASS partkv.xxhash_numeric_ops FOR TYPE numeric USING hash AS
	OPERATOR 1 pg_catalog.= (numeric, numeric),
	FUNCTION 1 partkv.xxhash_numeric(numeric),
	FUNCTION 2 partkv.xxhash_numeric_extended(numeric, int8);
CREATE OPERATOR CLASS partkv.xxhash_bytea_ops FOR TYPE bytea USING hash AS
	OPERATOR 1 pg_catalog.= (bytea, bytea),
	FUNCTION 1 partkv.xxhash_bytea(bytea),
	FUNCTION 2 partkv.xxhash_bytea_extended(bytea, int8);

-------------------------------------------------------------------------------
-- Table access method
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.partkv_tam_handler(internal)
RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'partkv_tam_handler'
LANGUAGE C STRICT;

CREATE ACCESS METHOD partkv TYPE TABLE HANDLER partkv.partkv_tam_handler;
COMMENT ON ACCESS METHOD partkv IS
'heap storage that validates every row as a partkv item';

-------------------------------------------------------------------------------
-- Catalog
-------------------------------------------------------------------------------

-- One row per kv table.  Tables are found by schema and name (never by OID,
-- so pg_dump/restore and pg_upgrade keep the link).
CREATE TABLE partkv.tables (
	schema_name name NOT NULL,
	table_name text NOT NULL,
	partition_key text NOT NULL,
	partition_key_type text NOT NULL CHECK (partition_key_type IN ('S', 'N', 'B')),
	sort_key text,
	sort_key_type text CHECK (sort_key_type IN ('S', 'N', 'B')),
	partitions int NOT NULL,
	attribute_definitions jsonb NOT NULL,
	local_indexes jsonb NOT NULL DEFAULT '[]',
	global_indexes jsonb NOT NULL DEFAULT '[]',
	stream_specification jsonb,
	table_id uuid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	time_to_live jsonb,			-- TimeToLiveSpecification; NULL: never set (src/ttl)
	PRIMARY KEY (schema_name, table_name),
	CHECK ((sort_key IS NULL) = (sort_key_type IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('partkv.tables', '');

-- True when the current role owns (is a member of the owner of) the kv table.
CREATE FUNCTION partkv.owns_table(p_schema name, p_table text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT pg_has_role(current_user, c.relowner, 'USAGE')
					   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					  WHERE n.nspname = p_schema AND c.relname = p_table
						AND c.relkind = 'p'), false)
$$;

-- Everyone may read the catalog; a row is written only by the owner of the
-- table it describes (create_table/delete_table run as the caller).
ALTER TABLE partkv.tables ENABLE ROW LEVEL SECURITY;
CREATE POLICY tables_read ON partkv.tables FOR SELECT USING (true);
CREATE POLICY tables_write ON partkv.tables FOR ALL
	USING (partkv.owns_table(schema_name, table_name))
	WITH CHECK (partkv.owns_table(schema_name, table_name));
GRANT SELECT, INSERT, UPDATE, DELETE ON partkv.tables TO PUBLIC;

-- Drops cached metadata of a kv table in every backend.
CREATE FUNCTION partkv.invalidate_table_cache(relid oid)
RETURNS void
AS 'MODULE_PATHNAME', 'partkv_invalidate_table_cache'
LANGUAGE C STRICT;


-------------------------------------------------------------------------------
-- Control plane: CreateTable, DescribeTable, ListTables, DeleteTable
-------------------------------------------------------------------------------

-- Raises a DynamoDB ValidationException (22023).
CREATE FUNCTION partkv.raise_validation(message text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message;
END;
$$;

-- Splits a table name into schema and table: "s.t" names schema s when s
-- exists (DynamoDB names may contain dots), otherwise the name is looked up
-- through search_path (create: the first schema of search_path).
CREATE FUNCTION partkv.resolve_table_name(name text, for_create boolean,
										   OUT schema_name name, OUT table_name text)
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	dot int := position('.' in name);
	nsp text;
BEGIN
	IF dot > 1 THEN
		nsp := substr(name, 1, dot - 1);
		IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = nsp) THEN
			schema_name := nsp;
			table_name := substr(name, dot + 1);
			RETURN;
		END IF;
	END IF;
	table_name := name;
	IF for_create THEN
		schema_name := current_schema();
		IF schema_name IS NULL THEN
			RAISE EXCEPTION 'no schema has been selected to create in'
				USING ERRCODE = 'invalid_schema_name';
		END IF;
		RETURN;
	END IF;
	SELECT s INTO schema_name
	  FROM unnest(current_schemas(false)) WITH ORDINALITY AS p(s, ord)
	  JOIN partkv.tables t ON t.schema_name = p.s AND t.table_name = name
	 ORDER BY ord LIMIT 1;
END;
$$;

-- Validates a CreateTable index definition list and returns it normalised.
CREATE FUNCTION partkv.check_indexes(indexes jsonb, is_local boolean,
									 table_keys jsonb, seen_names text[])
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	idx jsonb;
	ks jsonb;
	proj jsonb;
	ptype text;
	iname text;
	out jsonb := '[]';
	kind text := CASE WHEN is_local THEN 'LocalSecondaryIndexes' ELSE 'GlobalSecondaryIndexes' END;
BEGIN
	IF indexes IS NULL OR jsonb_typeof(indexes) = 'null' THEN
		RETURN '[]';
	END IF;
	IF jsonb_typeof(indexes) <> 'array' THEN
		PERFORM partkv.raise_validation(format('%s must be a list', kind));
	END IF;
	IF is_local AND jsonb_array_length(indexes) > 5 THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5');
	END IF;
	IF NOT is_local AND jsonb_array_length(indexes) > 20 THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20');
	END IF;
	IF is_local AND jsonb_array_length(indexes) > 0 AND jsonb_array_length(table_keys) < 2 THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex');
	END IF;
	FOR idx IN SELECT value FROM jsonb_array_elements(indexes) LOOP
		iname := idx->>'IndexName';
		IF jsonb_typeof(idx) <> 'object' OR iname IS NULL THEN
			PERFORM partkv.raise_validation(format('%s: every index needs an IndexName', kind));
		END IF;
		IF length(iname) < 3 OR length(iname) > 255 OR iname !~ '^[a-zA-Z0-9_.-]+$' THEN
			PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''indexName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', iname));
		END IF;
		IF iname = ANY (seen_names) THEN
			PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Duplicate index name: %s', iname));
		END IF;
		seen_names := seen_names || iname;
		ks := partkv.check_key_schema(idx->'KeySchema', 'Index');
		IF is_local THEN
			IF jsonb_array_length(ks) < 2 THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Index KeySchema does not have a range key for index: %s', iname));
			END IF;
			IF ks->0->>'AttributeName' <> table_keys->0->>'AttributeName' THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: %s. index hash key: %s, table hash key: %s',
					iname, ks->0->>'AttributeName', table_keys->0->>'AttributeName'));
			END IF;
		END IF;
		proj := idx->'Projection';
		IF proj IS NULL OR jsonb_typeof(proj) <> 'object' THEN
			PERFORM partkv.raise_validation('Unknown ProjectionType: null');
		END IF;
		ptype := proj->>'ProjectionType';
		IF ptype IS NULL OR ptype NOT IN ('ALL', 'KEYS_ONLY', 'INCLUDE') THEN
			PERFORM partkv.raise_validation(format('Unknown ProjectionType: %s', coalesce(ptype, 'null')));
		END IF;
		IF ptype <> 'INCLUDE' AND proj ? 'NonKeyAttributes' THEN
			PERFORM partkv.raise_validation(format('One or more parameter values were invalid: ProjectionType is %s, but NonKeyAttributes is specified', ptype));
		END IF;
		IF ptype = 'INCLUDE' THEN
			IF jsonb_typeof(proj->'NonKeyAttributes') IS DISTINCT FROM 'array'
			   OR jsonb_array_length(proj->'NonKeyAttributes') = 0 THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: NonKeyAttributes must be specified when ProjectionType is INCLUDE');
			END IF;
			IF (SELECT count(DISTINCT v) <> count(*) FROM jsonb_array_elements_text(proj->'NonKeyAttributes') v) THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Duplicate attribute names in NonKeyAttributes of index: %s', iname));
			END IF;
		END IF;
		out := out || jsonb_build_array(jsonb_build_object('IndexName', iname, 'KeySchema', ks,
														   'Projection', proj));
	END LOOP;
	RETURN out;
END;
$$;

-- Validates a KeySchema list (HASH first, optional RANGE) and returns it.
CREATE FUNCTION partkv.check_key_schema(ks jsonb, what text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n int;
	e jsonb;
	name text;
BEGIN
	IF ks IS NULL OR jsonb_typeof(ks) <> 'array' OR jsonb_array_length(ks) NOT BETWEEN 1 AND 2 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value at ''keySchema'' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1 (%s)', what));
	END IF;
	n := jsonb_array_length(ks);
	FOR i IN 0 .. n - 1 LOOP
		e := ks->i;
		name := e->>'AttributeName';
		IF jsonb_typeof(e) <> 'object' OR name IS NULL OR name = '' THEN
			PERFORM partkv.raise_validation('Invalid KeySchema: every KeySchemaElement needs an AttributeName');
		END IF;
		IF octet_length(name) > 255 THEN
			PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Key attribute name %s exceeds 255 bytes', left(name, 20)));
		END IF;
		IF i = 0 AND e->>'KeyType' IS DISTINCT FROM 'HASH' THEN
			PERFORM partkv.raise_validation('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
		END IF;
		IF i = 1 AND e->>'KeyType' IS DISTINCT FROM 'RANGE' THEN
			PERFORM partkv.raise_validation('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
		END IF;
	END LOOP;
	IF n = 2 AND ks->0->>'AttributeName' = ks->1->>'AttributeName' THEN
		PERFORM partkv.raise_validation('Both the Hash Key and the Range Key element in the KeySchema have the same name');
	END IF;
	RETURN (SELECT jsonb_agg(jsonb_build_object('AttributeName', v->>'AttributeName', 'KeyType', v->>'KeyType'))
			  FROM jsonb_array_elements(ks) v);
END;
$$;

-- Resolves a table name to its catalog row or raises ResourceNotFound.
CREATE FUNCTION partkv.find_table(name text)
RETURNS partkv.tables
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	r record;
	t partkv.tables;
BEGIN
	IF name IS NULL OR length(name) < 3 OR length(name) > 255 OR name !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', name));
	END IF;
	SELECT * INTO r FROM partkv.resolve_table_name(name, false);
	SELECT * INTO t FROM partkv.tables
	 WHERE schema_name = r.schema_name AND table_name = r.table_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'Requested resource not found: Table: % not found', name
			USING ERRCODE = 'undefined_table';
	END IF;
	RETURN t;
END;
$$;

-- DescribeTable's TableDescription of a catalog row, with the given status.
CREATE FUNCTION partkv.table_description(t partkv.tables, status text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel text := format('%I.%I', t.schema_name, t.table_name);
	items bigint := 0;
	bytes bigint := 0;
	d jsonb;
	lsis jsonb := '[]';
	lsi jsonb;
	lsi_items bigint;
	lsi_bytes bigint;
BEGIN
	IF status <> 'DELETING' THEN
		EXECUTE format('SELECT count(*) FROM %s', rel) INTO items;
		SELECT coalesce(sum(pg_table_size(i.inhrelid)), 0) INTO bytes
		  FROM pg_inherits i WHERE i.inhparent = rel::regclass;
	END IF;
	d := jsonb_build_object(
		'TableName', t.table_name,
		'TableId', t.table_id,
		'TableArn', format('arn:partkv:%s:%s:table/%s', current_database(), t.schema_name, t.table_name),
		'KeySchema', jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'))
			|| CASE WHEN t.sort_key IS NULL THEN '[]'::jsonb
					ELSE jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE')) END,
		'AttributeDefinitions', t.attribute_definitions,
		'TableStatus', status,
		'CreationDateTime', extract(epoch FROM t.created_at),
		'ItemCount', items,
		'TableSizeBytes', bytes,
		'BillingModeSummary', jsonb_build_object('BillingMode', 'PAY_PER_REQUEST'),
		'SchemaName', t.schema_name,
		'Partitions', t.partitions);
	IF jsonb_array_length(t.local_indexes) > 0 THEN
		-- an LSI's size is that of its index <table>_lsi<n> on every
		-- partition; its items are those that have its sort key
		FOR n IN 0 .. jsonb_array_length(t.local_indexes) - 1 LOOP
			lsi := t.local_indexes->n;
			lsi_items := 0;
			lsi_bytes := 0;
			IF status <> 'DELETING' THEN
				SELECT coalesce(sum(pg_relation_size(p.relid)), 0) INTO lsi_bytes
				  FROM pg_partition_tree(to_regclass(format('%I.%I', t.schema_name,
															t.table_name || '_lsi' || n))) p;
				EXECUTE format('SELECT count(*) FROM %s WHERE %s IS NOT NULL', rel,
							   partkv.lsi_key_expression(lsi->'KeySchema'->1->>'AttributeName',
								   (SELECT x->>'AttributeType' FROM jsonb_array_elements(t.attribute_definitions) x
									 WHERE x->>'AttributeName' = lsi->'KeySchema'->1->>'AttributeName')))
					INTO lsi_items;
			END IF;
			lsis := lsis || jsonb_build_array(lsi || jsonb_build_object('IndexSizeBytes', lsi_bytes,
																		'ItemCount', lsi_items));
		END LOOP;
		d := d || jsonb_build_object('LocalSecondaryIndexes', lsis);
	END IF;
	IF jsonb_array_length(t.global_indexes) > 0 AND status <> 'DELETING' THEN
		-- status, backfill progress, size and backlog (src/index/gsi.c)
		d := d || partkv.gsi_description_fields(t);
	ELSIF jsonb_array_length(t.global_indexes) > 0 THEN
		d := d || jsonb_build_object('GlobalSecondaryIndexes',
			(SELECT jsonb_agg(i || jsonb_build_object('IndexStatus', 'DELETING'))
			   FROM jsonb_array_elements(t.global_indexes) i));
	END IF;
	IF t.stream_specification IS NOT NULL THEN
		d := d || jsonb_build_object('StreamSpecification', t.stream_specification);
	END IF;
	IF status <> 'DELETING' THEN
		d := d || partkv.stream_description_fields(t);
	END IF;
	-- once TTL has been configured (src/ttl)
	IF t.time_to_live IS NOT NULL THEN
		d := d || jsonb_build_object('TimeToLiveDescription', partkv.ttl_description(t));
	END IF;
	RETURN d;
END;
$$;

CREATE FUNCTION partkv.create_table(definition jsonb)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	r record;
	tname text := definition->>'TableName';
	ks jsonb;
	attrdefs jsonb := definition->'AttributeDefinitions';
	lsis jsonb;
	gsis jsonb;
	stream jsonb := definition->'StreamSpecification';
	nparts int;
	key_names text[];
	defined text[];
	pk text;
	sk text;
	pk_type text;
	sk_type text;
	coltype text;
	ddl text;
	opclass text;
	entry partkv.tables;
	a jsonb;
	lsi_type text;
	lsi_expr text;
BEGIN
	IF definition IS NULL OR jsonb_typeof(definition) <> 'object' THEN
		PERFORM partkv.raise_validation('The CreateTable request must be a JSON object');
	END IF;
	IF tname IS NULL OR length(tname) < 3 OR length(tname) > 255 OR tname !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', tname));
	END IF;
	SELECT * INTO r FROM partkv.resolve_table_name(tname, true);
	-- Partition names add "_p<n>" to the table's name; PostgreSQL names
	-- are at most 63 bytes.
	IF octet_length(r.table_name) > 56 THEN
		PERFORM partkv.raise_validation(format('TableName %s is too long: partkv table names are limited to 56 bytes (PostgreSQL identifiers are 63 bytes)', r.table_name));
	END IF;

	ks := partkv.check_key_schema(definition->'KeySchema', 'Table');
	pk := ks->0->>'AttributeName';
	sk := ks->1->>'AttributeName';

	IF attrdefs IS NULL OR jsonb_typeof(attrdefs) <> 'array' THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''attributeDefinitions'' failed to satisfy constraint: Member must not be null');
	END IF;
	FOR a IN SELECT value FROM jsonb_array_elements(attrdefs) LOOP
		IF jsonb_typeof(a) <> 'object' OR a->>'AttributeName' IS NULL THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: every AttributeDefinition needs an AttributeName');
		END IF;
		IF a->>'AttributeType' IS NULL OR a->>'AttributeType' NOT IN ('S', 'N', 'B') THEN
			PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', a->>'AttributeType'));
		END IF;
		IF a->>'AttributeName' = ANY (defined) THEN
			PERFORM partkv.raise_validation(format('Cannot have two attributes with the same name: %s', a->>'AttributeName'));
		END IF;
		defined := defined || (a->>'AttributeName');
	END LOOP;

	lsis := partkv.check_indexes(definition->'LocalSecondaryIndexes', true, ks, '{}');
	gsis := partkv.check_indexes(definition->'GlobalSecondaryIndexes', false, ks,
								 ARRAY(SELECT i->>'IndexName' FROM jsonb_array_elements(lsis) i));

	-- Every key attribute of the table and its indexes is defined, and
	-- nothing else is.
	key_names := ARRAY(SELECT DISTINCT k->>'AttributeName'
						 FROM (SELECT ks AS s
							   UNION ALL SELECT i->'KeySchema' FROM jsonb_array_elements(lsis) i
							   UNION ALL SELECT i->'KeySchema' FROM jsonb_array_elements(gsis) i) x,
							  jsonb_array_elements(x.s) k
						ORDER BY 1);
	IF EXISTS (SELECT unnest(key_names) EXCEPT SELECT unnest(defined)) THEN
		PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
			array_to_string(key_names, ', '), array_to_string(defined, ', ')));
	END IF;
	IF cardinality(defined) <> cardinality(key_names) THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions');
	END IF;
	IF pk = 'item' OR sk = 'item' THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: "item" cannot be a table key attribute in partkv: it is the name of the column holding the whole item');
	END IF;
	IF octet_length(pk) > 63 OR octet_length(sk) > 63 THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: partkv table key attribute names are limited to 63 bytes (they name PostgreSQL columns)');
	END IF;

	IF stream IS NOT NULL AND jsonb_typeof(stream) <> 'null' THEN
		IF jsonb_typeof(stream) <> 'object' OR jsonb_typeof(stream->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		IF (stream->>'StreamEnabled')::boolean THEN
			IF stream->>'StreamViewType' IS NULL OR stream->>'StreamViewType' NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			stream := jsonb_build_object('StreamEnabled', true, 'StreamViewType', stream->>'StreamViewType');
		ELSE
			IF stream ? 'StreamViewType' THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			stream := NULL;
		END IF;
	ELSE
		stream := NULL;
	END IF;

	IF definition ? 'Partitions' THEN
		IF jsonb_typeof(definition->'Partitions') <> 'number'
		   OR (definition->>'Partitions')::numeric <> trunc((definition->>'Partitions')::numeric)
		   OR (definition->>'Partitions')::numeric NOT BETWEEN 1 AND 1024 THEN
			PERFORM partkv.raise_validation(format('Partitions must be an integer between 1 and 1024, not %s', definition->'Partitions'));
		END IF;
		nparts := (definition->>'Partitions')::int;
	ELSE
		nparts := 8;
	END IF;

	IF EXISTS (SELECT 1 FROM partkv.tables WHERE schema_name = r.schema_name AND table_name = r.table_name) THEN
		RAISE EXCEPTION 'Table already exists: %', tname USING ERRCODE = 'duplicate_table';
	END IF;

	SELECT x->>'AttributeType' INTO pk_type FROM jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = pk;
	SELECT x->>'AttributeType' INTO sk_type FROM jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = sk;

	ddl := format('CREATE TABLE %I.%I (%I %s NOT NULL', r.schema_name, r.table_name, pk,
				  partkv.key_column_type(pk_type));
	IF sk IS NOT NULL THEN
		ddl := ddl || format(', %I %s NOT NULL', sk, partkv.key_column_type(sk_type));
	END IF;
	opclass := CASE pk_type WHEN 'S' THEN 'partkv.xxhash_text_ops'
							WHEN 'N' THEN 'partkv.xxhash_numeric_ops'
							ELSE 'partkv.xxhash_bytea_ops' END;
	ddl := ddl || format(', item jsonb NOT NULL, PRIMARY KEY (%s)) PARTITION BY HASH (%I %s)',
						 CASE WHEN sk IS NULL THEN quote_ident(pk)
							  ELSE quote_ident(pk) || ', ' || quote_ident(sk) END,
						 pk, opclass);
	EXECUTE ddl;
	FOR i IN 0 .. nparts - 1 LOOP
		EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s) USING partkv',
					   r.schema_name, r.table_name || '_p' || i, r.schema_name, r.table_name, nparts, i);
	END LOOP;
	-- Local secondary indexes (src/index/lsi.c): B-tree (pk, LSI key, sk)
	-- over the items that have the LSI key, named <table>_lsi<n>; the table
	-- sort key makes their order total (LastEvaluatedKey resumes after it).
	FOR i IN 0 .. jsonb_array_length(lsis) - 1 LOOP
		a := lsis->i->'KeySchema'->1;
		SELECT x->>'AttributeType' INTO lsi_type FROM jsonb_array_elements(attrdefs) x
		 WHERE x->>'AttributeName' = a->>'AttributeName';
		lsi_expr := partkv.lsi_key_expression(a->>'AttributeName', lsi_type);
		EXECUTE format('CREATE INDEX %I ON %I.%I (%I, (%s)%s, %I) WHERE %s IS NOT NULL',
					   r.table_name || '_lsi' || i, r.schema_name, r.table_name, pk, lsi_expr,
					   CASE WHEN lsi_type = 'S' THEN ' COLLATE "C"' ELSE '' END, sk, lsi_expr);
	END LOOP;
	EXECUTE format('COMMENT ON TABLE %I.%I IS %L', r.schema_name, r.table_name,
				   'partkv table: use the partkv.* functions, or SQL on the item column');

	entry := ROW(r.schema_name, r.table_name, pk, pk_type, sk, sk_type, nparts,
				 (SELECT jsonb_agg(jsonb_build_object('AttributeName', x->>'AttributeName',
													  'AttributeType', x->>'AttributeType')
								   ORDER BY x->>'AttributeName')
					FROM jsonb_array_elements(attrdefs) x),
				 lsis, gsis, stream, gen_random_uuid(), now());
	INSERT INTO partkv.tables SELECT entry.*;
	PERFORM partkv.invalidate_table_cache(format('%I.%I', r.schema_name, r.table_name)::regclass);
	RETURN partkv.table_description(entry, 'ACTIVE');
END;
$$;
COMMENT ON FUNCTION partkv.create_table(jsonb) IS
'CreateTable from a DynamoDB request body (plus "Partitions", partkv''s partition count)';

-- Column type of a key attribute type.
CREATE FUNCTION partkv.key_column_type(attr_type text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE attr_type WHEN 'S' THEN 'text COLLATE "C"'
						  WHEN 'N' THEN 'numeric'
						  WHEN 'B' THEN 'bytea' END
$$;

CREATE FUNCTION partkv.create_table(table_name text, partition_key text,
									partition_key_type text DEFAULT 'S',
									sort_key text DEFAULT NULL,
									sort_key_type text DEFAULT 'S',
									partitions int DEFAULT 8,
									local_indexes jsonb DEFAULT NULL,
									global_indexes jsonb DEFAULT NULL,
									stream_view_type text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	attrs jsonb := '{}';
	ks jsonb;
	body jsonb;
	idx jsonb;
	k jsonb;
BEGIN
	IF partition_key IS NULL THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''keySchema'' failed to satisfy constraint: Member must not be null');
	END IF;
	ks := jsonb_build_array(jsonb_build_object('AttributeName', partition_key, 'KeyType', 'HASH'));
	attrs := jsonb_build_object(partition_key, partition_key_type);
	IF sort_key IS NOT NULL THEN
		ks := ks || jsonb_build_array(jsonb_build_object('AttributeName', sort_key, 'KeyType', 'RANGE'));
		IF attrs ? sort_key AND attrs->>sort_key IS DISTINCT FROM sort_key_type THEN
			PERFORM partkv.raise_validation(format('Cannot have two attributes with the same name: %s', sort_key));
		END IF;
		attrs := attrs || jsonb_build_object(sort_key, sort_key_type);
	END IF;
	-- Index key attributes need definitions too: they come from the index's
	-- KeySchema with an "AttributeType" member (partkv's shorthand), or default to S.
	FOR idx IN SELECT value FROM jsonb_array_elements(coalesce(local_indexes, '[]') || coalesce(global_indexes, '[]')) LOOP
		FOR k IN SELECT value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(idx->'KeySchema') = 'array' THEN idx->'KeySchema' ELSE '[]' END) LOOP
			IF k->>'AttributeName' IS NOT NULL THEN
				IF attrs ? (k->>'AttributeName') AND k ? 'AttributeType'
				   AND attrs->>(k->>'AttributeName') IS DISTINCT FROM k->>'AttributeType' THEN
					PERFORM partkv.raise_validation(format('Cannot have two attributes with the same name: %s', k->>'AttributeName'));
				END IF;
				IF NOT attrs ? (k->>'AttributeName') THEN
					attrs := attrs || jsonb_build_object(k->>'AttributeName', coalesce(k->>'AttributeType', 'S'));
				END IF;
			END IF;
		END LOOP;
	END LOOP;
	body := jsonb_build_object(
		'TableName', table_name,
		'KeySchema', ks,
		'AttributeDefinitions', (SELECT jsonb_agg(jsonb_build_object('AttributeName', key, 'AttributeType', value))
								   FROM jsonb_each_text(attrs)),
		'Partitions', partitions);
	IF local_indexes IS NOT NULL THEN
		body := body || jsonb_build_object('LocalSecondaryIndexes', local_indexes);
	END IF;
	IF global_indexes IS NOT NULL THEN
		body := body || jsonb_build_object('GlobalSecondaryIndexes', global_indexes);
	END IF;
	IF stream_view_type IS NOT NULL THEN
		body := body || jsonb_build_object('StreamSpecification',
			jsonb_build_object('StreamEnabled', true, 'StreamViewType', stream_view_type));
	END IF;
	RETURN partkv.create_table(body);
END;
$$;
COMMENT ON FUNCTION partkv.create_table(text, text, text, text, text, int, jsonb, jsonb, text) IS
'CreateTable: a kv table hashed over partitions on its partition key';

CREATE FUNCTION partkv.describe_table(table_name text)
RETURNS jsonb
LANGUAGE sql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
	SELECT partkv.table_description(partkv.find_table(table_name), 'ACTIVE')
$$;
COMMENT ON FUNCTION partkv.describe_table(text) IS 'DescribeTable';

CREATE FUNCTION partkv.list_tables()
RETURNS SETOF text
LANGUAGE sql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
	-- A table is listed by the name that finds it: unqualified when it is
	-- the first match through search_path, schema-qualified otherwise.
	SELECT CASE WHEN (SELECT r.schema_name FROM partkv.resolve_table_name(t.table_name, false) r) = t.schema_name
				THEN t.table_name
				ELSE t.schema_name || '.' || t.table_name END AS name
	  FROM partkv.tables t
	 ORDER BY 1
$$;
COMMENT ON FUNCTION partkv.list_tables() IS 'ListTables';

CREATE FUNCTION partkv.delete_table(table_name text)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	d jsonb := partkv.table_description(t, 'DELETING');
BEGIN
	-- as in DynamoDB, a table cannot be deleted while one of its GSIs is backfilled
	IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g
				WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
				  AND g.status = 'CREATING') THEN
		RAISE EXCEPTION 'Attempt to change a resource which is still in use: Table is being updated: %', t.table_name
			USING ERRCODE = 'duplicate_table';
	END IF;
	DELETE FROM partkv.tables WHERE schema_name = t.schema_name AND partkv.tables.table_name = t.table_name;
	EXECUTE format('DROP TABLE %I.%I', t.schema_name, t.table_name);
	RETURN d;
END;
$$;
COMMENT ON FUNCTION partkv.delete_table(text) IS 'DeleteTable: drops the table and its items';

-------------------------------------------------------------------------------
-- Data plane: PutItem, GetItem, DeleteItem
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.put_item(table_name text, item jsonb,
								condition text DEFAULT NULL,
								attr_values jsonb DEFAULT NULL,
								attr_names jsonb DEFAULT NULL,
								return_values text DEFAULT 'NONE',
								return_values_on_condition_check_failure text DEFAULT 'NONE',
								return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_put_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.put_item(text, jsonb, text, jsonb, jsonb, text, text, text) IS
'PutItem: create or replace an item, optionally under a condition';

CREATE FUNCTION partkv.get_item(table_name text, key jsonb,
								projection text DEFAULT NULL,
								attr_names jsonb DEFAULT NULL,
								consistent_read boolean DEFAULT false,
								return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_get_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.get_item(text, jsonb, text, jsonb, boolean, text) IS
'GetItem: the item with this key, or NULL';

CREATE FUNCTION partkv.delete_item(table_name text, key jsonb,
								   condition text DEFAULT NULL,
								   attr_values jsonb DEFAULT NULL,
								   attr_names jsonb DEFAULT NULL,
								   return_values text DEFAULT 'NONE',
								   return_values_on_condition_check_failure text DEFAULT 'NONE',
								   return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_delete_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.delete_item(text, jsonb, text, jsonb, jsonb, text, text, text) IS
'DeleteItem: delete the item with this key, optionally under a condition';

CREATE FUNCTION partkv.update_item(table_name text, key jsonb,
								   update text DEFAULT NULL,
								   attr_values jsonb DEFAULT NULL,
								   attr_names jsonb DEFAULT NULL,
								   condition text DEFAULT NULL,
								   return_values text DEFAULT 'NONE',
								   return_values_on_condition_check_failure text DEFAULT 'NONE',
								   return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_update_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.update_item(text, jsonb, text, jsonb, jsonb, text, text, text, text) IS
'UpdateItem: edit (or create) an item with an update expression';

-------------------------------------------------------------------------------
-- Batches and transactions
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.batch_get_item(request jsonb,
		return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_batch_get_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.batch_get_item(jsonb, text) IS
'BatchGetItem: up to 100 keys from one or more tables';

CREATE FUNCTION partkv.batch_write_item(request jsonb,
		return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_batch_write_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.batch_write_item(jsonb, text) IS
'BatchWriteItem: up to 25 puts and deletes in one or more tables';

CREATE FUNCTION partkv.transact_write_items(request jsonb,
		return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_transact_write_items'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.transact_write_items(jsonb, text) IS
'TransactWriteItems: up to 100 conditional writes, all or nothing';

CREATE FUNCTION partkv.transact_get_items(request jsonb,
		return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_transact_get_items'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.transact_get_items(jsonb, text) IS
'TransactGetItems: up to 100 items read as of one snapshot';

-- ClientRequestToken of TransactWriteItems: remembered for 10 minutes.
CREATE TABLE partkv.client_request_tokens (
	token text PRIMARY KEY,
	request_hash text NOT NULL,
	response jsonb,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON partkv.client_request_tokens (created_at);
REVOKE ALL ON partkv.client_request_tokens FROM PUBLIC;

-- Claims a token for this transaction, or returns the response of the call
-- that used it within the last 10 minutes.  SECURITY DEFINER: callers
-- cannot touch the token table directly.
CREATE FUNCTION partkv.claim_request_token(p_token text, p_hash text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r partkv.client_request_tokens;
BEGIN
	DELETE FROM partkv.client_request_tokens WHERE created_at < now() - interval '10 minutes';
	INSERT INTO partkv.client_request_tokens (token, request_hash)
	VALUES (p_token, p_hash) ON CONFLICT (token) DO NOTHING;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO r FROM partkv.client_request_tokens WHERE token = p_token;
	IF r.request_hash <> p_hash THEN
		RAISE EXCEPTION 'IdempotentParameterMismatchException: the ClientRequestToken was already used with different parameters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN r.response;
END;
$$;

-- Stores the response of the call that claimed a token.
CREATE FUNCTION partkv.record_request_token(p_token text, p_response jsonb)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	-- only the transaction that claimed the token may record its response
	UPDATE partkv.client_request_tokens SET response = p_response
	 WHERE token = p_token AND response IS NULL AND xmin = xid(pg_current_xact_id())
$$;

-- Internal helpers: callable by every role because the API functions (which
-- run as the caller) use them; they touch nothing the caller could not.
COMMENT ON FUNCTION partkv.raise_validation(text) IS 'internal: raise a ValidationException (22023)';
COMMENT ON FUNCTION partkv.resolve_table_name(text, boolean) IS 'internal: schema and table of a DynamoDB table name';
COMMENT ON FUNCTION partkv.check_indexes(jsonb, boolean, jsonb, text[]) IS 'internal: validate the index list of a CreateTable request';
COMMENT ON FUNCTION partkv.check_key_schema(jsonb, text) IS 'internal: validate a KeySchema list';
COMMENT ON FUNCTION partkv.owns_table(name, text) IS 'internal: whether the current role owns a kv table';
COMMENT ON FUNCTION partkv.find_table(text) IS 'internal: the catalog row of a table name, or ResourceNotFound';
COMMENT ON FUNCTION partkv.table_description(partkv.tables, text) IS 'internal: the TableDescription of a catalog row';
COMMENT ON FUNCTION partkv.key_column_type(text) IS 'internal: the column type of a key attribute type';
COMMENT ON FUNCTION partkv.invalidate_table_cache(oid) IS 'internal: make every backend reload a kv table''s metadata';
COMMENT ON FUNCTION partkv.claim_request_token(text, text) IS 'internal: claim a ClientRequestToken, or return the response it already has';
COMMENT ON FUNCTION partkv.record_request_token(text, jsonb) IS 'internal: store the response of the transaction that claimed a token';
COMMENT ON FUNCTION partkv.partkv_tam_handler(internal) IS 'handler of the partkv table access method';
COMMENT ON FUNCTION partkv.xxhash_text(text) IS 'XXH3 hash of a text key (hash opclass support)';
COMMENT ON FUNCTION partkv.xxhash_text_extended(text, int8) IS 'seeded XXH3 hash of a text key (hash partitioning)';
COMMENT ON FUNCTION partkv.xxhash_numeric(numeric) IS 'XXH3 hash of a number key, by its normalised text';
COMMENT ON FUNCTION partkv.xxhash_numeric_extended(numeric, int8) IS 'seeded XXH3 hash of a number key (hash partitioning)';
COMMENT ON FUNCTION partkv.xxhash_bytea(bytea) IS 'XXH3 hash of a binary key';
COMMENT ON FUNCTION partkv.xxhash_bytea_extended(bytea, int8) IS 'seeded XXH3 hash of a binary key (hash partitioning)';

-- ===== change stream (src/stream) =====
--
-- The "partkv" logical decoding output plugin (src/stream/decoder.c) reads a
-- table's StreamViewType under the historic snapshot of the change it
-- decodes, which only works for catalog tables: partkv.tables is a user
-- catalog table.  Its stream_specification stays inline (never TOASTed).
ALTER TABLE partkv.tables SET (user_catalog_table = true);
ALTER TABLE partkv.tables ALTER COLUMN stream_specification SET STORAGE MAIN;

-- Relcache invalidation of a kv table and its partitions (owner only).
CREATE FUNCTION partkv.stream_invalidate(relid regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'partkv_stream_invalidate'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION partkv.stream_invalidate(regclass) IS
'internal: make logical decoding reread the stream specification of a kv table';

-- Stream shard id of a kv table partition.
CREATE FUNCTION partkv.stream_shard_id(partition regclass)
RETURNS text
AS 'MODULE_PATHNAME', 'partkv_stream_shard_id'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION partkv.stream_shard_id(regclass) IS
'the stream shard id ("shardId-<modulus>-<remainder>") of a kv table partition';

-- OldImage needs the whole old row in WAL: REPLICA IDENTITY FULL on the
-- partitions of tables whose stream view type has old images, and the
-- default identity (the primary key) on all others.  Runs as the caller,
-- who owns the table (only an owner may write its partkv.tables row).
CREATE FUNCTION partkv.apply_stream_replica_identity(schema_name name, table_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel oid;
	spec jsonb;
	want_full boolean;
	part record;
BEGIN
	SELECT c.oid INTO rel
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'p';
	IF rel IS NULL THEN
		RETURN;
	END IF;
	SELECT t.stream_specification INTO spec
	  FROM partkv.tables t WHERE t.schema_name = $1 AND t.table_name = $2;
	want_full := coalesce(jsonb_typeof(spec->'StreamEnabled') = 'boolean'
						  AND (spec->>'StreamEnabled')::boolean
						  AND spec->>'StreamViewType' IN ('OLD_IMAGE', 'NEW_AND_OLD_IMAGES'), false);
	FOR part IN SELECT c.oid::regclass AS r, c.relreplident
				  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				 WHERE i.inhparent = rel ORDER BY c.oid LOOP
		IF want_full AND part.relreplident <> 'f' THEN
			EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', part.r);
		ELSIF NOT want_full AND part.relreplident = 'f' THEN
			EXECUTE format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', part.r);
		END IF;
	END LOOP;
	PERFORM partkv.stream_invalidate(rel);
END;
$$;
COMMENT ON FUNCTION partkv.apply_stream_replica_identity(name, text) IS
'set the replica identity of a kv table''s partitions for its stream view type (FULL for old images)';

-- Every write of a stream specification (create_table, update_table,
-- pg_restore) opens or closes the table's stream in partkv.streams, sets
-- the partitions' replica identity and invalidates decoding caches;
-- deleting the table's row closes its stream and removes its handlers.
-- Runs as the caller, the table's owner (only an owner may write its
-- partkv.tables row).
CREATE FUNCTION partkv.stream_specification_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	enabled boolean;
	open_id bigint;
	open_view text;
	label_at timestamptz := clock_timestamp();
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE partkv.streams s SET disabled_at = now(), disabled_lsn = pg_current_wal_insert_lsn()
		 WHERE s.table_id = OLD.table_id AND s.disabled_at IS NULL;
		DELETE FROM partkv.stream_handlers h WHERE h.table_id = OLD.table_id;
		RETURN NULL;
	END IF;
	enabled := coalesce(jsonb_typeof(NEW.stream_specification->'StreamEnabled') = 'boolean'
						AND (NEW.stream_specification->>'StreamEnabled')::boolean, false);
	SELECT s.stream_id, s.view_type INTO open_id, open_view
	  FROM partkv.streams s WHERE s.table_id = NEW.table_id AND s.disabled_at IS NULL;
	IF open_id IS NOT NULL
	   AND (NOT enabled OR open_view IS DISTINCT FROM NEW.stream_specification->>'StreamViewType') THEN
		UPDATE partkv.streams s SET disabled_at = now(), disabled_lsn = pg_current_wal_insert_lsn()
		 WHERE s.stream_id = open_id;
		open_id := NULL;
	END IF;
	IF enabled AND open_id IS NULL THEN
		-- the label is the creation time, as DynamoDB's; unique per table
		WHILE EXISTS (SELECT 1 FROM partkv.streams s
					   WHERE s.table_id = NEW.table_id
						 AND s.label = to_char(label_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS')) LOOP
			label_at := label_at + interval '1 millisecond';
		END LOOP;
		INSERT INTO partkv.streams (schema_name, table_name, table_id, view_type, label, created_lsn)
		VALUES (NEW.schema_name, NEW.table_name, NEW.table_id,
				NEW.stream_specification->>'StreamViewType',
				to_char(label_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS'),
				pg_current_wal_insert_lsn());
	END IF;
	PERFORM partkv.apply_stream_replica_identity(NEW.schema_name, NEW.table_name);
	RETURN NULL;
END;
$$;
COMMENT ON FUNCTION partkv.stream_specification_changed() IS
'internal: trigger keeping streams, replica identity and decoding caches in line with stream specifications';

CREATE TRIGGER stream_specification_changed
	AFTER INSERT OR UPDATE OF stream_specification OR DELETE ON partkv.tables
	FOR EACH ROW EXECUTE FUNCTION partkv.stream_specification_changed();

-- One row per stream: enabling a table's stream starts a new stream (new
-- label and ARN); disabling or deleting the table closes it, and its
-- records stay readable for partkv.stream_retention.  Maintained by the
-- trigger on partkv.tables below; a user catalog table too, so that the
-- output plugin can tell which stream a change belongs to.
CREATE TABLE partkv.streams (
	stream_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	schema_name name NOT NULL,
	table_name text NOT NULL,
	table_id uuid NOT NULL,
	view_type text NOT NULL,
	label text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_lsn pg_lsn NOT NULL,
	disabled_at timestamptz,
	disabled_lsn pg_lsn,
	trimmed_upto text COLLATE "C"	-- records up to here may have been trimmed
);
ALTER TABLE partkv.streams SET (user_catalog_table = true);
CREATE UNIQUE INDEX streams_open ON partkv.streams (table_id) WHERE disabled_at IS NULL;
ALTER TABLE partkv.streams ENABLE ROW LEVEL SECURITY;
CREATE POLICY streams_read ON partkv.streams FOR SELECT USING (true);
CREATE POLICY streams_write ON partkv.streams FOR ALL
	USING (partkv.owns_table(schema_name, table_name))
	WITH CHECK (partkv.owns_table(schema_name, table_name));
GRANT SELECT, INSERT, UPDATE ON partkv.streams TO PUBLIC;

-- The materialised stream, written by the stream worker: partitioned by
-- write time so that retention drops whole partitions.  A shard is a hash
-- partition of the kv table ("shardId-<modulus>-<remainder>").  Rows are
-- visible to the roles that may SELECT the kv table.
CREATE TABLE partkv.stream_log (
	stream_id bigint NOT NULL,
	shard_id text COLLATE "C" NOT NULL,
	sequence_number text COLLATE "C" NOT NULL,
	event_name text NOT NULL,
	size_bytes int NOT NULL,
	record jsonb NOT NULL,
	written_at timestamptz NOT NULL
) PARTITION BY RANGE (written_at);
CREATE INDEX stream_log_shard ON partkv.stream_log (stream_id, shard_id, sequence_number);
CREATE INDEX stream_log_sequence ON partkv.stream_log (stream_id, sequence_number);

-- Partitions of partkv.stream_log and their ranges.
CREATE TABLE partkv.stream_partitions (
	partition_name name PRIMARY KEY,
	lo timestamptz NOT NULL,
	hi timestamptz NOT NULL
);

-- Streams whose kv table the current role may SELECT.
CREATE FUNCTION partkv.readable_streams()
RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(array_agg(s.stream_id), '{}')
	  FROM partkv.streams s
	  JOIN partkv.tables t ON t.table_id = s.table_id
	  JOIN pg_namespace n ON n.nspname = t.schema_name
	  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name AND c.relkind = 'p'
	 WHERE has_table_privilege(c.oid, 'SELECT')
$$;
COMMENT ON FUNCTION partkv.readable_streams() IS
'internal: ids of the streams whose table the current role may read';

ALTER TABLE partkv.stream_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY stream_log_read ON partkv.stream_log FOR SELECT
	USING (stream_id = ANY ((SELECT partkv.readable_streams())::bigint[]));
GRANT SELECT ON partkv.stream_log TO PUBLIC;

-- Creates the partition of partkv.stream_log holding time "at" (width
-- wide, aligned, never overlapping an existing one).  Partitions belong
-- to the extension, so pg_dump leaves stream data out.
CREATE FUNCTION partkv.stream_ensure_partition(at timestamptz, width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	pname text;
BEGIN
	IF EXISTS (SELECT 1 FROM partkv.stream_partitions p WHERE p.lo <= at AND at < p.hi) THEN
		RETURN;
	END IF;
	lo := date_bin(width, at, timestamptz '1970-01-01 00:00:00+00');
	hi := lo + width;
	lo := greatest(lo, (SELECT max(p.hi) FROM partkv.stream_partitions p WHERE p.hi <= at));
	hi := least(hi, (SELECT min(p.lo) FROM partkv.stream_partitions p WHERE p.lo > at));
	pname := 'stream_log_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US');
	EXECUTE format('CREATE TABLE partkv.%I PARTITION OF partkv.stream_log FOR VALUES FROM (%L) TO (%L)',
				   pname, lo, hi);
	EXECUTE format('ALTER EXTENSION partkv ADD TABLE partkv.%I', pname);
	INSERT INTO partkv.stream_partitions VALUES (pname, lo, hi);
END;
$$;
REVOKE ALL ON FUNCTION partkv.stream_ensure_partition(timestamptz, interval) FROM PUBLIC;
COMMENT ON FUNCTION partkv.stream_ensure_partition(timestamptz, interval) IS
'internal: create the stream partition holding a point in time';

-- The stream worker's housekeeping: partitions for now and the next
-- period, and retention: partitions entirely older than the retention
-- period are dropped whole (their streams remember the trim point), then
-- closed streams without records are forgotten.  The DDL waits at most
-- 100 ms for its locks and otherwise gives way to readers until next time.
CREATE FUNCTION partkv.stream_maintain(retention interval, width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record;
BEGIN
	PERFORM set_config('lock_timeout', '100ms', true);
	BEGIN
		PERFORM partkv.stream_ensure_partition(now(), width);
		PERFORM partkv.stream_ensure_partition(now() + width, width);
	EXCEPTION WHEN lock_not_available THEN
		NULL;
	END;
	FOR p IN SELECT * FROM partkv.stream_partitions sp
			  WHERE sp.hi <= now() - retention ORDER BY sp.lo LOOP
		BEGIN
			EXECUTE format('UPDATE partkv.streams s SET trimmed_upto = greatest(s.trimmed_upto, m.last)'
						   '  FROM (SELECT stream_id, max(sequence_number) AS last FROM partkv.%I GROUP BY stream_id) m'
						   ' WHERE m.stream_id = s.stream_id', p.partition_name);
			EXECUTE format('ALTER EXTENSION partkv DROP TABLE partkv.%I', p.partition_name);
			EXECUTE format('DROP TABLE partkv.%I', p.partition_name);
			DELETE FROM partkv.stream_partitions sp WHERE sp.partition_name = p.partition_name;
		EXCEPTION WHEN lock_not_available THEN
			EXIT;
		END;
	END LOOP;
	DELETE FROM partkv.streams s
	 WHERE s.disabled_at < now() - retention
	   AND NOT EXISTS (SELECT 1 FROM partkv.stream_log l WHERE l.stream_id = s.stream_id);
END;
$$;
REVOKE ALL ON FUNCTION partkv.stream_maintain(interval, interval) FROM PUBLIC;
COMMENT ON FUNCTION partkv.stream_maintain(interval, interval) IS
'internal: create upcoming stream partitions and drop those past retention';

CREATE FUNCTION partkv.stream_channel(table_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'partkv_stream_channel'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION partkv.stream_channel(text) IS
'the NOTIFY channel announcing new stream records of a table: LISTEN on it';

CREATE FUNCTION partkv.stream_wait(timeout interval DEFAULT '30s')
RETURNS boolean
AS 'MODULE_PATHNAME', 'partkv_stream_wait'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION partkv.stream_wait(interval) IS
'wait until the stream holds every change committed before the call; false on timeout';

CREATE FUNCTION partkv.stream_worker_status()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_stream_worker_status'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.stream_worker_status() IS
'the stream worker of this database: pid, WAL position reached, records written; NULL if none runs';

-- The sequence number of position 0 at an LSN (where a stream starts).
CREATE FUNCTION partkv.lsn_sequence_number(lsn pg_lsn)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT lpad((lsn - '0/0'::pg_lsn)::text, 20, '0') || '0000000000'
$$;
COMMENT ON FUNCTION partkv.lsn_sequence_number(pg_lsn) IS
'internal: the first sequence number at a WAL position';

-- A sequence number given by a caller, as partkv writes them (30 digits).
CREATE FUNCTION partkv.check_sequence_number(seq text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	digits text := ltrim(seq, '0');
BEGIN
	IF seq IS NULL OR seq !~ '^[0-9]{1,40}$' OR length(digits) > 30 THEN
		PERFORM partkv.raise_validation(format('Invalid SequenceNumber: %s', seq));
	END IF;
	RETURN lpad(digits, 30, '0');
END;
$$;
COMMENT ON FUNCTION partkv.check_sequence_number(text) IS
'internal: validate and normalise a stream sequence number';

-- The latest stream of a kv table (open or closed), or NULL.
CREATE FUNCTION partkv.latest_stream(t partkv.tables)
RETURNS partkv.streams
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.* FROM partkv.streams s WHERE s.table_id = t.table_id ORDER BY s.stream_id DESC LIMIT 1
$$;
COMMENT ON FUNCTION partkv.latest_stream(partkv.tables) IS
'internal: the latest stream of a kv table';

-- ARN of a stream: the table's ARN followed by /stream/<label>.
CREATE FUNCTION partkv.stream_arn(s partkv.streams)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('arn:partkv:%s:%s:table/%s/stream/%s', current_database(), s.schema_name,
				  s.table_name, s.label)
$$;
COMMENT ON FUNCTION partkv.stream_arn(partkv.streams) IS
'internal: the ARN of a stream';

-- LatestStreamArn and LatestStreamLabel of a table description ({} when
-- the table never had a stream): CreateTable, DescribeTable and
-- UpdateTable return them.
CREATE FUNCTION partkv.stream_description_fields(t partkv.tables)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT jsonb_build_object('LatestStreamArn', partkv.stream_arn(s),
											   'LatestStreamLabel', s.label)
					   FROM partkv.latest_stream(t) s WHERE s.stream_id IS NOT NULL), '{}')
$$;
COMMENT ON FUNCTION partkv.stream_description_fields(partkv.tables) IS
'LatestStreamArn and LatestStreamLabel of a kv table, for its TableDescription';

-- Raises 42501 unless the current role may read the kv table.
CREATE FUNCTION partkv.check_stream_read(t partkv.tables)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT has_table_privilege(format('%I.%I', t.schema_name, t.table_name), 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END;
$$;
COMMENT ON FUNCTION partkv.check_stream_read(partkv.tables) IS
'internal: the stream of a table is readable by the roles that may SELECT it';

-- Shard iterators are opaque text: a stream, a shard, a position and the
-- time of issue, base64-encoded.  They carry no privilege: get_records
-- checks the reader's.
CREATE FUNCTION partkv.encode_shard_iterator(stream_id bigint, shard_id text,
											 after text, inclusive boolean)
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT 'partkv-iterator:' ||
		   translate(encode(convert_to(jsonb_build_object(
					's', stream_id, 'h', shard_id, 'a', after, 'i', inclusive,
					't', extract(epoch FROM clock_timestamp()))::text, 'UTF8'), 'base64'),
					 E'\n', '')
$$;
COMMENT ON FUNCTION partkv.encode_shard_iterator(bigint, text, text, boolean) IS
'internal: build a shard iterator';

-- Decodes a shard iterator; ExpiredIteratorException (KV006) after 15 min.
CREATE FUNCTION partkv.decode_shard_iterator(iterator text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb;
	issued numeric;
	now_epoch numeric := extract(epoch FROM clock_timestamp());
BEGIN
	IF iterator IS NULL OR left(iterator, 16) <> 'partkv-iterator:' THEN
		PERFORM partkv.raise_validation('Invalid ShardIterator');
	END IF;
	BEGIN
		j := convert_from(decode(substr(iterator, 17), 'base64'), 'UTF8')::jsonb;
		issued := (j->>'t')::numeric;
		IF jsonb_typeof(j->'s') <> 'number' OR jsonb_typeof(j->'h') <> 'string' OR issued IS NULL THEN
			RAISE EXCEPTION USING ERRCODE = 'data_exception';
		END IF;
	EXCEPTION WHEN OTHERS THEN
		PERFORM partkv.raise_validation('Invalid ShardIterator');
	END;
	IF now_epoch - issued > 900 THEN
		RAISE EXCEPTION 'Iterator expired. The iterator was created at time % while right now it''s % which is further in the future than the tolerated delay of 900000 milliseconds.',
			to_timestamp(issued), to_timestamp(now_epoch)
			USING ERRCODE = 'KV006', HINT = 'Get a new iterator with partkv.get_shard_iterator().';
	END IF;
	RETURN j;
END;
$$;
COMMENT ON FUNCTION partkv.decode_shard_iterator(text) IS
'internal: read a shard iterator, refusing expired ones';

-- TrimmedDataAccessException (KV005) when a position lies before the trim point.
CREATE FUNCTION partkv.check_not_trimmed(s partkv.streams, after text, inclusive boolean)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF after IS NOT NULL AND s.trimmed_upto IS NOT NULL
	   AND (after < s.trimmed_upto OR (inclusive AND after = s.trimmed_upto)) THEN
		RAISE EXCEPTION 'The operation attempted to read past the oldest stream record in a shard.'
			USING ERRCODE = 'KV005',
				  DETAIL = format('Records up to sequence number %s have been trimmed (partkv.stream_retention).', s.trimmed_upto),
				  HINT = 'Start again from TRIM_HORIZON.';
	END IF;
END;
$$;
COMMENT ON FUNCTION partkv.check_not_trimmed(partkv.streams, text, boolean) IS
'internal: refuse stream positions older than the trim point';

CREATE FUNCTION partkv.describe_stream(table_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	s partkv.streams;
	start_seq text;
	is_open boolean;
	shards jsonb;
	keys jsonb;
BEGIN
	PERFORM partkv.check_stream_read(t);
	s := partkv.latest_stream(t);
	IF s.stream_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Table: % has no stream', t.table_name
			USING ERRCODE = 'undefined_table';
	END IF;
	start_seq := partkv.lsn_sequence_number(s.created_lsn);
	is_open := s.disabled_at IS NULL;
	SELECT jsonb_agg(jsonb_build_object('ShardId', x.shard_id,
			'SequenceNumberRange',
			jsonb_build_object('StartingSequenceNumber', coalesce(x.first, start_seq)) ||
			CASE WHEN is_open THEN '{}'::jsonb
				 ELSE jsonb_build_object('EndingSequenceNumber', coalesce(x.last, start_seq)) END)
			ORDER BY x.shard_id)
	  INTO shards
	  FROM (SELECT sh.shard_id,
				   (SELECT min(l.sequence_number) FROM partkv.stream_log l
					 WHERE l.stream_id = s.stream_id AND l.shard_id = sh.shard_id) AS first,
				   (SELECT max(l.sequence_number) FROM partkv.stream_log l
					 WHERE l.stream_id = s.stream_id AND l.shard_id = sh.shard_id) AS last
			  FROM (SELECT partkv.stream_shard_id(i.inhrelid::regclass) AS shard_id
					  FROM pg_catalog.pg_inherits i
					 WHERE i.inhparent = format('%I.%I', t.schema_name, t.table_name)::regclass) sh) x;
	keys := jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'));
	IF t.sort_key IS NOT NULL THEN
		keys := keys || jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE'));
	END IF;
	RETURN jsonb_build_object(
		'StreamArn', partkv.stream_arn(s),
		'StreamLabel', s.label,
		'StreamStatus', CASE WHEN is_open THEN 'ENABLED' ELSE 'DISABLED' END,
		'StreamViewType', s.view_type,
		'CreationRequestDateTime', extract(epoch FROM s.created_at),
		'TableName', t.table_name,
		'KeySchema', keys,
		'Shards', coalesce(shards, '[]'));
END;
$$;
COMMENT ON FUNCTION partkv.describe_stream(text) IS
'DescribeStream: the latest stream of a table and its shards (one per hash partition)';

CREATE FUNCTION partkv.get_shard_iterator(table_name text, shard_id text, iterator_type text,
										  sequence_number text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	s partkv.streams;
	after text;
	inclusive boolean := false;
BEGIN
	PERFORM partkv.check_stream_read(t);
	s := partkv.latest_stream(t);
	IF s.stream_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Table: % has no stream', t.table_name
			USING ERRCODE = 'undefined_table';
	END IF;
	IF iterator_type IS NULL OR iterator_type NOT IN ('TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''shardIteratorType'' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]', iterator_type));
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		IF sequence_number IS NULL THEN
			PERFORM partkv.raise_validation(format('SequenceNumber is required for ShardIteratorType %s', iterator_type));
		END IF;
		after := partkv.check_sequence_number(sequence_number);
		inclusive := iterator_type = 'AT_SEQUENCE_NUMBER';
	ELSIF sequence_number IS NOT NULL THEN
		PERFORM partkv.raise_validation(format('SequenceNumber must not be given for ShardIteratorType %s', iterator_type));
	END IF;
	IF shard_id IS NULL OR NOT EXISTS (
			SELECT 1 FROM pg_catalog.pg_inherits i
			 WHERE i.inhparent = format('%I.%I', t.schema_name, t.table_name)::regclass
			   AND partkv.stream_shard_id(i.inhrelid::regclass) = shard_id)
	   AND NOT EXISTS (SELECT 1 FROM partkv.stream_log l
						WHERE l.stream_id = s.stream_id AND l.shard_id = get_shard_iterator.shard_id) THEN
		RAISE EXCEPTION 'Requested resource not found: Shard does not exist: %', shard_id
			USING ERRCODE = 'undefined_object';
	END IF;
	IF iterator_type = 'LATEST' THEN
		SELECT max(l.sequence_number) INTO after FROM partkv.stream_log l
		 WHERE l.stream_id = s.stream_id AND l.shard_id = get_shard_iterator.shard_id;
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv.check_not_trimmed(s, after, inclusive);
	END IF;
	RETURN partkv.encode_shard_iterator(s.stream_id, shard_id, after, inclusive);
END;
$$;
COMMENT ON FUNCTION partkv.get_shard_iterator(text, text, text, text) IS
'GetShardIterator: TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER; valid 15 minutes';

CREATE FUNCTION partkv.get_records(shard_iterator text, item_limit int DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	it jsonb := partkv.decode_shard_iterator(shard_iterator);
	s partkv.streams;
	shard text := it->>'h';
	after text := it->>'a';
	inclusive boolean := coalesce((it->>'i')::boolean, false);
	recs jsonb;
	last text;
	n int;
	reached pg_lsn;
	closed boolean;
BEGIN
	IF item_limit IS NULL OR item_limit < 1 OR item_limit > 1000 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''limit'' failed to satisfy constraint: Member must have value %s',
			item_limit, CASE WHEN item_limit < 1 THEN 'greater than or equal to 1' ELSE 'less than or equal to 1000' END));
	END IF;
	SELECT * INTO s FROM partkv.streams WHERE stream_id = (it->>'s')::bigint;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'Requested resource not found: Stream % not found', it->>'s'
			USING ERRCODE = 'undefined_table';
	END IF;
	IF NOT s.stream_id = ANY (partkv.readable_streams()) THEN
		RAISE EXCEPTION 'permission denied for table %', s.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM partkv.check_not_trimmed(s, after, inclusive);

	-- at most item_limit records, and no more once 1 MB is reached
	SELECT coalesce(jsonb_agg(x.record ORDER BY x.sequence_number), '[]'),
		   max(x.sequence_number), count(*)
	  INTO recs, last, n
	  FROM (SELECT l.record, l.sequence_number,
				   sum(l.size_bytes) OVER (ORDER BY l.sequence_number) - l.size_bytes AS before
			  FROM partkv.stream_log l
			 WHERE l.stream_id = s.stream_id AND l.shard_id = shard
			   AND (after IS NULL OR l.sequence_number > after
					OR (inclusive AND l.sequence_number = after))
			 ORDER BY l.sequence_number
			 LIMIT item_limit) x
	 WHERE x.before < 1048576;
	IF n > 0 THEN
		after := last;
		inclusive := false;
	END IF;

	-- a closed stream's shard ends once the worker has passed the closing
	-- point and nothing is left after the position
	closed := false;
	IF s.disabled_lsn IS NOT NULL THEN
		reached := (partkv.stream_worker_status()->>'reachedLsn')::pg_lsn;
		closed := reached >= s.disabled_lsn
			AND NOT EXISTS (SELECT 1 FROM partkv.stream_log l
							 WHERE l.stream_id = s.stream_id AND l.shard_id = shard
							   AND (after IS NULL OR l.sequence_number > after
									OR (inclusive AND l.sequence_number = after)));
	END IF;
	IF closed THEN
		RETURN jsonb_build_object('Records', recs);
	END IF;
	RETURN jsonb_build_object('Records', recs,
							  'NextShardIterator', partkv.encode_shard_iterator(s.stream_id, shard, after, inclusive));
END;
$$;
COMMENT ON FUNCTION partkv.get_records(text, int) IS
'GetRecords: up to item_limit (1..1000) records of a shard, at most 1 MB, and the next iterator';

CREATE FUNCTION partkv.stream_records(table_name text, after_sequence_number text DEFAULT NULL,
									  item_limit int DEFAULT 1000)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	after text;
BEGIN
	PERFORM partkv.check_stream_read(t);
	IF after_sequence_number IS NOT NULL THEN
		after := partkv.check_sequence_number(after_sequence_number);
	END IF;
	IF item_limit IS NOT NULL AND item_limit < 0 THEN
		PERFORM partkv.raise_validation('item_limit must not be negative');
	END IF;
	RETURN QUERY
		SELECT l.record
		  FROM partkv.stream_log l
		 WHERE l.stream_id IN (SELECT s.stream_id FROM partkv.streams s WHERE s.table_id = t.table_id)
		   AND (after IS NULL OR l.sequence_number > after)
		 ORDER BY l.sequence_number
		 LIMIT item_limit;
END;
$$;
COMMENT ON FUNCTION partkv.stream_records(text, text, int) IS
'the stream records of a table, all shards merged in sequence number order (NULL item_limit: all)';

CREATE FUNCTION partkv.update_table(table_name text, changes jsonb)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	member text;
	spec jsonb;
	view_type text;
	enabled_now boolean;
	new_spec jsonb;
BEGIN
	IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
		PERFORM partkv.raise_validation('The UpdateTable request must be a JSON object');
	END IF;
	IF NOT (changes ? 'StreamSpecification' OR changes ? 'GlobalSecondaryIndexUpdates'
			OR changes ? 'ProvisionedThroughput' OR changes ? 'BillingMode'
			OR changes ? 'SSESpecification' OR changes ? 'ReplicaUpdates') THEN
		PERFORM partkv.raise_validation('At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
	END IF;
	FOR member IN SELECT jsonb_object_keys(changes) LOOP
		IF member IN ('StreamSpecification', 'TableName') THEN
			CONTINUE;
		ELSIF member IN ('GlobalSecondaryIndexUpdates', 'AttributeDefinitions') THEN
			-- applied below by partkv.gsi_update_table (src/index/gsi.c)
			CONTINUE;
		ELSIF member IN ('ProvisionedThroughput', 'BillingMode', 'SSESpecification', 'ReplicaUpdates',
						 'TableClass', 'DeletionProtectionEnabled', 'OnDemandThroughput', 'WarmThroughput') THEN
			RAISE EXCEPTION 'partkv does not support % in UpdateTable', member
				USING ERRCODE = 'feature_not_supported';
		ELSE
			PERFORM partkv.raise_validation(format('Unexpected UpdateTable member: %s', member));
		END IF;
	END LOOP;
	IF NOT partkv.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- GlobalSecondaryIndexUpdates: one Create or Delete (src/index/gsi.c)
	IF changes ? 'GlobalSecondaryIndexUpdates' THEN
		t := partkv.gsi_update_table(t, changes);
	END IF;

	IF changes ? 'StreamSpecification' THEN
		spec := changes->'StreamSpecification';
		IF jsonb_typeof(spec) IS DISTINCT FROM 'object'
		   OR jsonb_typeof(spec->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		enabled_now := coalesce((t.stream_specification->>'StreamEnabled')::boolean, false);
		IF (spec->>'StreamEnabled')::boolean THEN
			view_type := spec->>'StreamViewType';
			IF view_type IS NULL OR view_type NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			IF enabled_now THEN
				PERFORM partkv.raise_validation(format('Table already has an enabled stream: TableName: %s', t.table_name));
			END IF;
			new_spec := jsonb_build_object('StreamEnabled', true, 'StreamViewType', view_type);
		ELSE
			IF spec ? 'StreamViewType' THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			IF NOT enabled_now THEN
				PERFORM partkv.raise_validation(format('Table does not have an enabled stream to disable: TableName: %s', t.table_name));
			END IF;
			new_spec := NULL;
		END IF;
		-- the trigger on partkv.tables opens or closes the stream and sets
		-- the partitions' replica identity
		UPDATE partkv.tables SET stream_specification = new_spec
		 WHERE partkv.tables.schema_name = t.schema_name AND partkv.tables.table_name = t.table_name;
		t.stream_specification := new_spec;
	END IF;
	RETURN partkv.table_description(t, 'ACTIVE') || partkv.stream_description_fields(t);
END;
$$;
COMMENT ON FUNCTION partkv.update_table(text, jsonb) IS
'UpdateTable: StreamSpecification (enable with a view type, or disable); GlobalSecondaryIndexUpdates (one Create or Delete)';

-- Stream handlers (DynamoDB Streams -> Lambda event source mappings): the
-- stream worker calls handler(records jsonb) with batches of a table's
-- stream records, in order, as the role that registered it.
CREATE TABLE partkv.stream_handlers (
	handler_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	schema_name name NOT NULL,
	table_name text NOT NULL,
	table_id uuid NOT NULL,
	handler regproc NOT NULL,
	role_name name NOT NULL,		-- by name: pg_dump/restore keeps it
	batch_size int NOT NULL CHECK (batch_size BETWEEN 1 AND 10000),
	max_attempts int NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
	position text COLLATE "C" NOT NULL,	-- sequence number handled up to
	enabled boolean NOT NULL DEFAULT true,
	attempts int NOT NULL DEFAULT 0,	-- failed tries of the current batch
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	last_error text,
	last_success_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (table_id, handler)
);
SELECT pg_catalog.pg_extension_config_dump('partkv.stream_handlers', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.stream_handlers_handler_id_seq', '');
-- a role sees and manages the handlers it may act as, and those of its tables
ALTER TABLE partkv.stream_handlers ENABLE ROW LEVEL SECURITY;
CREATE POLICY stream_handlers_own ON partkv.stream_handlers FOR ALL
	USING (pg_has_role(role_name, 'MEMBER') OR partkv.owns_table(schema_name, table_name))
	WITH CHECK (pg_has_role(role_name, 'MEMBER'));
GRANT SELECT, INSERT, UPDATE, DELETE ON partkv.stream_handlers TO PUBLIC;

-- Batches a handler failed max_attempts times.
CREATE TABLE partkv.dead_letters (
	dead_letter_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	handler_id bigint NOT NULL REFERENCES partkv.stream_handlers ON DELETE CASCADE,
	handler regproc NOT NULL,
	table_name text NOT NULL,
	records jsonb NOT NULL,
	error text,
	attempts int NOT NULL,
	failed_at timestamptz NOT NULL DEFAULT now(),
	replay_requested boolean NOT NULL DEFAULT false
);
CREATE INDEX dead_letters_handler ON partkv.dead_letters (handler_id);
ALTER TABLE partkv.dead_letters ENABLE ROW LEVEL SECURITY;
CREATE POLICY dead_letters_own ON partkv.dead_letters FOR ALL
	USING (EXISTS (SELECT 1 FROM partkv.stream_handlers h WHERE h.handler_id = dead_letters.handler_id));
GRANT SELECT, UPDATE, DELETE ON partkv.dead_letters TO PUBLIC;

-- The description of a handler (an event source mapping).
CREATE FUNCTION partkv.stream_handler_description(h partkv.stream_handlers)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'HandlerId', h.handler_id,
		'TableName', h.table_name,
		'Handler', h.handler::text,
		'Role', h.role_name,
		'BatchSize', h.batch_size,
		'MaximumAttempts', h.max_attempts,
		'State', CASE WHEN h.enabled THEN 'Enabled' ELSE 'Disabled' END,
		'Position', h.position,
		'LastProcessingResult', CASE WHEN h.last_error IS NULL THEN 'OK' ELSE h.last_error END,
		'DeadLetters', (SELECT count(*) FROM partkv.dead_letters d WHERE d.handler_id = h.handler_id))
$$;
COMMENT ON FUNCTION partkv.stream_handler_description(partkv.stream_handlers) IS
'internal: a stream handler as JSON';

CREATE FUNCTION partkv.add_stream_handler(table_name text, handler regproc,
										  batch_size int DEFAULT 100, max_attempts int DEFAULT 3)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	h partkv.stream_handlers;
	p record;
BEGIN
	PERFORM partkv.check_stream_read(t);
	IF handler IS NULL THEN
		PERFORM partkv.raise_validation('handler must not be null');
	END IF;
	SELECT pr.prokind, pr.pronargs, pr.proargtypes[0] AS argtype INTO p
	  FROM pg_catalog.pg_proc pr WHERE pr.oid = handler;
	IF p.prokind <> 'f' OR p.pronargs <> 1 OR p.argtype <> 'pg_catalog.jsonb'::pg_catalog.regtype THEN
		PERFORM partkv.raise_validation(format('stream handler %s must be a function taking one jsonb argument (the records)', handler));
	END IF;
	IF NOT pg_catalog.has_function_privilege(handler, 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied for function %', handler USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'stream handlers cannot be registered by a superuser'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Handlers run as the role that registers them, and never as a superuser.',
				  HINT = 'Register the handler as the role it should run as (SET ROLE).';
	END IF;
	IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''batchSize'' failed to satisfy constraint: Member must have value between 1 and 10000', batch_size));
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		PERFORM partkv.raise_validation(format('max_attempts must be between 1 and 100, not %s', max_attempts));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL) THEN
		PERFORM partkv.raise_validation(format('Table %s has no enabled stream', t.table_name));
	END IF;
	IF EXISTS (SELECT 1 FROM partkv.stream_handlers x WHERE x.table_id = t.table_id AND x.handler = add_stream_handler.handler) THEN
		RAISE EXCEPTION 'The stream handler % of table % already exists', handler, t.table_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- handlers start with the changes committed from now on (LATEST)
	INSERT INTO partkv.stream_handlers (schema_name, table_name, table_id, handler, role_name,
										batch_size, max_attempts, position)
	VALUES (t.schema_name, t.table_name, t.table_id, handler, current_user, batch_size, max_attempts,
			partkv.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn()))
	RETURNING * INTO h;
	RETURN partkv.stream_handler_description(h);
END;
$$;
COMMENT ON FUNCTION partkv.add_stream_handler(text, regproc, int, int) IS
'register a function f(records jsonb) the stream worker calls, as the current role, with batches of the table''s stream records';

CREATE FUNCTION partkv.list_stream_handlers(table_name text DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables;
BEGIN
	IF table_name IS NOT NULL THEN
		t := partkv.find_table(table_name);
	END IF;
	RETURN QUERY
		SELECT partkv.stream_handler_description(h)
		  FROM partkv.stream_handlers h
		 WHERE t.table_id IS NULL OR h.table_id = t.table_id
		 ORDER BY h.handler_id;
END;
$$;
COMMENT ON FUNCTION partkv.list_stream_handlers(text) IS
'the stream handlers the current role may see, of one table or all';

CREATE FUNCTION partkv.remove_stream_handler(table_name text, handler regproc)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	h partkv.stream_handlers;
BEGIN
	DELETE FROM partkv.stream_handlers x
	 WHERE x.table_id = t.table_id AND x.handler = remove_stream_handler.handler
	RETURNING * INTO h;
	IF h.handler_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: stream handler % of table %', handler, t.table_name
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN partkv.stream_handler_description(h) || '{"State": "Deleted"}';
END;
$$;
COMMENT ON FUNCTION partkv.remove_stream_handler(text, regproc) IS
'unregister a stream handler (its dead letters go with it)';

CREATE FUNCTION partkv.replay_dead_letter(id bigint)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d partkv.dead_letters;
BEGIN
	UPDATE partkv.dead_letters x SET replay_requested = true
	 WHERE x.dead_letter_id = id
	RETURNING * INTO d;
	IF d.dead_letter_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: dead letter %', id
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN jsonb_build_object('DeadLetterId', d.dead_letter_id, 'Handler', d.handler::text,
							  'Records', jsonb_array_length(d.records), 'State', 'Queued');
END;
$$;
COMMENT ON FUNCTION partkv.replay_dead_letter(bigint) IS
'hand a dead letter to its handler again (the stream worker does it; the dead letter goes once handled)';

-- Waits until every handler the current role sees has handled the stream
-- up to now, and no replay is queued; false on timeout.  Failing batches
-- count as handled once they are dead letters.
CREATE FUNCTION partkv.stream_handlers_wait(timeout interval DEFAULT '30s')
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + timeout;
BEGIN
	IF NOT partkv.stream_wait(timeout) THEN
		RETURN false;
	END IF;
	LOOP
		IF NOT EXISTS (SELECT 1 FROM partkv.dead_letters d WHERE d.replay_requested)
		   AND NOT EXISTS (
				SELECT 1 FROM partkv.stream_handlers h
				 WHERE h.enabled
				   AND EXISTS (SELECT 1 FROM partkv.stream_log l
								WHERE l.stream_id IN (SELECT s.stream_id FROM partkv.streams s
													   WHERE s.table_id = h.table_id)
								  AND l.sequence_number > h.position)) THEN
			RETURN true;
		END IF;
		IF clock_timestamp() > deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END;
$$;
COMMENT ON FUNCTION partkv.stream_handlers_wait(interval) IS
'wait until the stream handlers have handled every change committed before the call; false on timeout';

-- ===== query and scan (src/api/query.c) =====

CREATE FUNCTION partkv.query(table_name text, key_condition text,
							 attr_values jsonb DEFAULT NULL,
							 attr_names jsonb DEFAULT NULL,
							 filter text DEFAULT NULL,
							 projection text DEFAULT NULL,
							 index_name text DEFAULT NULL,
							 scan_forward boolean DEFAULT true,
							 item_limit int DEFAULT NULL,
							 exclusive_start_key jsonb DEFAULT NULL,
							 consistent_read boolean DEFAULT false)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'partkv_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.query(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean) IS
'Query: every item of one partition key matching the key condition and filter, in sort-key order (item_limit caps the items read)';

CREATE FUNCTION partkv.query_page(table_name text, key_condition text,
								  attr_values jsonb DEFAULT NULL,
								  attr_names jsonb DEFAULT NULL,
								  filter text DEFAULT NULL,
								  projection text DEFAULT NULL,
								  index_name text DEFAULT NULL,
								  scan_forward boolean DEFAULT true,
								  item_limit int DEFAULT NULL,
								  exclusive_start_key jsonb DEFAULT NULL,
								  consistent_read boolean DEFAULT false,
								  return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_query_page'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.query_page(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean, text) IS
'Query: one page {Items, Count, ScannedCount, LastEvaluatedKey} (item_limit items read or 1 MB)';

CREATE FUNCTION partkv.scan(table_name text,
							filter text DEFAULT NULL,
							attr_values jsonb DEFAULT NULL,
							attr_names jsonb DEFAULT NULL,
							projection text DEFAULT NULL,
							index_name text DEFAULT NULL,
							segment int DEFAULT NULL,
							total_segments int DEFAULT NULL,
							item_limit int DEFAULT NULL,
							exclusive_start_key jsonb DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'partkv_scan'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.scan(text, text, jsonb, jsonb, text, text, int, int, int, jsonb) IS
'Scan: every item of the table (or of one parallel-scan segment) matching the filter (item_limit caps the items read)';

CREATE FUNCTION partkv.scan_page(table_name text,
								 filter text DEFAULT NULL,
								 attr_values jsonb DEFAULT NULL,
								 attr_names jsonb DEFAULT NULL,
								 projection text DEFAULT NULL,
								 index_name text DEFAULT NULL,
								 segment int DEFAULT NULL,
								 total_segments int DEFAULT NULL,
								 item_limit int DEFAULT NULL,
								 exclusive_start_key jsonb DEFAULT NULL,
								 return_consumed_capacity text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_scan_page'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.scan_page(text, text, jsonb, jsonb, text, text, int, int, int, jsonb, text) IS
'Scan: one page {Items, Count, ScannedCount, LastEvaluatedKey} (item_limit items read or 1 MB)';

-- ===== statistics and capacity (src/stats) =====
--
-- Per-partition counters kept in shared memory by every partkv read and
-- write (partkv.track_stats, partkv.stats_max_partitions): since the server
-- started or the last reset_stats(), lost at restart, not transactional.
-- Capacity units follow DynamoDB (SPEC-dynamodb.md §8): reads in 4 KB
-- units (halved when eventually consistent), writes in 1 KB units,
-- doubled in transactions.

CREATE FUNCTION partkv.stats_counters(
	OUT relid oid, OUT table_relid oid,
	OUT reads bigint, OUT items_read bigint, OUT bytes_read bigint,
	OUT read_units double precision,
	OUT writes bigint, OUT items_written bigint, OUT items_deleted bigint,
	OUT bytes_written bigint, OUT write_units double precision,
	OUT condition_check_failures bigint, OUT ttl_deletes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'partkv_stats_counters'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.stats_counters() IS
'Raw shared-memory counters of the kv table partitions of this database (read them through partkv.partition_stats)';

CREATE VIEW partkv.partition_stats AS
SELECT schema_name, table_name, partition, modulus, remainder, items, bytes,
	   reads, items_read, bytes_read, read_units,
	   writes, items_written, items_deleted, bytes_written, write_units,
	   ttl_deletes, condition_check_failures,
	   (read_units + write_units) /
		   nullif(sum(read_units + write_units) OVER (PARTITION BY schema_name, table_name), 0)
		   AS traffic_share
  FROM (SELECT t.schema_name, t.table_name, p.relname AS partition,
			   b.bound[1]::int AS modulus, b.bound[2]::int AS remainder,
			   CASE WHEN p.reltuples >= 0 THEN p.reltuples::bigint END AS items,
			   pg_catalog.pg_table_size(p.oid) AS bytes,
			   coalesce(s.reads, 0) AS reads,
			   coalesce(s.items_read, 0) AS items_read,
			   coalesce(s.bytes_read, 0) AS bytes_read,
			   coalesce(s.read_units, 0) AS read_units,
			   coalesce(s.writes, 0) AS writes,
			   coalesce(s.items_written, 0) AS items_written,
			   coalesce(s.items_deleted, 0) AS items_deleted,
			   coalesce(s.bytes_written, 0) AS bytes_written,
			   coalesce(s.write_units, 0) AS write_units,
			   coalesce(s.ttl_deletes, 0) AS ttl_deletes,
			   coalesce(s.condition_check_failures, 0) AS condition_check_failures
		  FROM partkv.tables t
		  JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
		  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
			   AND c.relname = t.table_name AND c.relkind = 'p'
		  JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid
		  JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid
		  CROSS JOIN LATERAL pg_catalog.regexp_match(pg_catalog.pg_get_expr(p.relpartbound, p.oid),
													 'modulus (\d+), remainder (\d+)') AS b(bound)
		  LEFT JOIN partkv.stats_counters() s ON s.relid = p.oid) AS ps;
COMMENT ON VIEW partkv.partition_stats IS
'Per partition of every kv table: size (items is the planner''s estimate, NULL before the first VACUUM/ANALYZE), requests, items, bytes and capacity units read and written, and traffic_share, the partition''s fraction (0..1) of its table''s capacity units: a hot partition stands out';
GRANT SELECT ON partkv.partition_stats TO PUBLIC;

CREATE VIEW partkv.table_stats AS
SELECT schema_name, table_name,
	   count(*)::int AS partitions,
	   sum(items)::bigint AS items,
	   sum(bytes)::bigint AS bytes,
	   sum(reads)::bigint AS reads,
	   sum(writes)::bigint AS writes,
	   sum(read_units) AS read_units,
	   sum(write_units) AS write_units,
	   sum(ttl_deletes)::bigint AS ttl_deletes,
	   sum(condition_check_failures)::bigint AS condition_check_failures,
	   NULL::bigint AS stream_backlog,
	   NULL::bigint AS gsi_backlog,
	   sum(items_read)::bigint AS items_read,
	   sum(bytes_read)::bigint AS bytes_read,
	   sum(items_written)::bigint AS items_written,
	   sum(items_deleted)::bigint AS items_deleted,
	   sum(bytes_written)::bigint AS bytes_written,
	   max(traffic_share) AS hottest_partition_share
  FROM partkv.partition_stats
 GROUP BY schema_name, table_name;
COMMENT ON VIEW partkv.table_stats IS
'Per kv table: partitions, estimated items, bytes on disk, requests and capacity units read and written, TTL deletes, conditional check failures, and the traffic share of its hottest partition; stream_backlog and gsi_backlog are NULL until those features exist';
GRANT SELECT ON partkv.table_stats TO PUBLIC;

CREATE FUNCTION partkv.reset_stats(table_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'partkv_reset_stats'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.reset_stats(text) IS
'Forget the statistics of one kv table (its owner), or of every kv table of this database, dropped ones included (NULL: superuser)';

-- ===== local secondary indexes (src/index/lsi.c) =====
--
-- An LSI is a partial B-tree expression index on the kv table (so on every
-- partition): (pk, partkv.key_<type>(item, 'attr'), sk) WHERE
-- partkv.key_<type>(item, 'attr') IS NOT NULL, named <table>_lsi<n> after
-- its position in partkv.tables.local_indexes.

-- The attribute-name parameter of the key extractors: text with collation
-- "C", so that partkv.key_text(item, 'a') has collation "C" (DynamoDB's
-- bytewise string order) and plain SQL conditions on it use the LSI index
-- without a COLLATE clause.
CREATE DOMAIN partkv.attribute_name AS text COLLATE "C";

CREATE FUNCTION partkv.key_text(item jsonb, attribute partkv.attribute_name)
RETURNS text
AS 'MODULE_PATHNAME', 'partkv_key_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION partkv.key_text(jsonb, partkv.attribute_name) IS
'The string (S) value of a top-level attribute of an item; NULL when absent or of another type (LSI index expressions)';

CREATE FUNCTION partkv.key_numeric(item jsonb, attribute partkv.attribute_name)
RETURNS numeric
AS 'MODULE_PATHNAME', 'partkv_key_numeric'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION partkv.key_numeric(jsonb, partkv.attribute_name) IS
'The number (N) value of a top-level attribute of an item; NULL when absent or of another type (LSI index expressions)';

CREATE FUNCTION partkv.key_bytea(item jsonb, attribute partkv.attribute_name)
RETURNS bytea
AS 'MODULE_PATHNAME', 'partkv_key_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION partkv.key_bytea(jsonb, partkv.attribute_name) IS
'The bytes of a binary (B) top-level attribute {"$B": base64} of an item; NULL when absent or of another type (LSI index expressions)';

-- The SQL expression of an LSI key over the "item" column.
CREATE FUNCTION partkv.lsi_key_expression(attribute text, attribute_type text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('partkv.%s(item, %L)',
				  CASE attribute_type WHEN 'S' THEN 'key_text'
									  WHEN 'N' THEN 'key_numeric'
									  ELSE 'key_bytea' END,
				  attribute)
$$;
COMMENT ON FUNCTION partkv.lsi_key_expression(text, text) IS
'The SQL expression of a local secondary index key over a kv table''s item column';

-- ===== global secondary indexes (src/index/gsi.c) =====
--
-- A GSI of kv table s.t is a partitioned table s.<storage_name> (plain
-- heap, hashed on the GSI partition key with partkv's xxhash opclasses):
--   (gsi_pk, [gsi_sk,] base_pk, [base_sk,] item jsonb)
-- item is the projected item; a B-tree on (gsi_pk, gsi_sk, base_pk,
-- base_sk) serves Query/Scan (index keys are not unique: the table key
-- breaks ties), a B-tree on (base_pk, base_sk) lets the stream worker
-- replace an item's entry by its table key.  The worker keeps GSIs up to
-- date from the change stream, in the transaction that records its WAL
-- position (exactly once), and backfills GSIs added by update_table.
-- partkv.tables.global_indexes declares the GSIs; partkv.gsi_indexes holds
-- their storage and state, maintained by a trigger on partkv.tables.

-- The decoder reads global_indexes under historic snapshots: keep it inline.
ALTER TABLE partkv.tables ALTER COLUMN global_indexes SET STORAGE MAIN;

CREATE TABLE partkv.gsi_indexes (
	schema_name name NOT NULL,
	table_name text NOT NULL,
	index_name text NOT NULL,
	storage_name text NOT NULL,
	status text NOT NULL CHECK (status IN ('CREATING', 'ACTIVE')),
	backfill_partition text,		-- base partition being backfilled (NULL: not started)
	backfill_after jsonb,			-- last base key done in it (NULL: from its start)
	items_done bigint NOT NULL DEFAULT 0,
	items_estimated bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	activated_at timestamptz,
	PRIMARY KEY (schema_name, table_name, index_name)
);
SELECT pg_catalog.pg_extension_config_dump('partkv.gsi_indexes', '');
ALTER TABLE partkv.gsi_indexes ENABLE ROW LEVEL SECURITY;
CREATE POLICY gsi_indexes_read ON partkv.gsi_indexes FOR SELECT USING (true);
CREATE POLICY gsi_indexes_write ON partkv.gsi_indexes FOR ALL
	USING (partkv.owns_table(schema_name, table_name))
	WITH CHECK (partkv.owns_table(schema_name, table_name));
GRANT SELECT, INSERT, UPDATE, DELETE ON partkv.gsi_indexes TO PUBLIC;

-- The projection of an item into an index: its listed top-level attributes.
CREATE FUNCTION partkv.gsi_project(item jsonb, attributes text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_gsi_project'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION partkv.gsi_project(jsonb, text[]) IS
'internal: the item restricted to the given top-level attributes (index projections)';

-- The SQL expression of a GSI key value of jsonb expression src: NULL when
-- absent, of another type or empty (such items are not in the index).
CREATE FUNCTION partkv.gsi_key_expression(src text, attribute text, attribute_type text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE attribute_type
		WHEN 'S' THEN format('NULLIF(partkv.key_text(%s, %L), '''')', src, attribute)
		WHEN 'N' THEN format('partkv.key_numeric(%s, %L)', src, attribute)
		ELSE format('NULLIF(partkv.key_bytea(%s, %L), ''\x''::bytea)', src, attribute) END
$$;

-- Everything the SQL of one GSI needs: storage, keys and their types,
-- projection expression over item expression "src".
CREATE FUNCTION partkv.gsi_shape(t partkv.tables, gsi jsonb, src text,
								 OUT gpk text, OUT gpk_type text, OUT gsk text, OUT gsk_type text,
								 OUT projection text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	attrs text[];
BEGIN
	gpk := gsi->'KeySchema'->0->>'AttributeName';
	gsk := gsi->'KeySchema'->1->>'AttributeName';
	SELECT x->>'AttributeType' INTO gpk_type FROM jsonb_array_elements(t.attribute_definitions) x
	 WHERE x->>'AttributeName' = gpk;
	SELECT x->>'AttributeType' INTO gsk_type FROM jsonb_array_elements(t.attribute_definitions) x
	 WHERE x->>'AttributeName' = gsk;
	IF gsi->'Projection'->>'ProjectionType' = 'ALL' THEN
		projection := src;
	ELSE
		attrs := ARRAY[t.partition_key, gpk];
		IF t.sort_key IS NOT NULL THEN attrs := attrs || t.sort_key; END IF;
		IF gsk IS NOT NULL THEN attrs := attrs || gsk; END IF;
		IF gsi->'Projection'->>'ProjectionType' = 'INCLUDE' THEN
			attrs := attrs || ARRAY(SELECT jsonb_array_elements_text(gsi->'Projection'->'NonKeyAttributes'));
		END IF;
		projection := format('partkv.gsi_project(%s, %L::text[])', src, attrs);
	END IF;
END;
$$;

-- Creates the storage table of a GSI (nothing when it exists: pg_restore).
CREATE FUNCTION partkv.gsi_create_storage(t partkv.tables, gsi jsonb, storage_name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
	ddl text;
	opclass text;
	nparts int := least(t.partitions, 8);
BEGIN
	IF to_regclass(format('%I.%I', t.schema_name, storage_name)) IS NOT NULL THEN
		RETURN false;
	END IF;
	s := partkv.gsi_shape(t, gsi, 'item');
	ddl := format('CREATE TABLE %I.%I (gsi_pk %s NOT NULL', t.schema_name, storage_name,
				  partkv.key_column_type(s.gpk_type));
	IF s.gsk IS NOT NULL THEN
		ddl := ddl || format(', gsi_sk %s NOT NULL', partkv.key_column_type(s.gsk_type));
	END IF;
	ddl := ddl || format(', base_pk %s NOT NULL', partkv.key_column_type(t.partition_key_type));
	IF t.sort_key IS NOT NULL THEN
		ddl := ddl || format(', base_sk %s NOT NULL', partkv.key_column_type(t.sort_key_type));
	END IF;
	opclass := CASE s.gpk_type WHEN 'S' THEN 'partkv.xxhash_text_ops'
							   WHEN 'N' THEN 'partkv.xxhash_numeric_ops'
							   ELSE 'partkv.xxhash_bytea_ops' END;
	ddl := ddl || format(', item jsonb NOT NULL) PARTITION BY HASH (gsi_pk %s)', opclass);
	EXECUTE ddl;
	FOR i IN 0 .. nparts - 1 LOOP
		EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
					   t.schema_name, storage_name || '_p' || i, t.schema_name, storage_name, nparts, i);
	END LOOP;
	EXECUTE format('CREATE INDEX %I ON %I.%I (gsi_pk%s, base_pk%s)',
				   storage_name || '_key', t.schema_name, storage_name,
				   CASE WHEN s.gsk IS NOT NULL THEN ', gsi_sk' ELSE '' END,
				   CASE WHEN t.sort_key IS NOT NULL THEN ', base_sk' ELSE '' END);
	EXECUTE format('CREATE INDEX %I ON %I.%I (base_pk%s)',
				   storage_name || '_base', t.schema_name, storage_name,
				   CASE WHEN t.sort_key IS NOT NULL THEN ', base_sk' ELSE '' END);
	EXECUTE format('COMMENT ON TABLE %I.%I IS %L', t.schema_name, storage_name,
				   format('partkv global secondary index %s of table %s (maintained by the stream worker)',
						  gsi->>'IndexName', t.table_name));
	RETURN true;
END;
$$;

-- The storage table name of a GSI: the table's name, cut, and a hash of
-- the index name (deterministic, so a restored catalog finds it again).
CREATE FUNCTION partkv.gsi_storage_name(table_name text, index_name text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT left(table_name, 46) || '_g' || left(md5(index_name), 8)
$$;

-- The number of items of a kv table, estimated from its partitions'
-- statistics, or counted when they were never analyzed.
CREATE FUNCTION partkv.gsi_estimate_items(rel regclass)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	SELECT CASE WHEN bool_and(c.reltuples >= 0) THEN sum(c.reltuples)::bigint END INTO n
	  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = rel;
	IF n IS NULL THEN
		EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
	END IF;
	RETURN n;
END;
$$;

-- Keeps GSI storage in line with partkv.tables.global_indexes: creates the
-- storage of new GSIs (CREATING with a backfill when the table has items),
-- drops that of removed ones, and invalidates the caches that know a
-- table's GSIs (decoder, write-path key checks, table cache).
CREATE FUNCTION partkv.gsi_sync()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g record;
	gsi jsonb;
	sname text;
	rel regclass;
	has_items boolean;
	created boolean;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		FOR g IN SELECT * FROM partkv.gsi_indexes x
				  WHERE x.schema_name = OLD.schema_name AND x.table_name = OLD.table_name
					AND (TG_OP = 'DELETE'
						 OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(NEW.global_indexes) i
										 WHERE i->>'IndexName' = x.index_name)) LOOP
			EXECUTE format('DROP TABLE IF EXISTS %I.%I', g.schema_name, g.storage_name);
			DELETE FROM partkv.gsi_indexes x
			 WHERE x.schema_name = g.schema_name AND x.table_name = g.table_name
			   AND x.index_name = g.index_name;
		END LOOP;
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN NULL;
	END IF;
	rel := to_regclass(format('%I.%I', NEW.schema_name, NEW.table_name));
	FOR gsi IN SELECT value FROM jsonb_array_elements(NEW.global_indexes) LOOP
		IF EXISTS (SELECT 1 FROM partkv.gsi_indexes x
					WHERE x.schema_name = NEW.schema_name AND x.table_name = NEW.table_name
					  AND x.index_name = gsi->>'IndexName') THEN
			CONTINUE;
		END IF;
		sname := partkv.gsi_storage_name(NEW.table_name, gsi->>'IndexName');
		created := partkv.gsi_create_storage(NEW, gsi, sname);
		has_items := false;
		IF created AND rel IS NOT NULL THEN
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', rel) INTO has_items;
		END IF;
		INSERT INTO partkv.gsi_indexes (schema_name, table_name, index_name, storage_name, status,
										items_estimated, activated_at)
		VALUES (NEW.schema_name, NEW.table_name, gsi->>'IndexName', sname,
				CASE WHEN has_items THEN 'CREATING' ELSE 'ACTIVE' END,
				CASE WHEN has_items THEN partkv.gsi_estimate_items(rel) ELSE 0 END,
				CASE WHEN has_items THEN NULL ELSE now() END);
	END LOOP;
	IF rel IS NOT NULL THEN
		PERFORM partkv.stream_invalidate(rel);
		PERFORM partkv.invalidate_table_cache(rel);
	END IF;
	RETURN NULL;
END;
$$;
COMMENT ON FUNCTION partkv.gsi_sync() IS
'internal: trigger creating and dropping the storage of global secondary indexes';

CREATE TRIGGER gsi_sync
	AFTER INSERT OR UPDATE OF global_indexes OR DELETE ON partkv.tables
	FOR EACH ROW EXECUTE FUNCTION partkv.gsi_sync();

-- UpdateTable's GlobalSecondaryIndexUpdates (one Create or Delete per
-- call); returns the updated catalog row.  The caller checked ownership.
CREATE FUNCTION partkv.gsi_update_table(t partkv.tables, changes jsonb)
RETURNS partkv.tables
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	updates jsonb := changes->'GlobalSecondaryIndexUpdates';
	u jsonb;
	c jsonb;
	iname text;
	gsis jsonb;
	defs jsonb := t.attribute_definitions;
	newdefs jsonb := coalesce(changes->'AttributeDefinitions', '[]');
	k jsonb;
	d jsonb;
	missing text[];
	table_keys jsonb;
BEGIN
	IF jsonb_typeof(updates) IS DISTINCT FROM 'array' OR jsonb_array_length(updates) = 0 THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value at ''globalSecondaryIndexUpdates'' failed to satisfy constraint: Member must be a non-empty list');
	END IF;
	IF jsonb_typeof(newdefs) <> 'array' THEN
		PERFORM partkv.raise_validation('AttributeDefinitions must be a list');
	END IF;
	IF (SELECT count(*) FROM jsonb_array_elements(updates) x WHERE x ? 'Create' OR x ? 'Delete') > 1 THEN
		RAISE EXCEPTION 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table'
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	FOR u IN SELECT value FROM jsonb_array_elements(updates) LOOP
		IF jsonb_typeof(u) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(u)) <> 1 THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified');
		END IF;
		IF u ? 'Update' THEN
			RAISE EXCEPTION 'partkv does not support GlobalSecondaryIndexUpdates Update (provisioned throughput)'
				USING ERRCODE = 'feature_not_supported';
		ELSIF u ? 'Delete' THEN
			iname := u->'Delete'->>'IndexName';
			IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = iname) THEN
				RAISE EXCEPTION 'Requested resource not found: Index: % not found', iname
					USING ERRCODE = 'undefined_object';
			END IF;
			t.global_indexes := coalesce((SELECT jsonb_agg(i ORDER BY o) FROM jsonb_array_elements(t.global_indexes) WITH ORDINALITY AS x(i, o)
										   WHERE i->>'IndexName' <> iname), '[]');
		ELSIF u ? 'Create' THEN
			c := u->'Create';
			iname := c->>'IndexName';
			IF EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes || t.local_indexes) i
						WHERE i->>'IndexName' = iname) THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Index with name %s already exists', iname));
			END IF;
			IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g WHERE g.schema_name = t.schema_name
						 AND g.table_name = t.table_name AND g.status = 'CREATING') THEN
				RAISE EXCEPTION 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table'
					USING ERRCODE = 'program_limit_exceeded';
			END IF;
			IF jsonb_array_length(t.global_indexes) >= 20 THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20');
			END IF;
			table_keys := jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'))
				|| CASE WHEN t.sort_key IS NULL THEN '[]'::jsonb
						ELSE jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE')) END;
			gsis := partkv.check_indexes(jsonb_build_array(c - 'ProvisionedThroughput' - 'OnDemandThroughput' - 'WarmThroughput'),
										 false, table_keys, '{}');
			-- the new index's key attributes need definitions (spurious ones are ignored)
			FOR k IN SELECT value FROM jsonb_array_elements(gsis->0->'KeySchema') LOOP
				SELECT x INTO d FROM jsonb_array_elements(newdefs) x WHERE x->>'AttributeName' = k->>'AttributeName';
				IF d IS NOT NULL AND (d->>'AttributeType' IS NULL OR d->>'AttributeType' NOT IN ('S', 'N', 'B')) THEN
					PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', d->>'AttributeType'));
				END IF;
				IF EXISTS (SELECT 1 FROM jsonb_array_elements(defs) x WHERE x->>'AttributeName' = k->>'AttributeName') THEN
					IF d IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(defs) x
													   WHERE x->>'AttributeName' = k->>'AttributeName'
														 AND x->>'AttributeType' = d->>'AttributeType') THEN
						PERFORM partkv.raise_validation(format('Cannot have two attributes with the same name: %s', k->>'AttributeName'));
					END IF;
				ELSIF d IS NULL THEN
					missing := missing || (k->>'AttributeName');
				ELSE
					defs := defs || jsonb_build_array(jsonb_build_object('AttributeName', d->>'AttributeName',
																		 'AttributeType', d->>'AttributeType'));
				END IF;
			END LOOP;
			IF missing IS NOT NULL THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
					array_to_string(missing, ', '),
					(SELECT string_agg(x->>'AttributeName', ', ') FROM jsonb_array_elements(newdefs) x)));
			END IF;
			t.attribute_definitions := (SELECT jsonb_agg(x ORDER BY x->>'AttributeName') FROM jsonb_array_elements(defs) x);
			t.global_indexes := t.global_indexes || gsis;
		ELSE
			PERFORM partkv.raise_validation('One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified');
		END IF;
	END LOOP;
	-- the trigger gsi_sync creates or drops the storage
	UPDATE partkv.tables x SET attribute_definitions = t.attribute_definitions,
							   global_indexes = t.global_indexes
	 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name;
	RETURN t;
END;
$$;

-- The GlobalSecondaryIndexes member of a TableDescription ('{}' if none):
-- status, backfill progress and size (the worker's backlog is in
-- partkv.index_status).
CREATE FUNCTION partkv.gsi_description_fields(t partkv.tables)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	out jsonb := '[]';
	gsi jsonb;
	g partkv.gsi_indexes;
	e jsonb;
	items bigint;
	bytes bigint;
BEGIN
	IF jsonb_array_length(t.global_indexes) = 0 THEN
		RETURN '{}';
	END IF;
	FOR gsi IN SELECT value FROM jsonb_array_elements(t.global_indexes) LOOP
		SELECT * INTO g FROM partkv.gsi_indexes x
		 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
		   AND x.index_name = gsi->>'IndexName';
		items := 0;
		bytes := 0;
		IF g.storage_name IS NOT NULL AND to_regclass(format('%I.%I', g.schema_name, g.storage_name)) IS NOT NULL THEN
			EXECUTE format('SELECT count(*) FROM %I.%I', g.schema_name, g.storage_name) INTO items;
			SELECT coalesce(sum(pg_total_relation_size(p.relid)), 0) INTO bytes
			  FROM pg_partition_tree(format('%I.%I', g.schema_name, g.storage_name)::regclass) p;
		END IF;
		e := gsi || jsonb_build_object('IndexStatus', coalesce(g.status, 'CREATING'),
									   'IndexSizeBytes', bytes, 'ItemCount', items,
									   'IndexArn', format('arn:partkv:%s:%s:table/%s/index/%s', current_database(),
														  t.schema_name, t.table_name, gsi->>'IndexName'));
		IF g.status IS DISTINCT FROM 'ACTIVE' THEN
			e := e || jsonb_build_object('Backfilling', g.backfill_partition IS NOT NULL,
										 'BackfillProgress', jsonb_build_object(
											 'ItemsDone', coalesce(g.items_done, 0),
											 'ItemsEstimated', greatest(coalesce(g.items_estimated, 0), coalesce(g.items_done, 0))));
		END IF;
		out := out || jsonb_build_array(e);
	END LOOP;
	RETURN jsonb_build_object('GlobalSecondaryIndexes', out);
END;
$$;

-- How far the stream worker (which maintains every GSI) is behind:
-- {"WalBytes": WAL not yet applied, "Seconds": age of the oldest change not
-- yet applied (0 when caught up)}.
CREATE FUNCTION partkv.gsi_backlog()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_gsi_backlog'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.gsi_backlog() IS
'the stream worker''s backlog of changes not yet applied to global secondary indexes (WAL bytes, seconds)';

-- One view of every GSI: state, backfill progress, backlog.
CREATE VIEW partkv.index_status AS
	SELECT g.schema_name, g.table_name, g.index_name, g.storage_name, g.status,
		   g.backfill_partition IS NOT NULL AND g.status = 'CREATING' AS backfilling,
		   g.items_done, g.items_estimated, g.created_at, g.activated_at,
		   (b->>'WalBytes')::bigint AS backlog_bytes,
		   (b->>'Seconds')::float8 AS backlog_seconds
	  FROM partkv.gsi_indexes g, partkv.gsi_backlog() b;
GRANT SELECT ON partkv.index_status TO PUBLIC;
COMMENT ON VIEW partkv.index_status IS
'global secondary indexes: status, backfill progress and the worker''s backlog';

-- The SQL statement applying a batch of changes to one GSI: $1 jsonb[]
-- table keys, $2 jsonb[] new items (NULL: deleted), in commit order.  The
-- last change of each key wins: the key's entry is deleted and the new
-- item inserted when it has every index key attribute (sparse index).
CREATE FUNCTION partkv.gsi_apply_sql(schema_name name, table_name text, index_name text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
	g partkv.gsi_indexes;
	s record;
	gsi jsonb;
	bpk text;
	bsk text;
BEGIN
	SELECT * INTO t FROM partkv.tables x WHERE x.schema_name = $1 AND x.table_name = $2;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	SELECT i INTO gsi FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = $3;
	IF t IS NULL OR g IS NULL OR gsi IS NULL
	   OR to_regclass(format('%I.%I', g.schema_name, g.storage_name)) IS NULL THEN
		RETURN NULL;
	END IF;
	s := partkv.gsi_shape(t, gsi, 'u.i');
	bpk := partkv.lsi_key_expression(t.partition_key, t.partition_key_type);
	bsk := partkv.lsi_key_expression(t.sort_key, t.sort_key_type);
	RETURN format(
		'WITH u AS (SELECT DISTINCT ON (k) k, i FROM unnest($1::jsonb[], $2::jsonb[]) WITH ORDINALITY AS u(k, i, o) ORDER BY k, o DESC), '
		'd AS (DELETE FROM %1$s g USING u WHERE g.base_pk = %2$s%3$s) '
		'INSERT INTO %1$s SELECT * FROM (SELECT %4$s AS gpk%5$s, %6$s, %7$s FROM u WHERE u.i IS NOT NULL) x '
		'WHERE x.gpk IS NOT NULL%8$s',
		format('%I.%I', g.schema_name, g.storage_name),
		replace(bpk, '(item,', '(u.k,'),
		CASE WHEN t.sort_key IS NULL THEN '' ELSE ' AND g.base_sk = ' || replace(bsk, '(item,', '(u.k,') END,
		partkv.gsi_key_expression('u.i', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN '' ELSE ', ' || partkv.gsi_key_expression('u.i', s.gsk, s.gsk_type) || ' AS gsk' END,
		replace(bpk, '(item,', '(u.k,') || CASE WHEN t.sort_key IS NULL THEN '' ELSE ', ' || replace(bsk, '(item,', '(u.k,') END,
		s.projection,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END);
END;
$$;

-- One backfill step of a CREATING GSI: up to batch items of the current
-- base partition after the last key done, each item's entry replaced (the
-- stream may have written it already: what this statement reads is at
-- least as new, see gsi.c); records the progress, moves to the next
-- partition, and marks the index ACTIVE after the last.  Returns true
-- while work remains.  Run by the stream worker.
CREATE FUNCTION partkv.gsi_backfill_step(schema_name name, table_name text, index_name text, batch int)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
	g partkv.gsi_indexes;
	s record;
	gsi jsonb;
	part text;
	rel regclass;
	keycols text;
	keydesc text;
	cond text := '';
	last jsonb;
	n bigint;
	sql text;
BEGIN
	SELECT * INTO t FROM partkv.tables x WHERE x.schema_name = $1 AND x.table_name = $2;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3
	   FOR UPDATE;
	SELECT i INTO gsi FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = $3;
	rel := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	IF t IS NULL OR g IS NULL OR gsi IS NULL OR rel IS NULL OR g.status <> 'CREATING' THEN
		RETURN false;
	END IF;
	part := g.backfill_partition;
	IF part IS NULL THEN
		SELECT min(c.relname) INTO part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel;
	END IF;
	IF part IS NOT NULL AND to_regclass(format('%I.%I', t.schema_name, part)) IS NULL THEN
		-- the partition went away (split): continue with the next name
		g.backfill_after := NULL;
		SELECT min(c.relname) INTO part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel AND c.relname > part;
	END IF;
	IF part IS NULL THEN
		UPDATE partkv.gsi_indexes x SET status = 'ACTIVE', backfill_partition = NULL, backfill_after = NULL,
										activated_at = now()
		 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
		PERFORM partkv.invalidate_table_cache(rel);
		RETURN false;
	END IF;
	keycols := format('%I', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', %I', t.sort_key) END;
	keydesc := format('%I DESC', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', %I DESC', t.sort_key) END;
	IF g.backfill_after IS NOT NULL THEN
		cond := format(' WHERE (%s) > (%L::%s%s)', keycols, g.backfill_after->>'pk',
					   partkv.key_column_type(t.partition_key_type),
					   CASE WHEN t.sort_key IS NULL THEN ''
							ELSE format(', %L::%s', g.backfill_after->>'sk', partkv.key_column_type(t.sort_key_type)) END);
	END IF;
	s := partkv.gsi_shape(t, gsi, 'b.item');
	sql := format(
		'WITH b AS (SELECT %1$s, item FROM ONLY %2$I.%3$I%4$s ORDER BY %1$s LIMIT %5$s), '
		'd AS (DELETE FROM %6$s g USING b WHERE g.base_pk = b.%7$I%8$s), '
		'i AS (INSERT INTO %6$s SELECT * FROM (SELECT %9$s AS gpk%10$s, b.%7$I%11$s, %12$s FROM b) x '
		'      WHERE x.gpk IS NOT NULL%13$s) '
		'SELECT (SELECT count(*) FROM b), '
		'       (SELECT jsonb_build_object(''pk'', b.%7$I::text%14$s) FROM b ORDER BY %15$s LIMIT 1)',
		keycols, t.schema_name, part, cond, batch,
		format('%I.%I', g.schema_name, g.storage_name),
		t.partition_key,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE format(' AND g.base_sk = b.%I', t.sort_key) END,
		partkv.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN '' ELSE ', ' || partkv.gsi_key_expression('b.item', s.gsk, s.gsk_type) || ' AS gsk' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', b.%I', t.sort_key) END,
		s.projection,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', ''sk'', b.%I::text', t.sort_key) END,
		keydesc);
	EXECUTE sql INTO n, last;
	IF n < batch THEN
		-- this partition is done: the next one by name
		SELECT min(c.relname) INTO part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel AND c.relname > part;
		last := NULL;
		IF part IS NULL THEN
			UPDATE partkv.gsi_indexes x SET status = 'ACTIVE', backfill_partition = NULL, backfill_after = NULL,
											items_done = x.items_done + n, activated_at = now()
			 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
			PERFORM partkv.invalidate_table_cache(rel);
			RETURN false;
		END IF;
	END IF;
	UPDATE partkv.gsi_indexes x SET backfill_partition = part, backfill_after = last,
									items_done = x.items_done + n
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	RETURN true;
END;
$$;
COMMENT ON FUNCTION partkv.gsi_backfill_step(name, text, text, int) IS
'internal: one batch of the backfill of a CREATING global secondary index (run by the stream worker)';

-- Waits until the GSI is ACTIVE and the stream worker has applied every
-- change committed before the call; false on timeout.
CREATE FUNCTION partkv.wait_for_index(table_name text, index_name text, timeout interval DEFAULT '30s')
RETURNS boolean
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	deadline timestamptz := clock_timestamp() + timeout;
	st text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = wait_for_index.index_name) THEN
		RAISE EXCEPTION 'Requested resource not found: Index: % not found', index_name
			USING ERRCODE = 'undefined_object';
	END IF;
	LOOP
		IF NOT partkv.stream_wait(greatest(deadline - clock_timestamp(), interval '0')) THEN
			RETURN false;
		END IF;
		SELECT g.status INTO st FROM partkv.gsi_indexes g
		 WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
		   AND g.index_name = wait_for_index.index_name;
		IF st = 'ACTIVE' THEN
			RETURN true;
		END IF;
		IF clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
END;
$$;
COMMENT ON FUNCTION partkv.wait_for_index(text, text, interval) IS
'wait until a global secondary index is ACTIVE and holds every change committed before the call; false on timeout';

-- Recomputes what a GSI should hold from the table and compares:
-- {"missing": entries absent, "extra": entries of no (indexed) item,
--  "stale": entries whose keys or projection differ, "checked": items
-- indexed}.  Call after partkv.stream_wait() (or wait_for_index).
CREATE FUNCTION partkv.verify_index(table_name text, index_name text)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	g partkv.gsi_indexes;
	gsi jsonb;
	s record;
	bk text;
	res jsonb;
BEGIN
	SELECT i INTO gsi FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = verify_index.index_name;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
	   AND x.index_name = verify_index.index_name;
	IF gsi IS NULL OR g IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Index: % not found', index_name
			USING ERRCODE = 'undefined_object';
	END IF;
	s := partkv.gsi_shape(t, gsi, 'b.item');
	bk := format('b.%I', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', b.%I', t.sort_key) END;
	EXECUTE format(
		'WITH want AS (SELECT * FROM (SELECT %1$s AS gpk, %2$s AS gsk, %3$s, %4$s AS item FROM %5$I.%6$I b) x '
		'               WHERE x.gpk IS NOT NULL%7$s), '
		'     have AS (SELECT gpk, gsk, base_pk, base_sk, item, row_number() OVER (PARTITION BY base_pk, base_sk) AS rn '
		'                FROM (SELECT gsi_pk AS gpk, %8$s AS gsk, base_pk, %9$s AS base_sk, item FROM %10$s) y) '
		'SELECT jsonb_build_object(''missing'', count(*) FILTER (WHERE h.base_pk IS NULL), '
		'                          ''extra'', count(*) FILTER (WHERE w.base_pk IS NULL) '
		'                                   + (SELECT count(*) FROM have WHERE rn > 1), '
		'                          ''stale'', count(*) FILTER (WHERE w.base_pk IS NOT NULL AND h.base_pk IS NOT NULL '
		'                                   AND (w.gpk IS DISTINCT FROM h.gpk OR w.gsk IS DISTINCT FROM h.gsk '
		'                                        OR w.item IS DISTINCT FROM h.item)), '
		'                          ''checked'', count(*) FILTER (WHERE w.base_pk IS NOT NULL)) '
		'  FROM want w FULL JOIN (SELECT * FROM have WHERE rn = 1) h '
		'    ON h.base_pk = w.base_pk AND h.base_sk IS NOT DISTINCT FROM w.base_sk',
		partkv.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN 'NULL::text' ELSE partkv.gsi_key_expression('b.item', s.gsk, s.gsk_type) END,
		format('b.%I AS base_pk, %s AS base_sk', t.partition_key,
			   CASE WHEN t.sort_key IS NULL THEN 'NULL::text' ELSE format('b.%I', t.sort_key) END),
		s.projection, t.schema_name, t.table_name,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN s.gsk IS NULL THEN 'NULL::text' ELSE 'gsi_sk' END,
		CASE WHEN t.sort_key IS NULL THEN 'NULL::text' ELSE 'base_sk' END,
		format('%I.%I', g.schema_name, g.storage_name)) INTO res;
	RETURN res;
END;
$$;
COMMENT ON FUNCTION partkv.verify_index(text, text) IS
'recompute a global secondary index from its table: counts of missing, extra and stale entries, and of items checked';

-- ===== time to live (src/ttl) =====
--
-- partkv.tables.time_to_live holds a table's TimeToLiveSpecification
-- ({"AttributeName", "Enabled"}; NULL until first set).  While TTL is
-- enabled the kv table has the partial expression index <table>_ttl on
-- partkv.key_numeric(item, '<attribute>') over the items whose TTL
-- attribute is a top-level Number: the sweeper (src/ttl/ttl.c; the stream
-- worker every partkv.ttl_interval, or partkv.run_ttl_sweep()) finds the
-- expired items through it, so a sweep costs what expired, not the table.
-- DynamoDB's "one change per hour" rule is not enforced: the change is
-- synchronous here.

-- TimeToLiveDescription of a catalog row.
CREATE FUNCTION partkv.ttl_description(t partkv.tables)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN coalesce(t.time_to_live @> '{"Enabled": true}', false)
				THEN jsonb_build_object('TimeToLiveStatus', 'ENABLED',
										'AttributeName', t.time_to_live->>'AttributeName')
				ELSE jsonb_build_object('TimeToLiveStatus', 'DISABLED') END
$$;
COMMENT ON FUNCTION partkv.ttl_description(partkv.tables) IS
'internal: the TimeToLiveDescription of a kv table''s catalog row';

CREATE FUNCTION partkv.update_time_to_live(table_name text, attribute_name text,
										   enabled boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	current_attribute text;
	index_name text := t.table_name || '_ttl';
	expr text;
BEGIN
	IF attribute_name IS NULL OR length(attribute_name) NOT BETWEEN 1 AND 255 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''timeToLiveSpecification.attributeName'' failed to satisfy constraint: Member must have length less than or equal to 255 and greater than or equal to 1',
											   coalesce(attribute_name, 'null')));
	END IF;
	IF enabled IS NULL THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''timeToLiveSpecification.enabled'' failed to satisfy constraint: Member must not be null');
	END IF;
	IF NOT partkv.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- one change of a table's TTL at a time
	SELECT c.time_to_live INTO t.time_to_live FROM partkv.tables c
	 WHERE c.schema_name = t.schema_name AND c.table_name = t.table_name FOR UPDATE;
	IF t.time_to_live @> '{"Enabled": true}' THEN
		current_attribute := t.time_to_live->>'AttributeName';
	END IF;

	IF enabled THEN
		IF current_attribute = attribute_name THEN
			PERFORM partkv.raise_validation('TimeToLive is already enabled');
		ELSIF current_attribute IS NOT NULL THEN
			PERFORM partkv.raise_validation(format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		-- the sweeper's index: items whose attribute is a top-level Number
		expr := partkv.lsi_key_expression(attribute_name, 'N');
		IF to_regclass(format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
		EXECUTE format('CREATE INDEX %I ON %I.%I ((%s)) WHERE %s IS NOT NULL',
					   index_name, t.schema_name, t.table_name, expr, expr);
	ELSE
		IF current_attribute IS NULL THEN
			PERFORM partkv.raise_validation('TimeToLive is already disabled');
		ELSIF current_attribute <> attribute_name THEN
			PERFORM partkv.raise_validation(format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		IF to_regclass(format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
	END IF;

	t.time_to_live := jsonb_build_object('AttributeName', attribute_name, 'Enabled', enabled);
	UPDATE partkv.tables c SET time_to_live = t.time_to_live
	 WHERE c.schema_name = t.schema_name AND c.table_name = t.table_name;
	RETURN jsonb_build_object('TimeToLiveSpecification', t.time_to_live);
END;
$$;
COMMENT ON FUNCTION partkv.update_time_to_live(text, text, boolean) IS
'UpdateTimeToLive: enable (or disable, naming the current attribute) the expiry of items whose attribute holds a past epoch time in seconds';

CREATE FUNCTION partkv.describe_time_to_live(table_name text)
RETURNS jsonb
LANGUAGE sql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
	SELECT jsonb_build_object('TimeToLiveDescription',
							  partkv.ttl_description(partkv.find_table(table_name)))
$$;
COMMENT ON FUNCTION partkv.describe_time_to_live(text) IS 'DescribeTimeToLive';

CREATE FUNCTION partkv.run_ttl_sweep(table_name text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'partkv_run_ttl_sweep'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.run_ttl_sweep(text) IS
'Delete now, in this transaction, the expired items of a TTL-enabled table (NULL: of every one the caller may delete from); returns how many';

-- ===== statistics: stream and index backlogs =====

-- table_stats again, now that the worker's backlog can be read: a table with
-- a stream (or GSIs) waits on its database's worker, whose backlog is the WAL
-- not yet decoded (bytes).
CREATE OR REPLACE VIEW partkv.table_stats AS
SELECT schema_name, table_name,
	   count(*)::int AS partitions,
	   sum(items)::bigint AS items,
	   sum(bytes)::bigint AS bytes,
	   sum(reads)::bigint AS reads,
	   sum(writes)::bigint AS writes,
	   sum(read_units) AS read_units,
	   sum(write_units) AS write_units,
	   sum(ttl_deletes)::bigint AS ttl_deletes,
	   sum(condition_check_failures)::bigint AS condition_check_failures,
	   (SELECT CASE WHEN coalesce((t.stream_specification->>'StreamEnabled')::boolean, false)
					THEN (partkv.gsi_backlog()->>'WalBytes')::bigint END
		  FROM partkv.tables t
		 WHERE t.schema_name = ps.schema_name AND t.table_name = ps.table_name) AS stream_backlog,
	   (SELECT CASE WHEN jsonb_array_length(t.global_indexes) > 0
					THEN (partkv.gsi_backlog()->>'WalBytes')::bigint END
		  FROM partkv.tables t
		 WHERE t.schema_name = ps.schema_name AND t.table_name = ps.table_name) AS gsi_backlog,
	   sum(items_read)::bigint AS items_read,
	   sum(bytes_read)::bigint AS bytes_read,
	   sum(items_written)::bigint AS items_written,
	   sum(items_deleted)::bigint AS items_deleted,
	   sum(bytes_written)::bigint AS bytes_written,
	   max(traffic_share) AS hottest_partition_share
  FROM partkv.partition_stats ps
 GROUP BY schema_name, table_name;
COMMENT ON VIEW partkv.table_stats IS
'Per kv table: partitions, estimated items, bytes on disk, requests and capacity units read and written, TTL deletes, conditional check failures, the traffic share of its hottest partition, and for tables with a stream or GSIs the stream worker''s backlog (WAL bytes not yet decoded)';

-- ===== comments on internal GSI helpers =====
COMMENT ON FUNCTION partkv.gsi_apply_sql(name, text, text) IS 'internal: the statement that applies a batch of changes to one GSI';
COMMENT ON FUNCTION partkv.gsi_create_storage(partkv.tables, jsonb, text) IS 'internal: create the partitioned storage of a GSI';
COMMENT ON FUNCTION partkv.gsi_description_fields(partkv.tables) IS 'internal: GSI members of a TableDescription';
COMMENT ON FUNCTION partkv.gsi_estimate_items(regclass) IS 'internal: estimated items of a table, for backfill progress';
COMMENT ON FUNCTION partkv.gsi_key_expression(text, text, text) IS 'internal: SQL expression extracting a GSI key attribute';
COMMENT ON FUNCTION partkv.gsi_shape(partkv.tables, jsonb, text) IS 'internal: key attributes, types and projection of a GSI';
COMMENT ON FUNCTION partkv.gsi_storage_name(text, text) IS 'internal: name of a GSI''s storage table';
COMMENT ON FUNCTION partkv.gsi_update_table(partkv.tables, jsonb) IS 'internal: GlobalSecondaryIndexUpdates of UpdateTable';
