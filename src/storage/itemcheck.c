/*-------------------------------------------------------------------------
 *
 * itemcheck.c
 *	  Validation of an item as a write stores it: shape, names, nesting,
 *	  typed values and sets, numbers made canonical, the 400 KB size rule.
 *
 * Interpretations where DynamoDB's rules leave room:
 *
 * - Nesting: the item itself is not a level.  Every map or list value is
 *	 one level, and at most KV_MAX_DEPTH (32) map/list values may enclose
 *	 one another: a scalar inside 32 nested lists is accepted, a 33rd list
 *	 or map around it (or inside it) is rejected.  Sets and binary values
 *	 are scalars here, not levels.
 * - Attribute names: top-level names must be 1 to 65535 bytes.  Names of
 *	 map members may be empty but not longer than 65535 bytes.
 * - Sizes count UTF-8 bytes (the database encoding is assumed UTF-8).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "../common/errors.h"
#include "item_int.h"

/* what validating an item found out */
typedef struct ItemCheckState
{
	bool		changed;		/* some number is not in canonical form */
} ItemCheckState;

/* one element of a set being checked for duplicates */
typedef struct SetElem
{
	const char *val;
	int			len;
} SetElem;

static int64 CheckValue(ItemCheckState *st, JsonbValue *v, int depth);

/*
 * KvCheckAttributeName enforces the length of a name: 1 to 65535 bytes for
 * top-level attributes, at most 65535 bytes for map members.
 */
void
KvCheckAttributeName(int len, bool top_level)
{
	if (len == 0 && top_level)
		KvValidationError(KV_INVALID_PARAMS "Empty attribute name");
	if (len > KV_MAX_ATTR_NAME_BYTES)
		KvValidationError(KV_INVALID_PARAMS "Attribute name exceeds the maximum length of 65535 bytes");
}

/*
 * CheckNumber validates one number and returns its size; a number not in
 * canonical form marks the item for rewriting.
 */
static int64
CheckNumber(ItemCheckState *st, Numeric n, char **canon_out)
{
	KvNumber	parsed;
	bool		changed;
	char	   *canon = KvNumericCanonicalText(n, &parsed, &changed);

	if (changed)
		st->changed = true;
	if (canon_out)
		*canon_out = canon;
	else
		pfree(canon);
	return KvNumberSize(&parsed);
}

/*
 * SetElemCmp orders set elements bytewise, for duplicate detection.
 */
static int
SetElemCmp(const void *a, const void *b)
{
	const SetElem *x = (const SetElem *) a;
	const SetElem *y = (const SetElem *) b;
	int			r = memcmp(x->val, y->val, Min(x->len, y->len));

	if (r != 0)
		return r;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * SetHasDuplicates tells whether two elements of a set are equal; the
 * caller's array order is kept (messages list the set as given).
 */
static bool
SetHasDuplicates(const SetElem *elems, int n)
{
	SetElem    *sorted;
	bool		dup = false;

	if (n < 2)
		return false;
	sorted = palloc(n * sizeof(SetElem));
	memcpy(sorted, elems, n * sizeof(SetElem));
	qsort(sorted, n, sizeof(SetElem), SetElemCmp);
	for (int i = 1; i < n && !dup; i++)
		dup = (SetElemCmp(&sorted[i - 1], &sorted[i]) == 0);
	pfree(sorted);
	return dup;
}

/*
 * SetListText renders a set's elements as DynamoDB does in its duplicate
 * messages: "[a, b, c]".
 */
static char *
SetListText(const SetElem *elems, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendBinaryStringInfo(&buf, elems[i].val, elems[i].len);
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * CheckSet validates a typed set ({"$SS": [...]}, {"$NS": [...]} or
 * {"$BS": [...]}): a non-empty array of elements of the right JSON type,
 * each valid, none duplicated.  Returns the sum of the element sizes.
 */
static int64
CheckSet(ItemCheckState *st, KvType type, JsonbValue *inner)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	elem;
	SetElem    *elems;
	int			n = 0;
	int			nalloc;
	int64		size = 0;
	const char *shape_error;

	switch (type)
	{
		case KV_TYPE_SS:
			shape_error = KV_INVALID_PARAMS "A string set {\"$SS\": [...]} must be an array of strings";
			break;
		case KV_TYPE_NS:
			shape_error = KV_INVALID_PARAMS "A number set {\"$NS\": [...]} must be an array of numbers";
			break;
		default:
			shape_error = KV_INVALID_PARAMS "A binary set {\"$BS\": [...]} must be an array of base64-encoded strings";
			break;
	}

	if (inner->type != jbvBinary || !JsonContainerIsArray(inner->val.binary.data) ||
		JsonContainerIsScalar(inner->val.binary.data))
		KvValidationError("%s", shape_error);

	nalloc = JsonContainerSize(inner->val.binary.data);
	if (nalloc == 0)
	{
		if (type == KV_TYPE_SS)
			KvValidationError(KV_INVALID_PARAMS "An string set  may not be empty");
		if (type == KV_TYPE_NS)
			KvValidationError(KV_INVALID_PARAMS "An number set  may not be empty");
		KvValidationError(KV_INVALID_PARAMS "Binary sets should not be empty");
	}
	elems = palloc(nalloc * sizeof(SetElem));

	it = JsonbIteratorInit(inner->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		Assert(n < nalloc);
		if (type == KV_TYPE_NS)
		{
			char	   *canon;

			if (elem.type != jbvNumeric)
				KvValidationError("%s", shape_error);
			size += CheckNumber(st, elem.val.numeric, &canon);
			elems[n].val = canon;
			elems[n].len = strlen(canon);
		}
		else
		{
			if (elem.type != jbvString)
				KvValidationError("%s", shape_error);
			elems[n].val = elem.val.string.val;
			elems[n].len = elem.val.string.len;
			if (type == KV_TYPE_BS)
				size += KvBase64Check(elem.val.string.val, elem.val.string.len);
			else
				size += elem.val.string.len;
		}
		n++;
	}

	/* canonical numbers and canonical base64 compare equal by text */
	if (SetHasDuplicates(elems, n))
	{
		if (type == KV_TYPE_SS)
			KvValidationError(KV_INVALID_PARAMS "Input collection %s contains duplicates.",
							  SetListText(elems, n));
		if (type == KV_TYPE_NS)
			KvValidationError("Input collection contains duplicates");
		KvValidationError(KV_INVALID_PARAMS "Input collection %sof type BS contains duplicates.",
						  SetListText(elems, n));
	}
	pfree(elems);
	return size;
}

/*
 * CheckContainer validates a map, list, binary value or set held in a
 * jsonb container found at the given nesting depth (the number of maps and
 * lists around it), and returns its size.
 */
static int64
CheckContainer(ItemCheckState *st, JsonbContainer *c, int depth)
{
	JsonbValue	inner;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	KvType		type;
	int64		size = 3;

	if (JsonContainerIsScalar(c))
	{
		if (!JsonbExtractScalar(c, &inner))
			elog(ERROR, "invalid jsonb scalar container");
		return CheckValue(st, &inner, depth);
	}

	type = KvContainerType(c, &inner);
	switch (type)
	{
		case KV_TYPE_B:
			if (inner.type != jbvString)
				KvValidationError(KV_INVALID_PARAMS "A binary value {\"$B\": ...} must be a base64-encoded string");
			return KvBase64Check(inner.val.string.val, inner.val.string.len);
		case KV_TYPE_SS:
		case KV_TYPE_NS:
		case KV_TYPE_BS:
			return CheckSet(st, type, &inner);
		default:
			break;
	}

	/* a map or a list: one more nesting level */
	if (depth >= KV_MAX_DEPTH)
		KvValidationError("Nesting Levels have exceeded supported limits");
	check_stack_depth();

	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_KEY:
				KvCheckAttributeName(v.val.string.len, false);
				size += 1 + v.val.string.len;
				break;
			case WJB_VALUE:
				size += CheckValue(st, &v, depth + 1);
				break;
			case WJB_ELEM:
				size += 1 + CheckValue(st, &v, depth + 1);
				break;
			default:
				break;
		}
	}
	return size;
}

