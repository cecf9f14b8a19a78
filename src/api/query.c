/*-------------------------------------------------------------------------
 *
 * query.c
 *	  Query (SPEC-dynamodb.md §5): its arguments checked, its
 *	  KeyConditionExpression planned into one index scan on the partition
 *	  its key routes to (table, LSI or GSI), and its reader started.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "../stats/stats.h"
#include "api.h"
#include "read.h"

/*
 * KvRenderKeyValue renders a key value as DynamoDB prints an AttributeValue
 * in messages: {S:abc}, {N:5}, {B:<base64>}.
 */
static char *
KvRenderKeyValue(Datum value, KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return psprintf("{S:%s}", TextDatumGetCString(value));
		case KV_TYPE_N:
			return psprintf("{N:%s}", numeric_normalize(DatumGetNumeric(value)));
		default:
			{
				bytea	   *b = DatumGetByteaPP(value);

				return psprintf("{B:%s}", KvBase64Encode(VARDATA_ANY(b),
														 VARSIZE_ANY_EXHDR(b)));
			}
	}
}

/*
 * KvPrefixSuccessor gives the smallest byte string greater than every
 * string starting with prefix (drop trailing 0xFF bytes, increment the
 * last byte), as a text or bytea datum; false when there is none (all
 * 0xFF).
 * For text the result may not be valid UTF-8: it is only ever compared
 * bytewise (collation "C") as a scan key bound.
 */
static bool
KvPrefixSuccessor(Datum prefix, Datum *out)
{
	struct varlena *p = PG_DETOAST_DATUM_PACKED(prefix);
	int			len = VARSIZE_ANY_EXHDR(p);
	const unsigned char *data = (const unsigned char *) VARDATA_ANY(p);
	struct varlena *s;

	while (len > 0 && data[len - 1] == 0xFF)
		len--;
	if (len == 0)
		return false;
	s = palloc(VARHDRSZ + len);
	SET_VARSIZE(s, VARHDRSZ + len);
	memcpy(VARDATA(s), data, len);
	((unsigned char *) VARDATA(s))[len - 1]++;
	*out = PointerGetDatum(s);
	return true;
}

/* KvHasPrefix tells whether key value v starts with prefix (S or B). */
static bool
KvHasPrefix(Datum v, Datum prefix)
{
	struct varlena *a = PG_DETOAST_DATUM_PACKED(v);
	struct varlena *p = PG_DETOAST_DATUM_PACKED(prefix);

	return VARSIZE_ANY_EXHDR(a) >= VARSIZE_ANY_EXHDR(p) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p)) == 0;
}

/* KvNameIs tells whether an expression name (not NUL-terminated) is name. */
static bool
KvNameIs(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(s, name, len) == 0;
}

/* KvFilterKeyAttribute returns the first key attribute a condition reads, or NULL. */
static const char *
KvFilterKeyAttribute(const KvExprNode *n, const KvKeySchema *schema)
{
	if (n == NULL)
		return NULL;
	if (n->type == KVEXPR_NODE_PATH)
	{
		for (int k = 0; k < schema->nkeys; k++)
		{
			if (KvNameIs(n->path.elems[0].name, n->path.elems[0].name_len,
						 schema->keys[k].name))
				return schema->keys[k].name;
		}
		return NULL;
	}
	for (int i = 0; i < n->nargs; i++)
	{
		const char *found = KvFilterKeyAttribute(n->args[i], schema);

		if (found != NULL)
			return found;
	}
	return NULL;
}

/*
 * KvConditionValue returns the key column Datum of a key condition's
 * ":v", checked against the key schema.
 */
static Datum
KvConditionValue(KvExprSet *set, const char *placeholder, const KvKeyAttr *attr,
				 bool is_sort_key, KvExprKeyOp op)
{
	JsonbValue	v;
	bool		type_ok;
	Datum		d;

	if (!KvExprLookupValue(set, placeholder, &v))
		elog(ERROR, "expression attribute value %s is not defined", placeholder);
	if (op == KVEXPR_KEY_BEGINS_WITH)
	{
		KvType		t = KvJsonbValueType(&v);

		if (t != KV_TYPE_S && t != KV_TYPE_B)
			KvValidationError("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s",
							  KvTypeName(t));
	}
	d = KvKeyDatumFromValue(&v, attr, is_sort_key, &type_ok);
	if (!type_ok)
		KvValidationError(KV_INVALID_PARAMS "Condition parameter type does not match schema type");
	return d;
}

/*
 * KvSortKeyMatches tells whether sort key value v satisfies the sort key
 * condition (for ExclusiveStartKey checks).
 */
