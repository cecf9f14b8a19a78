/*-------------------------------------------------------------------------
 *
 * ddlguard.c
 *	  The ddl_command_start event trigger that refuses plain SQL DDL which
 *	  would leave a kv table different from what partkv.tables says of it:
 *	  dropping one of its hash partitions or the storage of a GSI it still
 *	  declares, detaching a partition, renaming it, moving it to another
 *	  schema, renaming its schema, or adding, dropping, renaming or retyping
 *	  its columns.
 *
 * The catalog finds tables by schema and name, and partkv reads partitions,
 * key columns and GSI storage by their shape; such DDL would turn the table
 * into one partkv no longer finds, or cannot route keys in.  Dropping a
 * whole kv table is fine: the sql_drop trigger partkv_internal.drop_kv_tables()
 * removes what the catalog held about it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "tablecache.h"

PG_FUNCTION_INFO_V1(partkv_guard_ddl);

/* what a relation is to partkv */
typedef enum KvRelRole
{
	KV_REL_NONE,
	KV_REL_TABLE,				/* a kv table */
	KV_REL_PARTITION,			/* a hash partition of a kv table */
	KV_REL_GSI_STORAGE,			/* the storage of a GSI its kv table declares */
	KV_REL_GSI_PARTITION		/* a partition of such storage */
} KvRelRole;

/*
 * KvCatalogLookup runs a query on partkv's catalog with a schema name and,
 * unless NULL, a relation name as parameters, and returns the first column
 * of its first row (NULL: no row).
 */
static char *
KvCatalogLookup(const char *query, const char *schema_name, const char *relname)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		args[2];
	char	   *result = NULL;
	bool		pushed = false;

	args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema_name));
	if (relname != NULL)
		args[1] = CStringGetTextDatum(relname);
	SPI_connect();
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	if (SPI_execute_with_args(query, relname ? 2 : 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read partkv's catalog");
	if (SPI_processed > 0)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		/* in the caller's context: SPI's goes at SPI_finish */
		if (value != NULL)
		{
			result = SPI_palloc(strlen(value) + 1);
			strcpy(result, value);
		}
	}
	if (pushed)
		PopActiveSnapshot();
	SPI_finish();
	return result;
}

/*
 * KvRelRoleOf says what relation relid is to partkv, and sets *table to
 * the kv table it belongs to.  Only partitioned tables and their
 * partitions can be anything, so other relations cost no query.
 */
static KvRelRole
KvRelRoleOf(Oid relid, Oid *table)
{
	char		relkind = get_rel_relkind(relid);
	Oid			nsp = get_rel_namespace(relid);
	char	   *nspname;
	char	   *relname;
	char	   *owner;

	*table = InvalidOid;
	if (get_rel_relispartition(relid))
	{
		Oid			parent = get_partition_parent(relid, true);
		Oid			parent_table;

		switch (KvRelRoleOf(parent, &parent_table))
		{
			case KV_REL_TABLE:
				*table = parent_table;
				return KV_REL_PARTITION;
			case KV_REL_GSI_STORAGE:
				*table = parent_table;
				return KV_REL_GSI_PARTITION;
			default:
				return KV_REL_NONE;
		}
	}
	if (relkind != RELKIND_PARTITIONED_TABLE || !OidIsValid(nsp))
		return KV_REL_NONE;

	nspname = get_namespace_name(nsp);
	relname = get_rel_name(relid);
	if (KvTableDeclaration(relid) != NULL)
	{
		*table = relid;
		return KV_REL_TABLE;
	}
	owner = KvCatalogLookup("SELECT g.table_name FROM partkv.gsi_indexes g"
							"  JOIN partkv.tables t"
							"    ON t.schema_name = g.schema_name AND t.table_name = g.table_name"
							" WHERE g.schema_name = $1 AND g.storage_name = $2"
							"   AND EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(t.global_indexes) i"
							"                WHERE i->>'IndexName' = g.index_name)",
							nspname, relname);
	if (owner != NULL && OidIsValid(*table = get_relname_relid(owner, nsp)))
		return KV_REL_GSI_STORAGE;
	*table = InvalidOid;
	return KV_REL_NONE;
}

/* KvRelidOf finds the relation a RangeVar names (InvalidOid: none). */
static Oid
KvRelidOf(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/*
 * KvGuardDrop refuses DROP TABLE of a kv table's partition or of a GSI's
 * storage (or a partition of it) unless the kv table is dropped with it.
 */
static void
KvGuardDrop(DropStmt *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE)
		return;
	foreach(lc, stmt->objects)
	{
		Oid			relid = KvRelidOf(makeRangeVarFromNameList(lfirst(lc)));

		if (OidIsValid(relid))
			relids = lappend_oid(relids, relid);
	}
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		Oid			table;
		KvRelRole	role = KvRelRoleOf(relid, &table);

		if (role == KV_REL_NONE || role == KV_REL_TABLE || list_member_oid(relids, table))
			continue;
		if (role == KV_REL_PARTITION)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop partition \"%s\" of partkv table \"%s\"",
							get_rel_name(relid), get_rel_name(table)),
					 errdetail("The hash partitions of a kv table hold its items; without one, keys that hash to it have nowhere to go."),
					 errhint("Drop the whole table with partkv.delete_table() or DROP TABLE.")));
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg(role == KV_REL_GSI_STORAGE ?
						"cannot drop \"%s\": it stores a global secondary index of partkv table \"%s\"" :
						"cannot drop \"%s\": it is a partition of the storage of a global secondary index of partkv table \"%s\"",
						get_rel_name(relid), get_rel_name(table)),
				 errhint("Delete the index with partkv.update_table() (GlobalSecondaryIndexUpdates), or drop the table.")));
	}
}