/*
 * CheckValue validates one attribute value at the given nesting depth and
 * returns its DynamoDB size.
 */
static int64
CheckValue(ItemCheckState *st, JsonbValue *v, int depth)
{
	switch (v->type)
	{
		case jbvString:
			return v->val.string.len;
		case jbvNumeric:
			return CheckNumber(st, v->val.numeric, NULL);
		case jbvBool:
		case jbvNull:
			return 1;
		case jbvBinary:
			return CheckContainer(st, v->val.binary.data, depth);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * CheckItem validates a whole item and returns its size; st->changed tells
 * whether its canonical form differs.
 */
static int64
CheckItem(ItemCheckState *st, Jsonb *item)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	int64		size = 0;

	if (!JB_ROOT_IS_OBJECT(item))
		KvValidationError(KV_INVALID_PARAMS "An item must be a JSON object");

	it = JsonbIteratorInit(&item->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			KvCheckAttributeName(v.val.string.len, true);
			size += v.val.string.len;
		}
		else if (tok == WJB_VALUE)
			size += CheckValue(st, &v, 0);
	}
	return size;
}

/*
 * RebuildCanonical copies a validated item with every number in canonical
 * form.
 */
static Jsonb *
RebuildCanonical(Jsonb *item)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it = JsonbIteratorInit(&item->root);
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if ((tok == WJB_VALUE || tok == WJB_ELEM) && v.type == jbvNumeric)
			v.val.numeric = KvNumberCanonical(v.val.numeric);
		res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

/*
 * KvItemCheckInternal validates an item and returns its canonical form;
 * the size limit is enforced only when enforce_size is set.
 */
Jsonb *
KvItemCheckInternal(Jsonb *item, KvWriteKind kind, bool enforce_size,
				  int64 *size_out)
{
	ItemCheckState st = {false};
	int64		size = CheckItem(&st, item);

	if (enforce_size && size > KV_MAX_ITEM_SIZE)
		ereport(ERROR,
				(errcode(KV_ERRCODE_SIZE_LIMIT),
				 errmsg("%s", kind == KV_WRITE_UPDATE ?
						"Item size to update has exceeded the maximum allowed size" :
						"Item size has exceeded the maximum allowed size")));
	if (size_out)
		*size_out = size;
	if (!st.changed)
		return item;
	return RebuildCanonical(item);
}

/*
 * KvItemCheck validates an item for a write and returns it canonically
 * (the same pointer when already canonical).
 */
Jsonb *
KvItemCheck(Jsonb *item, KvWriteKind kind, int64 *size_out)
{
	return KvItemCheckInternal(item, kind, true, size_out);
}