static bool
KvSortKeyMatches(Datum v, Oid typid, KvExprKeyOp op, const Datum *vals)
{
	int			c = (op == KVEXPR_KEY_BEGINS_WITH) ? 0 : KvKeyCompare(v, vals[0], typid);

	switch (op)
	{
		case KVEXPR_KEY_EQ:
			return c == 0;
		case KVEXPR_KEY_LT:
			return c < 0;
		case KVEXPR_KEY_LE:
			return c <= 0;
		case KVEXPR_KEY_GT:
			return c > 0;
		case KVEXPR_KEY_GE:
			return c >= 0;
		case KVEXPR_KEY_BETWEEN:
			return c >= 0 && KvKeyCompare(v, vals[1], typid) <= 0;
		case KVEXPR_KEY_BEGINS_WITH:
			return KvHasPrefix(v, vals[0]);
	}
	return false;
}

/*
 * KvSortKeyScanKeys adds the scan keys of a sort-key condition on index
 * column 2 (table, LSI or GSI sort key); returns the new number of keys.
 * begins_with becomes [prefix, successor): exactly the values with that
 * prefix.
 */
static int
KvSortKeyScanKeys(ScanKey keys, int nkeys, KvExprKeyOp op, Oid sktyp, const Datum *skvals)
{
	Datum		succ;

	switch (op)
	{
		case KVEXPR_KEY_EQ:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTEqualStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_LT:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_LE:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessEqualStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_GT:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_GE:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterEqualStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_BETWEEN:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterEqualStrategyNumber, skvals[0]);
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessEqualStrategyNumber, skvals[1]);
			break;
		case KVEXPR_KEY_BEGINS_WITH:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterEqualStrategyNumber, skvals[0]);
			if (KvPrefixSuccessor(skvals[0], &succ))
				KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessStrategyNumber, succ);
			break;
	}
	return nkeys;
}

/*
 * KvPlanQuery matches the decomposed KeyConditionExpression with the key
 * schema of the table, or of LSI number lsi (SPEC §4.8), routes the
 * partition key, and turns the conditions and the ExclusiveStartKey into
 * the scan keys of one index scan: on the primary key index (pk, sk), or
 * on the LSI's index (pk, lsi key, sk), where resuming after (lsi key, sk)
 * is one row comparison.
 */
static void
KvPlanQuery(KvReader *r, KvTable *table, KvExprSet *set, Jsonb *esk, int lsi)
{
	const KvExprRequestResult *parsed = &set->parsed;
	KvKeySchema qschema = table->key;
	const KvKeySchema *schema = &qschema;
	const KvExprKeyCondition *pkcond = NULL;
	const KvExprKeyCondition *skcond = NULL;
	Datum		pk;
	Datum		skvals[2] = {0, 0};
	const KvPartition *part;
	ScanKey		keys = r->qkeys;
	int			nkeys = 0;
	Oid			sktyp = r->lsi ? r->lsi_typid : r->key_typid[1];

	if (r->lsi)
		qschema.keys[1] = r->lsi_key;	/* an LSI has the table's partition key */

	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (KvNameIs(kc->attribute, kc->attribute_len, schema->keys[0].name))
			pkcond = kc;
	}
	if (pkcond == NULL)
		KvValidationError("Query condition missed key schema element: %s",
						  schema->keys[0].name);
	if (pkcond->op != KVEXPR_KEY_EQ)
		KvValidationError("Query key condition not supported");
	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (kc == pkcond)
			continue;
		if (schema->nkeys == 2 &&
			KvNameIs(kc->attribute, kc->attribute_len, schema->keys[1].name))
			skcond = kc;
		else if (schema->nkeys == 2 && parsed->nkeyconds == 2)
			KvValidationError("Query condition missed key schema element: %s",
							  schema->keys[1].name);
		else
			KvValidationError("Query key condition not supported");
	}

	pk = KvConditionValue(set, pkcond->values[0], &schema->keys[0], false, KVEXPR_KEY_EQ);
	if (skcond != NULL)
	{
		for (int i = 0; i < skcond->nvalues; i++)
			skvals[i] = KvConditionValue(set, skcond->values[i], &schema->keys[1],
										 true, skcond->op);
		if (skcond->op == KVEXPR_KEY_BETWEEN &&
			KvKeyCompare(skvals[0], skvals[1], sktyp) > 0)
			KvValidationError("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s",
							  KvRenderKeyValue(skvals[0], schema->keys[1].type),
							  KvRenderKeyValue(skvals[1], schema->keys[1].type));
	}

	KvKeyScanKey(&keys[nkeys++], 1, r->key_typid[0], BTEqualStrategyNumber, pk);
	if (r->lsi)
		KvNotNullScanKey(&keys[nkeys++], 2);
	if (skcond != NULL)
		nkeys = KvSortKeyScanKeys(keys, nkeys, skcond->op, sktyp, skvals);

	if (esk != NULL && r->lsi)
	{
		Datum		start[2];
		Datum		start_lsi;

		KvIndexStartKeyDatums(esk, &table->key, &r->lsi_key, start, &start_lsi);
		if (KvKeyCompare(start[0], pk, r->key_typid[0]) != 0)
			KvValidationError("The provided starting key is outside query boundaries based on provided conditions");
		if (skcond != NULL && !KvSortKeyMatches(start_lsi, sktyp, skcond->op, skvals))
			KvValidationError("The provided starting key does not match the range key predicate");
		KvRowScanKey(&keys[nkeys++],
					 ScanDirectionIsForward(r->dir) ? BTGreaterStrategyNumber : BTLessStrategyNumber,
					 sktyp, start_lsi, r->key_typid[1], start[1]);
	}
	else if (esk != NULL)
	{
		Datum		start[2];

		KvStartKeyDatums(esk, schema, start);
		if (schema->nkeys == 1)
			KvValidationError("The provided exclusive start key is invalid: ExclusiveStartKey: {%s=AttributeValue: %s}",
							  schema->keys[0].name,
							  KvRenderKeyValue(start[0], schema->keys[0].type));
		if (KvKeyCompare(start[0], pk, r->key_typid[0]) != 0)
			KvValidationError("The provided starting key is outside query boundaries based on provided conditions");
		if (skcond != NULL && !KvSortKeyMatches(start[1], sktyp, skcond->op, skvals))
			KvValidationError("The provided starting key does not match the range key predicate");
		KvKeyScanKey(&keys[nkeys++], 2, sktyp,
					 ScanDirectionIsForward(r->dir) ? BTGreaterStrategyNumber : BTLessStrategyNumber,
					 start[1]);
	}
	r->nqkeys = nkeys;

	part = KvRoutePartition(table, pk);
	r->is_query = true;
	r->nunits = 1;
	r->units = palloc(sizeof(KvReadUnit));
	r->units[0].relid = part->relid;
	r->units[0].index = r->lsi ? part->lsiindex[lsi] : part->pkindex;
	r->units[0].rank = 0;
}