/*
 * KvRefuseAlter refuses an ALTER of a kv table or of a GSI's storage:
 * "cannot <what> <relation><tail>".
 */
static void
KvRefuseAlter(Oid relid, KvRelRole role, Oid table, const char *what, const char *tail)
{
	if (role == KV_REL_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot %s partkv table \"%s\"%s", what, get_rel_name(relid), tail),
				 errdetail("partkv.tables describes the table by its schema, name, partitions and key columns."),
				 errhint("Create a new table with partkv.create_table() and copy the items, as with DynamoDB.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot %s \"%s\"%s: it stores a global secondary index of partkv table \"%s\"",
					what, get_rel_name(relid), tail, get_rel_name(table))));
}

/*
 * KvGuardAlterTable refuses the ALTER TABLE subcommands that change a kv
 * table's partitions or columns.
 */
static void
KvGuardAlterTable(AlterTableStmt *stmt)
{
	Oid			relid = KvRelidOf(stmt->relation);
	Oid			table;
	KvRelRole	role;
	ListCell   *lc;

	if (!OidIsValid(relid) || stmt->objtype != OBJECT_TABLE)
		return;
	role = KV_REL_NONE;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		const char *what;

		switch (cmd->subtype)
		{
			case AT_DetachPartition:
			case AT_DetachPartitionFinalize:
				what = "detach a partition of";
				break;
			case AT_AddColumn:
				what = "add a column to";
				break;
			case AT_DropColumn:
				what = "drop a column of";
				break;
			case AT_AlterColumnType:
				what = "change a column type of";
				break;
			default:
				continue;
		}
		if (role == KV_REL_NONE)
			role = KvRelRoleOf(relid, &table);
		if (role == KV_REL_TABLE || role == KV_REL_GSI_STORAGE)
			KvRefuseAlter(relid, role, table, what, "");
		return;
	}
}

/*
 * KvGuardRename refuses renaming a kv table, its columns, a GSI's storage,
 * or a schema holding kv tables.
 */
static void
KvGuardRename(RenameStmt *stmt)
{
	Oid			relid;
	Oid			table;
	KvRelRole	role;

	if (stmt->renameType == OBJECT_SCHEMA)
	{
		if (KvCatalogLookup("SELECT table_name FROM partkv.tables WHERE schema_name = $1",
							stmt->subname, NULL) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot rename schema \"%s\": it holds partkv tables", stmt->subname),
					 errdetail("partkv.tables describes each table by its schema and name."),
					 errhint("Create the tables in a new schema with partkv.create_table() and copy the items.")));
		return;
	}
	if (stmt->renameType != OBJECT_TABLE &&
		!(stmt->renameType == OBJECT_COLUMN && stmt->relationType == OBJECT_TABLE))
		return;
	relid = KvRelidOf(stmt->relation);
	if (!OidIsValid(relid))
		return;
	role = KvRelRoleOf(relid, &table);
	if (role == KV_REL_TABLE || (role == KV_REL_GSI_STORAGE && stmt->renameType == OBJECT_TABLE))
		KvRefuseAlter(relid, role, table,
					  stmt->renameType == OBJECT_TABLE ? "rename" : "rename a column of", "");
}

/* KvGuardSetSchema refuses moving a kv table or a GSI's storage to another schema. */
static void
KvGuardSetSchema(AlterObjectSchemaStmt *stmt)
{
	Oid			relid;
	Oid			table;
	KvRelRole	role;

	if (stmt->objectType != OBJECT_TABLE)
		return;
	relid = KvRelidOf(stmt->relation);
	if (!OidIsValid(relid))
		return;
	role = KvRelRoleOf(relid, &table);
	if (role == KV_REL_TABLE || role == KV_REL_GSI_STORAGE)
		KvRefuseAlter(relid, role, table, "move", " to another schema");
}

/*
 * partkv_guard_ddl is the ddl_command_start event trigger (DROP TABLE,
 * ALTER TABLE, ALTER SCHEMA): it refuses the commands listed at the top
 * of this file before they do anything.
 */
Datum
partkv_guard_ddl(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("partkv_internal.guard_ddl() must be called as an event trigger")));
	if (IsBinaryUpgrade)
		PG_RETURN_VOID();
	trigdata = (EventTriggerData *) fcinfo->context;
	parsetree = trigdata->parsetree;
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
			KvGuardDrop((DropStmt *) parsetree);
			break;
		case T_AlterTableStmt:
			KvGuardAlterTable((AlterTableStmt *) parsetree);
			break;
		case T_RenameStmt:
			KvGuardRename((RenameStmt *) parsetree);
			break;
		case T_AlterObjectSchemaStmt:
			KvGuardSetSchema((AlterObjectSchemaStmt *) parsetree);
			break;
		default:
			break;
	}
	PG_RETURN_VOID();
}
