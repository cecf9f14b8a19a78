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
		d := d || jsonb_build_object('LocalSecondaryIndexes',
			(SELECT jsonb_agg(i || jsonb_build_object('IndexSizeBytes', 0, 'ItemCount', 0))
			   FROM jsonb_array_elements(t.local_indexes) i));
	END IF;
	IF jsonb_array_length(t.global_indexes) > 0 THEN
		-- Index maintenance is not built yet: the indexes are declared but
		-- not queryable, which DynamoDB spells CREATING.
		d := d || jsonb_build_object('GlobalSecondaryIndexes',
			(SELECT jsonb_agg(i || jsonb_build_object('IndexStatus', 'CREATING', 'Backfilling', false,
													  'IndexSizeBytes', 0, 'ItemCount', 0))
			   FROM jsonb_array_elements(t.global_indexes) i));
	END IF;
	IF t.stream_specification IS NOT NULL THEN
		d := d || jsonb_build_object('StreamSpecification', t.stream_specification);
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
								return_values_on_condition_check_failure text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_put_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.put_item(text, jsonb, text, jsonb, jsonb, text, text) IS
'PutItem: create or replace an item, optionally under a condition';

CREATE FUNCTION partkv.get_item(table_name text, key jsonb,
								projection text DEFAULT NULL,
								attr_names jsonb DEFAULT NULL,
								consistent_read boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_get_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.get_item(text, jsonb, text, jsonb, boolean) IS
'GetItem: the item with this key, or NULL';

CREATE FUNCTION partkv.delete_item(table_name text, key jsonb,
								   condition text DEFAULT NULL,
								   attr_values jsonb DEFAULT NULL,
								   attr_names jsonb DEFAULT NULL,
								   return_values text DEFAULT 'NONE',
								   return_values_on_condition_check_failure text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_delete_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.delete_item(text, jsonb, text, jsonb, jsonb, text, text) IS
'DeleteItem: delete the item with this key, optionally under a condition';

CREATE FUNCTION partkv.update_item(table_name text, key jsonb,
								   update text DEFAULT NULL,
								   attr_values jsonb DEFAULT NULL,
								   attr_names jsonb DEFAULT NULL,
								   condition text DEFAULT NULL,
								   return_values text DEFAULT 'NONE',
								   return_values_on_condition_check_failure text DEFAULT 'NONE')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_update_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.update_item(text, jsonb, text, jsonb, jsonb, text, text, text) IS
'UpdateItem: edit (or create) an item with an update expression';

-------------------------------------------------------------------------------
-- Batches and transactions
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.batch_get_item(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_batch_get_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.batch_get_item(jsonb) IS
'BatchGetItem: up to 100 keys from one or more tables';

CREATE FUNCTION partkv.batch_write_item(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_batch_write_item'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.batch_write_item(jsonb) IS
'BatchWriteItem: up to 25 puts and deletes in one or more tables';

CREATE FUNCTION partkv.transact_write_items(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_transact_write_items'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.transact_write_items(jsonb) IS
'TransactWriteItems: up to 100 conditional writes, all or nothing';

CREATE FUNCTION partkv.transact_get_items(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_transact_get_items'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.transact_get_items(jsonb) IS
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
	UPDATE partkv.client_request_tokens SET response = p_response WHERE token = p_token
$$;

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
-- pg_restore) sets the replica identity and invalidates decoding caches.
CREATE FUNCTION partkv.stream_specification_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM partkv.apply_stream_replica_identity(NEW.schema_name, NEW.table_name);
	RETURN NULL;
END;
$$;
COMMENT ON FUNCTION partkv.stream_specification_changed() IS
'internal: trigger keeping replica identity and decoding caches in line with stream specifications';

CREATE TRIGGER stream_specification_changed
	AFTER INSERT OR UPDATE OF stream_specification ON partkv.tables
	FOR EACH ROW EXECUTE FUNCTION partkv.stream_specification_changed();

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
								  consistent_read boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_query_page'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.query_page(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean) IS
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
								 exclusive_start_key jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_scan_page'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.scan_page(text, text, jsonb, jsonb, text, text, int, int, int, jsonb) IS
'Scan: one page {Items, Count, ScannedCount, LastEvaluatedKey} (item_limit items read or 1 MB)';