/*
 * KvPlanGsiQuery is KvPlanQuery on a global secondary index: the key
 * condition names the GSI's keys; the partition key is routed among the
 * GSI's partitions; the scan keys go to its B-tree (gsi pk, [gsi sk,] table
 * keys), and resuming after an ExclusiveStartKey (GSI keys + table keys)
 * is one row comparison on the columns after the partition key.
 */
static void
KvPlanGsiQuery(KvReader *r, KvExprSet *set, Jsonb *esk)
{
	const KvExprRequestResult *parsed = &set->parsed;
	const KvExprKeyCondition *pkcond = NULL;
	const KvExprKeyCondition *skcond = NULL;
	bool		has_sk = r->gsi_ncols > 1 && r->gsi_ncols == 2 + r->key.nkeys;
	const KvKeyAttr *pkattr = &r->gsi_cols[0];
	const KvKeyAttr *skattr = has_sk ? &r->gsi_cols[1] : NULL;
	Oid			sktyp = has_sk ? r->gsi_typid[1] : InvalidOid;
	Datum		pk;
	Datum		skvals[2] = {0, 0};
	ScanKey		keys = r->qkeys;
	int			nkeys = 0;
	int			rem;

	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (KvNameIs(kc->attribute, kc->attribute_len, pkattr->name))
			pkcond = kc;
	}
	if (pkcond == NULL)
		KvValidationError("Query condition missed key schema element: %s", pkattr->name);
	if (pkcond->op != KVEXPR_KEY_EQ)
		KvValidationError("Query key condition not supported");
	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (kc == pkcond)
			continue;
		if (has_sk && KvNameIs(kc->attribute, kc->attribute_len, skattr->name))
			skcond = kc;
		else if (has_sk && parsed->nkeyconds == 2)
			KvValidationError("Query condition missed key schema element: %s", skattr->name);
		else
			KvValidationError("Query key condition not supported");
	}

	pk = KvConditionValue(set, pkcond->values[0], pkattr, false, KVEXPR_KEY_EQ);
	if (skcond != NULL)
	{
		for (int i = 0; i < skcond->nvalues; i++)
			skvals[i] = KvConditionValue(set, skcond->values[i], skattr, true, skcond->op);
		if (skcond->op == KVEXPR_KEY_BETWEEN && KvKeyCompare(skvals[0], skvals[1], sktyp) > 0)
			KvValidationError("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s",
							  KvRenderKeyValue(skvals[0], skattr->type),
							  KvRenderKeyValue(skvals[1], skattr->type));
	}

	KvKeyScanKey(&keys[nkeys++], 1, r->gsi_typid[0], BTEqualStrategyNumber, pk);
	if (skcond != NULL)
		nkeys = KvSortKeyScanKeys(keys, nkeys, skcond->op, sktyp, skvals);
	if (esk != NULL)
	{
		KvGsiStartKeyDatums(esk, r, r->gsi_start);
		if (KvKeyCompare(r->gsi_start[0], pk, r->gsi_typid[0]) != 0)
			KvValidationError("The provided starting key is outside query boundaries based on provided conditions");
		if (skcond != NULL && !KvSortKeyMatches(r->gsi_start[1], sktyp, skcond->op, skvals))
			KvValidationError("The provided starting key does not match the range key predicate");
		KvGsiRowScanKey(&keys[nkeys++],
						ScanDirectionIsForward(r->dir) ? BTGreaterStrategyNumber : BTLessStrategyNumber,
						r, 2, r->gsi_start);
	}
	r->nqkeys = nkeys;

	r->is_query = true;
	if (r->gsi_modulus == 0)
	{
		r->nunits = 0;
		return;
	}
	rem = (int) (KvRowHash(pk, r->gsi_typid[0]) % r->gsi_modulus);
	r->units = &r->gsi_by_rem[rem];
	r->nunits = OidIsValid(r->units[0].relid) ? 1 : 0;
}

