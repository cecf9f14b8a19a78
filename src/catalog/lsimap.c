/*-------------------------------------------------------------------------
 *
 * lsimap.c
 *	  Which index of a kv partition serves each local secondary index of
 *	  its table, found when the table cache loads the partition.
 *
 * An index is recognised by its shape alone (relcache index expressions,
 * never partkv's catalog), so this also works while pg_restore has not yet
 * loaded partkv.tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/pg_am.h"
#include "utils/rel.h"

#include "../storage/indexkeys.h"
#include "../storage/tableam.h"
#include "lsimap.h"

/*
 * KvIsLsiIndex recognises an LSI index of a kv partition by its shape:
 * B-tree (partition key column, extractor, sort key column).  The partial
 * predicate is not required: LSI reads add an IS NOT NULL scan key.
 */
static bool
KvIsLsiIndex(Relation part, Relation indexrel, KvKeyAttr *attr)
{
	Form_pg_index index = indexrel->rd_index;
	KvRowLayout layout;

	if (indexrel->rd_rel->relam != BTREE_AM_OID || index->indnkeyatts != 3 ||
		!KvRowLayoutOf(RelationGetDescr(part), &layout) || layout.schema.nkeys != 2)
		return false;
	if (index->indkey.values[0] != layout.key_attno[0] ||
		index->indkey.values[2] != layout.key_attno[1])
		return false;
	return KvIndexColumnKey(indexrel, 2, attr);
}

/*
 * KvLsiMapPartition finds, among a partition's valid indexes, the one
 * serving each LSI of its table (matched by sort key attribute and type),
 * when the table cache loads the partition.
 */
void
KvLsiMapPartition(Relation part, const KvKeyAttr *lsikey, int nlocal, Oid *lsiindex)
{
	List	   *indexes = RelationGetIndexList(part);
	ListCell   *lc;

	for (int j = 0; j < nlocal; j++)
		lsiindex[j] = InvalidOid;
	foreach(lc, indexes)
	{
		Oid			oid = lfirst_oid(lc);
		Relation	indexrel;
		KvKeyAttr	attr;

		if (oid == part->rd_pkindex)
			continue;
		indexrel = index_open(oid, AccessShareLock);
		/* an index left invalid by a failed CREATE INDEX CONCURRENTLY is not read */
		if (indexrel->rd_index->indisvalid && KvIsLsiIndex(part, indexrel, &attr))
		{
			for (int j = 0; j < nlocal; j++)
			{
				if (!OidIsValid(lsiindex[j]) && lsikey[j].type == attr.type &&
					strcmp(lsikey[j].name, attr.name) == 0)
					lsiindex[j] = oid;
			}
		}
		index_close(indexrel, NoLock);
	}
	list_free(indexes);
}
