/*-------------------------------------------------------------------------
 *
 * path.c
 *	  Path access: the value a document path (a.b[2].c) names in an item,
 *	  read in place from its jsonb containers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"


#include "eval_int.h"

/*
 * KvResolveInValue follows path elements from a value; false when the path
 * does not resolve (missing member, index past the end, wrong container).
 */
static bool
KvResolveFrom(JsonbValue *cur, const KvExprPath *path, int from, JsonbValue *out)
{
	JsonbValue	v = *cur;

	for (int i = from; i < path->nelems; i++)
	{
		const KvExprPathElem *e = &path->elems[i];
		KvType		t = KvJsonbValueType(&v);
		JsonbValue *next;

		if (e->kind == KVEXPR_ELEM_NAME)
		{
			if (t != KV_TYPE_M)
				return false;
			if (getKeyJsonValueFromContainer(v.val.binary.data, e->name, e->name_len, &v) == NULL)
				return false;
		}
		else
		{
			if (t != KV_TYPE_L)
				return false;
			next = getIthJsonbValueFromContainer(v.val.binary.data, e->index);
			if (next == NULL)
				return false;
			v = *next;
		}
	}
	*out = v;
	return true;
}

/* KvResolvePath resolves a document path in an item (NULL: missing item). */
bool
KvResolvePath(Jsonb *item, const KvExprPath *path, JsonbValue *out)
{
	JsonbValue	root;

	if (item == NULL)
		return false;
	root.type = jbvBinary;
	root.val.binary.data = &item->root;
	root.val.binary.len = VARSIZE(item) - VARHDRSZ;
	return KvResolveFrom(&root, path, 0, out);
}