/*
 * KvQueryBegin validates a Query request and prepares its reader, in mcxt
 * (the current context).
 */
KvReadState *
KvQueryBegin(FunctionCallInfo fcinfo, MemoryContext mcxt)
{
	text	   *table_name = KvRequiredText(fcinfo, QA_TABLE, "tableName");
	KvShapeErrors errs = {0};
	char	   *index_name = KvCheckIndexName(fcinfo, QA_INDEX, &errs);
	int64		limit = KvCheckLimit(fcinfo, QA_LIMIT, &errs);
	bool		forward = PG_ARGISNULL(QA_FORWARD) || PG_GETARG_BOOL(QA_FORWARD);
	bool		consistent = !PG_ARGISNULL(QA_CONSISTENT) && PG_GETARG_BOOL(QA_CONSISTENT);
	Jsonb	   *esk = KvOptionalJsonb(fcinfo, QA_START);
	KvExprTexts texts = {{0}};
	KvTable    *table;
	KvReadState *st;
	const char *keyattr;
	int			lsi = -1;
	KvKeySchema lsikey;

	KvShapeCheck(&errs);
	if (PG_ARGISNULL(QA_KEYCOND))
		KvValidationError("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.");

	table = KvLookupTable(table_name, ACL_SELECT, AccessShareLock);
	if (index_name != NULL)
		lsi = KvCheckIndex(table, index_name, consistent);

	texts.text[KVEXPR_KEY_CONDITION] = KvOptionalText(fcinfo, QA_KEYCOND);
	texts.text[KVEXPR_FILTER] = KvOptionalText(fcinfo, QA_FILTER);
	texts.text[KVEXPR_PROJECTION] = KvOptionalText(fcinfo, QA_PROJECTION);

	st = KvReadStateNew(mcxt, limit);
	st->set = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, QA_NAMES),
							KvOptionalJsonb(fcinfo, QA_VALUES));

	/* a Query filter reads neither the table's keys nor the LSI's key */
	keyattr = (KvExprHas(st->set, KVEXPR_FILTER) && lsi != KV_INDEX_GSI) ?
		KvFilterKeyAttribute(st->set->parsed.expr[KVEXPR_FILTER]->cond, &table->key) : NULL;
	if (keyattr == NULL && lsi >= 0 && KvExprHas(st->set, KVEXPR_FILTER))
	{
		lsikey.nkeys = 1;
		lsikey.keys[0] = table->local[lsi].key;
		keyattr = KvFilterKeyAttribute(st->set->parsed.expr[KVEXPR_FILTER]->cond, &lsikey);
	}
	if (keyattr != NULL)
		KvValidationError("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s",
						  keyattr);

	KvReaderInit(&st->reader, table, mcxt);
	st->reader.tally.consistent = consistent;
	st->reader.dir = forward ? ForwardScanDirection : BackwardScanDirection;
	if (lsi == KV_INDEX_GSI)
	{
		/* a GSI Query filter does not read the GSI's keys */
		KvUseGlobalIndex(st, table, index_name);
		if (KvExprHas(st->set, KVEXPR_FILTER))
		{
			lsikey.nkeys = st->reader.gsi_ncols - table->key.nkeys;
			for (int k = 0; k < lsikey.nkeys; k++)
				lsikey.keys[k] = st->reader.gsi_cols[k];
			keyattr = KvFilterKeyAttribute(st->set->parsed.expr[KVEXPR_FILTER]->cond, &lsikey);
			if (keyattr != NULL)
				KvValidationError("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s",
								  keyattr);
		}
		KvPlanGsiQuery(&st->reader, st->set, esk);
		return st;
	}
	if (lsi >= 0)
		KvUseLocalIndex(st, table, lsi);
	KvPlanQuery(&st->reader, table, st->set, esk, lsi);
	return st;
}
